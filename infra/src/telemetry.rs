//! Structured logs for every binary. Spans carry `correlation_id` from the HTTP request
//! through the outbox, SQS message attributes, the projector and the workers, so one
//! user action can be followed across processes with a single filter.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{LogFormat, TelemetryArgs};

/// Installs the global subscriber and, with `METRICS_ADDR`, the metrics listener. Call
/// once, first thing in `main` (inside the runtime).
pub fn init(args: &TelemetryArgs) {
    init_logs(args);
    if let Some(addr) = args.metrics_addr {
        if let Err(e) = crate::metrics::serve(addr) {
            tracing::error!(error = format!("{e:#}"), "metrics not served");
        }
    }
}

fn init_logs(args: &TelemetryArgs) {
    let filter = EnvFilter::try_new(&args.rust_log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = match args.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
