//! Delivers webhooks (Standard Webhooks): POSTs each due `webhook_delivery` row to its
//! endpoint, signed, and records every attempt.
//!
//! ```text
//! sweep: due rows, ranked oldest first within each tenant, round-robin across tenants
//!   claim (tenant-bound tx): FOR UPDATE SKIP LOCKED ─► attempts + 1, lease ─► commit
//!   POST (no transaction open): webhook-id = delivery id, webhook-timestamp, webhook-signature
//!   record (tenant-bound tx): webhook_attempt row ─► delivered | retry at now + backoff | failed
//!                             410 Gone ─► Disable { reason: gone } through the aggregate
//!                             failed for good, failing for days ─► Disable { reason: failing }
//! ```
//!
//! State-based like the attendance sweep: a delivery is due because of its row, not a
//! timer, so nothing is lost across restarts, and replicas share the work (a row is
//! claimed by one worker; a claim whose worker died expires with its lease and the
//! delivery is attempted again, with the same `webhook-id` for the receiver to dedupe).
//! The HTTP call happens outside any transaction: a slow receiver holds no connection.
//!
//! SSRF: the URL is checked again at every attempt, and the HTTP client resolves names
//! through [`GuardedResolver`], which hands the connector only addresses the policy
//! allows, so the address connected to is the address checked (no DNS rebinding window).
//! Redirects are never followed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::webhook_endpoint::{DisableReason, WebhookEndpoint, WebhookEndpointCommand};
use infra::event_store::{bind_tenant, CommandBus, CommandMetadata};
use infra::shutdown::CancellationToken;
use infra::webhooks::{signature_header, UrlPolicy, WebhookKey};
use sqlx::PgPool;
use tracing::{info, warn};
use uuid::Uuid;

/// Deliveries taken per tenant in one sweep (round-robin across tenants).
const PER_TENANT: i64 = 20;
/// Deliveries taken in one sweep.
const BATCH: i64 = 200;
/// How much of a receiver's answer the log keeps.
const LOGGED_BODY_BYTES: usize = 1024;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(12 * 3600);

/// How the delivery worker behaves.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Endpoint secrets derive from it (`WEBHOOK_SECRET_KEY`).
    pub key: WebhookKey,
    /// The SSRF rules (`WEBHOOK_ALLOW_PRIVATE` in development only).
    pub policy: UrlPolicy,
    /// Pause between sweeps that found nothing to do.
    pub poll_interval: Duration,
    /// The wait after the first failed attempt; each further one waits 5× longer (±20 %
    /// jitter, at most 12 h).
    pub retry_base: Duration,
    /// Attempts before a delivery is `failed` (8 with a 5 s base: about 17 hours).
    pub max_attempts: u32,
    /// An endpoint every delivery to which has failed for this long is disabled
    /// (`disabled_reason: "failing"`) when one more delivery fails for good.
    pub disable_after: Duration,
    /// Per-attempt HTTP timeout (connect, send, answer).
    pub timeout: Duration,
    /// Attempts in flight at once.
    pub concurrency: usize,
}

impl DeliveryConfig {
    pub fn new(key: WebhookKey, policy: UrlPolicy) -> Self {
        Self {
            key,
            policy,
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            max_attempts: 8,
            disable_after: Duration::from_secs(5 * 24 * 3600),
            timeout: Duration::from_secs(10),
            concurrency: 8,
        }
    }

    /// The wait after the `failed`-th consecutive failure (1-based), with jitter.
    fn backoff(&self, failed: u32) -> Duration {
        let factor = 5u32.saturating_pow(failed.saturating_sub(1).min(20));
        let wait = self.retry_base.saturating_mul(factor).min(MAX_BACKOFF);
        // ±20 %, from the random bits of a v4 UUID (no RNG crate for one number).
        let permille = 800 + (Uuid::new_v4().as_u128() % 401) as u32;
        wait.saturating_mul(permille) / 1000
    }

