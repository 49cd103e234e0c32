//! The SQS client and the queue declarations. `localstack/resources.json` is the one
//! declaration of queues and buckets: LocalStack's init hook creates them for `make run`,
//! and tests create uniquely-prefixed copies from the same file.

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Deserialize;

use crate::config::AwsArgs;

pub use aws_sdk_sqs::Client as SqsClient;

/// Builds an SQS client. Credentials come from the standard AWS chain (env vars
/// locally); the endpoint override is configuration only, never a code path.
pub async fn client(args: &AwsArgs) -> SqsClient {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(args.aws_region.clone()));
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
            let url = create_queue(client, &format!("{prefix}{dlq}"), spec.fifo, 30, None).await?;
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
}
