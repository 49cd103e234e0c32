use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::{BookingId, ClassId};
use crate::account::AccountId;
use crate::client::ClientId;
use crate::scheduling::BookingPolicy;
use crate::studio::{LocationId, StudioId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClassEvent {
    ClassScheduled {
        class_id: ClassId,
        studio_id: StudioId,
        title: String,
        class_type_id: Option<uuid::Uuid>,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        capacity: u32,
        location_id: Option<LocationId>,
        instructor_id: Option<AccountId>,
        schedule_id: Option<uuid::Uuid>,
        policy: BookingPolicy,
    },
    SpotBooked {
        booking_id: BookingId,
        client_id: ClientId,
    },
    Waitlisted {
        booking_id: BookingId,
        client_id: ClientId,
        /// 1-based position at the time of joining.
        position: u32,
    },
    BookingCancelled {
        booking_id: BookingId,
        client_id: ClientId,
        late: bool,
        /// The policy counts this as a strike.
        strike: bool,
    },
    WaitlistLeft {
        booking_id: BookingId,
        client_id: ClientId,
    },
    /// A waitlisted client got a freed spot (notifications pick this up).
    WaitlistPromoted {
        booking_id: BookingId,
        client_id: ClientId,
    },
    CheckedIn {
        booking_id: BookingId,
        client_id: ClientId,
    },
    NoShowRecorded {
        booking_id: BookingId,
        client_id: ClientId,
        strike: bool,
    },
    CapacityChanged {
        capacity: u32,
    },
    InstructorSubstituted {
        instructor_id: Option<AccountId>,
    },
    /// Every open booking is cancelled with it; clients are notified.
    ClassCancelled {
        reason: String,
        affected: Vec<ClientId>,
    },
    ClassClosed,
}

impl DomainEvent for ClassEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ClassScheduled { .. } => "ClassScheduled",
            Self::SpotBooked { .. } => "SpotBooked",
            Self::Waitlisted { .. } => "Waitlisted",
            Self::BookingCancelled { .. } => "BookingCancelled",
            Self::WaitlistLeft { .. } => "WaitlistLeft",
            Self::WaitlistPromoted { .. } => "WaitlistPromoted",
            Self::CheckedIn { .. } => "CheckedIn",
            Self::NoShowRecorded { .. } => "NoShowRecorded",
            Self::CapacityChanged { .. } => "CapacityChanged",
            Self::InstructorSubstituted { .. } => "InstructorSubstituted",
            Self::ClassCancelled { .. } => "ClassCancelled",
            Self::ClassClosed => "ClassClosed",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
