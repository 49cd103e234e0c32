use std::collections::VecDeque;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AccountCommand, AccountError, AccountEvent, AccountId, MailedLink};
use crate::values::{DisplayName, Email};

/// How many spent link ids an account remembers. Links expire within a day, and an
/// account cannot be mailed more than a few per hour (the worker's budgets), so a link
/// older than the last [`SPENT_LINKS`] has long expired.
const SPENT_LINKS: usize = 64;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Account {
    id: Option<AccountId>,
    #[serde(default)]
    email: Option<Email>,
    #[serde(default)]
    verified: bool,
    /// Links spent already, newest last.
    #[serde(default)]
    spent_links: VecDeque<Uuid>,
    #[serde(default)]
    preferences: super::NotificationPreferences,
}

impl Aggregate for Account {
    const TYPE: &'static str = "account";
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            AccountCommand::Register {
                account_id,
                email,
                full_name,
            } => self.register(account_id, email, full_name, sink).await,
            AccountCommand::ChangePassword => self.change_password(sink).await,
            AccountCommand::RequestEmailVerification => self.request_verification(sink).await,
            AccountCommand::VerifyEmail { link } => self.verify_email(link, sink).await,
            AccountCommand::RequestPasswordReset => self.request_reset(sink).await,
            AccountCommand::ResetPassword { link } => self.reset_password(link, sink).await,
            AccountCommand::SetNotificationPreferences { preferences } => {
                self.set_preferences(preferences, sink).await
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            AccountEvent::AccountRegistered {
                account_id, email, ..
            } => {
                self.id = Some(account_id);
                self.email = Some(email);
            }
            AccountEvent::PasswordChanged
            | AccountEvent::EmailVerificationRequested { .. }
            | AccountEvent::PasswordResetRequested { .. } => {}
            AccountEvent::EmailVerified { link_id, .. } => {
                self.verified = true;
                self.spend(link_id);
            }
            AccountEvent::PasswordReset { link_id } => self.spend(link_id),
            AccountEvent::NotificationPreferencesChanged { preferences } => {
                self.preferences = preferences;
            }
        }
    }
}

/// One handler per command: each checks the rules against the current state and
/// writes the resulting events (none for a no-op retry).
impl Account {
    fn spend(&mut self, link: Uuid) {
        if !self.spent_links.contains(&link) {
            if self.spent_links.len() == SPENT_LINKS {
                self.spent_links.pop_front();
            }
            self.spent_links.push_back(link);
        }
    }

    /// The account's address, if it is registered.
    fn email(&self) -> Result<&Email, AccountError> {
        self.email.as_ref().ok_or(AccountError::NotFound)
    }

    /// A link may be followed once, before it expires, for the address it was sent to.
    fn check_link(&self, link: &MailedLink) -> Result<(), AccountError> {
        if self.email()? != &link.email {
            return Err(AccountError::LinkNotFound);
        }
        if self.spent_links.contains(&link.id) {
            return Err(AccountError::LinkUsed);
        }
        if link.expires_at <= link.now {
            return Err(AccountError::LinkExpired);
        }
        Ok(())
    }

    async fn register(
        &mut self,
        account_id: AccountId,
        email: Email,
        full_name: DisplayName,
        sink: &EventSink<Self>,
    ) -> Result<(), AccountError> {
        if self.id.is_some() {
            return Err(AccountError::AlreadyRegistered);
        }
        let event = AccountEvent::AccountRegistered {
            account_id,
            email,
            full_name,
        };
        sink.write(event, self).await;
        Ok(())
    }

    async fn change_password(&mut self, sink: &EventSink<Self>) -> Result<(), AccountError> {
        self.email()?;
        sink.write(AccountEvent::PasswordChanged, self).await;
        Ok(())
    }

    async fn request_verification(&mut self, sink: &EventSink<Self>) -> Result<(), AccountError> {
        let email = self.email()?.clone();
        if self.verified {
            return Err(AccountError::EmailAlreadyVerified);
        }
        sink.write(AccountEvent::EmailVerificationRequested { email }, self)
            .await;
        Ok(())
    }

    async fn verify_email(
        &mut self,
        link: MailedLink,
        sink: &EventSink<Self>,
    ) -> Result<(), AccountError> {
        self.check_link(&link)?;
        let event = AccountEvent::EmailVerified {
            email: link.email,
            link_id: link.id,
        };
        sink.write(event, self).await;
        Ok(())
    }

    async fn request_reset(&mut self, sink: &EventSink<Self>) -> Result<(), AccountError> {
        let email = self.email()?.clone();
        sink.write(AccountEvent::PasswordResetRequested { email }, self)
            .await;
        Ok(())
    }

    /// A reset proves control of the address as well: an unverified account is verified
    /// by it (the rightful owner of a squatted address takes it over this way).
    async fn reset_password(
        &mut self,
        link: MailedLink,
        sink: &EventSink<Self>,
    ) -> Result<(), AccountError> {
        self.check_link(&link)?;
        if !self.verified {
            let event = AccountEvent::EmailVerified {
                email: link.email.clone(),
                link_id: link.id,
            };
            sink.write(event, self).await;
        }
        sink.write(AccountEvent::PasswordReset { link_id: link.id }, self)
            .await;
        Ok(())
    }

    async fn set_preferences(
        &mut self,
        preferences: super::NotificationPreferences,
        sink: &EventSink<Self>,
    ) -> Result<(), AccountError> {
        self.email()?;
        preferences
            .validate()
            .map_err(|(field, message)| AccountError::InvalidPreferences { field, message })?;
        if preferences != self.preferences {
            sink.write(
                AccountEvent::NotificationPreferencesChanged { preferences },
                self,
            )
            .await;
        }
        Ok(())
    }
}
