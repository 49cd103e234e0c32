use std::sync::Arc;

use anyhow::Context;
use infra::envelope::{EventEnvelope, StoredEvent, STORED_EVENT_COLUMNS};
use infra::jobs::{self, NotificationJob};
use infra::sqs::SqsClient;
use sqlx::{PgConnection, PgPool};
use tracing::debug;

use crate::projection::Projection;

/// What handling one envelope did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `events` events were applied (more than one when a gap was filled).
    Applied { events: usize },
    /// Every projection had already applied this event.
    Duplicate,
    /// No projection reads this aggregate type.
    Ignored,
}

#[derive(Clone)]
pub struct Projector {
    pool: PgPool,
    projections: Arc<Vec<Box<dyn Projection>>>,
    sqs: SqsClient,
    notifications_queue_url: String,
}

impl Projector {
    pub fn new(
        pool: PgPool,
        projections: Vec<Box<dyn Projection>>,
        sqs: SqsClient,
        notifications_queue_url: String,
    ) -> Self {
        Self {
            pool,
            projections: Arc::new(projections),
            sqs,
            notifications_queue_url,
        }
    }

    /// Applies one delivered event to every projection of its aggregate type, in one
    /// transaction with the checkpoints. Safe to call any number of times, in any order.
    pub async fn handle(&self, envelope: &EventEnvelope) -> anyhow::Result<Outcome> {
        let relevant: Vec<&dyn Projection> = self
            .projections
            .iter()
            .map(AsRef::as_ref)
            .filter(|p| p.aggregate_type() == envelope.aggregate_type)
            .collect();
        if relevant.is_empty() {
            return Ok(Outcome::Ignored);
        }
        let sequence = i64::try_from(envelope.sequence).context("sequence out of range")?;
        let mut tx = self.pool.begin().await.context("beginning projection")?;
        let mut applied = 0;
        let mut jobs: Vec<NotificationJob> = Vec::new();
        for projection in relevant {
            let last = lock_checkpoint(&mut tx, projection, envelope).await?;
            if sequence <= last {
                continue;
            }
            let events = if sequence == last + 1 {
                vec![envelope.clone()]
            } else {
                // Delivered ahead of its predecessors: apply the missing ones first, from
                // the store. They are committed (this event's outbox row came after them).
                load_range(&mut tx, envelope, last, sequence).await?
            };
            jobs.extend(
                projection
                    .apply_run(&mut tx, projection.table(), &events)
                    .await?,
            );
            sqlx::query(
                "UPDATE projection_checkpoint SET last_sequence = $4, updated_at = now() \
                 WHERE projection = $1 AND aggregate_type = $2 AND aggregate_id = $3",
            )
            .bind(projection.name())
            .bind(&envelope.aggregate_type)
            .bind(&envelope.aggregate_id)
            .bind(sequence)
            .execute(&mut *tx)
            .await
            .context("advancing checkpoint")?;
            applied = applied.max(events.len());
        }
        if applied == 0 {
            tx.commit().await.context("closing duplicate")?;
            return Ok(Outcome::Duplicate);
        }
        // Wake read-your-writes waiters in the API (delivered on commit).
        sqlx::query("SELECT pg_notify('projection_updated', $1)")
            .bind(&envelope.aggregate_id)
            .execute(&mut *tx)
            .await
            .context("notifying waiters")?;
        // Jobs go out before the commit: a crash in between re-derives the same job ids,
        // which SQS and the workers deduplicate.
        for job in &jobs {
            jobs::enqueue(&self.sqs, &self.notifications_queue_url, job).await?;
        }
        tx.commit().await.context("committing projection")?;
        // Event time to view time: what a reader without `min_version` is behind by.
        let lag = (chrono::Utc::now() - envelope.occurred_at).num_milliseconds() as f64 / 1000.0;
        metrics::histogram!("repstream_projection_lag_seconds", "aggregate_type" => envelope.aggregate_type.clone())
            .record(lag.max(0.0));
        metrics::counter!("repstream_projected_events_total", "aggregate_type" => envelope.aggregate_type.clone())
            .increment(applied as u64);
        Ok(Outcome::Applied { events: applied })
    }
}

async fn lock_checkpoint(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    envelope: &EventEnvelope,
) -> anyhow::Result<i64> {
    sqlx::query(
        "INSERT INTO projection_checkpoint (projection, aggregate_type, aggregate_id, tenant_id, last_sequence) \
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING",
    )
    .bind(projection.name())
    .bind(&envelope.aggregate_type)
    .bind(&envelope.aggregate_id)
    .bind(envelope.tenant_id)
    .execute(&mut *conn)
    .await
    .context("creating checkpoint")?;
    sqlx::query_scalar(
        "SELECT last_sequence FROM projection_checkpoint \
         WHERE projection = $1 AND aggregate_type = $2 AND aggregate_id = $3 FOR UPDATE",
    )
    .bind(projection.name())
    .bind(&envelope.aggregate_type)
    .bind(&envelope.aggregate_id)
    .fetch_one(&mut *conn)
    .await
    .context("locking checkpoint")
}

/// Events `(after, upto]` of the envelope's stream, checked to be contiguous.
async fn load_range(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    after: i64,
    upto: i64,
) -> anyhow::Result<Vec<EventEnvelope>> {
    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {STORED_EVENT_COLUMNS} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
         AND sequence > $3 AND sequence <= $4 ORDER BY sequence"
    ))
    .bind(&envelope.aggregate_type)
    .bind(&envelope.aggregate_id)
    .bind(after)
    .bind(upto)
    .fetch_all(&mut *conn)
    .await
    .context("loading missing events")?;
    let expected = (upto - after) as usize;
    anyhow::ensure!(
        rows.len() == expected,
        "stream {} has {} of the {} events in ({after}, {upto}]",
        envelope.aggregate_id,
        rows.len(),
        expected
    );
    Ok(rows.into_iter().map(EventEnvelope::from).collect())
}

#[async_trait::async_trait]
impl infra::consumer::MessageHandler for Projector {
    async fn handle(&self, body: &str) -> anyhow::Result<()> {
        let envelope: EventEnvelope =
            serde_json::from_str(body).context("message is not an event envelope")?;
        let outcome = Projector::handle(self, &envelope).await?;
        debug!(?outcome, event_type = %envelope.event_type, aggregate_id = %envelope.aggregate_id, sequence = envelope.sequence, "projected");
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
