//! The S3 client and the buckets of `localstack/resources.json` (AI artifacts, media).
//! Like SQS, the endpoint override is configuration only: LocalStack locally, AWS in
//! production.

use std::time::Duration;

use anyhow::Context;

use crate::config::AwsArgs;

pub use aws_sdk_s3::Client as S3Client;

/// Builds an S3 client with bounded timeouts (a call never hangs its caller). Path-style
/// addressing when an endpoint is configured (LocalStack serves buckets under its path).
pub async fn client(args: &AwsArgs) -> S3Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(args.aws_region.clone()))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(endpoint) = &args.aws_endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let shared = loader.load().await;
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(args.aws_endpoint_url.is_some())
        .build();
    S3Client::from_conf(config)
}

/// Creates every declared bucket that does not exist yet (tests; LocalStack's init hook
/// does it for `make run`). Idempotent.
pub async fn ensure_buckets(client: &S3Client) -> anyhow::Result<()> {
    for bucket in crate::sqs::resources()?.buckets {
        if client.head_bucket().bucket(&bucket).send().await.is_ok() {
            continue;
        }
        if let Err(e) = client.create_bucket().bucket(&bucket).send().await {
            let service = e.as_service_error();
            let exists = service.is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            });
            if !exists {
                return Err(e).with_context(|| format!("creating bucket {bucket}"));
            }
        }
    }
    Ok(())
}

/// The object at `key`, if there is one.
pub async fn get(client: &S3Client, bucket: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => {
            let bytes = object
                .body
                .collect()
                .await
                .with_context(|| format!("reading s3://{bucket}/{key}"))?;
            Ok(Some(bytes.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("getting s3://{bucket}/{key}")),
    }
}

/// Stores a JSON document at `key` (a retry overwrites it with the same content).
pub async fn put_json(
    client: &S3Client,
    bucket: &str,
    key: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(serde_json::to_vec(body)?.into())
        .send()
        .await
        .with_context(|| format!("putting s3://{bucket}/{key}"))?;
    Ok(())
}
