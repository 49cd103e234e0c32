//! `repstream-api`: the REST service (`serve`), schema migrations (`migrate`) and demo
//! data (`seed`). See the library docs.

use std::time::Duration;

use anyhow::Context;
use api::{ApiConfig, AppState};
use clap::{Parser, Subcommand};
use common::config::{AwsArgs, DatabaseArgs, QueueArgs, TelemetryArgs};

#[derive(Debug, Parser)]
#[command(name = "repstream-api", version, about = "repstream REST API")]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    queues: QueueArgs,
    #[command(flatten)]
    telemetry: TelemetryArgs,
    /// Address to listen on.
    #[arg(long, env = "API_ADDR", default_value = "127.0.0.1:8080")]
    api_addr: String,
    /// Longest a read with `min_version` waits for its view (milliseconds).
    #[arg(long, env = "READ_WAIT_MAX_MS", default_value_t = 3000)]
    read_wait_max_ms: u64,
    /// Largest accepted request body (bytes).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 65536)]
    max_body_bytes: usize,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the demo data (idempotent) and print where to find it.
    Seed,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    common::telemetry::init(&cli.telemetry);
    let pool = common::db::connect(&cli.db, "repstream-api").await?;
    let shutdown = common::shutdown::on_signal();
    let config = ApiConfig {
        read_wait_max: Duration::from_millis(cli.read_wait_max_ms),
        max_body_bytes: cli.max_body_bytes,
        events_queue: cli.queues.events_queue.clone(),
    };
    let sqs = common::sqs::client(&cli.aws).await;
    let waiter = api::waiter::ViewWaiter::start(pool.clone(), shutdown.clone());
    let state = AppState::new(pool.clone(), sqs, waiter, config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            common::db::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed => {
            let report = api::seed::seed(&state).await?;
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "demo studio {} ({}): GET /api/v1/studios/{}",
                    report.studio_id,
                    if report.created { "created" } else { "already there" },
                    report.studio_id
                );
                println!("demo credentials: none yet (authentication lands with issue #3)");
            }
            Ok(())
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(&cli.api_addr)
                .await
                .with_context(|| format!("binding {}", cli.api_addr))?;
            tracing::info!(addr = %listener.local_addr()?, "api listening");
            api::serve(listener, state, shutdown).await
        }
    }
}
