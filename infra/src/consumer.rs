//! The one SQS consumer loop: long-poll, hand each message to a [`MessageHandler`],
//! delete what succeeded, and push failures back with exponential visibility backoff.
//! SQS's redrive policy moves a message that keeps failing to the queue's DLQ after
//! `maxReceiveCount` receives; the loop never stops for one bad message.
//!
//! A receive of several messages is first offered whole to
//! [`MessageHandler::handle_all`] (the projector applies it in one transaction); if that
//! fails for any reason but an outage, the messages are handled one at a time, so a
//! poison message is retried and dead-lettered alone.
//!
//! **Outages are not poison.** A failure that is a dependency's, not the message's
//! ([`crate::db::is_transient`]: unreachable, restarting, pool exhausted; or a handler's
//! [`Unavailable`], e.g. the SMTP relay refusing connections) hands the rest of the batch
//! back and **pauses receiving** until [`MessageHandler::ready`] answers, so a message
//! spends at most one receive per outage instead of reaching the DLQ.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use tracing::{info, info_span, warn, Instrument};

use crate::shutdown::CancellationToken;
use crate::sqs::SqsClient;

/// Handles one message body. Must be idempotent: delivery is at-least-once.
#[async_trait::async_trait]
pub trait MessageHandler: Clone + Send + Sync + 'static {
    async fn handle(&self, body: &str) -> anyhow::Result<()>;

    /// Handles a whole receive (several bodies) at once, e.g. in one transaction.
    /// `Ok(false)`: not supported, the loop handles them one at a time. An error other
    /// than an outage also falls back to one at a time, so only the failing message is
    /// retried and a poison message never holds back the others of its receive.
    async fn handle_all(&self, bodies: &[&str]) -> anyhow::Result<bool> {
        let _ = bodies;
        Ok(false)
    }

    /// Are the handler's dependencies reachable (e.g. `SELECT 1`)? Asked while the loop
    /// is paused after an outage; receiving resumes once this succeeds.
    async fn ready(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// A handler's answer "not now, and not my fault": the message comes back after the
/// given delay (e.g. another worker's lease on the job runs out) and nothing is logged
/// as a failure. Each such cycle still costs one receive, so the delay should be the
/// real wait, not a poll.
#[derive(Debug)]
pub struct RetryAfter(pub Duration);

impl std::fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "retry after {:?}", self.0)
    }
}

impl std::error::Error for RetryAfter {}

/// A handler's answer "a dependency of mine is down" (not the database: its errors are
/// recognised by themselves): the loop hands the message back and pauses receiving until
/// [`MessageHandler::ready`] answers, as for a database outage.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unavailable: {}", self.0)
    }
}

impl std::error::Error for Unavailable {}

/// Is `err` an outage (of the database or of what [`Unavailable`] names)?
pub fn is_outage(err: &anyhow::Error) -> bool {
    crate::db::is_transient_chain(err) || err.chain().any(|e| e.is::<Unavailable>())
}

/// How long an outage pause waits between readiness probes, at most.
const PAUSE_PROBE_MAX: Duration = Duration::from_secs(10);

/// How long messages handed back during an outage stay invisible: short, because the
/// loop does not receive again before its dependencies answer.
const OUTAGE_REDELIVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub queue_url: String,
    /// Concurrent receive loops (FIFO keeps each aggregate on one of them at a time).
    pub concurrency: usize,
    /// Long-poll wait per ReceiveMessage (seconds, ≤ 20).
    pub wait_seconds: i32,
    /// A failed message becomes visible again after `retry_base × 2^(receives-1)`,
    /// capped at 5 minutes. Zero retries at once (tests).
    pub retry_base: Duration,
}

impl ConsumerConfig {
    pub fn new(queue_url: String) -> Self {
        Self {
            queue_url,
            concurrency: 4,
            wait_seconds: 10,
            retry_base: Duration::from_secs(1),
        }
    }
}

