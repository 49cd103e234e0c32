use std::collections::{BTreeMap, HashMap};
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
    /// allowed) in **one** transaction. Per projection, for all its streams at once:
    /// their checkpoints are locked (one statement), each stream's events after its
    /// checkpoint up to the highest delivered become one run (missing ones read from the
    /// store), the runs are folded in together (a document view reads and writes all its
    /// documents in one statement each), and the checkpoints advance (one statement). One
    /// commit for the lot, in a handful of statements, is what lets the projector keep
    /// up with the API.
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
        // Each stream's delivered events in order, and its head (the highest delivered).
        let mut heads: BTreeMap<(&str, &str), &EventEnvelope> = BTreeMap::new();
        for (key, delivered) in streams.iter_mut() {
            delivered.sort_by_key(|e| e.sequence);
            heads.insert(*key, delivered.last().expect("a stream has events"));
        }
        let mut applied: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut jobs: Vec<NotificationJob> = Vec::new();
        // Per projection (in list order), all its streams at once: one statement locks
        // their checkpoints, one batch of statements folds their runs in, one advances
        // the checkpoints.
        for projection in self.projections.iter().map(AsRef::as_ref) {
            let mine: Vec<&EventEnvelope> = heads
                .iter()
                .filter(|((aggregate_type, _), _)| *aggregate_type == projection.aggregate_type())
                .map(|(_, head)| *head)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let lasts = lock_checkpoints(&mut tx, projection, &mine).await?;
            let mut runs: Vec<Vec<EventEnvelope>> = Vec::new();
            for head in &mine {
                let key = (head.aggregate_type.as_str(), head.aggregate_id.as_str());
                let last = lasts.get(head.aggregate_id.as_str()).copied().unwrap_or(0);
                let upto = i64::try_from(head.sequence).context("sequence out of range")?;
                if upto <= last {
                    continue;
                }
                let events = match delivered_run(&streams[&key], last, upto) {
                    Some(run) => run,
                    // Delivered ahead of its predecessors: apply the missing ones first,
                    // from the store. They are committed (this event's outbox row came
                    // after them).
                    None => load_range(&mut tx, head, last, upto).await?,
                };
                let n = applied.entry(key).or_default();
                *n = (*n).max(events.len());
                runs.push(events);
            }
            if runs.is_empty() {
                continue;
            }
            let slices: Vec<&[EventEnvelope]> = runs.iter().map(Vec::as_slice).collect();
            let mut caused = projection
                .apply_runs(&mut tx, projection.table().unwrap_or_default(), &slices)
                .await?;
            for run in &runs {
                continue_traces(&mut caused, run);
            }
            jobs.extend(caused);
            advance_checkpoints(&mut tx, projection, &runs).await?;
        }
        let applied_total: usize = applied.values().sum();
        let updated: Vec<(&str, &EventEnvelope)> =
            applied.keys().map(|key| (key.1, heads[key])).collect();
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

/// Locks the projection's checkpoints of the heads' streams (sorted by stream id, so
/// concurrent receives lock in one order), creating missing ones at 0, and answers each
/// stream's position. One statement in the usual case; a stream's first event adds one.
async fn lock_checkpoints(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    heads: &[&EventEnvelope],
) -> anyhow::Result<HashMap<String, i64>> {
    let ids: Vec<&str> = heads.iter().map(|h| h.aggregate_id.as_str()).collect();
    let mut lasts: HashMap<String, i64> = HashMap::with_capacity(heads.len());
    // A stream that starts here has no checkpoint to lock yet.
    if heads.iter().any(|h| h.sequence > 1) {
        lasts.extend(lock_existing(conn, projection, &ids).await?);
    }
    let missing: Vec<&&EventEnvelope> = heads
        .iter()
        .filter(|h| !lasts.contains_key(&h.aggregate_id))
        .collect();
    if missing.is_empty() {
        return Ok(lasts);
    }
    let inserted: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO projection_checkpoint (projection, aggregate_type, aggregate_id, tenant_id, last_sequence) \
         SELECT $1, $2, t.id, t.tenant, 0 FROM UNNEST($3::text[], $4::uuid[]) AS t(id, tenant) \
         ORDER BY t.id ON CONFLICT DO NOTHING RETURNING aggregate_id, last_sequence",
    )
    .bind(projection.name())
    .bind(projection.aggregate_type())
    .bind(missing.iter().map(|h| h.aggregate_id.as_str()).collect::<Vec<_>>())
    .bind(missing.iter().map(|h| h.tenant_id).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
    .context("creating checkpoints")?;
    lasts.extend(inserted);
    // Created by a concurrent receive meanwhile: lock theirs.
    let raced: Vec<&str> = missing
        .iter()
        .filter(|h| !lasts.contains_key(&h.aggregate_id))
        .map(|h| h.aggregate_id.as_str())
        .collect();
    if !raced.is_empty() {
        lasts.extend(lock_existing(conn, projection, &raced).await?);
    }
    Ok(lasts)
}

/// Locks the existing checkpoints of `ids`, in stream id order.
async fn lock_existing(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    ids: &[&str],
) -> anyhow::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT aggregate_id, last_sequence FROM projection_checkpoint \
         WHERE projection = $1 AND aggregate_type = $2 AND aggregate_id = ANY($3) \
         ORDER BY aggregate_id FOR UPDATE",
    )
    .bind(projection.name())
    .bind(projection.aggregate_type())
    .bind(ids)
    .fetch_all(conn)
    .await
    .context("locking checkpoints")
}

/// Advances the projection's checkpoint of each run's stream to the run's last event.
async fn advance_checkpoints(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    runs: &[Vec<EventEnvelope>],
) -> anyhow::Result<()> {
    let (mut ids, mut sequences) = (
        Vec::with_capacity(runs.len()),
        Vec::with_capacity(runs.len()),
    );
    for end in runs.iter().filter_map(|r| r.last()) {
        ids.push(end.aggregate_id.as_str());
        sequences.push(i64::try_from(end.sequence).context("sequence out of range")?);
    }
    sqlx::query(
        "UPDATE projection_checkpoint c SET last_sequence = t.seq, updated_at = now() \
         FROM UNNEST($3::text[], $4::int8[]) AS t(id, seq) \
         WHERE c.projection = $1 AND c.aggregate_type = $2 AND c.aggregate_id = t.id",
    )
    .bind(projection.name())
    .bind(projection.aggregate_type())
    .bind(&ids)
    .bind(&sequences)
    .execute(&mut *conn)
    .await
    .context("advancing checkpoints")?;
    Ok(())
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
