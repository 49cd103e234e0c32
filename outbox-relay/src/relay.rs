use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use futures::future::join_all;
use infra::shutdown::CancellationToken;
use infra::sqs::{attributes, message_body, SqsClient, SQS_MESSAGE_MAX};
use sqlx::postgres::{PgConnectOptions, PgListener};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Postgres, Transaction};
use tracing::{debug, error, info, info_span, warn, Instrument};

/// SQS accepts at most 10 entries per SendMessageBatch.
const SQS_BATCH_MAX: usize = 10;

/// How long the leader lock connection may take to answer before leadership is given up.
const LEADER_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the leader refreshes the outbox gauges.
const GAUGE_INTERVAL: Duration = Duration::from_secs(10);

/// What a message's attributes may add to its body's size (SQS counts both).
const ATTRIBUTE_ALLOWANCE: usize = 1024;

/// Advisory lock key of the relay leader ("repstream-relay" in ASCII, truncated).
pub const LEADER_LOCK_KEY: i64 = 0x7265_7073_7472_6561;

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub queue_url: String,
    /// Entries per SendMessageBatch (1..=10).
    pub batch_size: usize,
    /// Concurrent lanes, i.e. batches in flight at once.
    pub lanes: usize,
    /// How long to sleep between polls when no NOTIFY arrives.
    pub poll_interval: Duration,
    /// How often a standby retries the leader lock.
    pub standby_interval: Duration,
    /// How often published rows are pruned, and how old they must be.
    pub prune_interval: Duration,
    pub retention: Duration,
    /// Refusals (SQS says the message itself is at fault) after which a row is parked:
    /// it stops being sent, its reason is kept, and only its own aggregate waits behind
    /// it until an operator retries or discards it.
    pub park_after: i32,
    /// Consecutive failed rounds (SQS unreachable, timing out) after which the leader
    /// steps down, so a standby whose network works can take over.
    pub step_down_after: u32,
}

impl RelayConfig {
    pub fn new(queue_url: String) -> Self {
        Self {
            queue_url,
            batch_size: SQS_BATCH_MAX,
            lanes: 4,
            poll_interval: Duration::from_secs(1),
            standby_interval: Duration::from_secs(2),
            prune_interval: Duration::from_secs(60),
            retention: Duration::from_secs(3600),
            park_after: 5,
            step_down_after: 3,
        }
    }

    fn claim_limit(&self) -> i64 {
        (self.batch_size.clamp(1, SQS_BATCH_MAX) * self.lanes.max(1) * 4) as i64
    }
}

/// One unpublished outbox row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub event_id: uuid::Uuid,
    pub tenant_id: uuid::Uuid,
    pub aggregate_id: String,
    pub message: serde_json::Value,
}

/// Rows claimed by an open transaction. Dropping it without [`Relay::mark`] (a crash)
/// releases them unpublished.
pub struct Claimed {
    tx: Transaction<'static, Postgres>,
    pub rows: Vec<OutboxRow>,
}

/// What SQS accepted and refused. Rows in neither list (behind a refused row of their
/// aggregate, or in a lane that hit an outage) stay pending for the next round.
#[derive(Debug, Default)]
pub struct SendReport {
    pub published: Vec<i64>,
    /// The message itself is at fault (SQS's `SenderFault`, or too large to send): these
    /// count towards parking.
    pub refused: Vec<(i64, String)>,
    /// Not the message's fault (SQS unreachable, timed out, throttled, failing): the
    /// relay backs off; nothing is counted against the rows.
    pub transient: Vec<(i64, String)>,
}

impl SendReport {
    fn merge(&mut self, other: SendReport) {
        self.published.extend(other.published);
        self.refused.extend(other.refused);
        self.transient.extend(other.transient);
    }
}

#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    sqs: SqsClient,
    config: RelayConfig,
}

impl Relay {
    pub fn new(pool: PgPool, sqs: SqsClient, config: RelayConfig) -> Self {
        Self { pool, sqs, config }
    }