    /// The lease of a claim: longer than any attempt can take.
    fn lease(&self) -> Duration {
        self.timeout * 3 + Duration::from_secs(10)
    }
}

/// Resolves endpoint host names to the addresses the policy allows, and only those: the
/// HTTP client connects to what this returns, so a name cannot be re-pointed at a
/// private address between the check and the connection.
struct GuardedResolver(UrlPolicy);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let addrs = policy
                .allowed_addrs(name.as_str())
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What one attempt came to.
#[derive(Debug)]
struct Attempt {
    status: Option<u16>,
    error: Option<String>,
    body: Option<String>,
    duration: Duration,
}

/// A claimed delivery.
struct Claimed {
    tenant: Uuid,
    id: Uuid,
    endpoint: Uuid,
    body: String,
    attempt: i32,
    attempts_before: i32,
    url: String,
    secret_version: i32,
    previous_valid: bool,
}

/// The delivery worker. Cheap to clone.
#[derive(Clone)]
pub struct DeliveryWorker {
    pool: PgPool,
    client: reqwest::Client,
    config: Arc<DeliveryConfig>,
}

impl DeliveryWorker {
    pub fn new(pool: PgPool, config: DeliveryConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent("repstream-webhooks/1")
            .dns_resolver(Arc::new(GuardedResolver(config.policy)))
            .build()
            .context("building the webhook HTTP client")?;
        Ok(Self {
            pool,
            client,
            config: Arc::new(config),
        })
    }

