//! Account mail: verification and password-reset links. Accounts have no read model of
//! their own (the `account` table is written with their events), so this projection
//! keeps no table: it turns account events into notification jobs, exactly once per
//! event (its checkpoints work like any other's).

use async_trait::async_trait;
use domain::account::AccountEvent;
use infra::envelope::EventEnvelope;
use infra::jobs::{Channel, NotificationJob};
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
        _conn: &mut PgConnection,
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
            AccountEvent::PasswordChanged
            | AccountEvent::NotificationPreferencesChanged { .. }
            | AccountEvent::EmailVerified { .. }
            | AccountEvent::PasswordReset { .. } => return Ok(Vec::new()),
        };
        Ok(vec![NotificationJob {
            job_id: NotificationJob::id_for(envelope.event_id, template),
            tenant_id: envelope.tenant_id,
            correlation_id: envelope.metadata.correlation_id.clone(),
            causation_id: envelope.event_id,
            channel: Channel::Email,
            recipient: email.as_str().to_owned(),
            template: template.to_owned(),
            traceparent: None,
            data: serde_json::json!({
                "account_id": envelope.aggregate_id,
                "purpose": purpose,
                "expires_at": envelope.occurred_at + purpose.lifetime(),
                "full_name": name,
            }),
        }])
    }
}
