use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use futures::future::join_all;
use infra::shutdown::CancellationToken;
use infra::sqs::{attributes, SqsClient};
use sqlx::postgres::{PgConnectOptions, PgListener};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Postgres, Transaction};
use tracing::{debug, error, info, info_span, warn, Instrument};

/// SQS accepts at most 10 entries per SendMessageBatch.
const SQS_BATCH_MAX: usize = 10;

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

/// What SQS accepted and refused.
#[derive(Debug, Default)]
pub struct SendReport {
    pub published: Vec<i64>,
    pub failed: Vec<(i64, String)>,
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

    /// Claims the oldest unpublished rows, in commit-independent id order.
    pub async fn claim(&self) -> anyhow::Result<Claimed> {
        let mut tx = self.pool.begin().await.context("beginning claim")?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, event_id, tenant_id, aggregate_id, message FROM outbox \
             WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
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
        let lanes = self.config.lanes.max(1);
        let mut by_lane: Vec<Vec<&OutboxRow>> = vec![Vec::new(); lanes];
        for row in rows {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            row.aggregate_id.hash(&mut h);
            by_lane[(h.finish() % lanes as u64) as usize].push(row);
        }
        let results = join_all(
            by_lane
                .into_iter()
                .filter(|lane| !lane.is_empty())
                .map(|lane| self.send_lane(lane)),
        )
        .await;
        let mut report = SendReport::default();
        for lane in results {
            report.published.extend(lane.published);
            report.failed.extend(lane.failed);
        }
        report
    }

    async fn send_lane(&self, lane: Vec<&OutboxRow>) -> SendReport {
        let mut report = SendReport::default();
        let batch_size = self.config.batch_size.clamp(1, SQS_BATCH_MAX);
        for chunk in lane.chunks(batch_size) {
            match self.send_batch(chunk).await {
                Ok(failed) if failed.is_empty() => {
                    report.published.extend(chunk.iter().map(|r| r.id));
                }
                Ok(failed) => {
                    // Keep only what precedes the first failure of each aggregate.
                    let mut blocked: HashMap<&str, ()> = HashMap::new();
                    for row in chunk {
                        if let Some(reason) = failed.get(&row.id) {
                            blocked.insert(&row.aggregate_id, ());
                            report.failed.push((row.id, reason.clone()));
                        } else if blocked.contains_key(row.aggregate_id.as_str()) {
                            report.failed.push((row.id, "earlier event failed".into()));
                        } else {
                            report.published.push(row.id);
                        }
                    }
                    break;
                }
                Err(reason) => {
                    report
                        .failed
                        .extend(chunk.iter().map(|r| (r.id, reason.clone())));
                    break;
                }
            }
        }
        // Whatever the lane did not get to stays unpublished for the next round.
        report
    }

    /// Returns the ids SQS refused, with the reason.
    async fn send_batch(&self, rows: &[&OutboxRow]) -> Result<HashMap<i64, String>, String> {
        let mut entries = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
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
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(row.message.to_string())
                .message_group_id(&row.aggregate_id)
                .message_deduplication_id(row.event_id.to_string())
                .message_attributes(attributes::CORRELATION_ID, string_attr(correlation)?)
                .message_attributes(attributes::EVENT_TYPE, string_attr(event_type)?)
                .message_attributes(
                    attributes::TENANT_ID,
                    string_attr(&row.tenant_id.to_string())?,
                )
                .build()
                .map_err(|e| e.to_string())?;
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
        let mut failed = HashMap::new();
        for f in output.failed {
            if let Some(row) = f.id.parse::<usize>().ok().and_then(|i| rows.get(i)) {
                failed.insert(
                    row.id,
                    format!("{}: {}", f.code, f.message.unwrap_or_default()),
                );
            }
        }
        Ok(failed)
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
        if !report.failed.is_empty() {
            let (ids, reasons): (Vec<i64>, Vec<String>) = report.failed.iter().cloned().unzip();
            sqlx::query(
                "UPDATE outbox o SET attempts = attempts + 1, last_error = f.reason \
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

    /// One claim → send → mark round. Returns (claimed, published, failed).
    pub async fn relay_once(&self) -> anyhow::Result<(usize, usize, usize)> {
        let claimed = self.claim().await?;
        if claimed.rows.is_empty() {
            claimed.tx.commit().await.context("closing empty claim")?;
            return Ok((0, 0, 0));
        }
        let report = self.send(&claimed.rows).await;
        let counts = (
            claimed.rows.len(),
            report.published.len(),
            report.failed.len(),
        );
        for (id, reason) in &report.failed {
            warn!(outbox_id = id, %reason, "SQS refused an outbox row; will retry");
        }
        self.mark(claimed, &report).await?;
        Ok(counts)
    }

    /// Publishes until the outbox is empty or a round fails to make progress.
    pub async fn drain(&self) -> anyhow::Result<DrainOutcome> {
        let mut total = 0;
        loop {
            let (claimed, published, failed) = self.relay_once().await?;
            total += published;
            if failed > 0 {
                return Ok(DrainOutcome::Failing { published: total });
            }
            if (claimed as i64) < self.config.claim_limit() {
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

pub enum DrainOutcome {
    Drained { published: usize },
    Failing { published: usize },
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
            sleep_or_cancel(config.standby_interval, &shutdown).await;
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
    let mut last_prune = tokio::time::Instant::now();
    loop {
        // Still leader? If our lock session died, another relay may already lead.
        sqlx::query("SELECT 1")
            .execute(&mut *lock_conn)
            .await
            .context("leader lock connection lost")?;

        match relay.drain().await {
            Ok(DrainOutcome::Drained { published }) => {
                if published > 0 {
                    debug!(published, "outbox drained");
                }
                backoff = Duration::ZERO;
            }
            Ok(DrainOutcome::Failing { published }) => {
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
            n = listener.recv() => { n.context("LISTEN connection lost")?; }
            _ = tokio::time::sleep(config.poll_interval) => {}
        }
    }
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
