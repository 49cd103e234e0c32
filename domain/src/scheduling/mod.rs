//! Scheduling rules shared by classes and class types: the booking policy a class is
//! scheduled with, and recurrence expansion in the studio's time zone. The aggregates
//! themselves live in [`crate::class`], [`crate::class_type`] and
//! [`crate::trainer_calendar`].

mod booking_policy;
pub mod recurrence;

pub use booking_policy::BookingPolicy;
