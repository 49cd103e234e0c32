//! Where the CPU goes: CPU time of the API process, of the Postgres backends serving the
//! bench database, and of this load generator, read from `/proc` (Linux) around a
//! measured phase and divided by its requests.

use std::time::Duration;

/// `USER_HZ`: the unit of `/proc/<pid>/stat` times (100 on every Linux we run on).
const TICKS_PER_SEC: f64 = 100.0;

/// CPU ticks consumed so far.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    api: u64,
    postgres: u64,
    generator: u64,
}

/// Samples the API process (`api_pid`) and the backends of `db_name`.
#[derive(Debug, Clone)]
pub(crate) struct Meter {
    api_pid: Option<u32>,
    db_name: String,
}

impl Meter {
    pub(crate) fn new(api_pid: Option<u32>, db_name: &str) -> Self {
        Self {
            api_pid,
            db_name: db_name.to_owned(),
        }
    }

    pub(crate) fn sample(&self) -> Sample {
        Sample {
            api: self.api_pid.map_or(0, |p| ticks(&p.to_string())),
            postgres: backend_ticks(&self.db_name),
            generator: ticks("self"),
        }
    }

    /// "cpu per request: api …, postgres …, load generator …" between two samples.
    pub(crate) fn describe(before: Sample, after: Sample, requests: u64) -> String {
        let per = |a: u64, b: u64| {
            let secs = b.saturating_sub(a) as f64 / TICKS_PER_SEC;
            Duration::from_secs_f64(secs / requests.max(1) as f64)
        };
        let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
        format!(
            "cpu per request: api {}, postgres backends {}, load generator {}",
            us(per(before.api, after.api)),
            us(per(before.postgres, after.postgres)),
            us(per(before.generator, after.generator)),
        )
    }
}

/// utime + stime of `/proc/<pid>/stat` (0 if unreadable).
fn ticks(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command name (field 2) may contain spaces; fields after it are plain.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after `)`.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// Ticks of every backend whose process title names `db_name` (backends of ended
/// connections are gone and not counted: the pools here keep theirs open).
fn backend_ticks(db_name: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let title = String::from_utf8_lossy(&c);
                    title.starts_with("postgres:") && title.contains(db_name)
                })
                .unwrap_or(false)
        })
        .map(|pid| ticks(&pid))
        .sum()
}
