//! Latencies, rates and the summary table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Latencies, sorted on construction.
#[derive(Debug, Default, Clone)]
pub(crate) struct Latencies(pub Vec<Duration>);

impl Latencies {
    pub(crate) fn new(mut v: Vec<Duration>) -> Self {
        v.sort_unstable();
        Self(v)
    }
    /// Nearest-rank percentile.
    pub(crate) fn pct(&self, p: f64) -> Option<Duration> {
        let n = self.0.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.0.get(rank.clamp(1, n) - 1).copied()
    }
    pub(crate) fn max(&self) -> Option<Duration> {
        self.0.last().copied()
    }
    pub(crate) fn describe(&self) -> String {
        format!(
            "p50 {}  p99 {}  max {}",
            ms(self.pct(50.0)),
            ms(self.pct(99.0)),
            ms(self.max())
        )
    }
}

pub(crate) fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "n/a".to_owned(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0),
    )
}

pub(crate) fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

pub(crate) fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "n/a".to_owned()
    }
}

/// The rows of the closing summary, in the order the sections added them.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    rows: Vec<(String, String, String)>,
}

impl Summary {
    pub(crate) fn row(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        note: impl Into<String>,
    ) {
        self.rows.push((name.into(), value.into(), note.into()));
    }

    pub(crate) fn print(&self) {
        let mut out = String::new();
        let _ = writeln!(out, "\nSummary");
        let _ = writeln!(out, "=======");
        let _ = writeln!(out, "{:<52} {:>14}  notes", "figure", "value");
        for (name, value, note) in &self.rows {
            let line = format!("{name:<52} {value:>14}  {note}");
            let _ = writeln!(out, "{}", line.trim_end());
        }
        print!("{out}");
    }
}

#[derive(Debug, Default)]
pub(crate) struct Throughput {
    pub(crate) ok: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) elapsed: Duration,
    pub(crate) latency: Latencies,
}

impl Throughput {
    pub(crate) fn per_sec(&self) -> f64 {
        rate(self.ok, self.elapsed)
    }
    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
    pub(crate) fn merge(&mut self, other: Throughput, latencies: &mut Vec<Duration>) {
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        latencies.extend(other.latency.0);
    }
    pub(crate) fn errors_text(&self) -> String {
        if self.errors.is_empty() {
            return "0".to_owned();
        }
        let kinds: Vec<String> = self
            .errors
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!("{} ({})", self.error_count(), kinds.join(", "))
    }
}

#[derive(Debug)]
pub(crate) struct E2e {
    pub(crate) offered: u64,
    pub(crate) accepted: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) achieved_rate: f64,
    pub(crate) command_latency: Latencies,
    pub(crate) latency: Latencies,
    pub(crate) not_caught_up: u64,
    pub(crate) via_poll: u64,
}

#[derive(Debug)]
pub(crate) struct Publish {
    pub(crate) messages: u64,
    pub(crate) failed: u64,
    pub(crate) elapsed: Duration,
    pub(crate) queue_depth: Option<u64>,
}

impl Publish {
    pub(crate) fn per_sec(&self) -> f64 {
        rate(self.messages, self.elapsed)
    }
}
