//! Settles attendance after classes end: booked clients who were not checked in become
//! no-shows (strikes per policy).
//!
//! State-based, not timer-based: each sweep closes *every* class that has ended and is
//! still open, so classes that ended while this process was down are settled on the
//! next sweep. Closing is idempotent in the class aggregate, so overlapping sweeps (or a
//! view that has not caught up yet) do no harm.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::class::{Class, ClassCommand};
use infra::event_store::{CommandBus, CommandMetadata};
use infra::shutdown::CancellationToken;
use sqlx::PgPool;
use tracing::{info, warn};
use uuid::Uuid;

/// Closes every class that ended before `now` and is not settled yet. Returns how many
/// close commands were issued.
pub async fn settle_ended_classes(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let bus = CommandBus::<Class>::new(pool.clone(), ());
    let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, tenant_id FROM class_view WHERE status = 'scheduled' AND ends_at < $1 ORDER BY ends_at LIMIT 500",
    )
    .bind(now)
    .fetch_all(pool)
    .await
    .context("finding ended classes")?;
    let mut closed = 0;
    for (class, tenant) in due {
        let meta = CommandMetadata::system(tenant, "attendance", None);
        match bus
            .execute(&class.to_string(), ClassCommand::Close { now }, None, meta)
            .await
        {
            Ok(_) => closed += 1,
            Err(e) => warn!(%class, error = %e, "could not settle class"),
        }
    }
    Ok(closed)
}

/// Sweeps every `interval` until `shutdown`.
pub async fn run(pool: PgPool, interval: Duration, shutdown: CancellationToken) {
    loop {
        match settle_ended_classes(&pool, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => info!(classes = n, "settled attendance of ended classes"),
            Err(e) => warn!(error = format!("{e:#}"), "attendance sweep failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
