//! The class type read model as a pure function of the class type's events.

use serde::{Deserialize, Serialize};

use super::{ClassTypeDetails, ClassTypeEvent, ClassTypeId};
use crate::studio::StudioId;

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