    /// One sweep: claims and attempts the due deliveries (fairly across tenants, at most
    /// `concurrency` at once). Returns how many were attempted.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT tenant_id, id FROM ( \
               SELECT tenant_id, id, next_attempt_at, \
                 row_number() OVER (PARTITION BY tenant_id ORDER BY next_attempt_at, id) AS rank \
               FROM webhook_delivery WHERE state = 'pending' AND next_attempt_at <= now() \
                 AND (lease_until IS NULL OR lease_until < now())) due \
             WHERE rank <= $1 ORDER BY rank, next_attempt_at LIMIT $2",
        )
        .bind(PER_TENANT)
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await
        .context("finding due webhook deliveries")?;
        let mut attempted = 0;
        let mut running = tokio::task::JoinSet::new();
        for (tenant, id) in due {
            while running.len() >= self.config.concurrency.max(1) {
                attempted += joined(running.join_next().await);
            }
            let worker = self.clone();
            running.spawn(async move { worker.deliver(tenant, id).await });
        }
        while let Some(done) = running.join_next().await {
            attempted += joined(Some(done));
        }
        Ok(attempted)
    }

    /// Claims, attempts and records one delivery; false when it was not ours.
    async fn deliver(&self, tenant: Uuid, id: Uuid) -> anyhow::Result<bool> {
        let Some(claimed) = self.claim(tenant, id).await? else {
            return Ok(false);
        };
        let attempt = self.attempt(&claimed).await;
        self.record(&claimed, &attempt).await?;
        Ok(true)
    }

    async fn claim(&self, tenant: Uuid, id: Uuid) -> anyhow::Result<Option<Claimed>> {
        let mut tx = self.pool.begin().await?;
        bind_tenant(&mut tx, tenant).await?;
        let lease_ms = i64::try_from(self.config.lease().as_millis()).unwrap_or(i64::MAX);
        let row: Option<(Uuid, String, i32, i32)> = sqlx::query_as(
            "UPDATE webhook_delivery d SET attempts = d.attempts + 1, \
               lease_until = now() + make_interval(secs => $3::float8 / 1000) \
             FROM (SELECT id FROM webhook_delivery WHERE tenant_id = $1 AND id = $2 \
                   AND state = 'pending' AND next_attempt_at <= now() \
                   AND (lease_until IS NULL OR lease_until < now()) FOR UPDATE SKIP LOCKED) c \
             WHERE d.id = c.id RETURNING d.endpoint_id, d.body, d.attempts, d.attempts_before",
        )
        .bind(tenant)
        .bind(id)
        .bind(lease_ms as f64)
        .fetch_optional(&mut *tx)
        .await
        .context("claiming a webhook delivery")?;
        let Some((endpoint, body, attempt, attempts_before)) = row else {
            return Ok(None);
        };
        let target: Option<(String, bool, i32, bool)> = sqlx::query_as(
            "SELECT url, active, secret_version, COALESCE(previous_secret_until > now(), false) \
             FROM webhook_endpoint WHERE tenant_id = $1 AND endpoint_id = $2",
        )
        .bind(tenant)
        .bind(endpoint)
        .fetch_optional(&mut *tx)
        .await
        .context("reading the webhook endpoint")?;
        let Some((url, true, secret_version, previous_valid)) = target else {
            // Disabled or deleted since the row was written: it is never sent.
            sqlx::query(
                "UPDATE webhook_delivery SET state = 'cancelled', lease_until = NULL, \
                 attempts = attempts - 1, last_error = 'the endpoint is disabled or deleted' \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(None);
        };
        tx.commit().await.context("committing the claim")?;
        Ok(Some(Claimed {
            tenant,
            id,
            endpoint,
            body,
            attempt,
            attempts_before,
            url,
            secret_version,
            previous_valid,
        }))
    }

    /// The HTTP attempt. Never fails: what went wrong is the attempt's outcome.
    async fn attempt(&self, d: &Claimed) -> Attempt {
        let started = Instant::now();
        let outcome = |status, error, body| Attempt {
            status,
            error,
            body,
            duration: started.elapsed(),
        };
        let url = match self.config.policy.parse(&d.url) {
            Ok(url) => url,
            Err(e) => return outcome(None, Some(format!("refused: {e}")), None),
        };
        let key = &self.config.key;
        let current = key.secret(d.endpoint, d.secret_version.max(1) as u32);
        let previous = (d.previous_valid && d.secret_version > 1)
            .then(|| key.secret(d.endpoint, (d.secret_version - 1) as u32));
        let webhook_id = d.id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signature_header(
            &current,
            previous.as_ref(),
            &webhook_id,
            timestamp,
            d.body.as_bytes(),
        );
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.body.clone())
            .send()
            .await;
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let mut kept: Vec<u8> = Vec::new();
                // Only the first KiB is kept; the rest is not even read.
                while kept.len() < LOGGED_BODY_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                        Ok(None) | Err(_) => break,
                    }
                }
                kept.truncate(LOGGED_BODY_BYTES);
                let body = String::from_utf8_lossy(&kept).into_owned();
                outcome(Some(status), None, Some(body))
            }
            Err(e) => outcome(None, Some(error_chain(&e)), None),
        }
    }

    /// Records the attempt and moves the delivery on, in one tenant-bound transaction.
    async fn record(&self, d: &Claimed, attempt: &Attempt) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        bind_tenant(&mut tx, d.tenant).await?;
        sqlx::query(
            "INSERT INTO webhook_attempt (delivery_id, attempt, tenant_id, status_code, duration_ms, error, response_body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(d.id)
        .bind(d.attempt)
        .bind(d.tenant)
        .bind(attempt.status.map(i32::from))
        .bind(i32::try_from(attempt.duration.as_millis()).unwrap_or(i32::MAX))
        .bind(&attempt.error)
        .bind(&attempt.body)
        .execute(&mut *tx)
        .await
        .context("recording the attempt")?;
        let failed_in_row = u32::try_from(d.attempt - d.attempts_before).unwrap_or(1);
        let (state, wait, error) = match attempt.status {
            Some(200..=299) => ("delivered", None, None),
            Some(410) => (
                "failed",
                None,
                Some("the endpoint answered 410 Gone: it is disabled".to_owned()),
            ),
            _ if failed_in_row >= self.config.max_attempts => {
                ("failed", None, attempt.error.clone())
            }
            _ => (
                "pending",
                Some(self.config.backoff(failed_in_row)),
                attempt.error.clone(),
            ),
        };
        // Only while the claim is still ours (same attempt number).
        sqlx::query(
            "UPDATE webhook_delivery SET state = $4, lease_until = NULL, last_status = $5, last_error = $6, \
               next_attempt_at = CASE WHEN $7::float8 IS NULL THEN next_attempt_at \
                                 ELSE now() + make_interval(secs => $7::float8) END, \
               delivered_at = CASE WHEN $4 = 'delivered' THEN now() ELSE delivered_at END \
             WHERE tenant_id = $1 AND id = $2 AND attempts = $3",
        )
        .bind(d.tenant)
        .bind(d.id)
        .bind(d.attempt)
        .bind(state)
        .bind(attempt.status.map(i32::from))
        .bind(error)
        .bind(wait.map(|w| w.as_secs_f64()))
        .execute(&mut *tx)
        .await
        .context("moving the delivery on")?;
        // The receiver asked us to stop, or it has not taken a delivery for days: the
        // endpoint is disabled through its aggregate, in this transaction, so no further
        // delivery is made to it (and the studio's owners are told, by the projector).
        let disable = if attempt.status == Some(410) {
            Some(DisableReason::Gone)
        } else if state == "failed" {
            let since = infra::webhooks::failing_since(&mut tx, d.tenant, d.endpoint)
                .await
                .context("reading how long the endpoint has failed")?;
            let limit = chrono::Duration::from_std(self.config.disable_after)
                .unwrap_or(chrono::Duration::MAX);
            since
                .is_some_and(|since| chrono::Utc::now() - since >= limit)
                .then_some(DisableReason::Failing)
        } else {
            None
        };
        if let Some(reason) = disable {
            let bus = CommandBus::<WebhookEndpoint>::new(self.pool.clone(), ());
            let meta = CommandMetadata::system(d.tenant, "webhooks", Some(d.id.to_string()));
            let disabled = bus
                .execute_in(
                    &mut tx,
                    &d.endpoint.to_string(),
                    WebhookEndpointCommand::Disable { reason },
                    None,
                    &meta,
                )
                .await;
            if let Err(e) = disabled {
                // Deleted meanwhile: nothing left to disable.
                warn!(endpoint = %d.endpoint, error = %e, "could not disable a webhook endpoint");
            }
        }
        tx.commit().await.context("committing the attempt")?;
        Ok(())
    }
}

