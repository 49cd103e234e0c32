//! Settles attendance after classes end: booked clients who were not checked in become
//! no-shows (strikes per policy).
//!
//! State-based, not timer-based: each sweep closes classes that have ended and are still
//! open, so classes that ended while this process was down are settled on the next
//! sweep. It reads the **committed** `class_slot` directory (written with the class
//! events, never lagging them), not a view. Fair: candidates are ranked oldest first
//! *within each tenant* and taken round-robin across tenants, so a burst of one studio's
//! classes never starves another's. Shared: each class is claimed with
//! `FOR UPDATE SKIP LOCKED` in the transaction that closes it, so several worker
//! replicas split the work without closing anything twice (closing is idempotent in the
//! aggregate anyway).

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::class::{Class, ClassCommand};
use infra::event_store::{bind_tenant, CommandBus, CommandMetadata};
use infra::shutdown::CancellationToken;
use sqlx::PgPool;
use tracing::{info, warn};
use uuid::Uuid;

/// Classes taken per tenant in one pass (round-robin across tenants).
const PER_TENANT: i64 = 50;
/// Classes taken in one pass.
const BATCH: i64 = 500;

/// Closes ended classes that are not settled yet, fairly across tenants (see the module
/// docs). Returns how many this call closed.
pub async fn settle_ended_classes(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let bus = CommandBus::<Class>::new(pool.clone(), ());
    let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT tenant_id, class_id FROM ( \
           SELECT tenant_id, class_id, ends_at, \
             row_number() OVER (PARTITION BY tenant_id ORDER BY ends_at) AS rank \
           FROM class_slot WHERE status = 'scheduled' AND ends_at < $1) due \
         WHERE rank <= $2 ORDER BY rank, ends_at LIMIT $3",
    )
    .bind(now)
    .bind(PER_TENANT)
    .bind(BATCH)
    .fetch_all(pool)
    .await
    .context("finding ended classes")?;
    let mut closed = 0;
    for (tenant, class) in due {
        match settle(pool, &bus, tenant, class, now).await {
            Ok(true) => closed += 1,
            Ok(false) => {} // another replica has it, or it was just settled
            Err(e) => warn!(%class, error = format!("{e:#}"), "could not settle class"),
        }
    }
    Ok(closed)
}

/// Claims and closes one class in one transaction; false when it was not ours to close.
async fn settle(
    pool: &PgPool,
    bus: &CommandBus<Class>,
    tenant: Uuid,
    class: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    bind_tenant(&mut tx, tenant).await?;
    let claimed: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM class_slot WHERE tenant_id = $1 AND class_id = $2 \
         AND status = 'scheduled' FOR UPDATE SKIP LOCKED",
    )
    .bind(tenant)
    .bind(class)
    .fetch_optional(&mut *tx)
    .await
    .context("claiming the class")?;
    if claimed.is_none() {
        return Ok(false);
    }
    let meta = CommandMetadata::system(tenant, "attendance", None);
    bus.execute_in(
        &mut tx,
        &class.to_string(),
        ClassCommand::Close { now },
        None,
        &meta,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await.context("committing the settlement")?;
    Ok(true)
}

/// Sweeps every `interval` (at once again while a pass finds a full batch) until
/// `shutdown`.
pub async fn run(pool: PgPool, interval: Duration, shutdown: CancellationToken) {
    loop {
        let pause = match settle_ended_classes(&pool, Utc::now()).await {
            Ok(0) => interval,
            Ok(n) => {
                info!(classes = n, "settled attendance of ended classes");
                if n as i64 >= BATCH {
                    Duration::ZERO
                } else {
                    interval
                }
            }
            Err(e) => {
                warn!(error = format!("{e:#}"), "attendance sweep failed");
                interval
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
