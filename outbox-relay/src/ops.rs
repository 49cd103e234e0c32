//! Operating the outbox: how far behind it is, and what to do with parked rows
//! (`repstream-outbox-relay status | parked list | parked retry | parked discard`).

use anyhow::Context;
use serde::Serialize;
use sqlx::PgPool;

/// The outbox at a glance: what an operator alerts on.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Status {
    /// Rows waiting to be published (parked ones excluded).
    pub pending: i64,
    /// Age of the oldest pending row, in seconds (0 when none).
    pub oldest_pending_secs: f64,
    /// Rows parked after repeated refusals.
    pub parked: i64,
    /// Published rows kept until the retention prunes them.
    pub published_retained: i64,
}

pub async fn status(pool: &PgPool) -> anyhow::Result<Status> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) AS pending, \
           COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) \
             FILTER (WHERE published_at IS NULL AND parked_at IS NULL))::float8, 0) AS oldest_pending_secs, \
           count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NOT NULL) AS parked, \
           count(*) FILTER (WHERE published_at IS NOT NULL) AS published_retained \
         FROM outbox",
    )
    .fetch_one(pool)
    .await
    .context("reading outbox status")
}

/// What is waiting: read through the partial indexes only (cheap enough for a gauge).
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Backlog {
    pub pending: i64,
    pub oldest_pending_secs: f64,
    pub parked: i64,
}

pub async fn backlog(pool: &PgPool) -> anyhow::Result<Backlog> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL) AS pending, \
           COALESCE((SELECT EXTRACT(EPOCH FROM now() - created_at)::float8 FROM outbox \
             WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT 1), 0) AS oldest_pending_secs, \
           (SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NOT NULL) AS parked",
    )
    .fetch_one(pool)
    .await
    .context("reading the outbox backlog")
}

/// A parked row, with why it was parked.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Parked {
    pub id: i64,
    pub tenant_id: uuid::Uuid,
    pub aggregate_id: String,
    pub event_type: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub parked_at: chrono::DateTime<chrono::Utc>,
    /// Later rows of the same aggregate waiting behind it.
    pub waiting_behind: i64,
}

pub async fn parked(pool: &PgPool) -> anyhow::Result<Vec<Parked>> {
    sqlx::query_as(
        "SELECT p.id, p.tenant_id, p.aggregate_id, p.message->>'event_type' AS event_type, \
           p.attempts, p.last_error, p.parked_at, \
           (SELECT count(*) FROM outbox o WHERE o.aggregate_id = p.aggregate_id \
              AND o.published_at IS NULL AND o.id > p.id) AS waiting_behind \
         FROM outbox p WHERE p.published_at IS NULL AND p.parked_at IS NOT NULL ORDER BY p.id",
    )
    .fetch_all(pool)
    .await
    .context("listing parked rows")
}

/// Puts parked rows back in line with a fresh attempt count (after the cause is fixed,
/// e.g. a queue's limits raised). Returns how many were parked.
pub async fn retry(pool: &PgPool, ids: &[i64]) -> anyhow::Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET parked_at = NULL, attempts = 0 \
         WHERE id = ANY($1) AND parked_at IS NOT NULL AND published_at IS NULL",
    )
    .bind(ids)
    .execute(pool)
    .await
    .context("retrying parked rows")?
    .rows_affected())
}

/// Gives up on publishing parked rows: they are deleted from the outbox, so their
/// aggregates flow again. The events stay in the store: the projector applies a
/// discarded event from there when the stream's next event arrives (gap fill), and
/// `rebuild` replays it. Returns how many were parked.
pub async fn discard(pool: &PgPool, ids: &[i64]) -> anyhow::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM outbox WHERE id = ANY($1) AND parked_at IS NOT NULL AND published_at IS NULL",
    )
    .bind(ids)
    .execute(pool)
    .await
    .context("discarding parked rows")?
    .rows_affected())
}