    /// Claims the oldest unpublished rows, in commit-independent id order, except parked
    /// rows and the rows of their aggregates after them.
    pub async fn claim(&self) -> anyhow::Result<Claimed> {
        let mut tx = self.pool.begin().await.context("beginning claim")?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT o.id, o.event_id, o.tenant_id, o.aggregate_id, o.message FROM outbox o \
             WHERE o.published_at IS NULL AND o.parked_at IS NULL \
               AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.published_at IS NULL \
                 AND p.parked_at IS NOT NULL AND p.aggregate_id = o.aggregate_id AND p.id < o.id) \
             ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
        )
        .bind(self.config.claim_limit())
        .fetch_all(&mut *tx)
        .await
        .context("claiming outbox rows")?;
        Ok(Claimed { tx, rows })
    }

    /// Sends rows to SQS in lanes (rows of one aggregate always share a lane, in order).
    /// A lane stops at its first failed entry so a later event of the same aggregate is
    /// never published before an earlier one.
    pub async fn send(&self, rows: &[OutboxRow]) -> SendReport {
        let results = join_all(
            lanes(rows, self.config.lanes.max(1))
                .into_iter()
                .filter(|lane| !lane.is_empty())
                .map(|lane| self.send_lane(lane)),
        )
        .await;
        let mut report = SendReport::default();
        for lane in results {
            report.merge(lane);
        }
        report
    }

    /// Sends one lane's rows in order, in batches bounded by count and by bytes. A
    /// refused row blocks the rest of its aggregate for this round; the lane goes on with
    /// the other aggregates. An outage (the call itself failed) ends the lane.
    async fn send_lane(&self, lane: Vec<&OutboxRow>) -> SendReport {
        let mut report = SendReport::default();
        let batch_size = self.config.batch_size.clamp(1, SQS_BATCH_MAX);
        let mut blocked: HashSet<&str> = HashSet::new();
        let mut pending = lane.into_iter().peekable();
        while pending.peek().is_some() {
            let mut batch: Vec<(&OutboxRow, String)> = Vec::with_capacity(batch_size);
            let mut bytes = 0;
            while let Some(row) = pending.peek() {
                let row = *row;
                if blocked.contains(row.aggregate_id.as_str()) {
                    pending.next();
                    continue;
                }
                let body = message_body(&row.message);
                let size = body.len() + ATTRIBUTE_ALLOWANCE;
                if size > SQS_MESSAGE_MAX {
                    pending.next();
                    blocked.insert(&row.aggregate_id);
                    report.refused.push((
                        row.id,
                        format!(
                            "message of {} bytes exceeds SQS's limit of {SQS_MESSAGE_MAX}",
                            body.len()
                        ),
                    ));
                    continue;
                }
                if batch.len() == batch_size || bytes + size > SQS_MESSAGE_MAX {
                    break;
                }
                pending.next();
                bytes += size;
                batch.push((row, body));
            }
            if batch.is_empty() {
                continue;
            }
            match self.send_batch(&batch).await {
                Ok(refusals) => {
                    for (row, _) in &batch {
                        if blocked.contains(row.aggregate_id.as_str()) {
                            continue; // behind an earlier refusal of this batch
                        }
                        match refusals.get(&row.id) {
                            None => report.published.push(row.id),
                            Some(Refusal {
                                sender_fault: true,
                                reason,
                            }) => {
                                blocked.insert(&row.aggregate_id);
                                report.refused.push((row.id, reason.clone()));
                            }
                            Some(Refusal { reason, .. }) => {
                                blocked.insert(&row.aggregate_id);
                                report.transient.push((row.id, reason.clone()));
                            }
                        }
                    }
                }
                Err(reason) => {
                    report
                        .transient
                        .extend(batch.iter().map(|(r, _)| (r.id, reason.clone())));
                    break;
                }
            }
        }
        // Whatever the lane did not get to stays unpublished for the next round.
        report
    }

    /// Returns the entries SQS refused; `Err` when the call itself failed.
    async fn send_batch(
        &self,
        rows: &[(&OutboxRow, String)],
    ) -> Result<HashMap<i64, Refusal>, String> {
        let mut entries = Vec::with_capacity(rows.len());
        for (i, (row, body)) in rows.iter().enumerate() {
            let correlation = row
                .message
                .pointer("/metadata/correlation_id")
                .and_then(|v| v.as_str())
                .unwrap_or("none");
            let event_type = row
                .message
                .get("event_type")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown");
            let traceparent = row
                .message
                .pointer("/metadata/traceparent")
                .and_then(|v| v.as_str())
                .filter(|t| infra::telemetry::valid_traceparent(t));
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .message_group_id(&row.aggregate_id)
                .message_deduplication_id(row.event_id.to_string())
                .message_attributes(attributes::CORRELATION_ID, string_attr(correlation)?)
                .message_attributes(attributes::EVENT_TYPE, string_attr(event_type)?)
                .message_attributes(
                    attributes::TENANT_ID,
                    string_attr(&row.tenant_id.to_string())?,
                );
            if let Some(traceparent) = traceparent {
                entry =
                    entry.message_attributes(attributes::TRACEPARENT, string_attr(traceparent)?);
            }
            let entry = entry.build().map_err(|e| e.to_string())?;
            entries.push(entry);
        }
        let output = self
            .sqs
            .send_message_batch()
            .queue_url(&self.config.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "SendMessageBatch failed: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        let mut refused = HashMap::new();
        for f in output.failed {
            if let Some((row, _)) = f.id.parse::<usize>().ok().and_then(|i| rows.get(i)) {
                refused.insert(
                    row.id,
                    Refusal {
                        sender_fault: f.sender_fault,
                        reason: format!("{}: {}", f.code, f.message.unwrap_or_default()),
                    },
                );
            }
        }
        Ok(refused)
    }

    /// Marks what SQS accepted as published and records failures, then commits.
    pub async fn mark(&self, claimed: Claimed, report: &SendReport) -> anyhow::Result<()> {
        let mut tx = claimed.tx;
        if !report.published.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                .bind(&report.published)
                .execute(&mut *tx)
                .await
                .context("marking published")?;
        }
        if !report.refused.is_empty() {
            let (ids, reasons): (Vec<i64>, Vec<String>) = report.refused.iter().cloned().unzip();
            let marked: Vec<(i64, String, bool)> = sqlx::query_as(
                "UPDATE outbox o SET attempts = attempts + 1, last_error = f.reason, \
                   parked_at = CASE WHEN o.attempts + 1 >= $3 THEN now() END \
                 FROM UNNEST($1::int8[], $2::text[]) AS f(id, reason) WHERE o.id = f.id \
                 RETURNING o.id, o.aggregate_id, o.parked_at IS NOT NULL",
            )
            .bind(&ids)
            .bind(&reasons)
            .bind(self.config.park_after)
            .fetch_all(&mut *tx)
            .await
            .context("recording refusals")?;
            for (id, aggregate_id, parked) in marked {
                if parked {
                    error!(
                        outbox_id = id,
                        %aggregate_id,
                        "outbox row parked: SQS keeps refusing it; only its aggregate waits \
                         (repstream-outbox-relay parked --help)"
                    );
                }
            }
        }
        if !report.transient.is_empty() {
            let (ids, reasons): (Vec<i64>, Vec<String>) = report.transient.iter().cloned().unzip();
            sqlx::query(
                "UPDATE outbox o SET last_error = f.reason \
                 FROM UNNEST($1::int8[], $2::text[]) AS f(id, reason) WHERE o.id = f.id",
            )
            .bind(&ids)
            .bind(&reasons)
            .execute(&mut *tx)
            .await
            .context("recording failures")?;
        }
        tx.commit().await.context("committing outbox marks")
    }

    /// One claim → send → mark round.
    pub async fn relay_once(&self) -> anyhow::Result<Round> {
        let claimed = self.claim().await?;
        if claimed.rows.is_empty() {
            claimed.tx.commit().await.context("closing empty claim")?;
            return Ok(Round::default());
        }
        let report = self.send(&claimed.rows).await;
        let round = Round {
            claimed: claimed.rows.len(),
            published: report.published.len(),
            refused: report.refused.len(),
            transient: report.transient.len(),
        };
        for (outcome, n) in [
            ("published", round.published),
            ("refused", round.refused),
            ("failed", round.transient),
        ] {
            if n > 0 {
                metrics::counter!("repstream_outbox_rows_total", "outcome" => outcome)
                    .increment(n as u64);
            }
        }
        for (id, reason) in &report.refused {
            warn!(outbox_id = id, %reason, "SQS refused an outbox row; its aggregate waits");
        }
        for (id, reason) in report.transient.iter().take(1) {
            warn!(outbox_id = id, %reason, rows = report.transient.len(), "publishing failed; will retry");
        }
        self.mark(claimed, &report).await?;
        Ok(round)
    }

    /// Publishes until the outbox is drained or SQS is failing.
    pub async fn drain(&self) -> anyhow::Result<DrainOutcome> {
        self.drain_leading(None).await
    }

    /// Like [`Self::drain`], checking before every round that the leader lock's session
    /// (`lock`) is alive: a relay that lost its lock stops before its next batch.
    async fn drain_leading(
        &self,
        mut lock: Option<&mut PgConnection>,
    ) -> anyhow::Result<DrainOutcome> {
        let mut total = 0;
        loop {
            if let Some(conn) = lock.as_deref_mut() {
                still_leader(conn).await?;
            }
            let round = self.relay_once().await?;
            total += round.published;
            if round.transient > 0 {
                return Ok(DrainOutcome::Failing { published: total });
            }
            // Refused rows are already out of the way (their aggregates are skipped or
            // parked), so a full round means more is waiting.
            if (round.claimed as i64) < self.config.claim_limit() {
                return Ok(DrainOutcome::Drained { published: total });
            }
        }
    }

    /// Deletes published rows older than the retention, in bounded chunks.
    pub async fn prune(&self) -> anyhow::Result<u64> {
        let mut deleted = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
                 WHERE published_at < now() - make_interval(secs => $1) LIMIT 5000)",
            )
            .bind(self.config.retention.as_secs_f64())
            .execute(&self.pool)
            .await
            .context("pruning outbox")?
            .rows_affected();
            deleted += n;
            if n < 5000 {
                return Ok(deleted);
            }
        }
    }
}

