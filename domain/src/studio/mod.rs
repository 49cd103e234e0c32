//! Studio: the tenant. A studio owns its locations and settings; everything else in
//! repstream (people, classes, bookings) belongs to exactly one studio, and the studio's
//! id *is* the tenant id.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;
pub mod view;

pub use aggregate::Studio;
pub use commands::StudioCommand;
pub use error::StudioError;
pub use events::{StudioEvent, StudioSettings, WeekStart};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A studio's id, which is also its tenant id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct StudioId(pub Uuid);

/// A location's id, unique within its studio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct LocationId(pub Uuid);

impl std::fmt::Display for StudioId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
