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
    matching_ticks(|title| title.starts_with("postgres:") && title.contains(db_name))
}

/// CPU of every process a command passes through, sampled around a phase: the services
/// (by pid), the SQS emulator (every process whose command line names `localstack`),
/// the bench database's backends and this load generator.
#[derive(Debug, Clone)]
pub(crate) struct Census {
    services: Vec<(&'static str, u32)>,
    db_name: String,
}

impl Census {
    pub(crate) fn new(services: Vec<(&'static str, Option<u32>)>, db_name: &str) -> Self {
        Self {
            services: services
                .into_iter()
                .filter_map(|(name, pid)| pid.map(|p| (name, p)))
                .collect(),
            db_name: db_name.to_owned(),
        }
    }

    /// Ticks so far: the services in order, then emulator, postgres, generator.
    pub(crate) fn sample(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .services
            .iter()
            .map(|(_, pid)| ticks(&pid.to_string()))
            .collect();
        out.push(matching_ticks(|title| {
            title.contains("localstack.runtime.main") || title.contains("moto_server")
        }));
        out.push(backend_ticks(&self.db_name));
        out.push(ticks("self"));
        out
    }

    /// "cpu per command: api …, relay …, …" between two samples.
    pub(crate) fn describe(&self, before: &[u64], after: &[u64], commands: u64) -> String {
        let names = self.services.iter().map(|(n, _)| *n).chain([
            "sqs emulator",
            "postgres",
            "load generator",
        ]);
        let parts: Vec<String> = names
            .zip(before.iter().zip(after))
            .map(|(name, (b, a))| {
                let secs = a.saturating_sub(*b) as f64 / TICKS_PER_SEC;
                format!("{name} {:.0} µs", secs * 1e6 / commands.max(1) as f64)
            })
            .collect();
        format!("cpu per command: {}", parts.join(", "))
    }
}

/// Ticks of every process whose command line (NULs as spaces) satisfies `matches`.
fn matching_ticks(matches: impl Fn(&str) -> bool) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| matches(&String::from_utf8_lossy(&c).replace('\0', " ")))
                .unwrap_or(false)
        })
        .map(|pid| ticks(&pid))
        .sum()
}
