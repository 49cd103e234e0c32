use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use projector::Outcome;
use repstream_tests::{eventually, TestEnv};
use uuid::Uuid;

use crate::{replayed_view, stored_view, studio_with_history};

async fn unpublished(env: &TestEnv) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&env.pool)
            .await?,
    )
}

/// Receives everything on the events queue and hands it to the projector, deleting
/// what was handled. Returns the outcomes.
async fn project_queue(env: &TestEnv) -> anyhow::Result<Vec<Outcome>> {
    let projector = env.projector();
    let mut outcomes = Vec::new();
    let mut empty_polls = 0;
    while empty_polls < 2 {
        let out = env
            .sqs
            .receive_message()
            .queue_url(&env.events_queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            empty_polls += 1;
            continue;
        }
        empty_polls = 0;
        for m in messages {
            let envelope = serde_json::from_str(m.body().unwrap_or_default())?;
            outcomes.push(projector.handle(&envelope).await?);
            env.sqs
                .delete_message()
                .queue_url(&env.events_queue)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await?;
        }
    }
    Ok(outcomes)
}

#[tokio::test]
async fn a_relay_killed_after_sqs_accepted_but_before_marking_delivers_twice_and_applies_once(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let id = studio_with_history(&env.pool, 3).await?; // 5 events
    let relay = env.relay();

    // Crash between SendMessageBatch and the UPDATE: the claim's transaction is dropped.
    let claimed = relay.claim().await?;
    let report = relay.send(&claimed.rows).await;
    assert_eq!(report.published.len(), 5);
    let bodies: Vec<String> = claimed.rows.iter().map(|r| r.message.to_string()).collect();
    drop(claimed);
    assert_eq!(
        unpublished(&env).await?,
        5,
        "nothing may be marked after a crash"
    );

    // The restarted relay sends them again and marks them.
    relay.drain().await?;
    assert_eq!(unpublished(&env).await?, 0);

    // SQS FIFO dropped the resend inside its 5-minute deduplication window; past that
    // window it would deliver it. Deliver the copies ourselves to make sure.
    let entries: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .message_group_id(id.to_string())
                .message_deduplication_id(Uuid::new_v4().to_string())
                .build()
        })
        .collect::<Result<_, _>>()?;
    env.sqs
        .send_message_batch()
        .queue_url(&env.events_queue)
        .set_entries(Some(entries))
        .send()
        .await?;

    let outcomes = project_queue(&env).await?;
    let applied: usize = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Applied { events } => *events,
            _ => 0,
        })
        .sum();
    let duplicates = outcomes
        .iter()
        .filter(|o| **o == Outcome::Duplicate)
        .count();
    assert_eq!(applied, 5, "each event applied exactly once: {outcomes:?}");
    assert!(
        duplicates >= 5,
        "every copy was delivered and skipped: {outcomes:?}"
    );
    let view = stored_view(&env.pool, id).await?.expect("view");
    assert_eq!(view["locations"].as_array().map(Vec::len), Some(3));
    assert_eq!(view, replayed_view(&env.pool, id).await?);
    Ok(())
}

#[tokio::test]
async fn a_transaction_that_commits_late_is_not_skipped() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let relay = env.relay();
    // A writer takes an outbox id first but commits last.
    let mut late = env.pool.begin().await?;
    let late_event = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox (event_id, tenant_id, aggregate_id, message) VALUES ($1, $1, 'late', $2)",
    )
    .bind(late_event)
    .bind(serde_json::json!({"event_id": late_event, "note": "no projection reads this"}))
    .execute(&mut *late)
    .await?;
    studio_with_history(&env.pool, 0).await?;
    relay.drain().await?;
    assert_eq!(
        unpublished(&env).await?,
        0,
        "the late row is not visible yet"
    );
    late.commit().await?;
    assert_eq!(unpublished(&env).await?, 1);
    relay.drain().await?;
    assert_eq!(
        unpublished(&env).await?,
        0,
        "the late row was published, not skipped"
    );
    Ok(())
}

async fn lock_holders(env: &TestEnv) -> anyhow::Result<i64> {
    let key = outbox_relay::LEADER_LOCK_KEY;
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND classid = ($1 >> 32)::oid AND objid = ($1 & 4294967295)::oid AND objsubid = 1",
    )
    .bind(key)
    .fetch_one(&env.pool)
    .await?)
}