/// Splits a round's rows into `n` lanes of about equal length, each aggregate's rows in
/// one lane in their order: the largest aggregates first, each to the shortest lane so
/// far. A round lasts as long as its longest lane, so lanes of equal length keep every
/// lane busy until the end (hashing aggregates to lanes left some lanes with half again
/// the mean).
fn lanes(rows: &[OutboxRow], n: usize) -> Vec<Vec<&OutboxRow>> {
    let mut by_aggregate: Vec<Vec<&OutboxRow>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for row in rows {
        let slot = *index.entry(row.aggregate_id.as_str()).or_insert_with(|| {
            by_aggregate.push(Vec::new());
            by_aggregate.len() - 1
        });
        by_aggregate[slot].push(row);
    }
    // Stable: aggregates of equal size keep their claim order.
    by_aggregate.sort_by_key(|rows| std::cmp::Reverse(rows.len()));
    let mut lanes: Vec<Vec<&OutboxRow>> = vec![Vec::new(); n.max(1)];
    for rows in by_aggregate {
        let shortest = lanes
            .iter_mut()
            .min_by_key(|lane| lane.len())
            .expect("at least one lane");
        shortest.extend(rows);
    }
    lanes
}

/// What one [`Relay::relay_once`] round did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Round {
    pub claimed: usize,
    pub published: usize,
    pub refused: usize,
    pub transient: usize,
}

