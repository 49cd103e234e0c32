//! `repstream-outbox-relay`: publishes committed outbox rows to SQS. See the library docs.

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
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
    /// Refusals by SQS after which a row is parked.
    #[arg(long, env = "RELAY_PARK_AFTER", default_value_t = 5)]
    park_after: i32,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Publish (the default).
    Run,
    /// Print the outbox's depth, the age of its oldest pending row and the parked count
    /// (JSON).
    Status,
    /// Rows parked after repeated refusals.
    Parked {
        #[command(subcommand)]
        action: ParkedAction,
    },
}

#[derive(Debug, Subcommand)]
enum ParkedAction {
    /// List parked rows with their reasons (JSON lines).
    List,
    /// Put rows back in line (after fixing the cause).
    Retry { ids: Vec<i64> },
    /// Delete rows from the outbox; their events stay in the store (see the docs).
    Discard { ids: Vec<i64> },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = infra::telemetry::init(&cli.telemetry, "repstream-outbox-relay");
    let shutdown = infra::shutdown::on_signal();
    let pool = infra::db::connect(&cli.db, "repstream-outbox-relay").await?;
    match cli.command {
        None | Some(Command::Run) => infra::db::refuse_privileged(&pool, cli.db.dev_mode).await?,
        Some(Command::Status) => {
            println!(
                "{}",
                serde_json::to_string(&outbox_relay::ops::status(&pool).await?)?
            );
            return Ok(());
        }
        Some(Command::Parked { action }) => {
            match action {
                ParkedAction::List => {
                    for row in outbox_relay::ops::parked(&pool).await? {
                        println!("{}", serde_json::to_string(&row)?);
                    }
                }
                ParkedAction::Retry { ids } => {
                    let n = outbox_relay::ops::retry(&pool, &ids).await?;
                    println!("{n} row(s) back in line");
                }
                ParkedAction::Discard { ids } => {
                    let n = outbox_relay::ops::discard(&pool, &ids).await?;
                    println!("{n} row(s) discarded");
                }
            }
            return Ok(());
        }
    }
    let sqs = infra::sqs::client_with(&cli.aws, infra::sqs::Timeouts::RELAY).await;
    let queue_url = infra::sqs::queue_url(&sqs, &cli.queues.events_queue)
        .await
        .context("the events queue must exist (make run creates it)")?;
    let mut config = outbox_relay::RelayConfig::new(queue_url);
    config.batch_size = cli.batch_size;
    config.lanes = cli.lanes;
    config.poll_interval = Duration::from_millis(cli.poll_interval_ms);
    config.retention = Duration::from_secs(cli.retention_secs);
    config.park_after = cli.park_after.max(1);
    let connect = outbox_relay::connect_options(cli.db.database_url.expose())?;
    outbox_relay::run(pool, connect, sqs, config, shutdown).await
}
