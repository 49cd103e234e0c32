//! Exactly once per side effect: a worker **claims** a job (the intent, with a lease)
//! before the side effect and **records** the outcome after it, in `side_effect`.
//!
//! ```text
//! claim ──► Mine ──► send (provider idempotency key = job id) ──► done
//!       ├─► Done        a redelivery after the send: nothing happens
//!       └─► InProgress  a redelivery during the send: retried later, never sent twice
//! ```
//!
//! A worker that dies between the send and the record leaves a claim whose lease runs
//! out; the next delivery takes it over and sends again **with the same idempotency
//! key**, which the provider deduplicates (the local mailbox writes `<job id>.eml`, so a
//! second send replaces the same message). A failed send releases the claim at once.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use uuid::Uuid;

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This worker owns the job now (`attempt` 1 is the first; more is a retry after a
    /// failure or a takeover of an expired lease).
    Mine { attempt: i32 },
    /// The side effect already happened.
    Done,
    /// Another worker holds an unexpired lease: try again once it has run out.
    InProgress { retry_in: Duration },
    /// Over its [`Budget`]: recorded as `suppressed`, the side effect never happens.
    Suppressed,
}

/// At most `max` side effects per `key` within `window` (e.g. confirmation mails of one
/// studio per hour). Jobs over it are suppressed, not delayed: a budget bounds abuse,
/// and what it suppresses would be stale by the time it could be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub key: String,
    pub max: i64,
    pub window: Duration,
}

/// One consumer's ledger of side effects.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: PgPool,
    consumer: &'static str,
    /// How long a claim is exclusive: longer than the side effect may take.
    lease: Duration,
}

impl Ledger {
    pub fn new(pool: PgPool, consumer: &'static str, lease: Duration) -> Self {
        Self {
            pool,
            consumer,
            lease,
        }
    }

    /// The same ledger with another lease.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Is the ledger's database reachable?
    pub async fn ready(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Claims `job_id` (see [`Claim`]).
    pub async fn claim(&self, job_id: Uuid, tenant_id: Uuid) -> anyhow::Result<Claim> {
        self.claim_within(job_id, tenant_id, None).await
    }

    /// Claims `job_id`, charging its first claim to `budget` (retries are not charged
    /// again). Claims of one budget are serialised by an advisory lock, so parallel
    /// workers cannot overspend it.
    pub async fn claim_within(
        &self,
        job_id: Uuid,
        tenant_id: Uuid,
        budget: Option<&Budget>,
    ) -> anyhow::Result<Claim> {
        if let Some(budget) = budget {
            let mut tx = self.pool.begin().await.context("claiming a side effect")?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                .bind(format!("{}:{}", self.consumer, budget.key))
                .execute(&mut *tx)
                .await
                .context("locking a budget")?;
            let (known, spent): (bool, i64) = sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM side_effect WHERE consumer = $1 AND job_id = $2), \
                   (SELECT count(*) FROM side_effect WHERE consumer = $1 AND budget_key = $3 \
                     AND state <> 'suppressed' AND claimed_at > now() - make_interval(secs => $4))",
            )
            .bind(self.consumer)
            .bind(job_id)
            .bind(&budget.key)
            .bind(budget.window.as_secs_f64())
            .fetch_one(&mut *tx)
            .await
            .context("reading a budget")?;
            if !known {
                let state = if spent >= budget.max {
                    "suppressed"
                } else {
                    "claimed"
                };
                sqlx::query(
                    "INSERT INTO side_effect (consumer, job_id, tenant_id, state, lease_until, budget_key) \
                     VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'claimed' THEN now() + make_interval(secs => $5) END, $6)",
                )
                .bind(self.consumer)
                .bind(job_id)
                .bind(tenant_id)
                .bind(state)
                .bind(self.lease.as_secs_f64())
                .bind(&budget.key)
                .execute(&mut *tx)
                .await
                .context("claiming a side effect")?;
                tx.commit().await.context("claiming a side effect")?;
                if state == "suppressed" {
                    self.count("suppressed");
                    return Ok(Claim::Suppressed);
                }
                self.count("claimed");
                return Ok(Claim::Mine { attempt: 1 });
            }
            tx.commit().await.context("claiming a side effect")?;
        }
        let attempt: Option<i32> = sqlx::query_scalar(
            "INSERT INTO side_effect (consumer, job_id, tenant_id, state, lease_until, attempts) \
             VALUES ($1, $2, $3, 'claimed', now() + make_interval(secs => $4), 1) \
             ON CONFLICT (consumer, job_id) DO UPDATE \
               SET state = 'claimed', lease_until = EXCLUDED.lease_until, \
                   attempts = side_effect.attempts + 1, claimed_at = now() \
               WHERE side_effect.state = 'failed' \
                  OR (side_effect.state = 'claimed' AND side_effect.lease_until < now()) \
             RETURNING attempts",
        )
        .bind(self.consumer)
        .bind(job_id)
        .bind(tenant_id)
        .bind(self.lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await
        .context("claiming a side effect")?;
        if let Some(attempt) = attempt {
            let outcome = if attempt > 1 { "retried" } else { "claimed" };
            self.count(outcome);
            return Ok(Claim::Mine { attempt });
        }
        let row: Option<(String, f64)> = sqlx::query_as(
            "SELECT state, COALESCE(EXTRACT(EPOCH FROM lease_until - now()), 0)::float8 \
             FROM side_effect WHERE consumer = $1 AND job_id = $2",
        )
        .bind(self.consumer)
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await
        .context("reading a side effect's state")?;
        let claim = match row {
            Some((state, _)) if state == "done" => Claim::Done,
            Some((state, _)) if state == "suppressed" => Claim::Suppressed,
            Some((_, secs)) => Claim::InProgress {
                retry_in: Duration::from_secs_f64(secs.clamp(1.0, self.lease.as_secs_f64())),
            },
            None => Claim::InProgress {
                retry_in: Duration::from_secs(1),
            },
        };
        self.count(match claim {
            Claim::Done | Claim::Suppressed => "duplicate",
            _ => "in_progress",
        });
        Ok(claim)
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!("repstream_side_effects_total", "consumer" => self.consumer, "outcome" => outcome)
            .increment(1);
    }

    /// Records that the side effect happened.
    pub async fn done(&self, job_id: Uuid) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE side_effect SET state = 'done', done_at = now(), lease_until = NULL, \
             last_error = NULL WHERE consumer = $1 AND job_id = $2",
        )
        .bind(self.consumer)
        .bind(job_id)
        .execute(&self.pool)
        .await
        .context("recording a side effect")?;
        self.count("done");
        Ok(())
    }

    /// Records that the side effect failed (nothing happened): the next delivery retries.
    pub async fn failed(&self, job_id: Uuid, reason: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE side_effect SET state = 'failed', lease_until = NULL, last_error = $3 \
             WHERE consumer = $1 AND job_id = $2 AND state = 'claimed'",
        )
        .bind(self.consumer)
        .bind(job_id)
        .bind(reason.chars().take(1000).collect::<String>())
        .execute(&self.pool)
        .await
        .context("recording a failed side effect")?;
        self.count("failed");
        Ok(())
    }
}