pub enum DrainOutcome {
    Drained { published: usize },
    Failing { published: usize },
}

/// One entry SQS refused.
#[derive(Debug)]
struct Refusal {
    /// SQS's `SenderFault`: the message itself is wrong and will be refused again.
    sender_fault: bool,
    reason: String,
}

fn string_attr(value: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| e.to_string())
}

/// Runs the relay until `shutdown`: waits to become leader, then publishes on every
/// NOTIFY (or poll tick), with exponential backoff while SQS refuses messages.
pub async fn run(
    pool: PgPool,
    connect: PgConnectOptions,
    sqs: SqsClient,
    config: RelayConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let relay = Relay::new(pool.clone(), sqs, config.clone());
    while !shutdown.is_cancelled() {
        // The lock lives on a connection of its own, outside the pool: it must stay
        // open exactly as long as we lead.
        let mut lock_conn = match connect.clone().connect().await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "cannot reach Postgres for the leader lock; retrying");
                sleep_or_cancel(config.standby_interval, &shutdown).await;
                continue;
            }
        };
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK_KEY)
            .fetch_one(&mut lock_conn)
            .await
            .unwrap_or(false);
        if !leader {
            debug!("another relay is active; standing by");
            let _ = lock_conn.close().await;
            sleep_or_cancel(config.standby_interval, &shutdown).await;
            continue;
        }
        info!("became the active outbox relay");
        let result = lead(&relay, &pool, &mut lock_conn, &config, &shutdown)
            .instrument(info_span!("relay_leader"))
            .await;
        if let Err(e) = &result {
            error!(
                error = format!("{e:#}"),
                "relay leadership ended with an error"
            );
        }
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LEADER_LOCK_KEY)
            .execute(&mut lock_conn)
            .await;
        let _ = lock_conn.close().await;
        if result.is_err() {
            // Long enough for a standby to try the lock at least once before we do.
            sleep_or_cancel(config.standby_interval * 2, &shutdown).await;
        }
    }
    info!("outbox relay stopped");
    Ok(())
}

