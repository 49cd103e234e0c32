//! Sends scheduled notifications when they are due: class reminders, and optional email
//! held back by its recipient's quiet hours ([`defer`], [`send_deferred`]).
//!
//! Class reminders: the projector schedules them into
//! `class_reminder` (with their notification jobs) when a spot is booked; this sweep
//! enqueues the due ones on the notifications queue.
//!
//! - **Survives restarts**: the schedule is a table; a reminder that fell due while no
//!   worker ran goes out on the next sweep, unless its class has started by then or a
//!   later reminder of the same booking is due too (then only the latest goes out and
//!   the earlier one is `missed`).
//! - **Shared across replicas**: due rows are claimed with `FOR UPDATE SKIP LOCKED` in the
//!   transaction that marks them enqueued.
//! - **Never twice**: job ids are derived from the reminder, so a sweep that enqueued and
//!   then died before committing enqueues the same ids again (SQS deduplicates them, the
//!   notification worker's ledger sends each once).
//! - **Never for a cancelled booking or class**: the projector marks their reminders
//!   `cancelled`, and the notification worker checks the mark again before sending.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use infra::jobs::NotificationJob;
use infra::shutdown::CancellationToken;
use infra::sqs::SqsClient;
use sqlx::PgPool;
use tracing::{info, warn};
use uuid::Uuid;

/// Reminders claimed per sweep transaction.
const BATCH: i64 = 200;

/// One due reminder as claimed.
struct Due {
    id: Uuid,
    booking_id: Uuid,
    minutes_before: i32,
    starts_at: DateTime<Utc>,
    jobs: serde_json::Value,
}

/// Enqueues the reminders due at `now` (in batches until none is left). Returns how many
/// it enqueued; `missed` ones are not counted.
pub async fn send_due(
    pool: &PgPool,
    sqs: &SqsClient,
    queue_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        let (claimed, enqueued) = send_batch(pool, sqs, queue_url, now).await?;
        sent += enqueued;
        if claimed < BATCH as usize {
            return Ok(sent);
        }
    }
}

async fn send_batch(
    pool: &PgPool,
    sqs: &SqsClient,
    queue_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(usize, usize)> {
    let mut tx = pool.begin().await.context("claiming reminders")?;
    let rows: Vec<(Uuid, Uuid, i32, DateTime<Utc>, serde_json::Value)> = sqlx::query_as(
        "SELECT id, booking_id, minutes_before, starts_at, jobs FROM class_reminder \
         WHERE state = 'pending' AND due_at <= $1 ORDER BY due_at LIMIT $2 \
         FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await
    .context("claiming reminders")?;
    let claimed = rows.len();
    if claimed == 0 {
        return Ok((0, 0));
    }
    let due: Vec<Due> = rows
        .into_iter()
        .map(|(id, booking_id, minutes_before, starts_at, jobs)| Due {
            id,
            booking_id,
            minutes_before,
            starts_at,
            jobs,
        })
        .collect();
    // Per booking, only the latest reminder due goes out, and none once the class began.
    let mut latest: std::collections::HashMap<Uuid, i32> = Default::default();
    for d in due.iter().filter(|d| d.starts_at > now) {
        let m = latest.entry(d.booking_id).or_insert(d.minutes_before);
        *m = (*m).min(d.minutes_before);
    }
    let (send, missed): (Vec<&Due>, Vec<&Due>) = due
        .iter()
        .partition(|d| d.starts_at > now && latest.get(&d.booking_id) == Some(&d.minutes_before));
    let mut jobs = Vec::new();
    for d in &send {
        match serde_json::from_value::<Vec<NotificationJob>>(d.jobs.clone()) {
            Ok(more) => jobs.extend(more),
            // Cannot happen for rows the projector wrote; never blocks the others.
            Err(e) => warn!(reminder = %d.id, error = %e, "reminder jobs do not parse; skipped"),
        }
    }
    // Enqueued while the rows are locked: if this fails, nothing is marked and the next
    // sweep tries again with the same job ids.
    infra::jobs::enqueue_all(sqs, queue_url, &jobs).await?;
    let ids = |ds: &[&Due]| ds.iter().map(|d| d.id).collect::<Vec<_>>();
    sqlx::query(
        "UPDATE class_reminder SET state = CASE WHEN id = ANY($1) THEN 'enqueued' ELSE 'missed' END, \
         enqueued_at = CASE WHEN id = ANY($1) THEN $3 END WHERE id = ANY($1) OR id = ANY($2)",
    )
    .bind(ids(&send))
    .bind(ids(&missed))
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("marking reminders")?;
    tx.commit().await.context("marking reminders")?;
    if !send.is_empty() || !missed.is_empty() {
        info!(
            enqueued = send.len(),
            missed = missed.len(),
            "class reminders"
        );
    }
    Ok((claimed, send.len()))
}

/// Is reminder `id` still to be sent (not cancelled since it was enqueued)?
pub async fn still_wanted(pool: &PgPool, id: Uuid) -> anyhow::Result<bool> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM class_reminder WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .context("reading a reminder's state")?;
    Ok(state.as_deref() != Some("cancelled"))
}

/// Holds `job` until `until` (the end of its recipient's quiet hours); a job deferred
/// already is not deferred again.
pub async fn defer(
    pool: &PgPool,
    job: &NotificationJob,
    until: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO deferred_job (job_id, tenant_id, due_at, job) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (job_id) DO UPDATE SET due_at = EXCLUDED.due_at, job = EXCLUDED.job, enqueued_at = NULL \
         WHERE deferred_job.enqueued_at IS NOT NULL",
    )
    .bind(job.job_id)
    .bind(job.tenant_id)
    .bind(until)
    .bind(serde_json::to_value(job)?)
    .execute(pool)
    .await
    .context("deferring a notification")?;
    Ok(())
}

