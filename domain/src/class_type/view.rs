//! The class type read model as a pure function of the class type's events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ClassType, ClassTypeDetails, ClassTypeEvent, ClassTypeId};
use crate::studio::StudioId;
use crate::view::View;

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
pub fn apply(
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

impl View for ClassTypeView {
    type Aggregate = ClassType;
    type Event = ClassTypeEvent;
    const TABLE: &'static str = "class_type_view";

    /// The document has no timestamps: `at` is not used.
    fn apply(
        current: Option<Self>,
        event: &ClassTypeEvent,
        sequence: u64,
        _at: DateTime<Utc>,
    ) -> Option<Self> {
        apply(current, event, sequence)
    }

    fn version(&self) -> u64 {
        self.version
    }
}
