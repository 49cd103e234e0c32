//! `repstream-workers`: side-effect workers (notifications). See the library docs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use infra::config::{AwsArgs, DatabaseArgs, QueueArgs, TelemetryArgs};

/// mimalloc: the services allocate per request and per message; glibc's malloc was a
/// sixth of the API's CPU under load (see `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "repstream-workers", version, about = "Side-effect workers")]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    queues: QueueArgs,
    #[command(flatten)]
    telemetry: TelemetryArgs,
    /// Folder the local notifier writes `.eml` files into (when no `SMTP_URL` is set).
    #[arg(long, env = "MAILBOX_DIR", default_value = ".local/mailbox")]
    mailbox_dir: PathBuf,
    /// Send mail through this SMTP relay instead of the local mailbox, e.g.
    /// `smtps://user:pass@smtp.example.com` (implicit TLS) or
    /// `smtp://user:pass@smtp.example.com:587?tls=required` (STARTTLS).
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// Seconds an SMTP command may take before the send fails (and is retried).
    #[arg(long, env = "SMTP_TIMEOUT_SECS", default_value_t = 20)]
    smtp_timeout_secs: u64,
    /// Sender address of notifications.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "repstream <no-reply@repstream.local>"
    )]
    mail_from: String,
    /// Key the tokens of mailed account links (email verification, password reset) are
    /// derived with: at least 32 bytes, kept secret (a holder could forge links).
    #[arg(long, env = "ACCOUNT_LINK_KEY", hide_env_values = true)]
    account_link_key: String,
    /// The client app's address: mailed links open `{APP_URL}/verify-email?token=…`
    /// and `{APP_URL}/reset-password?token=…`.
    #[arg(long, env = "APP_URL", default_value = "http://localhost:3000")]
    app_url: String,
    /// The API's public address: the one-click unsubscribe of optional mails (RFC 8058
    /// `List-Unsubscribe`) posts to `{API_PUBLIC_URL}/api/v1/unsubscribe?token=…`.
    #[arg(long, env = "API_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    api_public_url: String,
    /// Concurrent receive loops per queue.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 2)]
    concurrency: usize,
    /// Seconds between sweeps that enqueue due class reminders.
    #[arg(long, env = "REMINDER_SWEEP_SECS", default_value_t = 30)]
    reminder_sweep_secs: u64,
    /// Seconds between sweeps that settle ended classes (no-shows).
    #[arg(long, env = "ATTENDANCE_SWEEP_SECS", default_value_t = 60)]
    attendance_sweep_secs: u64,
    #[command(flatten)]
    webhooks: infra::config::WebhookArgs,
    /// Wait after a webhook delivery's first failed attempt (milliseconds); each further
    /// one waits 5× longer (±20 % jitter, at most 12 h).
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 5000)]
    webhook_retry_base_ms: u64,
    /// Attempts before a webhook delivery is given up as `failed`.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    webhook_max_attempts: u32,
    /// Days an endpoint may fail every delivery before it is disabled (its owners are
    /// told).
    #[arg(long, env = "WEBHOOK_DISABLE_AFTER_DAYS", default_value_t = 5)]
    webhook_disable_after_days: u64,
    /// S3 bucket of AI artifacts (each recommendation's input hash, prompt version,
    /// model, raw and validated output, timings).
    #[arg(
        long,
        env = "AI_ARTIFACTS_BUCKET",
        default_value = "repstream-ai-artifacts"
    )]
    ai_artifacts_bucket: String,
    /// An OpenAI-compatible chat-completions endpoint (OpenAI, or a local vLLM,
    /// llama.cpp or Ollama server). With neither this nor `AI_API_KEY`, recommendations
    /// come from the built-in rules engine.
    #[arg(long, env = "AI_BASE_URL")]
    ai_base_url: Option<String>,
    /// The model asked.
    #[arg(long, env = "AI_MODEL", default_value = "gpt-4o-mini")]
    ai_model: String,
    /// The endpoint's API key (local servers need none).
    #[arg(long, env = "AI_API_KEY", hide_env_values = true)]
    ai_api_key: Option<infra::config::Secret>,
    /// Longest a model call may take (seconds).
    #[arg(long, env = "AI_TIMEOUT_SECS", default_value_t = 60)]
    ai_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = infra::telemetry::init(&cli.telemetry, "repstream-workers");
    let shutdown = infra::shutdown::on_signal();
    let pool = infra::db::connect(&cli.db, "repstream-workers").await?;
    infra::db::refuse_privileged(&pool, cli.db.dev_mode).await?;
    let sqs = infra::sqs::client(&cli.aws).await;
    let queue_url = infra::sqs::queue_url(&sqs, &cli.queues.notifications_queue).await?;
    tokio::spawn(infra::dlq::watch(
        sqs.clone(),
        infra::dlq::with_dlq(&sqs, &cli.queues.notifications_queue).await?,
        Duration::from_secs(15),
        shutdown.clone(),
    ));
    let notifier: Arc<dyn workers::Notifier> = match &cli.smtp_url {
        Some(url) => Arc::new(workers::SmtpNotifier::new(
            url,
            &cli.mail_from,
            Duration::from_secs(cli.smtp_timeout_secs),
        )?),
        None => Arc::new(workers::MailboxNotifier::new(
            infra::mailbox::Mailbox::new(cli.mailbox_dir),
            &cli.mail_from,
        )?),
    };
    tokio::spawn(workers::reminders::run(
        pool.clone(),
        sqs.clone(),
        queue_url.clone(),
        Duration::from_secs(cli.reminder_sweep_secs),
        shutdown.clone(),
    ));
    tokio::spawn(workers::attendance::run(
        pool.clone(),
        Duration::from_secs(cli.attendance_sweep_secs),
        shutdown.clone(),
    ));
    infra::config::refuse_example_secret(
        "ACCOUNT_LINK_KEY",
        cli.account_link_key.as_bytes(),
        cli.db.dev_mode,
    )?;
    let links = workers::LinkSettings {
        key: infra::links::LinkKey::new(cli.account_link_key.into_bytes())?,
        app_url: cli.app_url,
        api_url: cli.api_public_url,
    };
    let mut deliveries = workers::webhooks::DeliveryConfig::new(
        cli.webhooks.key(cli.db.dev_mode)?,
        cli.webhooks.policy(),
    );
    deliveries.retry_base = Duration::from_millis(cli.webhook_retry_base_ms);
    deliveries.max_attempts = cli.webhook_max_attempts.max(1);
    deliveries.disable_after =
        Duration::from_secs(cli.webhook_disable_after_days.saturating_mul(24 * 3600));
    tokio::spawn(workers::webhooks::run(
        workers::webhooks::DeliveryWorker::new(pool.clone(), deliveries)?,
        shutdown.clone(),
    ));
    // The AI worker: its own queue, one job at a time per studio (FIFO groups).
    let ai_queue = infra::sqs::queue_url(&sqs, &cli.queues.ai_queue).await?;
    tokio::spawn(infra::dlq::watch(
        sqs.clone(),
        infra::dlq::with_dlq(&sqs, &cli.queues.ai_queue).await?,
        Duration::from_secs(15),
        shutdown.clone(),
    ));
    let provider: Arc<dyn workers::ai::RecommendationProvider> =
        if cli.ai_base_url.is_some() || cli.ai_api_key.is_some() {
            Arc::new(workers::openai::OpenAiProvider::new(
                workers::openai::OpenAiConfig {
                    base_url: cli
                        .ai_base_url
                        .unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
                    model: cli.ai_model,
                    api_key: cli.ai_api_key.map(|k| k.expose().to_owned()),
                    timeout: Duration::from_secs(cli.ai_timeout_secs),
                },
            )?)
        } else {
            Arc::new(workers::ai::RulesEngine)
        };
    let ai = workers::ai::AiWorker::new(
        pool.clone(),
        infra::s3::client(&cli.aws).await,
        cli.ai_artifacts_bucket,
        provider,
    );
    let mut ai_config = infra::consumer::ConsumerConfig::new(ai_queue);
    ai_config.concurrency = cli.concurrency;
    ai_config.retry_base = Duration::from_secs(2);
    tokio::spawn(infra::consumer::run(
        ai,
        sqs.clone(),
        ai_config,
        shutdown.clone(),
    ));
    let worker = workers::NotificationWorker::new(pool, notifier, links);
    let mut config = infra::consumer::ConsumerConfig::new(queue_url);
    config.concurrency = cli.concurrency;
    config.retry_base = Duration::from_secs(2);
    infra::consumer::run(worker, sqs, config, shutdown).await
}
