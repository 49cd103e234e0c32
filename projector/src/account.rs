//! Account mail: verification and password-reset links, and the notice that a password
//! was changed. Accounts have no read model of their own (the `account` table is written
//! with their events), so this projection keeps no table: it turns account events into
//! notification jobs, exactly once per event (its checkpoints work like any other's).

use anyhow::Context;
use async_trait::async_trait;
use domain::account::AccountEvent;
use infra::envelope::EventEnvelope;
use infra::jobs::NotificationJob;
use infra::links::Purpose;
use sqlx::PgConnection;

use crate::projection::Projection;

pub(crate) struct AccountMail;

/// The templates of the mails this projection asks for.
pub const VERIFY_TEMPLATE: &str = "email_verification";
pub const RESET_TEMPLATE: &str = "password_reset";

#[async_trait]
impl Projection for AccountMail {
    fn name(&self) -> &'static str {
        "account_mail"
    }
    fn aggregate_type(&self) -> &'static str {
        "account"
    }
    fn table(&self) -> Option<&'static str> {
        None
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        _table: &str,
        envelope: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let event: AccountEvent = serde_json::from_value(envelope.payload.clone())?;
        let (template, purpose, email, name) = match &event {
            AccountEvent::AccountRegistered {
                email, full_name, ..
            } => (
                VERIFY_TEMPLATE,
                Purpose::VerifyEmail,
                email,
                Some(full_name.as_str()),
            ),
            AccountEvent::EmailVerificationRequested { email } => {
                (VERIFY_TEMPLATE, Purpose::VerifyEmail, email, None)
            }
            AccountEvent::PasswordResetRequested { email } => {
                (RESET_TEMPLATE, Purpose::ResetPassword, email, None)
            }
            AccountEvent::PasswordChanged | AccountEvent::PasswordReset { .. } => {
                return password_changed(conn, envelope).await;
            }
            AccountEvent::NotificationPreferencesChanged { .. }
            | AccountEvent::EmailVerified { .. } => return Ok(Vec::new()),
        };
        Ok(vec![NotificationJob::email_for(
            envelope,
            template,
            email.as_str(),
            serde_json::json!({
                "account_id": envelope.aggregate_id,
                "purpose": purpose,
                "expires_at": envelope.occurred_at + purpose.lifetime(),
                "full_name": name,
            }),
        )])
    }
}

/// A changed (or reset) password is told to the account's address, so someone whose
/// account was taken over learns of it.
async fn password_changed(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
) -> anyhow::Result<Vec<NotificationJob>> {
    let account: uuid::Uuid = envelope.aggregate_id.parse()?;
    let email: Option<String> = sqlx::query_scalar("SELECT repstream_account_email($1)")
        .bind(account)
        .fetch_one(&mut *conn)
        .await
        .context("looking up the account's address")?;
    let Some(email) = email else {
        return Ok(Vec::new());
    };
    let data = serde_json::json!({
        "account_id": envelope.aggregate_id,
        "changed_at": envelope.occurred_at.to_rfc3339(),
    });
    Ok(vec![NotificationJob::email_for(
        envelope,
        domain::account::PASSWORD_CHANGED,
        &email,
        data,
    )])
}
