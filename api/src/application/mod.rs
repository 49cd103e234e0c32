//! What a command does across aggregates, between the HTTP handler (which parses and
//! answers) and the aggregate (which decides): the inputs it reads about *other*
//! aggregates and the checks it makes on them. Everything here runs inside one
//! [`crate::command::CommandTx`], on committed state (never a `*_view`).
//!
//! - [`directory`]: the studio directory (client records, locations, slots, strikes,
//!   memberships), written inline with the events it derives from.
//! - [`scheduling`]: what a new class is made of (its class type, location, the studio's
//!   settings) and who may act on a booking.
//! - [`appointments`]: who may act on a trainer's calendar.
//! - [`accounts`]: account commands (platform data, no studio).

pub mod accounts;
pub mod appointments;
pub mod directory;
pub mod scheduling;
