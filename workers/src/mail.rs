//! Email delivery behind [`Notifier`]: SMTP ([`SmtpNotifier`], `lettre`) in production,
//! the local mailbox ([`MailboxNotifier`]) by default. Both send the same RFC 5322
//! message, built once by [`message`]: what the mailbox holds is exactly what an SMTP
//! relay would have been handed.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use infra::consumer::Unavailable;
use infra::mailbox::Mailbox;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox as Address, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};

/// A message ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMessage {
    /// Stable per job: providers that support idempotency keys get this one.
    pub id: uuid::Uuid,
    pub to: String,
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// The HTML body, sent as the alternative to the text.
    pub html: Option<String>,
    /// Where a recipient unsubscribes from this kind of message in one click (RFC 8058);
    /// `None` for transactional messages (links, confirmations of what they just did).
    pub unsubscribe: Option<String>,
}

/// Delivers messages. A send is retried with the same [`RenderedMessage::id`] after a
/// crash between sending and recording: it is the message's `Message-ID`, which
/// providers and receiving mail systems deduplicate on.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one message. A failure of the provider rather than of the message (relay
    /// unreachable, timed out) is an [`Unavailable`]: the worker then pauses until
    /// [`Notifier::ready`] instead of spending the job's retries.
    async fn send(&self, message: &RenderedMessage) -> anyhow::Result<()>;

    /// Can the provider take messages now?
    async fn ready(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The RFC 5322 message of `rendered` from `from`: `Message-ID` `<job id@repstream>`,
/// text and HTML as `multipart/alternative`, and RFC 8058 one-click unsubscribe headers
/// when the message offers unsubscribing.
pub fn message(rendered: &RenderedMessage, from: &Address) -> anyhow::Result<Message> {
    let to: Address = rendered
        .to
        .parse()
        .with_context(|| format!("recipient {:?} is not an address", rendered.to))?;
    let mut builder = Message::builder()
        .message_id(Some(format!("<{}@repstream>", rendered.id)))
        .from(from.clone())
        .to(to)
        .subject(rendered.subject.clone());
    if let Some(url) = &rendered.unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let message = match &rendered.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            rendered.body.clone(),
            html.clone(),
        )),
        None => builder.body(rendered.body.clone()),
    };
    message.context("building the message")
}

/// Parses a sender such as `repstream <no-reply@example.com>`.
pub fn sender(from: &str) -> anyhow::Result<Address> {
    from.parse()
        .with_context(|| format!("MAIL_FROM {from:?} is not an address"))
}

/// Local delivery into a [`Mailbox`] folder (`<id>.eml`, so a re-send replaces it).
pub struct MailboxNotifier {
    mailbox: Mailbox,
    from: Address,
}

impl MailboxNotifier {
    pub fn new(mailbox: Mailbox, from: &str) -> anyhow::Result<Self> {
        Ok(Self {
            mailbox,
            from: sender(from)?,
        })
    }
}

#[async_trait]
impl Notifier for MailboxNotifier {
    async fn send(&self, rendered: &RenderedMessage) -> anyhow::Result<()> {
        let message = message(rendered, &self.from)?;
        self.mailbox
            .deliver(rendered.id, &message.formatted())
            .await
    }
}

/// Delivery through an SMTP relay, configured by one URL (`lettre`'s connection URL):
/// `smtps://user:pass@smtp.example.com` (implicit TLS, port 465),
/// `smtp://user:pass@smtp.example.com:587?tls=required` (STARTTLS), or
/// `smtp://localhost:25` (plain, for a local relay). Connections are pooled.
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl SmtpNotifier {
    /// `timeout` bounds every SMTP command, so a hung relay fails the send (retried with
    /// the same `Message-ID`) instead of holding the job's lease.
    pub fn new(url: &str, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not a valid SMTP connection URL")?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            transport,
            from: sender(from)?,
        })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, rendered: &RenderedMessage) -> anyhow::Result<()> {
        let message = message(rendered, &self.from)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // An SMTP reply (4xx, 5xx) or a refusal by the client is about this message;
            // no answer at all (connection, network, TLS, timeout) is the relay's outage.
            Err(e) if e.is_response() || e.is_transient() || e.is_permanent() || e.is_client() => {
                Err(anyhow::Error::new(e).context("the SMTP relay refused the message"))
            }
            Err(e) => Err(anyhow::Error::new(Unavailable(format!("SMTP relay: {e}")))),
        }
    }

    async fn ready(&self) -> anyhow::Result<()> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => anyhow::bail!("the SMTP relay does not answer NOOP"),
            Err(e) => Err(anyhow::Error::new(e).context("connecting to the SMTP relay")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> RenderedMessage {
        RenderedMessage {
            id: uuid::Uuid::now_v7(),
            to: "rita@clients.example".to_owned(),
            subject: "Harbor: booked for Reformer <Flow> — Grüße".to_owned(),
            body: "Hi Rita,\nsee you there.".to_owned(),
            html: Some("<p>Hi Rita,</p>".to_owned()),
            unsubscribe: Some("https://app.example/unsubscribe?token=abc".to_owned()),
        }
    }

    #[test]
    fn the_message_round_trips_through_the_mailbox_parser() -> anyhow::Result<()> {
        let r = rendered();
        let eml = message(&r, &sender("repstream <no-reply@repstream.local>")?)?.formatted();
        let mail = infra::mailbox::parse(r.id, chrono::Utc::now(), &eml).context("parses")?;
        assert_eq!(mail.to, r.to);
        assert_eq!(mail.subject, r.subject);
        assert_eq!(
            mail.text.replace("\r\n", "\n").trim_end(),
            "Hi Rita,\nsee you there."
        );
        assert!(mail.html.is_some_and(|h| h.contains("Hi Rita")));
        assert_eq!(
            mail.list_unsubscribe.as_deref(),
            Some("<https://app.example/unsubscribe?token=abc>")
        );
        let text = String::from_utf8_lossy(&eml);
        assert!(text.contains(&format!("Message-ID: <{}@repstream>", r.id)));
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        Ok(())
    }

    #[test]
    fn a_recipient_with_a_line_break_is_refused() -> anyhow::Result<()> {
        let mut r = rendered();
        r.to = "rita@clients.example\r\nBcc: all@example.com".to_owned();
        assert!(message(&r, &sender("no-reply@repstream.local")?).is_err());
        Ok(())
    }
}
