//! `repstream-api`: the REST service (`serve`), schema migrations (`migrate`) and demo
//! data (`seed`). See the library docs.

use std::time::Duration;

use anyhow::Context;
use api::{ApiConfig, AppState};
use clap::{Parser, Subcommand};
use infra::config::{AwsArgs, DatabaseArgs, QueueArgs, TelemetryArgs};

/// mimalloc: the services allocate per request and per message; glibc's malloc was a
/// sixth of the API's CPU under load (see `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// HMAC key signing access tokens (at least 32 bytes). Required for `serve`.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<infra::config::Secret>,
    /// Access-token lifetime (seconds).
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    access_token_ttl_secs: u64,
    /// Refresh-token lifetime (seconds).
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", default_value_t = 2_592_000)]
    refresh_token_ttl_secs: u64,
    /// Requests per minute per client IP.
    #[arg(long, env = "RATE_LIMIT_PER_IP_PER_MINUTE", default_value_t = 1200)]
    rate_limit_per_ip: u32,
    /// Requests per minute per signed-in account.
    #[arg(long, env = "RATE_LIMIT_PER_ACCOUNT_PER_MINUTE", default_value_t = 600)]
    rate_limit_per_account: u32,
    /// Requests per minute per client IP on /api/v1/auth/*.
    #[arg(long, env = "RATE_LIMIT_AUTH_PER_IP_PER_MINUTE", default_value_t = 30)]
    rate_limit_auth_per_ip: u32,
    /// Burst above the steady rates.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 60)]
    rate_limit_burst: u32,
    /// Trust the first X-Forwarded-For hop as the client IP (only behind your own proxy).
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false)]
    trust_forwarded_for: bool,
    /// Comma-separated origins allowed by CORS (none by default).
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    cors_allowed_origins: Vec<String>,
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
    infra::telemetry::init(&cli.telemetry);
    let pool = infra::db::connect(&cli.db, "repstream-api").await?;
    let shutdown = infra::shutdown::on_signal();
    // `migrate` and `seed` sign nothing; a throwaway key keeps the state complete.
    let secret = match (&cli.jwt_secret, &cli.command) {
        (Some(s), _) => s.expose().as_bytes().to_vec(),
        (None, Some(Command::Migrate | Command::Seed)) => uuid::Uuid::new_v4().as_bytes().repeat(2),
        (None, _) => {
            anyhow::bail!("JWT_SECRET is required (at least 32 bytes); `make run` generates one")
        }
    };
    let mut auth = api::auth::AuthConfig::new(secret);
    auth.access_ttl = Duration::from_secs(cli.access_token_ttl_secs);
    auth.refresh_ttl = Duration::from_secs(cli.refresh_token_ttl_secs);
    let mut config = ApiConfig::new(auth);
    config.read_wait_max = Duration::from_millis(cli.read_wait_max_ms);
    config.max_body_bytes = cli.max_body_bytes;
    config.events_queue = cli.queues.events_queue.clone();
    config.rate_limits = api::ratelimit::RateLimits {
        per_ip_per_minute: cli.rate_limit_per_ip,
        per_account_per_minute: cli.rate_limit_per_account,
        auth_per_ip_per_minute: cli.rate_limit_auth_per_ip,
        burst: cli.rate_limit_burst,
        trust_forwarded_for: cli.trust_forwarded_for,
    };
    config.cors_allowed_origins = cli
        .cors_allowed_origins
        .into_iter()
        .filter(|o| !o.is_empty())
        .collect();
    let sqs = infra::sqs::client(&cli.aws).await;
    let waiter = api::waiter::ViewWaiter::start(pool.clone(), shutdown.clone());
    let state = AppState::new(pool.clone(), sqs, waiter, config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            infra::db::migrate(&pool).await?;
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
                    if report.created {
                        "created"
                    } else {
                        "already there"
                    },
                    report.studio_id
                );
                println!("demo credentials (POST /api/v1/auth/token, grant_type=password):");
                for (role, email, password, name) in api::seed::DEMO_PEOPLE {
                    println!(
                        "  {:<10} {:<32} {:<20} {}",
                        role.as_str(),
                        email,
                        password,
                        name
                    );
                }
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
