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
    /// Requests per minute addressed to one studio.
    #[arg(
        long,
        env = "RATE_LIMIT_PER_TENANT_PER_MINUTE",
        default_value_t = 12_000
    )]
    rate_limit_per_tenant: u32,
    /// Reverse proxies of your own in front of the API: the client IP is the
    /// X-Forwarded-For entry that many hops from the right (0: the socket peer).
    #[arg(long, env = "TRUSTED_PROXY_HOPS", default_value_t = 0)]
    trusted_proxy_hops: usize,
    /// Longest a session lasts, refreshed or not (seconds).
    #[arg(long, env = "SESSION_MAX_AGE_SECS", default_value_t = 2_592_000)]
    session_max_age_secs: u64,
    /// Password hashes computed at once (Argon2id, 19 MiB each); more wait briefly, then
    /// get 503 with Retry-After. Default: the number of CPUs.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY")]
    password_hash_concurrency: Option<usize>,
    /// Comma-separated origins allowed by CORS (none by default).
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    cors_allowed_origins: Vec<String>,
    /// Serve this local mailbox (the folder the notification worker writes without an
    /// `SMTP_URL`) at `/dev/mailbox`, unauthenticated: for development only (`make run`
    /// sets it). Unset, the route does not exist.
    #[arg(long, env = "DEV_MAILBOX_DIR")]
    dev_mailbox_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    webhooks: infra::config::WebhookArgs,
    /// Key invitation tokens are derived with (the notification worker derives the
    /// token it mails to the invitee with the same key): at least 32 bytes, secret.
    /// Required for `serve`.
    #[arg(long, env = "ACCOUNT_LINK_KEY", hide_env_values = true)]
    account_link_key: Option<infra::config::Secret>,
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
    let _telemetry = infra::telemetry::init(&cli.telemetry, "repstream-api");
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
    auth.session_max_age = Duration::from_secs(cli.session_max_age_secs);
    if let Some(n) = cli.password_hash_concurrency {
        auth.password_hash_concurrency = n.max(1);
    }
    let mut config = ApiConfig::new(auth);
    config.read_wait_max = Duration::from_millis(cli.read_wait_max_ms);
    config.max_body_bytes = cli.max_body_bytes;
    config.events_queue = cli.queues.events_queue.clone();
    config.rate_limits = api::ratelimit::RateLimits {
        per_ip_per_minute: cli.rate_limit_per_ip,
        per_account_per_minute: cli.rate_limit_per_account,
        auth_per_ip_per_minute: cli.rate_limit_auth_per_ip,
        per_tenant_per_minute: cli.rate_limit_per_tenant,
        burst: cli.rate_limit_burst,
        trusted_proxy_hops: cli.trusted_proxy_hops,
    };
    config.cors_allowed_origins = cli
        .cors_allowed_origins
        .into_iter()
        .filter(|o| !o.is_empty())
        .collect();
    config.dev_mailbox = cli.dev_mailbox_dir.clone();
    config.webhook_policy = cli.webhooks.policy();
    if matches!(cli.command, None | Some(Command::Serve)) {
        config.webhook_key = Some(cli.webhooks.key(cli.db.dev_mode)?);
        let key = cli.account_link_key.as_ref().context(
            "ACCOUNT_LINK_KEY is required (at least 32 bytes); `make run` generates one",
        )?;
        infra::config::refuse_example_secret(
            "ACCOUNT_LINK_KEY",
            key.expose().as_bytes(),
            cli.db.dev_mode,
        )?;
        config.link_key = Some(infra::links::LinkKey::new(
            key.expose().as_bytes().to_vec(),
        )?);
    }
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
            infra::db::refuse_privileged(&pool, cli.db.dev_mode).await?;
            infra::config::refuse_example_secret(
                "JWT_SECRET",
                &state.config.auth.jwt_secret,
                cli.db.dev_mode,
            )?;
            let listener = tokio::net::TcpListener::bind(&cli.api_addr)
                .await
                .with_context(|| format!("binding {}", cli.api_addr))?;
            tracing::info!(addr = %listener.local_addr()?, "api listening");
            api::serve(listener, state, shutdown).await
        }
    }
}
