//! Mailed account links (email verification, password reset): single use, expiring,
//! bound to the address they were sent to.
//!
//! ```text
//! account event ─► projector: job (id derived from the event) ─► worker: token =
//!   HMAC(link key, job id), INSERT sha256(token) ─► mail ─► user ─► API: find by
//!   sha256(token) ─► account command (the aggregate refuses a spent link) ─► spent
//! ```
//!
//! The token is derived, not random, so a mail re-sent after a crash carries the same
//! token; only its hash is stored, so the table alone opens no account.

use anyhow::Context;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// What a link does when followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "verify_email" => Some(Self::VerifyEmail),
            "reset_password" => Some(Self::ResetPassword),
            _ => None,
        }
    }

    /// How long a link stays valid.
    pub fn lifetime(self) -> chrono::Duration {
        match self {
            Self::VerifyEmail => chrono::Duration::hours(24),
            Self::ResetPassword => chrono::Duration::hours(1),
        }
    }
}

/// The key tokens are derived with (`ACCOUNT_LINK_KEY`, at least 32 bytes).
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

/// The shortest key [`LinkKey::new`] accepts.
pub const MIN_KEY_BYTES: usize = 32;

impl LinkKey {
    pub fn new(key: impl Into<Vec<u8>>) -> anyhow::Result<Self> {
        let key = key.into();
        anyhow::ensure!(
            key.len() >= MIN_KEY_BYTES,
            "the account link key must be at least {MIN_KEY_BYTES} bytes"
        );
        Ok(Self(key))
    }

    /// The token of link `id` (43 URL-safe characters).
    pub fn token(&self, id: Uuid) -> String {
        self.derive(b"repstream-account-link:", id)
    }

    /// The token of studio invitation `id` (43 URL-safe characters): the API hands it to
    /// the inviter and stores its hash; the worker mails it to the invitee.
    pub fn invitation_token(&self, id: Uuid) -> String {
        self.derive(b"repstream-invitation:", id)
    }

    /// The unsubscribe token of the mail of job `id` (43 URL-safe characters).
    pub fn unsubscribe_token(&self, id: Uuid) -> String {
        self.derive(b"repstream-unsubscribe:", id)
    }

    fn derive(&self, label: &[u8], id: Uuid) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(label);
        mac.update(id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// An optional mail's one-click unsubscribe link: whoever holds its token may stop
/// `kind` mail of studio `tenant_id` to `email`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub tenant_id: Uuid,
    pub email: String,
    pub kind: String,
}

/// Records the unsubscribe link of job `job_id`'s mail (again, for a re-sent mail:
/// nothing changes) and returns its token.
pub async fn issue_unsubscribe(
    pool: &PgPool,
    key: &LinkKey,
    job_id: Uuid,
    link: &Unsubscribe,
) -> anyhow::Result<String> {
    let token = key.unsubscribe_token(job_id);
    sqlx::query(
        "INSERT INTO unsubscribe_link (token_hash, tenant_id, email, kind) VALUES ($1, $2, lower($3), $4) \
         ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(token_hash(&token))
    .bind(link.tenant_id)
    .bind(&link.email)
    .bind(&link.kind)
    .execute(pool)
    .await
    .context("recording an unsubscribe link")?;
    Ok(token)
}

/// The unsubscribe link of `token`, if there is one; binds `conn`'s transaction to its
/// studio (row-level security), which only the token tells. Call it in a transaction.
pub async fn find_unsubscribe(
    conn: &mut PgConnection,
    token: &str,
) -> Result<Option<Unsubscribe>, sqlx::Error> {
    let hash = token_hash(token);
    let tenant: Option<Uuid> = sqlx::query_scalar("SELECT repstream_unsubscribe_tenant($1)")
        .bind(&hash)
        .fetch_one(&mut *conn)
        .await?;
    let Some(tenant) = tenant else {
        return Ok(None);
    };
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *conn)
        .await?;
    let row: Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT tenant_id, email, kind FROM unsubscribe_link WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(tenant_id, email, kind)| Unsubscribe {
        tenant_id,
        email,
        kind,
    }))
}

/// What is stored of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A link to mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    /// The notification job that mails it.
    pub id: Uuid,
    pub account_id: Uuid,
    pub purpose: Purpose,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

/// Records `link` (again, for a re-sent mail: nothing changes) and returns its token.
pub async fn issue(pool: &PgPool, key: &LinkKey, link: &NewLink) -> anyhow::Result<String> {
    let token = key.token(link.id);
    sqlx::query(
        "INSERT INTO account_link (token_hash, id, account_id, purpose, email, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(token_hash(&token))
    .bind(link.id)
    .bind(link.account_id)
    .bind(link.purpose.as_str())
    .bind(&link.email)
    .bind(link.expires_at)
    .execute(pool)
    .await
    .context("recording a mailed link")?;
    Ok(token)
}

/// A link found by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLink {
    pub id: Uuid,
    pub account_id: Uuid,
    pub purpose: Purpose,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    /// Spent, or voided (a completed reset voids the account's other reset links).
    pub used: bool,
}

/// The link whose token is `token`, if any.
pub async fn find(conn: &mut PgConnection, token: &str) -> Result<Option<FoundLink>, sqlx::Error> {
    type Row = (Uuid, Uuid, String, String, DateTime<Utc>, bool);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, account_id, purpose, email, expires_at, used_at IS NOT NULL \
         FROM account_link WHERE token_hash = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(conn)
    .await?;
    Ok(
        row.and_then(|(id, account_id, purpose, email, expires_at, used)| {
            Some(FoundLink {
                id,
                account_id,
                purpose: Purpose::parse(&purpose)?,
                email,
                expires_at,
                used,
            })
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_derived_per_link_and_key() {
        let key = LinkKey::new([7u8; 32]).expect("key");
        let other = LinkKey::new([8u8; 32]).expect("key");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(key.token(a), key.token(a));
        assert_ne!(key.token(a), key.token(b));
        assert_ne!(key.token(a), other.token(a));
        assert_eq!(key.token(a).len(), 43);
        assert!(LinkKey::new([0u8; 31]).is_err());
        // One id, three purposes: three unrelated tokens.
        assert_ne!(key.token(a), key.invitation_token(a));
        assert_ne!(key.invitation_token(a), key.unsubscribe_token(a));
        assert_eq!(key.invitation_token(a).len(), 43);
    }
}
