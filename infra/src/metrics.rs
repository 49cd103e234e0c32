//! Prometheus metrics (the `metrics` facade, exported by `metrics-exporter-prometheus`).
//! The API serves them at `GET /metrics`; the relay, the projector and the workers on a
//! listener of their own (`METRICS_ADDR`). Names and what to alert on: README,
//! "Operating it".
//!
//! Labels are bounded by construction: route templates (never raw paths), aggregate
//! types, projection names, outcomes. No tenant, id or health field ever becomes a label.

use std::net::SocketAddr;
use std::sync::OnceLock;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Seconds buckets for request and lag histograms: 1 ms to 60 s.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

fn builder() -> anyhow::Result<PrometheusBuilder> {
    PrometheusBuilder::new()
        .set_buckets(SECONDS)
        .context("histogram buckets")
}

/// Installs the process's recorder (once; later calls return the same handle) for a
/// service that renders `/metrics` itself (the API).
pub fn install() -> anyhow::Result<&'static PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let recorder = builder()?.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_ok() {
        let _ = HANDLE.set(handle);
    }
    HANDLE
        .get()
        .context("another metrics recorder is installed")
}

/// Installs the recorder with an HTTP listener serving `/metrics` on `addr`. Must run
/// inside the Tokio runtime.
pub fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let (recorder, exporter) = builder()?
        .with_http_listener(addr)
        .build()
        .with_context(|| format!("serving metrics on {addr}"))?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).context("a metrics recorder is already installed")?;
    let _ = HANDLE.set(handle);
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            tracing::error!(error = ?e, "metrics listener stopped");
        }
    });
    tracing::info!(%addr, "metrics at /metrics");
    Ok(())
}

/// The current metrics in Prometheus' text format (empty before [`install`]).
pub fn render() -> String {
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}
