//! Logs, metrics and traces for every binary.
//!
//! * Logs: structured lines on stderr. Spans carry `correlation_id` from the HTTP request
//!   through the outbox, SQS message attributes, the projector and the workers, so one
//!   user action can be followed across processes with a single filter.
//! * Metrics: Prometheus at `METRICS_ADDR` ([`crate::metrics`]).
//! * Traces: OpenTelemetry over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (off
//!   otherwise). The W3C `traceparent` travels with the work: HTTP header → event
//!   metadata → SQS message attribute → projector span → notification job → worker
//!   span, so one trace spans every process a user action passes. Without an exporter
//!   the incoming `traceparent` is passed on unchanged, so the chain stays linked for
//!   whoever traces at the edges.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

use crate::config::{LogFormat, TelemetryArgs};

/// The header, metadata key and message attribute the trace context travels in.
pub const TRACEPARENT: &str = "traceparent";

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Flushes the trace exporter when dropped: keep it alive for the life of `main`.
#[must_use = "dropping the guard stops exporting traces"]
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("flushing traces failed: {e}");
            }
        }
    }
}

/// Installs the global subscriber (logs, and traces with an OTLP endpoint) and, with
/// `METRICS_ADDR`, the metrics listener. Call once, first thing in `main` (inside the
/// runtime); `service` names the process in traces.
pub fn init(args: &TelemetryArgs, service: &'static str) -> TelemetryGuard {
    let provider = init_logs(args, service);
    if let Some(addr) = args.metrics_addr {
        if let Err(e) = crate::metrics::serve(addr) {
            tracing::error!(error = format!("{e:#}"), "metrics not served");
        }
    }
    TelemetryGuard(provider)
}

fn init_logs(args: &TelemetryArgs, service: &'static str) -> Option<SdkTracerProvider> {
    let filter = EnvFilter::try_new(&args.rust_log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs: BoxedLayer = match args.log_format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => fmt::layer().with_writer(std::io::stderr).boxed(),
    };
    let mut layers = vec![logs];
    let provider = match args.otlp_endpoint.as_deref() {
        Some(endpoint) => match tracer_provider(endpoint, service) {
            Ok(provider) => {
                let tracer = provider.tracer(service);
                layers.push(tracing_opentelemetry::layer().with_tracer(tracer).boxed());
                Some(provider)
            }
            Err(e) => {
                eprintln!("traces not exported: {e:#}");
                None
            }
        },
        None => None,
    };
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
    provider
}

/// Spans batched to `{endpoint}/v1/traces` (OTLP/HTTP, protobuf).
fn tracer_provider(endpoint: &str, service: &'static str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Is `value` a well-formed W3C `traceparent` (version 00, non-zero ids)? Anything else
/// is ignored, as the specification asks, and never stored.
pub fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    matches!(parts.as_slice(), [version, trace, parent, flags]
        if *version == "00"
            && hex(trace, 32)
            && hex(parent, 16)
            && hex(flags, 2)
            && trace.bytes().any(|b| b != b'0')
            && parent.bytes().any(|b| b != b'0'))
}

/// The `traceparent` of the current span when traces are on; otherwise `incoming` (if
/// valid), so the context is passed along unchanged.
pub fn current_traceparent(incoming: Option<&str>) -> Option<String> {
    let context = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier
        .remove(TRACEPARENT)
        .filter(|t| valid_traceparent(t))
        .or_else(|| incoming.filter(|t| valid_traceparent(t)).map(str::to_owned))
}

/// Makes `span` a child of `traceparent` (nothing happens without traces, or for a
/// malformed value).
pub fn set_parent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|t| valid_traceparent(t)) else {
        return;
    };
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    let _ = span.set_parent(context);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn only_well_formed_trace_contexts_pass() {
        assert!(valid_traceparent(INCOMING));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nx: y",
        ] {
            assert!(!valid_traceparent(bad), "{bad:?}");
        }
    }

    #[test]
    fn without_traces_the_incoming_context_is_passed_on() {
        assert_eq!(
            current_traceparent(Some(INCOMING)).as_deref(),
            Some(INCOMING)
        );
        assert_eq!(current_traceparent(Some("garbage")), None);
        assert_eq!(current_traceparent(None), None);
    }

    #[test]
    fn with_traces_a_span_continues_the_incoming_trace() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("handle");
            set_parent(&span, Some(INCOMING));
            let _entered = span.enter();
            let next = current_traceparent(Some(INCOMING)).expect("a trace context");
            let parts: Vec<&str> = next.split('-').collect();
            assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "same trace");
            assert_ne!(parts[2], "00f067aa0ba902b7", "a span of its own");
        });
    }
}
