use std::collections::BTreeMap;
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

/// Where the jobs projections cause go: notifications to the notification worker's
/// queue, AI tasks ([`infra::jobs::Channel::Ai`]) to the AI worker's.
#[derive(Debug, Clone)]
pub struct JobQueues {
    pub notifications: String,
    pub ai: String,
}

#[derive(Clone)]
pub struct Projector {
    pool: PgPool,
    projections: Arc<Vec<Box<dyn Projection>>>,
    sqs: SqsClient,
    queues: JobQueues,
}

impl Projector {
    pub fn new(
        pool: PgPool,
        projections: Vec<Box<dyn Projection>>,
        sqs: SqsClient,
        queues: JobQueues,
    ) -> Self {
        Self {
            pool,
            projections: Arc::new(projections),
            sqs,
            queues,
        }
    }

    /// Applies one delivered event to every projection of its aggregate type, in one
    /// transaction with the checkpoints. Safe to call any number of times, in any order.
    pub async fn handle(&self, envelope: &EventEnvelope) -> anyhow::Result<Outcome> {
        self.handle_all(std::slice::from_ref(envelope)).await
    }

    /// Applies delivered events (one receive: any streams, any order, duplicates
    /// allowed) in **one** transaction: per stream, each projection's checkpoint is
    /// locked once, the events after it up to the highest delivered are folded in as one
    /// run (missing ones read from the store), and the checkpoint advances once. One
    /// commit for the lot is what lets the projector keep up with the API.
    pub async fn handle_all(&self, envelopes: &[EventEnvelope]) -> anyhow::Result<Outcome> {
        // Streams in a fixed order: concurrent receives lock checkpoints in one order.
        let mut streams: BTreeMap<(&str, &str), Vec<&EventEnvelope>> = BTreeMap::new();
        for envelope in envelopes {
            if self.relevant(&envelope.aggregate_type).next().is_some() {
                streams
                    .entry((&envelope.aggregate_type, &envelope.aggregate_id))
                    .or_default()
                    .push(envelope);
            }
        }
        if streams.is_empty() {
            return Ok(Outcome::Ignored);
        }
        let mut tx = self.pool.begin().await.context("beginning projection")?;
        let mut applied_total = 0;
        let mut jobs: Vec<NotificationJob> = Vec::new();
        let mut updated: Vec<(&str, &EventEnvelope)> = Vec::new();
        for ((aggregate_type, aggregate_id), mut delivered) in streams {
            delivered.sort_by_key(|e| e.sequence);
            let head = *delivered.last().expect("a stream has events");
            let upto = i64::try_from(head.sequence).context("sequence out of range")?;
            let mut applied = 0;
            for projection in self.relevant(aggregate_type) {
                let last = lock_checkpoint(&mut tx, projection, head).await?;
                if upto <= last {
                    continue;
                }
                let events = match delivered_run(&delivered, last, upto) {
                    Some(run) => run,
                    // Delivered ahead of its predecessors: apply the missing ones first,
                    // from the store. They are committed (this event's outbox row came
                    // after them).
                    None => load_range(&mut tx, head, last, upto).await?,
                };
                let mut caused = projection
                    .apply_run(&mut tx, projection.table().unwrap_or_default(), &events)
                    .await?;
                continue_traces(&mut caused, &events);
                jobs.extend(caused);
                sqlx::query(
                    "UPDATE projection_checkpoint SET last_sequence = $4, updated_at = now() \
                     WHERE projection = $1 AND aggregate_type = $2 AND aggregate_id = $3",
                )
                .bind(projection.name())
                .bind(aggregate_type)
                .bind(aggregate_id)
                .bind(upto)
                .execute(&mut *tx)
                .await
                .context("advancing checkpoint")?;
                applied = applied.max(events.len());
            }
            if applied > 0 {
                applied_total += applied;
                updated.push((aggregate_id, head));
            }
        }
        if updated.is_empty() {
            tx.commit().await.context("closing duplicate")?;
            return Ok(Outcome::Duplicate);
        }
        // Wake read-your-writes waiters in the API (delivered on commit).
        let ids: Vec<&str> = updated.iter().map(|(id, _)| *id).collect();
        sqlx::query("SELECT pg_notify('projection_updated', id) FROM unnest($1::text[]) AS id")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .context("notifying waiters")?;
        // Jobs go out before the commit: a crash in between re-derives the same job ids,
        // which SQS and the workers deduplicate.
        let (ai, notifications): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .partition(|j| j.channel == jobs::Channel::Ai);
        jobs::enqueue_all(&self.sqs, &self.queues.notifications, &notifications).await?;
        jobs::enqueue_all(&self.sqs, &self.queues.ai, &ai).await?;
        tx.commit().await.context("committing projection")?;
        // Event time to view time: what a reader without `min_version` is behind by.
        let now = chrono::Utc::now();
        for (_, head) in &updated {
            let lag = (now - head.occurred_at).num_milliseconds() as f64 / 1000.0;
            metrics::histogram!("repstream_projection_lag_seconds", "aggregate_type" => head.aggregate_type.clone())
                .record(lag.max(0.0));
        }
        for envelope in envelopes {
            metrics::counter!("repstream_projected_events_total", "aggregate_type" => envelope.aggregate_type.clone())
                .increment(1);
        }
        Ok(Outcome::Applied {
            events: applied_total,
        })
    }

