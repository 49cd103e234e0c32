use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::account::AccountId;
use crate::studio::StudioId;
use crate::values::DisplayName;

fn registered() -> ClientEvent {
    ClientEvent::ClientRegistered {
        client_id: ClientId(Uuid::from_u128(1)),
        studio_id: StudioId(Uuid::from_u128(2)),
        full_name: DisplayName::parse("Cleo Client").expect("name"),
        email: None,
        account_id: None,
    }
}
fn trainer(n: u128) -> AccountId {
    AccountId(Uuid::from_u128(100 + n))
}

#[tokio::test]
async fn commands_on_a_missing_client_are_refused() {
    TestFramework::<Client>::with(())
        .given_no_previous_events()
        .when_async(ClientCommand::AssignTrainer {
            trainer_id: trainer(1),
        })
        .await
        .then_expect_error(ClientError::NotFound);
}

#[tokio::test]
async fn a_client_is_registered_once() {
    let ClientEvent::ClientRegistered {
        client_id,
        studio_id,
        full_name,
        email,
        account_id,
    } = registered()
    else {
        unreachable!()
    };
    let cmd = ClientCommand::Register {
        client_id,
        studio_id,
        full_name,
        email,
        account_id,
    };
    TestFramework::<Client>::with(())
        .given(vec![registered()])
        .when_async(cmd)
        .await
        .then_expect_error(ClientError::AlreadyExists);
}

#[tokio::test]
async fn trainers_are_assigned_idempotently_and_bounded() {
    TestFramework::<Client>::with(())
        .given(vec![
            registered(),
            ClientEvent::TrainerAssigned {
                trainer_id: trainer(1),
            },
        ])
        .when_async(ClientCommand::AssignTrainer {
            trainer_id: trainer(1),
        })
        .await
        .then_expect_events(vec![]);
    let mut given = vec![registered()];
    given.extend(
        (0..MAX_TRAINERS as u128).map(|n| ClientEvent::TrainerAssigned {
            trainer_id: trainer(n),
        }),
    );
    TestFramework::<Client>::with(())
        .given(given)
        .when_async(ClientCommand::AssignTrainer {
            trainer_id: trainer(99),
        })
        .await
        .then_expect_error(ClientError::TooManyTrainers { max: MAX_TRAINERS });
}

#[tokio::test]
async fn an_oversized_intake_is_refused() {
    let intake = HealthIntake {
        injuries: vec!["x".repeat(201)],
        ..HealthIntake::default()
    };
    let result = TestFramework::<Client>::with(())
        .given(vec![registered()])
        .when_async(ClientCommand::RecordHealthIntake { intake })
        .await
        .inspect_result();
    assert!(matches!(
        result,
        Err(ClientError::InvalidIntake {
            field: "injuries",
            ..
        })
    ));
}

#[tokio::test]
async fn unassigning_records_only_a_real_change() {
    TestFramework::<Client>::with(())
        .given(vec![
            registered(),
            ClientEvent::TrainerAssigned {
                trainer_id: trainer(1),
            },
        ])
        .when_async(ClientCommand::UnassignTrainer {
            trainer_id: trainer(1),
        })
        .await
        .then_expect_events(vec![ClientEvent::TrainerUnassigned {
            trainer_id: trainer(1),
        }]);
}