/// Consumes the events queue until `shutdown`.
pub async fn run<H: MessageHandler>(
    handler: H,
    sqs: SqsClient,
    config: ConsumerConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    info!(concurrency = config.concurrency, queue = %config.queue_url, "consuming");
    let mut loops = tokio::task::JoinSet::new();
    for worker in 0..config.concurrency.max(1) {
        let (handler, sqs, config, shutdown) = (
            handler.clone(),
            sqs.clone(),
            config.clone(),
            shutdown.clone(),
        );
        loops.spawn(
            async move { receive_loop(handler, sqs, config, shutdown).await }
                .instrument(info_span!("consumer", worker)),
        );
    }
    while let Some(result) = loops.join_next().await {
        result.context("consumer loop panicked")?;
    }
    info!("consumer stopped");
    Ok(())
}

async fn receive_loop<H: MessageHandler>(
    handler: H,
    sqs: SqsClient,
    config: ConsumerConfig,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let receive = sqs
            .receive_message()
            .queue_url(&config.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(config.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names("All")
            .send();
        tokio::pin!(receive);
        let received = tokio::select! {
            r = &mut receive => r,
            _ = shutdown.cancelled() => {
                // A long poll already sent goes on at SQS even if we stop listening: what
                // it receives would stay invisible (its groups blocked) for the whole
                // visibility timeout. Wait for it and hand that back at once.
                if let Ok(out) = receive.await {
                    for message in out.messages.unwrap_or_default() {
                        give_back(&sqs, &config, message.receipt_handle.as_deref(), Duration::ZERO)
                            .await;
                    }
                }
                return;
            }
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "ReceiveMessage failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut done = Vec::new();
        let mut outage = false;
        let messages = match handle_together(&handler, &config, messages).await {
            Together::Handled(receipts) => {
                done = receipts;
                Vec::new()
            }
            Together::Outage(messages) => {
                outage = true;
                messages
            }
            Together::OneByOne(messages) => messages,
        };
        for message in messages {
            if outage {
                // The rest of the batch goes back untouched: it is not at fault.
                give_back(
                    &sqs,
                    &config,
                    message.receipt_handle.as_deref(),
                    OUTAGE_REDELIVERY,
                )
                .await;
                continue;
            }
            let receipt = message.receipt_handle.clone().unwrap_or_default();
            let receives: u32 = message
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let correlation_id = message
                .message_attributes
                .as_ref()
                .and_then(|a| a.get(crate::sqs::attributes::CORRELATION_ID))
                .and_then(|v| v.string_value.clone())
                .unwrap_or_default();
            let span = info_span!("message", %correlation_id, message_id = message.message_id.as_deref().unwrap_or(""));
            let traceparent = message
                .message_attributes
                .as_ref()
                .and_then(|a| a.get(crate::sqs::attributes::TRACEPARENT))
                .and_then(|v| v.string_value.as_deref());
            crate::telemetry::set_parent(&span, traceparent);
            let result = async {
                handler
                    .handle(message.body.as_deref().unwrap_or_default())
                    .await
            }
            .instrument(span.clone())
            .await;
            let outcome = match &result {
                Ok(()) => "handled",
                Err(e) if e.downcast_ref::<RetryAfter>().is_some() => "deferred",
                Err(e) if is_outage(e) => "unavailable",
                Err(_) => "failed",
            };
            metrics::counter!("repstream_messages_total", "queue" => queue_name(&config.queue_url), "outcome" => outcome)
                .increment(1);
            match result {
                Ok(()) => done.push(receipt),
                Err(e) if e.downcast_ref::<RetryAfter>().is_some() => {
                    let delay = e
                        .downcast_ref::<RetryAfter>()
                        .map_or(Duration::ZERO, |r| r.0);
                    tracing::debug!(?delay, "message deferred");
                    give_back(&sqs, &config, Some(&receipt), delay).await;
                }
                Err(e) if is_outage(&e) => {
                    let _enter = span.enter();
                    warn!(
                        error = format!("{e:#}"),
                        receives, "dependency unavailable; pausing receives until it answers"
                    );
                    outage = true;
                    give_back(&sqs, &config, Some(&receipt), OUTAGE_REDELIVERY).await;
                }
                Err(e) => {
                    let _enter = span.enter();
                    warn!(
                        error = format!("{e:#}"),
                        receives, "message not handled; will retry (DLQ after maxReceiveCount)"
                    );
                    let delay = config
                        .retry_base
                        .saturating_mul(1 << receives.saturating_sub(1).min(16))
                        .min(Duration::from_secs(300));
                    give_back(&sqs, &config, Some(&receipt), delay).await;
                }
            }
        }
        if !done.is_empty() {
            let entries: Vec<_> = done
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .ok()
                })
                .collect();
            // A failed delete only means a redelivery, which is skipped as a duplicate.
            if let Err(e) = sqs
                .delete_message_batch()
                .queue_url(&config.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "DeleteMessageBatch failed");
            }
        }
        if outage {
            pause_until_ready(&handler, &shutdown).await;
        }
    }
}

