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

fn submission(version: u32, minute: u32) -> Box<crate::health::HealthSubmission> {
    use chrono::TimeZone as _;
    let given_at = chrono::Utc
        .with_ymd_and_hms(2026, 12, 1, 9, minute, 0)
        .single()
        .expect("time");
    let mut form = crate::health::HealthSubmission::new(crate::health::Consent {
        text_version: version,
        given_at,
    });
    form.goals = Some("run a 5k".to_owned());
    Box::new(form)
}

fn submitted(version: u32, form: Box<crate::health::HealthSubmission>) -> ClientEvent {
    ClientEvent::HealthIntakeSubmitted {
        version,
        submission: form,
    }
}

#[tokio::test]
async fn a_submitted_intake_gets_the_next_version_and_a_retry_adds_nothing() {
    TestFramework::<Client>::with(())
        .given(vec![registered()])
        .when_async(ClientCommand::SubmitHealthIntake {
            submission: submission(1, 0),
            current_consent: 1,
        })
        .await
        .then_expect_events(vec![submitted(1, submission(1, 0))]);
    // The same form again (consented a minute later): a retry.
    TestFramework::<Client>::with(())
        .given(vec![registered(), submitted(1, submission(1, 0))])
        .when_async(ClientCommand::SubmitHealthIntake {
            submission: submission(1, 1),
            current_consent: 1,
        })
        .await
        .then_expect_events(vec![]);
    let mut changed = submission(1, 2);
    changed.goals = Some("deadlift my body weight".to_owned());
    TestFramework::<Client>::with(())
        .given(vec![registered(), submitted(1, submission(1, 0))])
        .when_async(ClientCommand::SubmitHealthIntake {
            submission: changed.clone(),
            current_consent: 1,
        })
        .await
        .then_expect_events(vec![submitted(2, changed)]);
}

#[tokio::test]
async fn an_intake_under_an_outdated_consent_text_is_refused() {
    TestFramework::<Client>::with(())
        .given(vec![registered()])
        .when_async(ClientCommand::SubmitHealthIntake {
            submission: submission(1, 0),
            current_consent: 2,
        })
        .await
        .then_expect_error(ClientError::ConsentOutdated { current: 2 });
}

#[tokio::test]
async fn an_invalid_intake_is_refused_naming_the_field() {
    let mut form = submission(1, 0);
    form.goals = Some("x".repeat(4001));
    let result = TestFramework::<Client>::with(())
        .given(vec![registered()])
        .when_async(ClientCommand::SubmitHealthIntake {
            submission: form,
            current_consent: 1,
        })
        .await
        .inspect_result();
    match result {
        Err(ClientError::InvalidIntake(e)) => assert!(e.path.starts_with("goals"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn consent_is_withdrawn_once_and_given_again_by_a_new_submission() {
    let at = chrono::Utc::now();
    TestFramework::<Client>::with(())
        .given(vec![registered(), submitted(1, submission(1, 0))])
        .when_async(ClientCommand::WithdrawHealthConsent { at })
        .await
        .then_expect_events(vec![ClientEvent::HealthConsentWithdrawn { at }]);
    let withdrawn = vec![
        registered(),
        submitted(1, submission(1, 0)),
        ClientEvent::HealthConsentWithdrawn { at },
    ];
    TestFramework::<Client>::with(())
        .given(withdrawn.clone())
        .when_async(ClientCommand::WithdrawHealthConsent { at })
        .await
        .then_expect_events(vec![]);
    // The same form after a withdrawal is a new consent, so a new version.
    TestFramework::<Client>::with(())
        .given(withdrawn)
        .when_async(ClientCommand::SubmitHealthIntake {
            submission: submission(1, 5),
            current_consent: 1,
        })
        .await
        .then_expect_events(vec![submitted(2, submission(1, 5))]);
    // Nothing submitted: nothing to withdraw.
    TestFramework::<Client>::with(())
        .given(vec![registered()])
        .when_async(ClientCommand::WithdrawHealthConsent { at })
        .await
        .then_expect_events(vec![]);
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

#[test]
fn a_review_edits_with_a_valid_recommendation_and_rejects_with_a_reason() {
    use crate::client::{RecommendationReview, ReviewDecision};
    let recommendation = crate::health::rules::recommend(&submission(1, 0));
    let review = |decision, note: Option<&str>, edit: Option<crate::health::Recommendation>| {
        RecommendationReview {
            decision,
            by: AccountId(Uuid::from_u128(9)),
            note: note.map(str::to_owned),
            recommendation: edit,
            at: chrono::Utc::now(),
        }
        .validate()
        .map_err(|e| e.path)
    };
    assert_eq!(review(ReviewDecision::Accepted, None, None), Ok(()));
    assert_eq!(
        review(ReviewDecision::Rejected, Some("  "), None),
        Err("note".to_owned())
    );
    assert_eq!(
        review(ReviewDecision::Rejected, Some("not for her"), None),
        Ok(())
    );
    assert_eq!(
        review(ReviewDecision::Edited, None, None),
        Err("recommendation".to_owned())
    );
    assert_eq!(
        review(ReviewDecision::Accepted, None, Some(recommendation.clone())),
        Err("recommendation".to_owned())
    );
    assert_eq!(
        review(ReviewDecision::Edited, None, Some(recommendation)),
        Ok(())
    );
    assert_eq!(
        review(ReviewDecision::Accepted, Some(&"n".repeat(2001)), None),
        Err("note".to_owned())
    );
}

#[test]
fn a_models_answer_is_never_less_careful_than_the_rules() {
    use crate::health::rules::{Answer, Verdict};
    let rules = Answer {
        verdict: Verdict::NotYet,
        text: "Not yet: jumping is avoided for the knee.".to_owned(),
        sources: vec!["ACSM".to_owned()],
    };
    let model = Answer {
        verdict: Verdict::Yes,
        text: "Sure.".to_owned(),
        sources: vec!["model".to_owned()],
    };
    let held = model.clone().within(&rules);
    assert_eq!(held.verdict, Verdict::NotYet);
    assert!(held.text.starts_with("Not yet") && held.text.ends_with("Sure."));
    assert_eq!(held.sources, ["model", "ACSM"]);
    // More careful than the rules is kept as it is.
    let careful = Answer {
        verdict: Verdict::Unsure,
        ..model
    };
    let relaxed = Answer {
        verdict: Verdict::Yes,
        ..rules
    };
    assert_eq!(careful.within(&relaxed).verdict, Verdict::Unsure);
}
