use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{AccountCommand, AccountError, AccountEvent, AccountId};
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Account {
    id: Option<AccountId>,
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
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            AccountEvent::AccountRegistered { account_id, .. } => self.id = Some(account_id),
            AccountEvent::PasswordChanged => {}
        }
    }
}

/// One handler per command: each checks the rules against the current state and
/// writes the resulting events (none for a no-op retry).
impl Account {
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
        if self.id.is_none() {
            return Err(AccountError::NotFound);
        }
        sink.write(AccountEvent::PasswordChanged, self).await;
        Ok(())
    }
}