#[tokio::test]
async fn only_one_relay_is_active_and_a_standby_takes_over() -> anyhow::Result<()> {
    // Advisory locks are per database, so each test database elects its own leader.
    let env = TestEnv::new().await?;
    let first = env.spawn_relay();
    eventually(Duration::from_secs(30), "a leader", || async {
        Ok((lock_holders(&env).await? == 1).then_some(()))
    })
    .await?;
    let second = env.spawn_relay();
    studio_with_history(&env.pool, 1).await?;
    eventually(
        Duration::from_secs(30),
        "publication by the leader",
        || async { Ok((unpublished(&env).await? == 0).then_some(())) },
    )
    .await?;
    assert_eq!(lock_holders(&env).await?, 1, "never two leaders");

    first.cancel();
    studio_with_history(&env.pool, 1).await?;
    eventually(
        Duration::from_secs(30),
        "publication after failover",
        || async { Ok((unpublished(&env).await? == 0).then_some(())) },
    )
    .await?;
    assert_eq!(lock_holders(&env).await?, 1);
    second.cancel();
    Ok(())
}

#[tokio::test]
async fn messages_carry_group_dedup_and_correlation() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let id = studio_with_history(&env.pool, 1).await?;
    env.relay().drain().await?;
    let out = env
        .sqs
        .receive_message()
        .queue_url(&env.events_queue)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await?;
    let messages = out.messages.unwrap_or_default();
    assert!(!messages.is_empty());
    let mut last_seq = 0;
    for m in messages {
        let body: serde_json::Value = serde_json::from_str(m.body().unwrap_or_default())?;
        let attrs = m.attributes.clone().unwrap_or_default();
        let sys: HashMap<String, String> = attrs
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), v))
            .collect();
        assert_eq!(
            sys.get("MessageGroupId").map(String::as_str),
            Some(id.to_string().as_str())
        );
        assert_eq!(
            sys.get("MessageDeduplicationId").map(String::as_str),
            body["event_id"].as_str()
        );
        let correlation = m
            .message_attributes
            .as_ref()
            .and_then(|a| a.get("correlation_id"))
            .and_then(|v| v.string_value.clone());
        assert_eq!(
            correlation.as_deref(),
            body["metadata"]["correlation_id"].as_str()
        );
        let seq = body["sequence"].as_u64().unwrap_or_default();
        assert!(seq > last_seq, "FIFO order within the stream");
        last_seq = seq;
        for field in [
            "event_id",
            "tenant_id",
            "aggregate_type",
            "aggregate_id",
            "sequence",
            "event_type",
            "event_version",
            "occurred_at",
            "payload",
            "metadata",
        ] {
            assert!(body.get(field).is_some(), "envelope lacks {field}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn pruning_deletes_only_published_rows_older_than_the_retention() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    studio_with_history(&env.pool, 2).await?; // 4 outbox rows
    let mut config = env.relay_config();
    config.retention = Duration::from_secs(3600);
    let relay = outbox_relay::Relay::new(env.relay_pool.clone(), env.sqs.clone(), config);
    relay.drain().await?;
    assert_eq!(unpublished(&env).await?, 0);
    // Two published rows are old, two are fresh; one more row is old but never published.
    sqlx::query(
        "UPDATE outbox SET published_at = now() - interval '2 hours' \
         WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 2)",
    )
    .execute(&env.pool)
    .await?;
    studio_with_history(&env.pool, 0).await?; // 2 more rows, unpublished
    sqlx::query(
        "UPDATE outbox SET created_at = now() - interval '3 hours' WHERE published_at IS NULL",
    )
    .execute(&env.pool)
    .await?;
    assert_eq!(relay.prune().await?, 2, "only the old published rows");
    let left: (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE published_at IS NOT NULL), count(*) FILTER (WHERE published_at IS NULL) FROM outbox",
    )
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(
        left,
        (2, 2),
        "fresh published rows and every unpublished row stay"
    );
    assert_eq!(relay.prune().await?, 0, "pruning again finds nothing");
    Ok(())
}
