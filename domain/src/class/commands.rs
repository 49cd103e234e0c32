use chrono::{DateTime, Utc};

use super::{BookingId, ClassId};
use crate::account::AccountId;
use crate::client::ClientId;
use crate::scheduling::BookingPolicy;
use crate::studio::{LocationId, StudioId};

#[derive(Debug, Clone, PartialEq)]
pub enum ClassCommand {
    Schedule {
        class_id: ClassId,
        studio_id: StudioId,
        title: String,
        class_type_id: Option<uuid::Uuid>,
        starts_at: DateTime<Utc>,
        duration_minutes: u32,
        capacity: u32,
        location_id: Option<LocationId>,
        instructor_id: Option<AccountId>,
        schedule_id: Option<uuid::Uuid>,
        policy: BookingPolicy,
    },
    Book {
        booking_id: BookingId,
        client_id: ClientId,
        now: DateTime<Utc>,
        /// The client may not book before this (strike limit reached).
        blocked_until: Option<DateTime<Utc>>,
    },
    CancelBooking {
        booking_id: BookingId,
        now: DateTime<Utc>,
    },
    CheckIn {
        booking_id: BookingId,
        now: DateTime<Utc>,
    },
    ChangeCapacity {
        capacity: u32,
        now: DateTime<Utc>,
    },
    SubstituteInstructor {
        instructor_id: Option<AccountId>,
    },
    CancelClass {
        reason: String,
    },
    /// Settle attendance after the end: booked clients not checked in are no-shows.
    Close {
        now: DateTime<Utc>,
    },
}
