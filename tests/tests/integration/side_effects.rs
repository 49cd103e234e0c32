//! Exactly once per side effect (issue 10): workers claim before and record after.

use std::sync::Arc;

use infra::jobs::{Channel, NotificationJob};
use infra::side_effect::Claim;
use repstream_tests::TestEnv;
use uuid::Uuid;
use workers::{MailboxNotifier, NotificationWorker, Notifier};

fn job(tenant: Uuid) -> NotificationJob {
    NotificationJob {
        job_id: Uuid::new_v4(),
        tenant_id: tenant,
        correlation_id: None,
        causation_id: Uuid::now_v7(),
        channel: Channel::Email,
        recipient: "rita@clients.example".to_owned(),
        template: "class_cancelled".to_owned(),
        data: serde_json::json!({"class_title": "Reformer", "starts_at": "Tue 09:00"}),
        traceparent: None,
    }
}

#[tokio::test]
async fn a_job_delivered_twice_or_taken_over_after_a_crash_mid_send_sends_one_message(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let _ = std::fs::remove_dir_all(&env.mailbox);
    let notifier = Arc::new(MailboxNotifier::new(
        infra::mailbox::Mailbox::new(&env.mailbox),
        "repstream <test@repstream.local>",
    )?);
    let worker = NotificationWorker::new(
        env.worker_pool.clone(),
        notifier.clone(),
        repstream_tests::link_settings(),
    );
    let tenant = Uuid::now_v7();

    // Delivered twice (SQS at-least-once): sent once.
    let once = job(tenant);
    assert!(worker.process(&once).await?);
    assert!(!worker.process(&once).await?, "the redelivery sent again");
    assert_eq!(env.mailbox_messages(), 1);

    // Two deliveries at the same moment: one sends, the other does not.
    let racing = job(tenant);
    let (a, b) = tokio::join!(worker.process(&racing), worker.process(&racing));
    let sent = [a, b].into_iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(sent, 1);
    assert_eq!(env.mailbox_messages(), 2);

    // A worker claims and sends, then dies before recording the send.
    let crashed = job(tenant);
    assert_eq!(
        worker.ledger().claim(crashed.job_id, tenant).await?,
        Claim::Mine { attempt: 1 }
    );
    notifier
        .send(&workers::render(
            &crashed,
            &repstream_tests::link_settings(),
        )?)
        .await?;
    assert_eq!(env.mailbox_messages(), 3);
    // Redelivered while its lease runs: refused for now, nothing sent.
    assert!(worker.process(&crashed).await.is_err());
    assert_eq!(env.mailbox_messages(), 3);
    // The lease runs out; the next delivery takes over and sends with the same
    // idempotency key (the job id), which the provider deduplicates: still one message.
    sqlx::query(
        "UPDATE side_effect SET lease_until = now() - interval '1 second' WHERE job_id = $1",
    )
    .bind(crashed.job_id)
    .execute(&env.pool)
    .await?;
    assert!(worker.process(&crashed).await?);
    assert_eq!(env.mailbox_messages(), 3);
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM side_effect WHERE job_id = $1")
            .bind(crashed.job_id)
            .fetch_one(&env.pool)
            .await?;
    assert_eq!((state.as_str(), attempts), ("done", 2));
    assert!(!worker.process(&crashed).await?);
    let _ = std::fs::remove_dir_all(&env.mailbox);
    Ok(())
}
