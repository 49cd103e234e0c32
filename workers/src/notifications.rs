use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use infra::consumer::{MessageHandler, RetryAfter};
use infra::jobs::{Channel, NotificationJob};
use infra::links::{LinkKey, NewLink, Purpose};
use infra::side_effect::{Budget, Claim, Ledger};
use sqlx::PgPool;
use tracing::{info, info_span, Instrument};

use crate::mail::{Notifier, RenderedMessage};

/// What link mails need: the key their tokens are derived with and the address of the
/// client app the links open (`{app_url}/verify-email?token=…`).
#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub key: LinkKey,
    pub app_url: String,
    /// The API's public address: optional mails' one-click unsubscribe (RFC 8058) posts
    /// to `{api_url}/api/v1/unsubscribe?token=…`.
    pub api_url: String,
}

/// The account link a job mails, if it is a link mail (`email_verification`,
/// `password_reset`): its id is the job's.
pub fn link_of(job: &NotificationJob) -> anyhow::Result<Option<NewLink>> {
    let purpose = match job.template.as_str() {
        "email_verification" => Purpose::VerifyEmail,
        "password_reset" => Purpose::ResetPassword,
        _ => return Ok(None),
    };
    let field = |key: &str| {
        job.data
            .get(key)
            .cloned()
            .with_context(|| format!("template {} needs `{key}`", job.template))
    };
    Ok(Some(NewLink {
        id: job.job_id,
        account_id: serde_json::from_value(field("account_id")?)?,
        purpose,
        email: job.recipient.clone(),
        expires_at: serde_json::from_value(field("expires_at")?)?,
    }))
}