/// What [`handle_together`] did with a receive.
enum Together {
    /// All handled; their receipts.
    Handled(Vec<String>),
    /// The dependencies are down: hand them all back and pause.
    Outage(Vec<Message>),
    /// Not handled together: one at a time.
    OneByOne(Vec<Message>),
}

/// Offers a receive of several messages to [`MessageHandler::handle_all`].
async fn handle_together<H: MessageHandler>(
    handler: &H,
    config: &ConsumerConfig,
    messages: Vec<Message>,
) -> Together {
    if messages.len() < 2 {
        return Together::OneByOne(messages);
    }
    let bodies: Vec<&str> = messages
        .iter()
        .map(|m| m.body.as_deref().unwrap_or_default())
        .collect();
    match handler.handle_all(&bodies).await {
        Ok(true) => {
            metrics::counter!("repstream_messages_total", "queue" => queue_name(&config.queue_url), "outcome" => "handled")
                .increment(messages.len() as u64);
            Together::Handled(
                messages
                    .into_iter()
                    .map(|m| m.receipt_handle.unwrap_or_default())
                    .collect(),
            )
        }
        Ok(false) => Together::OneByOne(messages),
        Err(e) if is_outage(&e) => {
            warn!(
                error = format!("{e:#}"),
                messages = messages.len(),
                "dependency unavailable; pausing receives until it answers"
            );
            metrics::counter!("repstream_messages_total", "queue" => queue_name(&config.queue_url), "outcome" => "unavailable")
                .increment(messages.len() as u64);
            Together::Outage(messages)
        }
        Err(e) => {
            // One of them is at fault (or a conflict): find out which, one at a time.
            tracing::debug!(error = format!("{e:#}"), "receive not handled together");
            Together::OneByOne(messages)
        }
    }
}

/// The queue's name (the last segment of its URL): a bounded label.
fn queue_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}

/// Makes a received message visible again after `delay`.
async fn give_back(
    sqs: &SqsClient,
    config: &ConsumerConfig,
    receipt: Option<&str>,
    delay: Duration,
) {
    let Some(receipt) = receipt else { return };
    let _ = sqs
        .change_message_visibility()
        .queue_url(&config.queue_url)
        .receipt_handle(receipt)
        .visibility_timeout(delay.as_secs() as i32)
        .send()
        .await;
}

/// Probes the handler's dependencies with backoff until they answer (or shutdown).
async fn pause_until_ready<H: MessageHandler>(handler: &H, shutdown: &CancellationToken) {
    let mut wait = Duration::from_millis(250);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        match handler.ready().await {
            Ok(()) => {
                info!("dependencies answer again; resuming receives");
                return;
            }
            Err(e) => {
                tracing::debug!(error = format!("{e:#}"), "still unavailable");
                wait = (wait * 2).min(PAUSE_PROBE_MAX);
            }
        }
    }
}