    fn relevant<'a>(&'a self, aggregate_type: &'a str) -> impl Iterator<Item = &'a dyn Projection> {
        self.projections
            .iter()
            .map(AsRef::as_ref)
            .filter(move |p| p.aggregate_type() == aggregate_type)
    }
}

/// The delivered events after `last` up to `upto`, if they are all there (duplicates
/// dropped); `None` when one is missing.
fn delivered_run(delivered: &[&EventEnvelope], last: i64, upto: i64) -> Option<Vec<EventEnvelope>> {
    let mut run: Vec<EventEnvelope> = Vec::new();
    let mut next = last + 1;
    for envelope in delivered {
        let sequence = envelope.sequence as i64;
        if sequence < next {
            continue;
        }
        if sequence != next {
            return None;
        }
        run.push((*envelope).clone());
        next += 1;
    }
    (next == upto + 1).then_some(run)
}

/// Locks the projection's checkpoint of the envelope's stream (creating it at 0) and
/// answers its position. One statement in the usual case: a stream's first event
/// inserts, later events lock the existing row.
async fn lock_checkpoint(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    envelope: &EventEnvelope,
) -> anyhow::Result<i64> {
    let select = || {
        sqlx::query_scalar(
            "SELECT last_sequence FROM projection_checkpoint \
             WHERE projection = $1 AND aggregate_type = $2 AND aggregate_id = $3 FOR UPDATE",
        )
        .bind(projection.name())
        .bind(&envelope.aggregate_type)
        .bind(&envelope.aggregate_id)
    };
    if envelope.sequence > 1 {
        if let Some(last) = select()
            .fetch_optional(&mut *conn)
            .await
            .context("locking checkpoint")?
        {
            return Ok(last);
        }
    }
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO projection_checkpoint (projection, aggregate_type, aggregate_id, tenant_id, last_sequence) \
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING RETURNING last_sequence",
    )
    .bind(projection.name())
    .bind(&envelope.aggregate_type)
    .bind(&envelope.aggregate_id)
    .bind(envelope.tenant_id)
    .fetch_optional(&mut *conn)
    .await
    .context("creating checkpoint")?;
    match inserted {
        Some(last) => Ok(last),
        None => select()
            .fetch_one(&mut *conn)
            .await
            .context("locking checkpoint"),
    }
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

    /// A receive in one transaction; any message that is not an envelope sends the
    /// receive back to one at a time, where it fails alone.
    async fn handle_all(&self, bodies: &[&str]) -> anyhow::Result<bool> {
        let envelopes = bodies
            .iter()
            .map(|body| serde_json::from_str::<EventEnvelope>(body))
            .collect::<Result<Vec<_>, _>>()
            .context("a message is not an event envelope")?;
        let outcome = Projector::handle_all(self, &envelopes).await?;
        debug!(?outcome, messages = envelopes.len(), "projected together");
        Ok(true)
    }

    async fn ready(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Each job continues the trace of the event that caused it (a `project` span, child of
/// the event's `traceparent`, when traces are on; the event's context as it is otherwise).
fn continue_traces(jobs: &mut [NotificationJob], events: &[EventEnvelope]) {
    for job in jobs.iter_mut().filter(|j| j.traceparent.is_none()) {
        let cause = events
            .iter()
            .find(|e| e.event_id == job.causation_id)
            .and_then(|e| e.metadata.traceparent.as_deref());
        let span = tracing::info_span!("project", job_id = %job.job_id, template = %job.template);
        infra::telemetry::set_parent(&span, cause);
        job.traceparent = span.in_scope(|| infra::telemetry::current_traceparent(cause));
    }
}
