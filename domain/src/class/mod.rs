//! Classes: one aggregate per class occurrence, with its bookings, waitlist and
//! attendance. The booking rules a class is scheduled with live in
//! [`crate::scheduling`].
//!
//! A class is the consistency boundary for its spots: capacity, the waitlist order,
//! promotions and the cancellation policy are decided inside one stream, so they hold
//! under any concurrency (the event store's optimistic lock orders writers).

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;
pub mod view;

pub use aggregate::{
    BookingStatus, Class, ClassStatus, CHECK_IN_OPENS_MINUTES, MAX_CAPACITY, MAX_DURATION_MINUTES,
};
pub use commands::ClassCommand;
pub use error::ClassError;
pub use events::ClassEvent;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ClassId(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct BookingId(pub Uuid);
