use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::class::MAX_CAPACITY;
use crate::scheduling::BookingPolicy;
use crate::studio::StudioId;

fn details() -> ClassTypeDetails {
    ClassTypeDetails {
        name: "Reformer Flow".into(),
        description: None,
        duration_minutes: 50,
        default_capacity: 10,
        policy: BookingPolicy::default(),
    }
}
fn define() -> ClassTypeCommand {
    ClassTypeCommand::Define {
        id: ClassTypeId(Uuid::nil()),
        studio_id: StudioId(Uuid::nil()),
        details: details(),
    }
}
fn defined() -> ClassTypeEvent {
    ClassTypeEvent::ClassTypeDefined {
        id: ClassTypeId(Uuid::nil()),
        studio_id: StudioId(Uuid::nil()),
        details: details(),
    }
}

#[tokio::test]
async fn a_class_type_is_defined_once_and_a_retry_is_a_no_op() {
    TestFramework::<ClassType>::with(())
        .given_no_previous_events()
        .when_async(define())
        .await
        .then_expect_events(vec![defined()]);
    TestFramework::<ClassType>::with(())
        .given(vec![defined()])
        .when_async(define())
        .await
        .then_expect_events(vec![]);
    let mut other = details();
    other.name = "Mat".into();
    TestFramework::<ClassType>::with(())
        .given(vec![defined()])
        .when_async(ClassTypeCommand::Define {
            id: ClassTypeId(Uuid::nil()),
            studio_id: StudioId(Uuid::nil()),
            details: other,
        })
        .await
        .then_expect_error(ClassTypeError::AlreadyExists);
}

#[tokio::test]
async fn out_of_range_details_are_refused() {
    let mut d = details();
    d.default_capacity = 0;
    TestFramework::<ClassType>::with(())
        .given_no_previous_events()
        .when_async(ClassTypeCommand::Define {
            id: ClassTypeId(Uuid::nil()),
            studio_id: StudioId(Uuid::nil()),
            details: d,
        })
        .await
        .then_expect_error(ClassTypeError::Invalid {
            field: "default_capacity",
            message: format!("must be between 1 and {MAX_CAPACITY}"),
        });
    let mut d = details();
    d.policy.closes_minutes_before = d.policy.opens_hours_before * 60 + 1;
    let r = TestFramework::<ClassType>::with(())
        .given_no_previous_events()
        .when_async(ClassTypeCommand::Define {
            id: ClassTypeId(Uuid::nil()),
            studio_id: StudioId(Uuid::nil()),
            details: d,
        })
        .await
        .inspect_result();
    assert!(matches!(r, Err(ClassTypeError::Invalid { .. })), "{r:?}");
}

#[tokio::test]
async fn updates_change_only_what_differs_and_archived_types_are_frozen() {
    let mut d = details();
    d.default_capacity = 12;
    TestFramework::<ClassType>::with(())
        .given(vec![defined()])
        .when_async(ClassTypeCommand::Update { details: d.clone() })
        .await
        .then_expect_events(vec![ClassTypeEvent::ClassTypeUpdated {
            details: d.clone(),
        }]);
    TestFramework::<ClassType>::with(())
        .given(vec![defined()])
        .when_async(ClassTypeCommand::Update { details: details() })
        .await
        .then_expect_events(vec![]);
    TestFramework::<ClassType>::with(())
        .given(vec![defined(), ClassTypeEvent::ClassTypeArchived])
        .when_async(ClassTypeCommand::Update { details: d })
        .await
        .then_expect_error(ClassTypeError::Archived);
    TestFramework::<ClassType>::with(())
        .given(vec![defined(), ClassTypeEvent::ClassTypeArchived])
        .when_async(ClassTypeCommand::Archive)
        .await
        .then_expect_events(vec![]);
    TestFramework::<ClassType>::with(())
        .given_no_previous_events()
        .when_async(ClassTypeCommand::Archive)
        .await
        .then_expect_error(ClassTypeError::NotFound);
    TestFramework::<ClassType>::with(())
        .given_no_previous_events()
        .when_async(ClassTypeCommand::Update { details: details() })
        .await
        .then_expect_error(ClassTypeError::NotFound);
}

#[test]
fn the_view_follows_the_stream() {
    let v = view::apply(None, &defined(), 1).expect("defined");
    assert_eq!((v.details.default_capacity, v.archived), (10, false));
    let v = view::apply(Some(v), &ClassTypeEvent::ClassTypeArchived, 2).expect("view");
    assert_eq!((v.archived, v.version), (true, 2));
    assert!(view::apply(None, &ClassTypeEvent::ClassTypeArchived, 1).is_none());
}
