//! `repstream-projector`: builds read models from the events queue; `rebuild` replays
//! one from the event store. See the library docs.

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use infra::config::{AwsArgs, DatabaseArgs, QueueArgs, TelemetryArgs};

/// mimalloc: the services allocate per request and per message; glibc's malloc was a
/// sixth of the API's CPU under load (see `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "repstream-projector", version, about = "Read-model projector")]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    queues: QueueArgs,
    #[command(flatten)]
    telemetry: TelemetryArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume the events queue (the default).
    Run {
        /// Concurrent receive loops.
        #[arg(long, env = "PROJECTOR_CONCURRENCY", default_value_t = 8)]
        concurrency: usize,
        /// Base delay (ms) before a failed message is retried; doubles per receive.
        #[arg(long, env = "PROJECTOR_RETRY_BASE_MS", default_value_t = 1000)]
        retry_base_ms: u64,
    },
    /// Replay a read model from the events table into a fresh table and swap it in.
    Rebuild {
        /// The projection to rebuild (e.g. `studio_view`).
        projection: String,
    },
    /// Print each projection's lag behind the event store (JSON lines).
    Status,
    /// Dead letters of the events or notifications queue.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
        /// Which queue's DLQ.
        #[arg(long, value_enum, default_value_t = QueueKind::Events)]
        queue: QueueKind,
    },
}

#[derive(Debug, Subcommand)]
enum DlqAction {
    /// List dead letters (JSON lines; they stay in the DLQ).
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Move every dead letter back to its source queue.
    Redrive,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum QueueKind {
    Events,
    Notifications,
    Ai,
}

/// How often the queue depth gauges are refreshed.
const QUEUE_WATCH: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut cli = Cli::parse();
    if cli.command.is_none() {
        // No subcommand is `run`, with its flags' environment and defaults.
        cli = Cli::parse_from(std::env::args_os().chain(["run".into()]));
    }
    let _telemetry = infra::telemetry::init(&cli.telemetry, "repstream-projector");
    let pool = infra::db::connect(&cli.db, "repstream-projector").await?;
    let Some(command) = cli.command else {
        anyhow::bail!("no command");
    };
    match command {
        Command::Rebuild { projection } => {
            let all = projector::all_projections();
            let Some(p) = all.iter().find(|p| p.name() == projection) else {
                let names: Vec<_> = all.iter().map(|p| p.name()).collect();
                anyhow::bail!(
                    "unknown projection `{projection}`; known: {}",
                    names.join(", ")
                );
            };
            let started = std::time::Instant::now();
            let rate = |done: u64| done as f64 / started.elapsed().as_secs_f64().max(1e-3);
            let n = projector::rebuild(&pool, p.as_ref(), |done, total| {
                let pct = (done * 100).checked_div(total).unwrap_or(100);
                eprintln!(
                    "rebuild {projection}: {done}/{total} events ({pct}%, {:.0} events/s)",
                    rate(done)
                );
            })
            .await?;
            eprintln!(
                "rebuild {projection}: done, {n} events applied in {:.1} s ({:.0} events/s), swapped in",
                started.elapsed().as_secs_f64(),
                rate(n)
            );
            Ok(())
        }
        Command::Status => {
            for row in projector::status(&pool, &projector::all_projections()).await? {
                println!("{}", serde_json::to_string(&row)?);
            }
            Ok(())
        }
        Command::Dlq { action, queue } => {
            let sqs = infra::sqs::client(&cli.aws).await;
            let source = match queue {
                QueueKind::Events => cli.queues.events_queue.clone(),
                QueueKind::Notifications => cli.queues.notifications_queue.clone(),
                QueueKind::Ai => cli.queues.ai_queue.clone(),
            };
            let dlq = infra::sqs::resources()?
                .queues
                .into_iter()
                .find(|q| q.name == source)
                .and_then(|q| q.dlq)
                .with_context(|| format!("no DLQ declared for {source}"))?;
            let source_url = infra::sqs::queue_url(&sqs, &source).await?;
            let dlq_url = infra::sqs::queue_url(&sqs, &dlq).await?;
            match action {
                DlqAction::List { max } => {
                    for letter in infra::dlq::list(&sqs, &dlq_url, max).await? {
                        println!("{}", serde_json::to_string(&letter)?);
                    }
                }
                DlqAction::Redrive => {
                    let n = infra::dlq::redrive(&sqs, &dlq_url, &source_url).await?;
                    eprintln!("moved {n} message(s) from {dlq} back to {source}");
                }
            }
            Ok(())
        }
        Command::Run {
            concurrency,
            retry_base_ms,
        } => {
            infra::db::refuse_privileged(&pool, cli.db.dev_mode).await?;
            let shutdown = infra::shutdown::on_signal();
            let sqs = infra::sqs::client(&cli.aws).await;
            let events = infra::sqs::queue_url(&sqs, &cli.queues.events_queue)
                .await
                .context("the events queue must exist (make run creates it)")?;
            let queues = projector::JobQueues {
                notifications: infra::sqs::queue_url(&sqs, &cli.queues.notifications_queue).await?,
                ai: infra::sqs::queue_url(&sqs, &cli.queues.ai_queue).await?,
            };
            tokio::spawn(infra::dlq::watch(
                sqs.clone(),
                infra::dlq::with_dlq(&sqs, &cli.queues.events_queue).await?,
                QUEUE_WATCH,
                shutdown.clone(),
            ));
            let projector =
                projector::Projector::new(pool, projector::all_projections(), sqs.clone(), queues);
            let mut config = projector::ConsumerConfig::new(events);
            config.concurrency = concurrency;
            config.retry_base = Duration::from_millis(retry_base_ms);
            projector::run(projector, sqs, config, shutdown).await
        }
    }
}