async fn lead(
    relay: &Relay,
    pool: &PgPool,
    lock_conn: &mut PgConnection,
    config: &RelayConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .context("LISTEN connection")?;
    listener.listen("outbox").await.context("LISTEN outbox")?;
    let mut backoff = Duration::ZERO;
    let mut failures = 0u32;
    let mut last_prune = tokio::time::Instant::now();
    let mut last_gauges = tokio::time::Instant::now() - GAUGE_INTERVAL;
    loop {
        // Still leader before every round? If our lock session died, another relay may
        // already lead.
        let drained = relay.drain_leading(Some(&mut *lock_conn)).await;
        match drained {
            Ok(DrainOutcome::Drained { published }) => {
                if published > 0 {
                    debug!(published, "outbox drained");
                }
                backoff = Duration::ZERO;
                failures = 0;
            }
            Ok(DrainOutcome::Failing { published }) => {
                failures += 1;
                if failures >= config.step_down_after.max(1) {
                    anyhow::bail!("SQS failed {failures} rounds in a row; stepping down");
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(100), Duration::from_secs(30));
                warn!(
                    published,
                    backoff_ms = backoff.as_millis() as u64,
                    "SQS refusing messages; backing off"
                );
            }
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(100), Duration::from_secs(30));
                warn!(
                    error = format!("{e:#}"),
                    backoff_ms = backoff.as_millis() as u64,
                    "relay round failed; backing off"
                );
            }
        }
        if last_gauges.elapsed() >= GAUGE_INTERVAL {
            last_gauges = tokio::time::Instant::now();
            match crate::ops::backlog(pool).await {
                Ok(b) => {
                    metrics::gauge!("repstream_outbox_pending").set(b.pending as f64);
                    metrics::gauge!("repstream_outbox_oldest_pending_seconds")
                        .set(b.oldest_pending_secs);
                    metrics::gauge!("repstream_outbox_parked").set(b.parked as f64);
                }
                Err(e) => warn!(
                    error = format!("{e:#}"),
                    "reading the outbox backlog failed"
                ),
            }
        }
        if last_prune.elapsed() >= config.prune_interval {
            last_prune = tokio::time::Instant::now();
            match relay.prune().await {
                Ok(n) if n > 0 => info!(deleted = n, "pruned published outbox rows"),
                Ok(_) => {}
                Err(e) => warn!(error = format!("{e:#}"), "pruning failed"),
            }
        }
        if !backoff.is_zero() {
            sleep_or_cancel(backoff, shutdown).await;
            if shutdown.is_cancelled() {
                return Ok(());
            }
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            n = listener.recv() => {
                n.context("LISTEN connection lost")?;
                // Every commit notifies: take all that arrived, so they never pile up
                // in Postgres's notification queue. One drain answers them all.
                while listener.next_buffered().is_some() {}
            }
            _ = tokio::time::sleep(config.poll_interval) => {}
        }
    }
}