fn joined(done: Option<Result<anyhow::Result<bool>, tokio::task::JoinError>>) -> usize {
    match done {
        Some(Ok(Ok(true))) => 1,
        Some(Ok(Ok(false))) | None => 0,
        Some(Ok(Err(e))) => {
            warn!(error = format!("{e:#}"), "webhook delivery failed");
            0
        }
        Some(Err(e)) => {
            warn!(error = %e, "webhook delivery task failed");
            0
        }
    }
}

/// An error with its causes (reqwest's own message rarely says why a connect failed).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sweeps every `poll_interval` (at once again while there was work) until `shutdown`.
pub async fn run(worker: DeliveryWorker, shutdown: CancellationToken) {
    loop {
        let pause = match worker.deliver_due().await {
            Ok(0) => worker.config.poll_interval,
            Ok(n) => {
                info!(deliveries = n, "attempted webhook deliveries");
                Duration::ZERO
            }
            Err(e) => {
                warn!(error = format!("{e:#}"), "webhook sweep failed");
                worker.config.poll_interval
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_fivefold_with_jitter_and_a_ceiling() {
        let key = WebhookKey::new([1u8; 32]).expect("key");
        let config = DeliveryConfig::new(key, UrlPolicy::default());
        for (failed, base) in [(1u32, 5.0f64), (2, 25.0), (3, 125.0)] {
            let wait = config.backoff(failed).as_secs_f64();
            assert!(
                (base * 0.8..=base * 1.2).contains(&wait),
                "{failed}: {wait}"
            );
        }
        assert!(config.backoff(30) <= MAX_BACKOFF.mul_f64(1.2));
    }
}
