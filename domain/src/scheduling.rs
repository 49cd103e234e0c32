//! Scheduling: classes (one aggregate per occurrence), their booking rules, and
//! recurrence expansion in the studio's time zone.
//!
//! A class is the consistency boundary for its spots: capacity, the waitlist order,
//! promotions and the cancellation policy are decided inside one stream, so they hold
//! under any concurrency (the event store's optimistic lock orders writers).

pub mod appointments;
mod class;
pub mod class_type;
pub mod recurrence;
pub mod view;

pub use class::{
    BookingPolicy, BookingStatus, ClassCommand, ClassError, ClassEvent, ClassSession, ClassStatus,
    CHECK_IN_OPENS_MINUTES, MAX_CAPACITY, MAX_DURATION_MINUTES,
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ClassId(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct BookingId(pub Uuid);
