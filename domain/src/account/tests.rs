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

fn link(id: u128, email: &str, expires_in_minutes: i64) -> MailedLink {
    let now = chrono::Utc::now();
    MailedLink {
        id: Uuid::from_u128(id),
        email: Email::parse(email).expect("email"),
        expires_at: now + chrono::Duration::minutes(expires_in_minutes),
        now,
    }
}

fn verified(id: u128) -> AccountEvent {
    AccountEvent::EmailVerified {
        email: Email::parse("ada@example.com").expect("email"),
        link_id: Uuid::from_u128(id),
    }
}

#[tokio::test]
async fn a_verification_link_verifies_once_for_its_address_before_it_expires() {
    TestFramework::<Account>::with(())
        .given(vec![registered()])
        .when_async(AccountCommand::VerifyEmail {
            link: link(1, "ada@example.com", 60),
        })
        .await
        .then_expect_events(vec![verified(1)]);
    TestFramework::<Account>::with(())
        .given(vec![registered(), verified(1)])
        .when_async(AccountCommand::VerifyEmail {
            link: link(1, "ada@example.com", 60),
        })
        .await
        .then_expect_error(AccountError::LinkUsed);
    TestFramework::<Account>::with(())
        .given(vec![registered()])
        .when_async(AccountCommand::VerifyEmail {
            link: link(1, "ada@example.com", -1),
        })
        .await
        .then_expect_error(AccountError::LinkExpired);
    TestFramework::<Account>::with(())
        .given(vec![registered()])
        .when_async(AccountCommand::VerifyEmail {
            link: link(1, "eve@example.com", 60),
        })
        .await
        .then_expect_error(AccountError::LinkNotFound);
    TestFramework::<Account>::with(())
        .given(vec![registered(), verified(1)])
        .when_async(AccountCommand::RequestEmailVerification)
        .await
        .then_expect_error(AccountError::EmailAlreadyVerified);
}

#[tokio::test]
async fn a_reset_link_sets_a_password_once_and_verifies_the_address() {
    let reset = |id| AccountEvent::PasswordReset {
        link_id: Uuid::from_u128(id),
    };
    TestFramework::<Account>::with(())
        .given(vec![registered()])
        .when_async(AccountCommand::ResetPassword {
            link: link(2, "ada@example.com", 60),
        })
        .await
        .then_expect_events(vec![verified(2), reset(2)]);
    TestFramework::<Account>::with(())
        .given(vec![registered(), verified(1)])
        .when_async(AccountCommand::ResetPassword {
            link: link(2, "ada@example.com", 60),
        })
        .await
        .then_expect_events(vec![reset(2)]);
    TestFramework::<Account>::with(())
        .given(vec![registered(), verified(1), reset(2)])
        .when_async(AccountCommand::ResetPassword {
            link: link(2, "ada@example.com", 60),
        })
        .await
        .then_expect_error(AccountError::LinkUsed);
    TestFramework::<Account>::with(())
        .given_no_previous_events()
        .when_async(AccountCommand::RequestPasswordReset)
        .await
        .then_expect_error(AccountError::NotFound);
}
