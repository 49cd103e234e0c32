use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use infra::consumer::{MessageHandler, RetryAfter};
use infra::jobs::NotificationJob;
use infra::side_effect::{Claim, Ledger};
use sqlx::PgPool;
use tracing::{info, info_span, Instrument};

/// A message ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMessage {
    /// Stable per job: providers that support idempotency keys get this one.
    pub id: uuid::Uuid,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Delivers messages (SMTP relay, SES, ... in production). A send is retried with the
/// same [`RenderedMessage::id`] after a crash between sending and recording: pass it to
/// the provider as its idempotency key (SES/SMTP `Message-ID`, an API's idempotency
/// header) so the provider delivers it once.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, message: &RenderedMessage) -> anyhow::Result<()>;
}

/// Local delivery into a mailbox folder: one `<id>.eml` file per message, so sending a
/// message again replaces it (the id is the idempotency key).
pub struct MailboxNotifier {
    dir: PathBuf,
    from: String,
}

impl MailboxNotifier {
    pub fn new(dir: PathBuf, from: String) -> Self {
        Self { dir, from }
    }
}

#[async_trait]
impl Notifier for MailboxNotifier {
    async fn send(&self, message: &RenderedMessage) -> anyhow::Result<()> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .with_context(|| format!("creating mailbox {}", self.dir.display()))?;
        let eml = format!(
            "Message-ID: <{id}@repstream.local>\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
             Date: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            id = message.id,
            from = self.from,
            to = message.to,
            subject = message.subject,
            date = chrono::Utc::now().to_rfc2822(),
            body = message.body,
        );
        // Write then rename: a reader never sees half a message.
        let tmp = self.dir.join(format!(".{}.tmp", message.id));
        let path = self.dir.join(format!("{}.eml", message.id));
        tokio::fs::write(&tmp, eml)
            .await
            .context("writing message")?;
        tokio::fs::rename(&tmp, &path)
            .await
            .context("publishing message")?;
        Ok(())
    }
}

/// Renders a job's template. Unknown templates are errors (the job goes to the DLQ
/// after retries rather than sending something wrong).
pub fn render(job: &NotificationJob) -> anyhow::Result<RenderedMessage> {
    let text = |key: &str| {
        job.data
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .with_context(|| format!("template {} needs `{key}`", job.template))
    };
    // Header injection guard: no line breaks in anything that lands in a header.
    let header_safe = |s: &str| !s.contains(['\r', '\n']);
    anyhow::ensure!(
        header_safe(&job.recipient),
        "recipient contains a line break"
    );
    let (subject, body) = match job.template.as_str() {
        "studio_contact_email_confirmation" => {
            let studio = text("studio_name")?;
            anyhow::ensure!(header_safe(&studio), "studio name contains a line break");
            (
                format!("{studio}: this is now your contact address"),
                format!(
                    "Hello,\r\n\r\nthis address is now the public contact address of {studio} on repstream.\r\n\
                     Clients will see it on your studio page and in booking confirmations.\r\n\r\n\
                     If this was not you, update the studio settings.\r\n"
                ),
            )
        }
        "waitlist_promoted" => {
            let title = text("class_title")?;
            let at = text("starts_at")?;
            anyhow::ensure!(header_safe(&title), "class title contains a line break");
            (
                format!("You're in: {title}"),
                format!("Good news: a spot opened up and you moved from the waitlist into {title} ({at}).\r\n\r\nCan't make it? Cancel in the app so the next person gets the spot.\r\n"),
            )
        }
        "class_cancelled" => {
            let title = text("class_title")?;
            let at = text("starts_at")?;
            anyhow::ensure!(header_safe(&title), "class title contains a line break");
            (
                format!("Cancelled: {title}"),
                format!("We're sorry: {title} ({at}) has been cancelled, and your booking with it. No charge, no strike.\r\n"),
            )
        }
        other => anyhow::bail!("unknown notification template `{other}`"),
    };
    Ok(RenderedMessage {
        id: job.job_id,
        to: job.recipient.clone(),
        subject,
        body,
    })
}

/// Consumes notification jobs, each sent once ([`infra::side_effect`]).
#[derive(Clone)]
pub struct NotificationWorker {
    ledger: Ledger,
    notifier: Arc<dyn Notifier>,
}

const CONSUMER: &str = "notifications";

/// How long a claimed job is exclusive: well above a send's timeout.
const LEASE: Duration = Duration::from_secs(60);

impl NotificationWorker {
    pub fn new(pool: PgPool, notifier: Arc<dyn Notifier>) -> Self {
        Self {
            ledger: Ledger::new(pool, CONSUMER, LEASE),
            notifier,
        }
    }

    /// Claims last `lease` instead of [`LEASE`] (tests: a crashed worker's job is taken
    /// over sooner).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.ledger = self.ledger.with_lease(lease);
        self
    }

    /// The worker's ledger (for tests and operators).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Claims, sends and records one job. Returns false when it had already been sent;
    /// fails (to be redelivered later) while another worker is sending it.
    pub async fn process(&self, job: &NotificationJob) -> anyhow::Result<bool> {
        // A job that cannot render never claims: it goes to the DLQ after its retries.
        let message = render(job)?;
        match self.ledger.claim(job.job_id, job.tenant_id).await? {
            Claim::Done => return Ok(false),
            // Another worker is sending it: come back when its lease has run out (sent
            // by then, or taken over), without counting as a failure.
            Claim::InProgress { retry_in } => return Err(anyhow::Error::new(RetryAfter(retry_in))),
            Claim::Mine { attempt } if attempt > 1 => {
                info!(job_id = %job.job_id, attempt, "retrying a notification with its idempotency key");
            }
            Claim::Mine { .. } => {}
        }
        if let Err(e) = self.notifier.send(&message).await {
            self.ledger.failed(job.job_id, &format!("{e:#}")).await?;
            return Err(e);
        }
        self.ledger.done(job.job_id).await?;
        info!(job_id = %job.job_id, template = %job.template, "notification delivered");
        Ok(true)
    }
}

#[async_trait]
impl MessageHandler for NotificationWorker {
    async fn handle(&self, body: &str) -> anyhow::Result<()> {
        let job: NotificationJob =
            serde_json::from_str(body).context("message is not a notification job")?;
        let span = info_span!("job", job_id = %job.job_id, correlation_id = job.correlation_id.as_deref().unwrap_or(""));
        self.process(&job).instrument(span).await.map(|_| ())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        self.ledger.ready().await
    }
}
