//! Client records: a studio's customers, with an optional link to the client's own
//! account and a health intake that only the client, their assigned trainers and the
//! studio's owners/admins may see (see `policy`).

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;
pub mod view;

pub use aggregate::{Client, MAX_TRAINERS};
pub use commands::ClientCommand;
pub use error::ClientError;
pub use events::{
    ClientEvent, ClientProfile, EmergencyContact, HealthIntake, RecommendationRecord,
    RecommendationReview, ReviewDecision, MAX_QUESTION, MAX_REVIEW_NOTE,
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ClientId(pub Uuid);
