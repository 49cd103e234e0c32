//! Configuration blocks flattened into each binary's clap `Parser`. Every field reads
//! an environment variable of the same name; `.env.example` documents them all.

use std::fmt;

/// A secret whose `Debug` never shows the value (connection strings carry passwords).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Postgres connection string.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:55432/repstream"
    )]
    pub database_url: Secret,
    /// Largest number of pooled connections this process opens.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
    /// Development mode: start even when connected as a role that row-level security does
    /// not bind (superuser, table owner, BYPASSRLS), or with a published example secret.
    /// Never in production.
    #[arg(long, env = "REPSTREAM_DEV_MODE", default_value_t = false)]
    pub dev_mode: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// AWS endpoint override (LocalStack locally; unset in production).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// AWS region.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub aws_region: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    /// FIFO queue the relay publishes domain events to and the projector consumes.
    #[arg(long, env = "EVENTS_QUEUE", default_value = "repstream-events.fifo")]
    pub events_queue: String,
    /// FIFO queue of notification jobs (projector → workers).
    #[arg(
        long,
        env = "NOTIFICATIONS_QUEUE",
        default_value = "repstream-notifications.fifo"
    )]
    pub notifications_queue: String,
    /// FIFO queue of AI jobs (projector → the AI worker): one recommendation per health
    /// intake version.
    #[arg(long, env = "AI_QUEUE", default_value = "repstream-ai.fifo")]
    pub ai_queue: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (default; what log pipelines ingest).
    Json,
    /// Human-readable lines for local debugging.
    Pretty,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryArgs {
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Log filter (tracing-subscriber EnvFilter syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub rust_log: String,
    /// Serve Prometheus metrics at `http://<addr>/metrics` (unset: not served). Keep it
    /// off the public network.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Export traces over OTLP/HTTP to this collector (e.g. `http://127.0.0.1:4318`;
    /// unset: no traces exported, `traceparent` is still passed along).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// Outgoing webhooks, for the API (which shows secrets on register and rotate, and
/// checks URLs) and the workers (which sign and deliver).
#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Key every webhook endpoint's signing secret is derived from: at least 32 bytes,
    /// kept secret (a holder could sign deliveries), never changed (every secret would).
    #[arg(long, env = "WEBHOOK_SECRET_KEY", hide_env_values = true)]
    pub webhook_secret_key: Option<Secret>,
    /// Development and tests only: allow `http://` endpoint URLs and private, loopback
    /// and link-local addresses (the SSRF guard is off).
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,
}

impl WebhookArgs {
    /// The key; refused when missing, short or a published example (a warning in dev
    /// mode for the example).
    pub fn key(&self, dev_mode: bool) -> anyhow::Result<crate::webhooks::WebhookKey> {
        let Some(key) = &self.webhook_secret_key else {
            anyhow::bail!(
                "WEBHOOK_SECRET_KEY is required (at least 32 bytes); `make run` generates one"
            );
        };
        refuse_example_secret("WEBHOOK_SECRET_KEY", key.expose().as_bytes(), dev_mode)?;
        crate::webhooks::WebhookKey::new(key.expose().as_bytes().to_vec())
    }

    pub fn policy(&self) -> crate::webhooks::UrlPolicy {
        crate::webhooks::UrlPolicy::new(self.webhook_allow_private)
    }
}

/// Secrets that were ever published in this repository's examples (`.env.example`,
/// `docker-compose.yml`): anyone who read them could sign tokens or forge links.
const EXAMPLE_SECRETS: &[&str] = &[
    "change-me-to-at-least-32-random-bytes-0000",
    "dev-only-insecure-jwt-secret-0123456789abcdef",
    "change-me-to-another-32-random-bytes-0000",
    "change-me-to-a-third-32-random-bytes-00000",
];

/// Refuses a published example value for the secret `name` (a warning in dev mode).
pub fn refuse_example_secret(name: &str, secret: &[u8], dev_mode: bool) -> anyhow::Result<()> {
    if !EXAMPLE_SECRETS.iter().any(|e| e.as_bytes() == secret) {
        return Ok(());
    }
    if dev_mode {
        tracing::warn!("{name} is a published example (allowed in dev mode only)");
        return Ok(());
    }
    anyhow::bail!(
        "refusing to start: {name} is the published example value; generate one \
         (e.g. `openssl rand -hex 32`)"
    )
}