/// Enqueues the deferred jobs due at `now` again (same job ids). Returns how many.
pub async fn send_deferred(
    pool: &PgPool,
    sqs: &SqsClient,
    queue_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut tx = pool
        .begin()
        .await
        .context("claiming deferred notifications")?;
    let rows: Vec<(Uuid, serde_json::Value, DateTime<Utc>)> = sqlx::query_as(
        "SELECT job_id, job, due_at FROM deferred_job WHERE enqueued_at IS NULL AND due_at <= $1 \
         ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await
    .context("claiming deferred notifications")?;
    // One deferral, one SQS deduplication id (a sweep that dies before committing
    // enqueues it again as the same message).
    for (_, job, due) in &rows {
        if let Ok(job) = serde_json::from_value::<NotificationJob>(job.clone()) {
            let tag = format!("deferred:{}", due.timestamp_micros());
            infra::jobs::enqueue_again(sqs, queue_url, std::slice::from_ref(&job), &tag).await?;
        }
    }
    let ids: Vec<Uuid> = rows.iter().map(|(id, _, _)| *id).collect();
    sqlx::query("UPDATE deferred_job SET enqueued_at = $2 WHERE job_id = ANY($1)")
        .bind(&ids)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("marking deferred notifications")?;
    tx.commit()
        .await
        .context("marking deferred notifications")?;
    Ok(ids.len())
}

/// Sweeps reminders, email held back by quiet hours and daily digests
/// ([`crate::digests`]) every `every` until `shutdown`.
pub async fn run(
    pool: PgPool,
    sqs: SqsClient,
    queue_url: String,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(e) = send_due(&pool, &sqs, &queue_url, Utc::now()).await {
            warn!(
                error = format!("{e:#}"),
                "reminder sweep failed; retrying next round"
            );
        }
        // Email held back by quiet hours goes out when they end.
        if let Err(e) = send_deferred(&pool, &sqs, &queue_url, Utc::now()).await {
            warn!(
                error = format!("{e:#}"),
                "deferred notification sweep failed; retrying next round"
            );
        }
        if let Err(e) = crate::digests::send_due(&pool, &sqs, &queue_url, Utc::now()).await {
            warn!(
                error = format!("{e:#}"),
                "digest sweep failed; retrying next round"
            );
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
