use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use super::AccountId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq)]
pub enum AccountCommand {
    Register {
        account_id: AccountId,
        email: Email,
        full_name: DisplayName,
    },
    /// The new hash is written beside the event by the caller; the event only records
    /// that it happened.
    ChangePassword,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AccountEvent {
    AccountRegistered {
        account_id: AccountId,
        email: Email,
        full_name: DisplayName,
    },
    PasswordChanged,
}

impl DomainEvent for AccountEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AccountRegistered { .. } => "AccountRegistered",
            Self::PasswordChanged => "PasswordChanged",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("this account already exists")]
    AlreadyRegistered,
    #[error("account not found")]
    NotFound,
}

#[derive(Debug, Default, Serialize, Deserialize)]
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
            } => {
                if self.id.is_some() {
                    return Err(AccountError::AlreadyRegistered);
                }
                let event = AccountEvent::AccountRegistered {
                    account_id,
                    email,
                    full_name,
                };
                sink.write(event, self).await;
            }
            AccountCommand::ChangePassword => {
                if self.id.is_none() {
                    return Err(AccountError::NotFound);
                }
                sink.write(AccountEvent::PasswordChanged, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            AccountEvent::AccountRegistered { account_id, .. } => self.id = Some(account_id),
            AccountEvent::PasswordChanged => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use uuid::Uuid;

    fn registered() -> AccountEvent {
        AccountEvent::AccountRegistered {
            account_id: AccountId(Uuid::from_u128(7)),
            email: Email::parse("ada@example.com").expect("email"),
            full_name: DisplayName::parse("Ada").expect("name"),
        }
    }

    #[tokio::test]
    async fn an_account_is_registered_once() {
        let command = AccountCommand::Register {
            account_id: AccountId(Uuid::from_u128(7)),
            email: Email::parse("ada@example.com").expect("email"),
            full_name: DisplayName::parse("Ada").expect("name"),
        };
        TestFramework::<Account>::with(())
            .given_no_previous_events()
            .when_async(command.clone())
            .await
            .then_expect_events(vec![registered()]);
        TestFramework::<Account>::with(())
            .given(vec![registered()])
            .when_async(command)
            .await
            .then_expect_error(AccountError::AlreadyRegistered);
    }

    #[tokio::test]
    async fn a_password_change_is_recorded_without_the_hash() {
        TestFramework::<Account>::with(())
            .given(vec![registered()])
            .when_async(AccountCommand::ChangePassword)
            .await
            .then_expect_events(vec![AccountEvent::PasswordChanged]);
        TestFramework::<Account>::with(())
            .given_no_previous_events()
            .when_async(AccountCommand::ChangePassword)
            .await
            .then_expect_error(AccountError::NotFound);
    }
}
