//! Daily digests of staff activity: a staff member who chose one
//! ([`domain::account::DailyDigest`]) gets one email per studio at their local time,
//! listing what happened in their classes and calendar (bookings, cancellations,
//! waitlist changes, appointments) since the day before, instead of one email each.
//!
//! The projector records the activity (`staff_activity`) with the event; this sweep
//! folds a day's rows into one job. Rows are claimed with `FOR UPDATE SKIP LOCKED` in
//! the transaction that marks them with the digest's id, which is derived from the
//! person, the studio and the digest's time: replicas share the work, a sweep that died
//! before committing enqueues the same job id again (SQS and the notification ledger
//! send it once), and a restart sends what fell due meanwhile.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use domain::account::{NotificationPreferences, DAILY_DIGEST};
use infra::jobs::{Channel, NotificationJob};
use infra::sqs::SqsClient;
use sqlx::PgPool;
use tracing::info;
use uuid::Uuid;

/// Activity older than this is never digested any more: dropped.
const KEEP_DAYS: i64 = 3;

/// Enqueues every digest due at `now`. Returns how many it enqueued.
pub async fn send_due(
    pool: &PgPool,
    sqs: &SqsClient,
    queue_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let people: Vec<(Uuid, String, serde_json::Value)> = sqlx::query_as(
        "SELECT p.account_id, a.email, p.preferences FROM notification_preference p \
         JOIN account a ON a.id = p.account_id \
         WHERE jsonb_typeof(p.preferences->'digest') = 'object' AND EXISTS \
           (SELECT 1 FROM staff_activity s WHERE s.account_id = p.account_id AND s.digest_id IS NULL)",
    )
    .fetch_all(pool)
    .await
    .context("finding digests to send")?;
    let mut sent = 0;
    for (account, email, preferences) in people {
        let Ok(preferences) = serde_json::from_value::<NotificationPreferences>(preferences) else {
            continue;
        };
        let Some(due) = preferences.digest_due(now) else {
            continue;
        };
        sent += send_one(pool, sqs, queue_url, account, &email, due).await?;
    }
    sqlx::query("DELETE FROM staff_activity WHERE occurred_at < $1")
        .bind(now - Duration::days(KEEP_DAYS))
        .execute(pool)
        .await
        .context("pruning staff activity")?;
    Ok(sent)
}

/// The digests of `account` due at `due` (one per studio with activity in the day
/// before it).
async fn send_one(
    pool: &PgPool,
    sqs: &SqsClient,
    queue_url: &str,
    account: Uuid,
    email: &str,
    due: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await.context("claiming staff activity")?;
    let rows: Vec<(Uuid, Uuid, serde_json::Value)> = sqlx::query_as(
        "SELECT id, tenant_id, data FROM staff_activity \
         WHERE account_id = $1 AND digest_id IS NULL AND occurred_at < $2 AND occurred_at >= $3 \
         ORDER BY occurred_at, id FOR UPDATE SKIP LOCKED",
    )
    .bind(account)
    .bind(due)
    .bind(due - Duration::days(1))
    .fetch_all(&mut *tx)
    .await
    .context("claiming staff activity")?;
    let mut studios: BTreeMap<Uuid, Vec<(Uuid, serde_json::Value)>> = BTreeMap::new();
    for (id, tenant, data) in rows {
        studios.entry(tenant).or_default().push((id, data));
    }
    let mut jobs = Vec::new();
    let mut marks: (Vec<Uuid>, Vec<Uuid>) = Default::default();
    for (tenant, rows) in &studios {
        let digest = Uuid::new_v5(
            &account,
            format!("digest:{tenant}:{}", due.to_rfc3339()).as_bytes(),
        );
        let text = |data: &serde_json::Value, key: &str| {
            data.get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let first = &rows[0].1;
        let timezone = text(first, "timezone");
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(_, data)| {
                serde_json::json!({
                    "client_name": text(data, "client_name"),
                    "activity": text(data, "activity"),
                    "title": text(data, "title"),
                    "when": crate::templates::local(&text(data, "starts_at"), Some(&timezone)),
                })
            })
            .collect();
        jobs.push(NotificationJob {
            job_id: digest,
            tenant_id: *tenant,
            correlation_id: Some(format!("digest:{digest}")),
            causation_id: digest,
            channel: Channel::Email,
            recipient: email.to_owned(),
            template: DAILY_DIGEST.to_owned(),
            traceparent: None,
            data: serde_json::json!({
                "studio_name": text(first, "studio_name"),
                "timezone": timezone,
                "items": items,
            }),
        });
        for (id, _) in rows {
            marks.0.push(*id);
            marks.1.push(digest);
        }
    }
    if jobs.is_empty() {
        return Ok(0);
    }
    // Enqueued while the rows are locked: if this fails, nothing is marked and the next
    // sweep tries again with the same job ids.
    infra::jobs::enqueue_all(sqs, queue_url, &jobs).await?;
    sqlx::query(
        "UPDATE staff_activity s SET digest_id = m.digest \
         FROM UNNEST($1::uuid[], $2::uuid[]) AS m(id, digest) WHERE s.id = m.id",
    )
    .bind(&marks.0)
    .bind(&marks.1)
    .execute(&mut *tx)
    .await
    .context("marking staff activity")?;
    tx.commit().await.context("marking staff activity")?;
    info!(digests = jobs.len(), "daily digests");
    Ok(jobs.len())
}
