//! (relay) The relay's drain loop against LocalStack's own ingest rate.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry};
use infra::envelope::EventEnvelope;
use infra::sqs::SqsClient;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::commands::{empty_outbox, location_added};
use crate::stats::{ratio, Publish, Summary};
use crate::{Args, World, RELAY_ROLE};

pub(crate) async fn section(
    args: &Args,
    world: &World,
    observer: &PgPool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let config = outbox_relay::RelayConfig::new(String::new());
    let (lanes, batch) = (config.lanes.max(1), config.batch_size.clamp(1, 10));
    println!(
        "\n(relay) relay throughput: {} messages over {} message groups, {} lanes x batches of {}",
        args.relay_messages, args.relay_groups, lanes, batch
    );
    empty_outbox(observer).await?;
    let relay_queue =
        create_fifo_queue(&world.env.sqs, &format!("{}relay.fifo", world.prefix)).await?;
    let raw_queue = create_fifo_queue(&world.env.sqs, &format!("{}raw.fifo", world.prefix)).await?;

    // Outbox rows with real envelopes, spread round-robin over the groups.
    let groups: Vec<Uuid> = (0..args.relay_groups).map(|_| Uuid::now_v7()).collect();
    let envelopes: Vec<EventEnvelope> = (0..args.relay_messages)
        .map(|i| {
            let g = groups[i % groups.len()];
            let sequence = (i / groups.len() + 1) as i64;
            location_added(g, sequence, &format!("relay-{i}")).2
        })
        .collect();
    let insert_started = Instant::now();
    for chunk in envelopes.chunks(1000) {
        let mut event_ids = Vec::with_capacity(chunk.len());
        let mut tenants = Vec::with_capacity(chunk.len());
        let mut aggregates = Vec::with_capacity(chunk.len());
        let mut messages = Vec::with_capacity(chunk.len());
        for e in chunk {
            event_ids.push(e.event_id);
            tenants.push(e.tenant_id);
            aggregates.push(e.aggregate_id.clone());
            messages.push(serde_json::to_value(e)?);
        }
        sqlx::query(
            "INSERT INTO outbox (event_id, tenant_id, aggregate_id, message) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[])",
        )
        .bind(&event_ids)
        .bind(&tenants)
        .bind(&aggregates)
        .bind(&messages)
        .execute(observer)
        .await
        .context("inserting outbox rows")?;
    }
    sqlx::query("ANALYZE outbox").execute(observer).await.ok();
    println!(
        "    inserted {} outbox rows in {:.2} s",
        envelopes.len(),
        insert_started.elapsed().as_secs_f64()
    );

    // The relay, with the production settings, on a pool of its own.
    let relay_pool = world
        .role_pool(RELAY_ROLE, "repstream-outbox-relay", 4)
        .await?;
    let relay = outbox_relay::Relay::new(
        relay_pool.clone(),
        world.env.sqs.clone(),
        outbox_relay::RelayConfig::new(relay_queue.clone()),
    );
    let target = args.relay_messages as u64;
    let limit = Duration::from_secs(120) + Duration::from_millis(20 * target);
    let started = Instant::now();
    let mut published: u64 = 0;
    while published < target && started.elapsed() < limit {
        match relay.drain().await? {
            outbox_relay::DrainOutcome::Drained { published: 0 } => break,
            outbox_relay::DrainOutcome::Drained { published: n } => published += n as u64,
            outbox_relay::DrainOutcome::Failing { published: n } => {
                published += n as u64;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let elapsed = started.elapsed();
    relay_pool.close().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(observer)
        .await
        .context("counting unpublished rows")?;
    let relay_result = Publish {
        messages: published,
        failed: u64::try_from(left).unwrap_or_default(),
        elapsed,
        queue_depth: infra::dlq::depth(&world.env.sqs, &relay_queue).await.ok(),
    };
    println!(
        "    relay     {:>9.1} messages/s   ({} published in {:.2} s, {} left unpublished, queue depth {})",
        relay_result.per_sec(),
        relay_result.messages,
        elapsed.as_secs_f64(),
        left,
        relay_result.queue_depth.map_or("?".to_owned(), |d| d.to_string())
    );

    // LocalStack's own rate: the same bodies and attributes, straight from the SDK.
    let raw_result = raw_send(&world.env.sqs, &raw_queue, &envelopes, lanes, batch).await?;
    println!(
        "    raw SQS   {:>9.1} messages/s   ({} sent in {:.2} s, {} failed, queue depth {})",
        raw_result.per_sec(),
        raw_result.messages,
        raw_result.elapsed.as_secs_f64(),
        raw_result.failed,
        raw_result
            .queue_depth
            .map_or("?".to_owned(), |d| d.to_string())
    );
    println!(
        "    ratio relay/raw {}",
        ratio(relay_result.per_sec(), raw_result.per_sec())
    );
    summary.row(
        "(relay) relay messages/s",
        format!("{:.1}", relay_result.per_sec()),
        format!(
            "{} messages, {} failed",
            relay_result.messages, relay_result.failed
        ),
    );
    summary.row(
        "(relay) raw SendMessageBatch messages/s",
        format!("{:.1}", raw_result.per_sec()),
        format!(
            "{} messages, {} failed",
            raw_result.messages, raw_result.failed
        ),
    );
    summary.row(
        "(relay) ratio relay / raw",
        ratio(relay_result.per_sec(), raw_result.per_sec()),
        "",
    );
    Ok(())
}

async fn create_fifo_queue(sqs: &SqsClient, name: &str) -> anyhow::Result<String> {
    sqs.create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .with_context(|| format!("creating SQS queue {name}"))?
        .queue_url
        .context("SQS returned no queue URL")
}

fn string_attr(value: &str) -> anyhow::Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .context("building a message attribute")
}

/// `concurrency` workers take batches of `batch` messages off a shared list and send each
/// with one SendMessageBatch.
async fn raw_send(
    sqs: &SqsClient,
    queue_url: &str,
    envelopes: &[EventEnvelope],
    concurrency: usize,
    batch: usize,
) -> anyhow::Result<Publish> {
    let mut batches: Vec<Vec<SendMessageBatchRequestEntry>> = Vec::new();
    for chunk in envelopes.chunks(batch) {
        let mut entries = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            let correlation = e.metadata.correlation_id.as_deref().unwrap_or("none");
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(serde_json::to_string(e)?)
                    .message_group_id(&e.aggregate_id)
                    .message_deduplication_id(e.event_id.to_string())
                    .message_attributes(
                        infra::sqs::attributes::CORRELATION_ID,
                        string_attr(correlation)?,
                    )
                    .message_attributes(
                        infra::sqs::attributes::EVENT_TYPE,
                        string_attr(&e.event_type)?,
                    )
                    .message_attributes(
                        infra::sqs::attributes::TENANT_ID,
                        string_attr(&e.tenant_id.to_string())?,
                    )
                    .build()
                    .context("building a batch entry")?,
            );
        }
        batches.push(entries);
    }
    let queue = Arc::new(tokio::sync::Mutex::new(batches.into_iter()));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (sqs, queue_url, queue) = (sqs.clone(), queue_url.to_owned(), queue.clone());
        set.spawn(async move {
            let (mut sent, mut failed) = (0u64, 0u64);
            loop {
                let next = queue.lock().await.next();
                let Some(entries) = next else { break };
                let n = entries.len() as u64;
                match sqs
                    .send_message_batch()
                    .queue_url(&queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) => {
                        let f = out.failed.len() as u64;
                        sent += n - f.min(n);
                        failed += f;
                    }
                    Err(_) => failed += n,
                }
            }
            (sent, failed)
        });
    }
    let (mut sent, mut failed) = (0, 0);
    while let Some(joined) = set.join_next().await {
        let (s, f) = joined.context("sender task panicked")?;
        sent += s;
        failed += f;
    }
    let elapsed = started.elapsed();
    Ok(Publish {
        messages: sent,
        failed,
        elapsed,
        queue_depth: infra::dlq::depth(sqs, queue_url).await.ok(),
    })
}