/// How many mails of a kind may go out per studio or account and hour: a studio owner
/// cannot mail an address over and over by changing the contact address, nor anyone a
/// mailbox by asking for links. Beyond it, jobs are suppressed ([`Claim::Suppressed`]).
pub fn budget_of(job: &NotificationJob) -> Option<Budget> {
    let hour = Duration::from_secs(3600);
    let account = || {
        job.data
            .get("account_id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
    };
    let (key, max) = match job.template.as_str() {
        "studio_contact_email_confirmation" => (format!("studio:{}:contact", job.tenant_id), 3),
        "email_verification" => (format!("account:{}:verify", account()), 5),
        "password_reset" => (format!("account:{}:reset", account()), 3),
        domain::account::PASSWORD_CHANGED => (format!("account:{}:changed", account()), 5),
        // Staff may invite many people at once, but not flood addresses with them.
        domain::account::INVITATION => (format!("studio:{}:invitations", job.tenant_id), 100),
        _ => return None,
    };
    Some(Budget {
        key,
        max,
        window: hour,
    })
}

/// Renders a job with its type's templates ([`crate::templates`]); link mails get their
/// link and token. A job that cannot render (unknown type, a missing value) is an error:
/// it goes to the DLQ after its retries rather than sending something wrong.
pub fn render(job: &NotificationJob, links: &LinkSettings) -> anyhow::Result<RenderedMessage> {
    // Header injection guard: no line breaks in anything that lands in a header.
    anyhow::ensure!(
        !job.recipient.contains(['\r', '\n']),
        "recipient contains a line break"
    );
    let mut data = job.data.clone();
    let path = match job.template.as_str() {
        "email_verification" => Some("verify-email"),
        "password_reset" => Some("reset-password"),
        _ => None,
    };
    if let (Some(path), Some(object)) = (path, data.as_object_mut()) {
        let token = links.key.token(job.job_id);
        let url = format!(
            "{}/{path}?token={token}",
            links.app_url.trim_end_matches('/')
        );
        object.insert("link".to_owned(), url.into());
        object.insert("token".to_owned(), token.into());
    }
    // An invitation carries the token the API derived for it (and answered the inviter
    // with): the invitee accepts it signed in with a verified account of this address.
    if job.template == domain::account::INVITATION {
        let id: uuid::Uuid = serde_json::from_value(
            job.data
                .get("invitation_id")
                .cloned()
                .context("an invitation needs `invitation_id`")?,
        )?;
        let token = links.key.invitation_token(id);
        let url = format!(
            "{}/accept-invitation?token={token}",
            links.app_url.trim_end_matches('/')
        );
        if let Some(object) = data.as_object_mut() {
            object.insert("link".to_owned(), url.into());
            object.insert("token".to_owned(), token.into());
        }
    }
    let rendered = crate::templates::render(&job.template, data)?;
    let mut message = RenderedMessage {
        id: job.job_id,
        to: job.recipient.clone(),
        subject: rendered.subject,
        body: rendered.text,
        html: Some(rendered.html),
        unsubscribe: None,
    };
    // Optional mail carries its unsubscribe link: in the List-Unsubscribe header (one
    // click, posted by the mail client to the API) and at the end of the body (the app
    // asks before it posts).
    if domain::account::OPTIONAL_KINDS.contains(&job.template.as_str()) {
        let token = links.key.unsubscribe_token(job.job_id);
        let page = format!(
            "{}/unsubscribe?token={token}",
            links.app_url.trim_end_matches('/')
        );
        message.body = format!(
            "{}\n\n--\nStop these emails: {page}\n",
            message.body.trim_end()
        );
        if let Some(html) = &mut message.html {
            let footer = format!(
                "<p style=\"font-size: 12px; color: #666;\"><a href=\"{page}\">Stop these emails</a></p>"
            );
            match html.rfind("</body>") {
                Some(at) => html.insert_str(at, &footer),
                None => html.push_str(&footer),
            }
        }
        message.unsubscribe = Some(format!(
            "{}/api/v1/unsubscribe?token={token}",
            links.api_url.trim_end_matches('/')
        ));
    }
    Ok(message)
}

/// What the recipient wants of a job ([`NotificationWorker::wanted`]).
enum Wanted {
    Send,
    Skip,
    Later(chrono::DateTime<chrono::Utc>),
}

/// Consumes notification jobs, each sent once ([`infra::side_effect`]).
#[derive(Clone)]
pub struct NotificationWorker {
    ledger: Ledger,
    notifier: Arc<dyn Notifier>,
    links: LinkSettings,
    pool: PgPool,
}

const CONSUMER: &str = "notifications";

/// How long a claimed job is exclusive: well above a send's timeout.
const LEASE: Duration = Duration::from_secs(60);

impl NotificationWorker {
    pub fn new(pool: PgPool, notifier: Arc<dyn Notifier>, links: LinkSettings) -> Self {
        Self {
            ledger: Ledger::new(pool.clone(), CONSUMER, LEASE),
            notifier,
            links,
            pool,
        }
    }

    /// Claims last `lease` instead of [`LEASE`] (tests: a crashed worker's job is taken
    /// over sooner).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.ledger = self.ledger.with_lease(lease);
        self
    }

    /// What the recipient wants of `job`: `Skip` if they turned its type off on its
    /// channel (or unsubscribed the address from it), `Later` during their quiet hours
    /// (optional email only), else `Send`. Security mail always goes.
    async fn wanted(&self, job: &NotificationJob) -> anyhow::Result<Wanted> {
        use domain::account::{NotificationPreferences, NotifyChannel};
        if !domain::account::OPTIONAL_KINDS.contains(&job.template.as_str()) {
            return Ok(Wanted::Send);
        }
        let (channel, suppressed, preferences): (NotifyChannel, bool, Option<serde_json::Value>) =
            match job.channel {
                Channel::InApp => {
                    let account: uuid::Uuid = job.recipient.parse().context("an account id")?;
                    let p = sqlx::query_scalar(
                        "SELECT preferences FROM notification_preference WHERE account_id = $1",
                    )
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .context("reading notification preferences")?;
                    (NotifyChannel::InApp, false, p)
                }
                Channel::Ai => anyhow::bail!("an AI job is not a notification"),
                Channel::Email => {
                    let (suppressed, p) = sqlx::query_as(
                        "SELECT EXISTS (SELECT 1 FROM email_suppression WHERE tenant_id = $1 \
                           AND email = lower($2) AND kind IN ($3, '*')), \
                         (SELECT p.preferences FROM account a JOIN notification_preference p \
                           ON p.account_id = a.id WHERE lower(a.email) = lower($2))",
                    )
                    .bind(job.tenant_id)
                    .bind(&job.recipient)
                    .bind(&job.template)
                    .fetch_one(&self.pool)
                    .await
                    .context("reading notification preferences")?;
                    (NotifyChannel::Email, suppressed, p)
                }
            };
        let preferences: NotificationPreferences = preferences
            .and_then(|p| serde_json::from_value(p).ok())
            .unwrap_or_default();
        if suppressed || !preferences.allows(&job.template, channel) {
            return Ok(Wanted::Skip);
        }
        // Chose the daily digest: staff activity goes there instead of one email each.
        if channel == NotifyChannel::Email && !preferences.mails_each(&job.template) {
            return Ok(Wanted::Skip);
        }
        if channel == NotifyChannel::Email {
            let now = chrono::Utc::now();
            if let Some(until) = preferences.quiet_until(now) {
                // A reminder that would arrive after its class or appointment started
                // is dropped.
                let starts = job
                    .data
                    .get("starts_at")
                    .and_then(|v| v.as_str())
                    .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok());
                if job.data.get("reminder_id").is_some() && starts.is_some_and(|s| s <= until) {
                    return Ok(Wanted::Skip);
                }
                return Ok(Wanted::Later(until));
            }
        }
        Ok(Wanted::Send)
    }

    /// Is the link's address verified already (nothing to mail)?
    async fn verified(&self, link: &NewLink) -> anyhow::Result<bool> {
        let verified: Option<bool> = sqlx::query_scalar(
            "SELECT email_verified_at IS NOT NULL FROM account WHERE id = $1 AND lower(email) = lower($2)",
        )
        .bind(link.account_id)
        .bind(&link.email)
        .fetch_optional(&self.pool)
        .await
        .context("reading whether the address is verified")?;
        Ok(verified == Some(true))
    }

    /// The worker's ledger (for tests and operators).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Claims, sends and records one job. Returns false when it had already been sent;
    /// fails (to be redelivered later) while another worker is sending it.
    pub async fn process(&self, job: &NotificationJob) -> anyhow::Result<bool> {
        // Never sent to anyone: it belongs on the AI queue (fails, so it dead-letters).
        anyhow::ensure!(
            job.channel != Channel::Ai,
            "an AI job is not a notification"
        );
        if let Some(reminder) = job
            .data
            .get("reminder_id")
            .and_then(|v| v.as_str())
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
        {
            if !crate::reminders::still_wanted(&self.pool, reminder).await? {
                info!(job_id = %job.job_id, "reminder skipped: its booking or class was cancelled");
                return Ok(false);
            }
        }
        match self.wanted(job).await? {
            Wanted::Send => {}
            Wanted::Skip => {
                info!(job_id = %job.job_id, template = %job.template, "notification skipped: the recipient turned it off");
                return Ok(false);
            }
            // Held in Postgres, not on the queue (it would hold back the studio's FIFO
            // group): the sweep enqueues it again when the quiet hours end.
            Wanted::Later(until) => {
                crate::reminders::defer(&self.pool, job, until).await?;
                info!(job_id = %job.job_id, %until, "notification deferred: quiet hours");
                return Ok(false);
            }
        }
        if job.channel == Channel::InApp {
            return self.deliver_in_app(job).await;
        }
        // A job that cannot render never claims: it goes to the DLQ after its retries.
        let message = render(job, &self.links)?;
        let link = link_of(job)?;
        if let Some(link) = &link {
            if link.purpose == Purpose::VerifyEmail && self.verified(link).await? {
                info!(job_id = %job.job_id, "verification mail skipped: the address is verified already");
                return Ok(false);
            }
        }
        let budget = budget_of(job);
        match self
            .ledger
            .claim_within(job.job_id, job.tenant_id, budget.as_ref())
            .await?
        {
            Claim::Done => return Ok(false),
            Claim::Suppressed => {
                info!(job_id = %job.job_id, template = %job.template, "notification suppressed: over its budget");
                return Ok(false);
            }
            // Another worker is sending it: come back when its lease has run out (sent
            // by then, or taken over), without counting as a failure.
            Claim::InProgress { retry_in } => return Err(anyhow::Error::new(RetryAfter(retry_in))),
            Claim::Mine { attempt } if attempt > 1 => {
                info!(job_id = %job.job_id, attempt, "retrying a notification with its idempotency key");
            }
            Claim::Mine { .. } => {}
        }
        // The links exist before the mail that carries them (again, on a retry: no change).
        if let Some(link) = &link {
            infra::links::issue(&self.pool, &self.links.key, link).await?;
        }
        if message.unsubscribe.is_some() {
            let unsubscribe = infra::links::Unsubscribe {
                tenant_id: job.tenant_id,
                email: job.recipient.clone(),
                kind: job.template.clone(),
            };
            infra::links::issue_unsubscribe(&self.pool, &self.links.key, job.job_id, &unsubscribe)
                .await?;
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

impl NotificationWorker {
    /// Puts an in-app job into its recipient's inbox: one statement, which is the side
    /// effect and its record at once (the job id is unique: a redelivery inserts
    /// nothing). It takes the recipient's advisory lock first, so one person's rows
    /// commit in `seq` order (what the live stream resumes from), and `NOTIFY inbox`
    /// wakes the API instances streaming to them. Returns false when it was in already.
    async fn deliver_in_app(&self, job: &NotificationJob) -> anyhow::Result<bool> {
        anyhow::ensure!(link_of(job)?.is_none(), "link mails never go to the inbox");
        let account: uuid::Uuid = job
            .recipient
            .parse()
            .context("an in-app job's recipient is an account id")?;
        let rendered = crate::templates::render(&job.template, job.data.clone())?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended($3::text, 11))), \
             added AS ( \
               INSERT INTO inbox_notification (id, tenant_id, account_id, kind, title, body, data) \
               SELECT $1, $2, $3, $4, $5, $6, $7 FROM locked \
               ON CONFLICT (id) DO NOTHING RETURNING seq) \
             SELECT seq FROM added, LATERAL (SELECT pg_notify('inbox', $3::text)) n",
        )
        .bind(job.job_id)
        .bind(job.tenant_id)
        .bind(account)
        .bind(&job.template)
        .bind(&rendered.subject)
        .bind(rendered.text.trim())
        .bind(&job.data)
        .fetch_optional(&self.pool)
        .await
        .context("putting the notification into the inbox")?;
        if inserted.is_some() {
            info!(job_id = %job.job_id, template = %job.template, "in-app notification delivered");
        }
        Ok(inserted.is_some())
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
        self.ledger.ready().await?;
        self.notifier.ready().await
    }
}
