use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{ClassTypeCommand, ClassTypeDetails, ClassTypeError, ClassTypeEvent, ClassTypeId};
use crate::class::{MAX_CAPACITY, MAX_DURATION_MINUTES};
use crate::studio::StudioId;

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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
            } => self.define(id, studio_id, details, sink).await,
            ClassTypeCommand::Update { details } => self.update(details, sink).await,
            ClassTypeCommand::Archive => self.archive(sink).await,
        }
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

/// One handler per command: each checks the rules against the current state and
/// writes the resulting events (none for a no-op retry).
impl ClassType {
    async fn define(
        &mut self,
        id: ClassTypeId,
        studio_id: StudioId,
        details: ClassTypeDetails,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassTypeError> {
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
        Ok(())
    }

    async fn update(
        &mut self,
        details: ClassTypeDetails,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassTypeError> {
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
        Ok(())
    }

    async fn archive(&mut self, sink: &EventSink<Self>) -> Result<(), ClassTypeError> {
        if self.defined.is_none() {
            return Err(ClassTypeError::NotFound);
        }
        if !self.archived {
            sink.write(ClassTypeEvent::ClassTypeArchived, self).await;
        }
        Ok(())
    }
}
