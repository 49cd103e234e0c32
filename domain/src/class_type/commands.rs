use super::{ClassTypeDetails, ClassTypeId};
use crate::studio::StudioId;

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
