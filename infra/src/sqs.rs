//! The SQS client and the queue declarations. `localstack/resources.json` is the one
//! declaration of queues and buckets: LocalStack's init hook creates them for `make run`,
//! and tests create uniquely-prefixed copies from the same file.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Deserialize;

use crate::config::AwsArgs;

pub use aws_sdk_sqs::Client as SqsClient;

/// The largest message body SQS accepts (256 KiB, message attributes included).
pub const SQS_MESSAGE_MAX: usize = 256 * 1024;

/// The largest envelope body the event store accepts: SQS's limit less room for the
/// message attributes (bounded: ids, an event type and a correlation id of ≤ 128 bytes).
/// A command whose event would exceed it is refused when it is made (see ADR 0006).
pub const ENVELOPE_MAX: usize = SQS_MESSAGE_MAX - 4 * 1024;

/// The JSON text of `message` as SQS accepts it. SQS refuses bodies containing
/// characters outside XML's `Char` production; in JSON text the only such characters a
/// Rust string can hold (U+FFFE, U+FFFF; control characters are escaped by serde_json,
/// lone surrogates cannot exist) sit inside strings, where `\uXXXX` is the same
/// character to every JSON parser. Nothing is dropped.
pub fn message_body(message: &serde_json::Value) -> String {
    let text = message.to_string();
    if !text.contains(['\u{fffe}', '\u{ffff}']) {
        return text;
    }
    let mut safe = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\u{fffe}' => safe.push_str("\\ufffe"),
            '\u{ffff}' => safe.push_str("\\uffff"),
            c => safe.push(c),
        }
    }
    safe
}

/// Timeouts of an SQS client: a call never hangs its caller.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// One HTTP attempt (long polls included: keep it above their wait).
    pub attempt: Duration,
    /// The whole operation, retries included.
    pub operation: Duration,
}

impl Timeouts {
    /// For consumers, whose receives long-poll up to 20 s.
    pub const CONSUMER: Timeouts = Timeouts {
        attempt: Duration::from_secs(25),
        operation: Duration::from_secs(60),
    };
    /// For the relay: a send that hangs must end (and leadership with it) soon.
    pub const RELAY: Timeouts = Timeouts {
        attempt: Duration::from_secs(5),
        operation: Duration::from_secs(15),
    };
}

/// Builds an SQS client with [`Timeouts::CONSUMER`].
pub async fn client(args: &AwsArgs) -> SqsClient {
    client_with(args, Timeouts::CONSUMER).await
}

/// Builds an SQS client. Credentials come from the standard AWS chain (env vars
/// locally); the endpoint override is configuration only, never a code path.
pub async fn client_with(args: &AwsArgs, timeouts: Timeouts) -> SqsClient {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(args.aws_region.clone()))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(timeouts.attempt)
                .operation_timeout(timeouts.operation)
                .build(),
        );
    if let Some(endpoint) = &args.aws_endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    SqsClient::new(&loader.load().await)
}

/// Resolves a queue name to its URL.
pub async fn queue_url(client: &SqsClient, name: &str) -> anyhow::Result<String> {
    client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .with_context(|| format!("resolving SQS queue `{name}`"))?
        .queue_url
        .with_context(|| format!("SQS returned no URL for `{name}`"))
}

/// `localstack/resources.json`.
#[derive(Debug, Deserialize)]
pub struct Resources {
    pub queues: Vec<QueueSpec>,
    #[serde(default)]
    pub buckets: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct QueueSpec {
    pub name: String,
    pub fifo: bool,
    pub visibility_timeout: u32,
    pub dlq: Option<String>,
    pub max_receive_count: Option<u32>,
    /// Encrypted at rest with SQS-managed keys (SSE-SQS), the queue and its DLQ.
    #[serde(default)]
    pub sse_sqs: bool,
}

/// The declarations compiled into the binary.
pub fn resources() -> anyhow::Result<Resources> {
    serde_json::from_str(include_str!("../../localstack/resources.json"))
        .context("parsing localstack/resources.json")
}

/// Creates every declared queue (and its DLQ) with `prefix` prepended to its name.
/// Returns declared name → queue URL, DLQs included. Idempotent.
pub async fn create_queues(
    client: &SqsClient,
    prefix: &str,
) -> anyhow::Result<HashMap<String, String>> {
    let mut urls = HashMap::new();
    for spec in resources()?.queues {
        let mut redrive = None;
        if let Some(dlq) = &spec.dlq {
            let url = create_queue(
                client,
                &format!("{prefix}{dlq}"),
                spec.fifo,
                30,
                spec.sse_sqs,
                None,
            )
            .await?;
            let arn = client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .context("reading DLQ arn")?
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .context("DLQ without arn")?;
            redrive = Some(
                serde_json::json!({
                    "deadLetterTargetArn": arn,
                    "maxReceiveCount": spec.max_receive_count.unwrap_or(5),
                })
                .to_string(),
            );
            urls.insert(dlq.clone(), url);
        }
        let url = create_queue(
            client,
            &format!("{prefix}{}", spec.name),
            spec.fifo,
            spec.visibility_timeout,
            spec.sse_sqs,
            redrive,
        )
        .await?;
        urls.insert(spec.name, url);
    }
    Ok(urls)
}

async fn create_queue(
    client: &SqsClient,
    name: &str,
    fifo: bool,
    visibility_timeout: u32,
    sse_sqs: bool,
    redrive: Option<String>,
) -> anyhow::Result<String> {
    let mut request = client.create_queue().queue_name(name).attributes(
        QueueAttributeName::VisibilityTimeout,
        visibility_timeout.to_string(),
    );
    if fifo {
        request = request
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
    }
    if sse_sqs {
        request = request.attributes(QueueAttributeName::SqsManagedSseEnabled, "true");
    }
    if let Some(redrive) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive);
    }
    request
        .send()
        .await
        .with_context(|| format!("creating SQS queue `{name}`"))?
        .queue_url
        .context("SQS returned no queue URL")
}

/// Message attribute names set on every message (for routing and log correlation
/// without parsing the body).
pub mod attributes {
    pub const CORRELATION_ID: &str = "correlation_id";
    pub const EVENT_TYPE: &str = "event_type";
    pub const TENANT_ID: &str = "tenant_id";
    /// W3C trace context (absent when the message's cause had none).
    pub const TRACEPARENT: &str = "traceparent";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_escape_what_sqs_refuses_and_keep_every_character() {
        let value = serde_json::json!({"name": "a\u{ffff}b\u{fffe}c\u{1f600}\u{7}"});
        let body = message_body(&value);
        assert!(!body.contains(['\u{fffe}', '\u{ffff}', '\u{7}']), "{body}");
        let back: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(back, value);
        // Nothing to escape: the plain serialisation.
        let plain = serde_json::json!({"name": "Zoë"});
        assert_eq!(message_body(&plain), plain.to_string());
    }
}
