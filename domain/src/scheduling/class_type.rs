//! Class types: a studio's catalogue of what it teaches ("Reformer Flow, 50 min, 10
//! spots, book up to 14 days ahead, free cancel until 12 h before"). A class scheduled
//! from a type takes its title, duration, capacity and booking policy from it, copied
//! into the class when it is scheduled: changing a type later never rewrites the rules
//! clients booked under.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::class::{BookingPolicy, MAX_CAPACITY, MAX_DURATION_MINUTES};
use crate::studio::StudioId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ClassTypeId(pub Uuid);

/// What a class type fixes for the classes scheduled from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClassTypeDetails {
    /// 1..=100 characters (parsed as a display name at the boundary).
    pub name: String,
    /// Up to 2000 characters.
    pub description: Option<String>,
    /// 5..=1440.
    pub duration_minutes: u32,
    /// 1..=500.
    pub default_capacity: u32,
    /// Booking window, cancellation cutoff, promotion cutoff and strike consequences.
    pub policy: BookingPolicy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClassTypeCommand {
    Define {
        id: ClassTypeId,
        studio_id: StudioId,
        details: ClassTypeDetails,
    },
    Update {
        details: ClassTypeDetails,
    },
    /// No new classes from it; existing classes keep their rules.
    Archive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClassTypeEvent {
    ClassTypeDefined {
        id: ClassTypeId,
        studio_id: StudioId,
        details: ClassTypeDetails,
    },
    ClassTypeUpdated {
        details: ClassTypeDetails,
    },
    ClassTypeArchived,
}

impl DomainEvent for ClassTypeEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ClassTypeDefined { .. } => "ClassTypeDefined",
            Self::ClassTypeUpdated { .. } => "ClassTypeUpdated",
            Self::ClassTypeArchived => "ClassTypeArchived",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassTypeError {
    #[error("a different class type with this id already exists")]
    AlreadyExists,
    #[error("class type not found")]
    NotFound,
    #[error("this class type is archived")]
    Archived,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl ClassTypeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "class_type_already_exists",
            Self::NotFound => "class_type_not_found",
            Self::Archived => "class_type_archived",
            Self::Invalid { .. } => "validation_failed",
        }
    }
}

fn validate(d: &ClassTypeDetails) -> Result<(), ClassTypeError> {
    let invalid = |field, message: String| Err(ClassTypeError::Invalid { field, message });
    if !(5..=MAX_DURATION_MINUTES).contains(&d.duration_minutes) {
        return invalid(
            "duration_minutes",
            format!("must be between 5 and {MAX_DURATION_MINUTES}"),
        );
    }
    if !(1..=MAX_CAPACITY).contains(&d.default_capacity) {
        return invalid(
            "default_capacity",
            format!("must be between 1 and {MAX_CAPACITY}"),
        );
    }
    if d.description
        .as_ref()
        .is_some_and(|s| s.chars().count() > 2000)
    {
        return invalid("description", "at most 2000 characters".to_owned());
    }
    d.policy
        .validate()
        .map_err(|(field, message)| ClassTypeError::Invalid { field, message })
}

/// One class type of one studio.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ClassType {
    defined: Option<(StudioId, ClassTypeDetails)>,
    archived: bool,
}

impl ClassType {
    /// The type's details if it belongs to `studio`.
    pub fn details_in(&self, studio: StudioId) -> Option<&ClassTypeDetails> {
        self.defined
            .as_ref()
            .filter(|(s, _)| *s == studio)
            .map(|(_, d)| d)
    }

    pub fn is_archived(&self) -> bool {
        self.archived
    }
}

impl Aggregate for ClassType {
    const TYPE: &'static str = "class_type";
    type Command = ClassTypeCommand;
    type Event = ClassTypeEvent;
    type Error = ClassTypeError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            ClassTypeCommand::Define {
                id,
                studio_id,
                details,
            } => {
                validate(&details)?;
                match &self.defined {
                    // A retried create with the same content is a no-op.
                    Some((s, d)) if *s == studio_id && *d == details => {}
                    Some(_) => return Err(ClassTypeError::AlreadyExists),
                    None => {
                        sink.write(
                            ClassTypeEvent::ClassTypeDefined {
                                id,
                                studio_id,
                                details,
                            },
                            self,
                        )
                        .await
                    }
                }
            }
            ClassTypeCommand::Update { details } => {
                validate(&details)?;
                let Some((_, current)) = &self.defined else {
                    return Err(ClassTypeError::NotFound);
                };
                if self.archived {
                    return Err(ClassTypeError::Archived);
                }
                if *current != details {
                    sink.write(ClassTypeEvent::ClassTypeUpdated { details }, self)
                        .await;
                }
            }
            ClassTypeCommand::Archive => {
                if self.defined.is_none() {
                    return Err(ClassTypeError::NotFound);
                }
                if !self.archived {
                    sink.write(ClassTypeEvent::ClassTypeArchived, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ClassTypeEvent::ClassTypeDefined {
                studio_id, details, ..
            } => self.defined = Some((studio_id, details)),
            ClassTypeEvent::ClassTypeUpdated { details } => {
                if let Some((_, d)) = &mut self.defined {
                    *d = details;
                }
            }
            ClassTypeEvent::ClassTypeArchived => self.archived = true,
        }
    }
}

/// The `class_type_view` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClassTypeView {
    pub id: ClassTypeId,
    pub studio_id: StudioId,
    #[serde(flatten)]
    pub details: ClassTypeDetails,
    pub archived: bool,
    pub version: u64,
}

/// Folds one event into the view; `None` when the stream does not start with
/// `ClassTypeDefined`.
pub fn apply_view(
    view: Option<ClassTypeView>,
    event: &ClassTypeEvent,
    sequence: u64,
) -> Option<ClassTypeView> {
    let mut view = match (view, event) {
        (
            None,
            ClassTypeEvent::ClassTypeDefined {
                id,
                studio_id,
                details,
            },
        ) => ClassTypeView {
            id: *id,
            studio_id: *studio_id,
            details: details.clone(),
            archived: false,
            version: 0,
        },
        (None, _) => return None,
        (Some(mut v), ClassTypeEvent::ClassTypeUpdated { details }) => {
            v.details = details.clone();
            v
        }
        (Some(mut v), ClassTypeEvent::ClassTypeArchived) => {
            v.archived = true;
            v
        }
        // A second definition never gets past the aggregate.
        (Some(v), ClassTypeEvent::ClassTypeDefined { .. }) => v,
    };
    view.version = sequence;
    Some(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

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
        let v = apply_view(None, &defined(), 1).expect("defined");
        assert_eq!((v.details.default_capacity, v.archived), (10, false));
        let v = apply_view(Some(v), &ClassTypeEvent::ClassTypeArchived, 2).expect("view");
        assert_eq!((v.archived, v.version), (true, 2));
        assert!(apply_view(None, &ClassTypeEvent::ClassTypeArchived, 1).is_none());
    }
}
