//! The studio read model as a pure function of the studio's events. The projector
//! stores what [`apply`] returns; `rebuild` folds the whole stream through the same
//! function, which is why a rebuilt view equals a live one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{LocationId, Studio, StudioEvent, StudioId, StudioSettings};
use crate::view::View;

/// What `GET /api/v1/studios/{id}` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudioView {
    pub id: StudioId,
    pub name: String,
    /// IANA time zone all local times of this studio are computed in.
    pub timezone: String,
    /// ISO 4217 code all prices of this studio are in.
    pub currency: String,
    pub settings: StudioSettings,
    pub locations: Vec<LocationView>,
    /// The studio stream's sequence this view reflects; compare with a command's
    /// `version` (read-your-writes via `min_version`).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LocationView {
    pub id: LocationId,
    pub name: String,
    pub address: Option<String>,
    /// The location's own zone when it differs from the studio's.
    pub timezone: Option<String>,
}

/// Applies one event (at stream `sequence`, recorded at `at`) to the current view.
/// Returns `None` only for an event that cannot start a stream (never happens with
/// ordered delivery; callers treat it as a corrupt stream).
pub fn apply(
    view: Option<StudioView>,
    event: &StudioEvent,
    sequence: u64,
    at: DateTime<Utc>,
) -> Option<StudioView> {
    let mut view = match (view, event) {
        (
            None,
            StudioEvent::StudioCreated {
                studio_id,
                name,
                timezone,
                currency,
                ..
            },
        ) => StudioView {
            id: *studio_id,
            name: name.to_string(),
            timezone: timezone.as_str().to_owned(),
            currency: currency.code().to_owned(),
            settings: StudioSettings::default(),
            locations: Vec::new(),
            version: sequence,
            created_at: at,
            updated_at: at,
        },
        (None, _) => return None,
        (Some(mut view), event) => {
            match event {
                StudioEvent::StudioCreated { .. } => {}
                StudioEvent::StudioRenamed { name } => view.name = name.to_string(),
                StudioEvent::StudioSettingsUpdated { settings } => {
                    view.settings = settings.clone();
                }
                StudioEvent::LocationAdded {
                    location_id,
                    name,
                    address,
                    timezone,
                } => view.locations.push(LocationView {
                    id: *location_id,
                    name: name.to_string(),
                    address: address.clone(),
                    timezone: timezone.map(|t| t.as_str().to_owned()),
                }),
                StudioEvent::LocationRenamed { location_id, name } => {
                    if let Some(l) = view.locations.iter_mut().find(|l| l.id == *location_id) {
                        l.name = name.to_string();
                    }
                }
                // Memberships are kept in `studio_membership` (written with the events);
                // the public studio document does not list people.
                StudioEvent::MemberAdded { .. }
                | StudioEvent::MemberInvited { .. }
                | StudioEvent::InvitationAccepted { .. }
                | StudioEvent::InvitationRevoked { .. }
                | StudioEvent::MemberRoleChanged { .. }
                | StudioEvent::MemberRemoved { .. } => {}
            }
            view
        }
    };
    view.version = sequence;
    view.updated_at = at;
    Some(view)
}

impl View for StudioView {
    type Aggregate = Studio;
    type Event = StudioEvent;
    const TABLE: &'static str = "studio_view";

    fn apply(
        current: Option<Self>,
        event: &StudioEvent,
        sequence: u64,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        apply(current, event, sequence, at)
    }

    fn version(&self) -> u64 {
        self.version
    }
}
