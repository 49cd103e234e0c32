use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::values::{DisplayName, Email};

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
