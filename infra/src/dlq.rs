//! Dead letters: list what a DLQ holds and move it back to its source queue (after the
//! cause is fixed). `repstream-projector dlq list|redrive` runs these.

use anyhow::Context;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde::Serialize;

use crate::sqs::SqsClient;

/// One dead-lettered message, as an operator needs to see it.
#[derive(Debug, Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    pub group_id: Option<String>,
    pub receive_count: Option<String>,
    /// What the body says it is (`event_type`/`template`, aggregate and sequence), if
    /// it is JSON; the body itself stays in the queue.
    pub summary: Option<serde_json::Value>,
    pub bytes: usize,
}

fn summary(body: &str) -> Option<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let pick = |k: &str| v.get(k).cloned().unwrap_or(serde_json::Value::Null);
    Some(serde_json::json!({
        "event_type": pick("event_type"), "aggregate_type": pick("aggregate_type"),
        "aggregate_id": pick("aggregate_id"), "sequence": pick("sequence"),
        "template": pick("template"), "job_id": pick("job_id"),
    }))
}

/// Approximate number of messages in `queue_url` (visible and in flight).
pub async fn depth(sqs: &SqsClient, queue_url: &str) -> anyhow::Result<u64> {
    let (visible, in_flight) = counts(sqs, queue_url).await?;
    Ok(visible + in_flight)
}

/// Up to `max` messages of a DLQ, without taking them (they stay visible).
pub async fn list(sqs: &SqsClient, dlq_url: &str, max: usize) -> anyhow::Result<Vec<DeadLetter>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while out.len() < max {
        let received = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .context("reading the DLQ")?
            .messages
            .unwrap_or_default();
        let before = out.len();
        for m in received {
            let id = m.message_id.clone().unwrap_or_default();
            if !seen.insert(id.clone()) {
                continue;
            }
            let attr = |a: MessageSystemAttributeName| {
                m.attributes.as_ref().and_then(|x| x.get(&a)).cloned()
            };
            let body = m.body.as_deref().unwrap_or_default();
            out.push(DeadLetter {
                message_id: id,
                group_id: attr(MessageSystemAttributeName::MessageGroupId),
                receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount),
                summary: summary(body),
                bytes: body.len(),
            });
        }
        if out.len() == before {
            break;
        }
    }
    out.truncate(max);
    Ok(out)
}

/// Moves every message of `dlq_url` back to `source_url` (same group, body and
/// attributes; a fresh deduplication id, since the original's may still be inside the
/// 5-minute window). Consumers are idempotent, so a message moved twice (a crash
/// between send and delete) is applied once. Returns how many were moved.
pub async fn redrive(sqs: &SqsClient, dlq_url: &str, source_url: &str) -> anyhow::Result<usize> {
    let mut moved = 0;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .context("reading the DLQ")?
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            return Ok(moved);
        }
        for m in received {
            let attr = |a: MessageSystemAttributeName| {
                m.attributes.as_ref().and_then(|x| x.get(&a)).cloned()
            };
            let mut send = sqs
                .send_message()
                .queue_url(source_url)
                .message_body(m.body.clone().unwrap_or_default())
                .set_message_attributes(m.message_attributes.clone());
            if let Some(group) = attr(MessageSystemAttributeName::MessageGroupId) {
                let dedup = format!(
                    "redrive-{}-{}",
                    m.message_id.as_deref().unwrap_or_default(),
                    chrono::Utc::now().timestamp_millis()
                );
                send = send.message_group_id(group).message_deduplication_id(dedup);
            }
            send.send()
                .await
                .context("sending back to the source queue")?;
            if let Some(receipt) = &m.receipt_handle {
                sqs.delete_message()
                    .queue_url(dlq_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .context("deleting from the DLQ")?;
            }
            moved += 1;
        }
    }
}

/// A queue and its DLQ (from the declared resources), by name and URL.
pub async fn with_dlq(sqs: &SqsClient, source: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = vec![(source.to_owned(), crate::sqs::queue_url(sqs, source).await?)];
    let dlq = crate::sqs::resources()?
        .queues
        .into_iter()
        .find(|q| q.name == source)
        .and_then(|q| q.dlq);
    if let Some(dlq) = dlq {
        let url = crate::sqs::queue_url(sqs, &dlq).await?;
        out.push((dlq, url));
    }
    Ok(out)
}

/// Publishes `repstream_sqs_messages{queue, state="visible"|"in_flight"}` for `queues`
/// every `every` until `shutdown`: the depth an operator alerts on (a DLQ above zero,
/// an events queue that keeps growing). A failed read keeps the last figure.
pub async fn watch(
    sqs: SqsClient,
    queues: Vec<(String, String)>,
    every: std::time::Duration,
    shutdown: crate::shutdown::CancellationToken,
) {
    loop {
        for (name, url) in &queues {
            match counts(&sqs, url).await {
                Ok((visible, in_flight)) => {
                    metrics::gauge!("repstream_sqs_messages", "queue" => name.clone(), "state" => "visible")
                        .set(visible as f64);
                    metrics::gauge!("repstream_sqs_messages", "queue" => name.clone(), "state" => "in_flight")
                        .set(in_flight as f64);
                }
                Err(e) => {
                    tracing::debug!(error = format!("{e:#}"), queue = %name, "queue depth unknown")
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// (visible, in flight) messages of a queue.
async fn counts(sqs: &SqsClient, queue_url: &str) -> anyhow::Result<(u64, u64)> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .context("reading queue attributes")?
        .attributes
        .unwrap_or_default();
    let n = |a: QueueAttributeName| {
        attrs
            .get(&a)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((
        n(QueueAttributeName::ApproximateNumberOfMessages),
        n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    ))
}
