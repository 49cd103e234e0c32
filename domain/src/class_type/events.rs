use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::ClassTypeId;
use crate::scheduling::BookingPolicy;
use crate::studio::StudioId;

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
