//! Jobs: work the projector hands to workers over SQS: notifications (their queue, the
//! notification worker) and AI tasks (their own queue, the AI worker; media later). A
//! job's id is derived from the event that caused it, so re-deriving it after a crash
//! yields the same id: SQS deduplicates on it and workers record it once.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sqs::{attributes, SqsClient};

/// A job for one recipient: a message rendered by the notification worker from
/// `template`, or (channel [`Channel::Ai`]) an AI task of kind `template` about the
/// client `recipient`, which the AI worker does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationJob {
    pub job_id: Uuid,
    pub tenant_id: Uuid,
    pub correlation_id: Option<String>,
    /// The event that caused this job.
    pub causation_id: Uuid,
    pub channel: Channel,
    /// An email address ([`Channel::Email`]), an account id ([`Channel::InApp`]) or a
    /// client id ([`Channel::Ai`]).
    pub recipient: String,
    pub template: String,
    /// Template parameters.
    pub data: serde_json::Value,
    /// W3C trace context: the worker's span continues the trace of the request that
    /// caused the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    /// The recipient's in-app inbox (`GET /api/v1/me/notifications` and its live stream).
    InApp,
    /// The AI worker's queue (`AI_QUEUE`): never a message to a person. The job carries
    /// no health data, only which client and intake version; the worker reads the rest
    /// from the event store.
    Ai,
}

/// The AI task that turns a health intake version into a recommendation.
pub const AI_RECOMMENDATION: &str = "health_recommendation";

/// The AI task that answers a question about a client from their latest intake and
/// recommendation.
pub const AI_QUESTION: &str = "health_question";

impl NotificationJob {
    /// The deterministic job id for `template` caused by `event_id`.
    pub fn id_for(event_id: Uuid, template: &str) -> Uuid {
        Uuid::new_v5(&event_id, template.as_bytes())
    }

    /// The one email of `template` to `to` that event `envelope` causes (its id is
    /// [`Self::id_for`] the event and template).
    pub fn email_for(
        envelope: &crate::envelope::EventEnvelope,
        template: &str,
        to: &str,
        data: serde_json::Value,
    ) -> Self {
        Self {
            job_id: Self::id_for(envelope.event_id, template),
            tenant_id: envelope.tenant_id,
            correlation_id: envelope.metadata.correlation_id.clone(),
            causation_id: envelope.event_id,
            channel: Channel::Email,
            recipient: to.to_owned(),
            template: template.to_owned(),
            // Set by the projector from the causing event.
            traceparent: None,
            data,
        }
    }

    /// The job of `template` that event `envelope` causes for `who` (a client, an
    /// account) on `channel`, addressed to `recipient` (an address, an account id); its
    /// id is [`Self::id_per_recipient`].
    pub fn for_recipient(
        envelope: &crate::envelope::EventEnvelope,
        template: &str,
        who: Uuid,
        channel: Channel,
        recipient: String,
        data: serde_json::Value,
    ) -> Self {
        Self {
            job_id: Self::id_per_recipient(envelope.event_id, template, who, channel),
            tenant_id: envelope.tenant_id,
            correlation_id: envelope.metadata.correlation_id.clone(),
            causation_id: envelope.event_id,
            channel,
            recipient,
            template: template.to_owned(),
            // Set by the projector from the causing event.
            traceparent: None,
            data,
        }
    }

    /// The deterministic id of the job of `template` caused by `event_id` for one
    /// recipient (`who`: a client, an account) on `channel`. Email jobs keep the ids they
    /// had before in-app jobs existed.
    pub fn id_per_recipient(event_id: Uuid, template: &str, who: Uuid, channel: Channel) -> Uuid {
        let email = Uuid::new_v5(&Self::id_for(event_id, template), who.as_bytes());
        match channel {
            Channel::Email => email,
            Channel::InApp => Uuid::new_v5(&email, b"in_app"),
            Channel::Ai => Uuid::new_v5(&email, b"ai"),
        }
    }
}

/// Largest total of message bodies one `SendMessageBatch` carries (SQS's limit is
/// 256 KiB including attributes).
const BATCH_BODY_BYTES: usize = 200 * 1024;

/// Enqueues jobs on a FIFO queue (group = tenant, dedup = job id), up to ten per
/// `SendMessageBatch`. Any entry SQS refuses fails the call (the caller retries all:
/// duplicates are deduplicated).
pub async fn enqueue_all(
    sqs: &SqsClient,
    queue_url: &str,
    jobs: &[NotificationJob],
) -> anyhow::Result<()> {
    enqueue_tagged(sqs, queue_url, jobs, None).await
}

/// [`enqueue_all`] for jobs enqueued once before (e.g. held back by quiet hours):
/// SQS deduplicates on `<job id>:<tag>`, since within its five-minute window it would
/// drop the job id alone as the first enqueue's duplicate. The worker still records
/// the job under its own id, so it is sent once.
pub async fn enqueue_again(
    sqs: &SqsClient,
    queue_url: &str,
    jobs: &[NotificationJob],
    tag: &str,
) -> anyhow::Result<()> {
    enqueue_tagged(sqs, queue_url, jobs, Some(tag)).await
}

async fn enqueue_tagged(
    sqs: &SqsClient,
    queue_url: &str,
    jobs: &[NotificationJob],
    tag: Option<&str>,
) -> anyhow::Result<()> {
    use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
    let attr = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .context("building message attribute")
    };
    let mut batch: Vec<SendMessageBatchRequestEntry> = Vec::new();
    let mut bytes = 0;
    for (i, job) in jobs.iter().enumerate() {
        let body = serde_json::to_string(job)?;
        if !batch.is_empty() && (batch.len() == 10 || bytes + body.len() > BATCH_BODY_BYTES) {
            send_batch(sqs, queue_url, std::mem::take(&mut batch)).await?;
            bytes = 0;
        }
        bytes += body.len();
        let mut entry = SendMessageBatchRequestEntry::builder();
        if let Some(traceparent) = &job.traceparent {
            entry = entry.message_attributes(attributes::TRACEPARENT, attr(traceparent)?);
        }
        batch.push(
            entry
                .id(i.to_string())
                .message_body(body)
                .message_group_id(job.tenant_id.to_string())
                .message_deduplication_id(match tag {
                    None => job.job_id.to_string(),
                    Some(tag) => format!("{}:{tag}", job.job_id),
                })
                .message_attributes(
                    attributes::CORRELATION_ID,
                    attr(job.correlation_id.as_deref().unwrap_or("none"))?,
                )
                .message_attributes(attributes::TENANT_ID, attr(&job.tenant_id.to_string())?)
                .build()
                .context("building batch entry")?,
        );
    }
    if !batch.is_empty() {
        send_batch(sqs, queue_url, batch).await?;
    }
    Ok(())
}

async fn send_batch(
    sqs: &SqsClient,
    queue_url: &str,
    entries: Vec<aws_sdk_sqs::types::SendMessageBatchRequestEntry>,
) -> anyhow::Result<()> {
    let out = sqs
        .send_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))
        .context("enqueueing notification jobs")?;
    if let Some(failed) = out.failed.first() {
        anyhow::bail!(
            "enqueueing notification jobs: {} of them refused, e.g. {} ({})",
            out.failed.len(),
            failed.code,
            failed.message.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
