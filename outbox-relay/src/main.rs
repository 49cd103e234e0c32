//! `repstream-outbox-relay`: publishes committed outbox rows to SQS. See the library docs.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use infra::config::{AwsArgs, DatabaseArgs, QueueArgs, TelemetryArgs};

/// mimalloc: the services allocate per request and per message; glibc's malloc was a
/// sixth of the API's CPU under load (see `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "repstream-outbox-relay", version, about = "Outbox → SQS relay")]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    queues: QueueArgs,
    #[command(flatten)]
    telemetry: TelemetryArgs,
    /// Entries per SendMessageBatch (1..=10).
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 10)]
    batch_size: usize,
    /// Batches in flight at once.
    #[arg(long, env = "RELAY_LANES", default_value_t = 4)]
    lanes: usize,
    /// Poll interval (ms) when no NOTIFY wakes the relay.
    #[arg(long, env = "RELAY_POLL_INTERVAL_MS", default_value_t = 1000)]
    poll_interval_ms: u64,
    /// Keep published outbox rows this long (seconds) before pruning.
    #[arg(long, env = "RELAY_RETENTION_SECS", default_value_t = 3600)]
    retention_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    infra::telemetry::init(&cli.telemetry);
    let shutdown = infra::shutdown::on_signal();
    let pool = infra::db::connect(&cli.db, "repstream-outbox-relay").await?;
    let sqs = infra::sqs::client(&cli.aws).await;
    let queue_url = infra::sqs::queue_url(&sqs, &cli.queues.events_queue)
        .await
        .context("the events queue must exist (make run creates it)")?;
    let mut config = outbox_relay::RelayConfig::new(queue_url);
    config.batch_size = cli.batch_size;
    config.lanes = cli.lanes;
    config.poll_interval = Duration::from_millis(cli.poll_interval_ms);
    config.retention = Duration::from_secs(cli.retention_secs);
    let connect = outbox_relay::connect_options(cli.db.database_url.expose())?;
    outbox_relay::run(pool, connect, sqs, config, shutdown).await
}