/// The leader lock's session is alive (it holds the lock for as long as it lives), checked
/// within a bound: a hung connection is a lost one.
async fn still_leader(lock_conn: &mut PgConnection) -> anyhow::Result<()> {
    tokio::time::timeout(
        LEADER_CHECK_TIMEOUT,
        sqlx::query("SELECT 1").execute(lock_conn),
    )
    .await
    .map_err(|_| anyhow::anyhow!("leader lock connection did not answer"))?
    .context("leader lock connection lost")?;
    Ok(())
}

async fn sleep_or_cancel(d: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}

/// Parses `DATABASE_URL` into connect options for the lock connection.
pub fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    url.parse::<PgConnectOptions>()
        .context("parsing DATABASE_URL")
        .map(|o| o.application_name("repstream-outbox-relay-lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, aggregate: &str) -> OutboxRow {
        OutboxRow {
            id,
            event_id: uuid::Uuid::now_v7(),
            tenant_id: uuid::Uuid::now_v7(),
            aggregate_id: aggregate.to_owned(),
            message: serde_json::json!({}),
        }
    }

    #[test]
    fn lanes_are_even_and_keep_each_aggregate_in_one_lane_in_order() {
        // 64 aggregates, 160 rows round-robin, as a busy relay claims them.
        let rows: Vec<OutboxRow> = (0..160)
            .map(|i| row(i, &format!("agg-{}", i % 64)))
            .collect();
        let lanes = lanes(&rows, 4);
        let lengths: Vec<usize> = lanes.iter().map(Vec::len).collect();
        assert_eq!(lengths.iter().sum::<usize>(), 160);
        let (min, max) = (
            lengths.iter().min().expect("lanes"),
            lengths.iter().max().expect("lanes"),
        );
        assert!(max - min <= 3, "lanes {lengths:?}");
        let mut lane_of: HashMap<&str, usize> = HashMap::new();
        for (n, lane) in lanes.iter().enumerate() {
            let mut last: HashMap<&str, i64> = HashMap::new();
            for r in lane {
                assert_eq!(*lane_of.entry(&r.aggregate_id).or_insert(n), n);
                let previous = last.insert(&r.aggregate_id, r.id).unwrap_or(-1);
                assert!(previous < r.id, "order kept within an aggregate");
            }
        }
    }

    #[test]
    fn one_aggregate_is_one_lane() {
        let rows: Vec<OutboxRow> = (0..30).map(|i| row(i, "only")).collect();
        let lanes = lanes(&rows, 4);
        assert_eq!(lanes.iter().filter(|l| !l.is_empty()).count(), 1);
    }
}
