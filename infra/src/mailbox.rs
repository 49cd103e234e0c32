//! The local mailbox: the default mail transport of development and tests. Each message
//! is one `<message id>.eml` file (RFC 5322, exactly the bytes an SMTP relay would get),
//! written then renamed so a reader never sees half a message; sending a message again
//! replaces its file (the id is the idempotency key). The notification worker writes it,
//! the API's dev-only `/dev/mailbox` and the tests read it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A folder of `.eml` files.
#[derive(Debug, Clone)]
pub struct Mailbox {
    dir: PathBuf,
}

/// A message read back from the mailbox, its headers decoded.
#[derive(Debug, Clone, Serialize)]
pub struct StoredMail {
    pub id: Uuid,
    /// The first recipient's address.
    pub to: String,
    pub subject: String,
    /// When the file was written.
    pub delivered_at: DateTime<Utc>,
    /// The plain-text body (decoded).
    pub text: String,
    /// The HTML body (decoded), if the message has one.
    pub html: Option<String>,
    /// RFC 8058 one-click unsubscribe target, if the message offers one.
    pub list_unsubscribe: Option<String>,
}

impl Mailbox {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores message `id` (its complete RFC 5322 bytes).
    pub async fn deliver(&self, id: Uuid, eml: &[u8]) -> anyhow::Result<()> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .with_context(|| format!("creating mailbox {}", self.dir.display()))?;
        let tmp = self.dir.join(format!(".{id}.tmp"));
        tokio::fs::write(&tmp, eml)
            .await
            .context("writing message")?;
        tokio::fs::rename(&tmp, self.dir.join(format!("{id}.eml")))
            .await
            .context("publishing message")?;
        Ok(())
    }

    /// The raw bytes of message `id`, if it is in the mailbox.
    pub fn raw(&self, id: Uuid) -> anyhow::Result<Option<Vec<u8>>> {
        match std::fs::read(self.dir.join(format!("{id}.eml"))) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("reading a message"),
        }
    }

    /// Every message, oldest first (a missing folder is an empty mailbox; files that are
    /// not messages are skipped).
    pub fn list(&self) -> anyhow::Result<Vec<StoredMail>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).context("reading the mailbox"),
        };
        let mut mails = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".eml"))
                .and_then(|n| Uuid::parse_str(n).ok())
            else {
                continue;
            };
            let (Ok(meta), Ok(bytes)) = (entry.metadata(), std::fs::read(&path)) else {
                continue;
            };
            let delivered_at = meta
                .modified()
                .map(DateTime::<Utc>::from)
                .unwrap_or_default();
            if let Some(mail) = parse(id, delivered_at, &bytes) {
                mails.push(mail);
            }
        }
        mails.sort_by_key(|m| (m.delivered_at, m.id));
        Ok(mails)
    }

    /// The messages to `to` (case-insensitive), oldest first.
    pub fn to(&self, to: &str) -> anyhow::Result<Vec<StoredMail>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .collect())
    }
}

/// Decodes one message (`None` if it is not one).
pub fn parse(id: Uuid, delivered_at: DateTime<Utc>, eml: &[u8]) -> Option<StoredMail> {
    let message = mail_parser::MessageParser::default().parse(eml)?;
    let to = message.to()?.first()?.address()?.to_owned();
    let list_unsubscribe = message
        .header_raw("List-Unsubscribe")
        .map(|v| v.trim().to_owned());
    Some(StoredMail {
        id,
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        delivered_at,
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message.body_html(0).map(|h| h.into_owned()),
        list_unsubscribe,
    })
}
