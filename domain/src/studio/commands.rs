use super::{LocationId, StudioId, StudioSettings};
use crate::values::{Currency, DisplayName, TimeZone};

/// What may be asked of a studio. Fields are already-parsed values: validation of raw
/// input happens at the boundary, business rules in [`super::Studio::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum StudioCommand {
    CreateStudio {
        studio_id: StudioId,
        name: DisplayName,
        timezone: TimeZone,
        currency: Currency,
    },
    RenameStudio {
        name: DisplayName,
    },
    UpdateSettings {
        settings: StudioSettings,
    },
    AddLocation {
        location_id: LocationId,
        name: DisplayName,
        address: Option<String>,
        timezone: Option<TimeZone>,
    },
    RenameLocation {
        location_id: LocationId,
        name: DisplayName,
    },
}
