//! Trainer calendars and their 1:1 appointments. Each trainer's calendar in a studio is
//! one aggregate: availability, time off and booked appointments live in one stream, so
//! two requests for the same slot can never both win. Slots come from one pure function
//! ([`slots`]) used both to validate a booking and to answer "which slots are free".

mod aggregate;
mod commands;
mod error;
mod events;
mod slots;
#[cfg(test)]
mod tests;
pub mod view;

pub use aggregate::TrainerCalendar;
pub use commands::{Busy, TrainerCalendarCommand};
pub use error::TrainerCalendarError;
pub use events::{Appointment, Rules, TimeOff, TrainerCalendarEvent, Window};
pub use slots::{slots, MAX_CANDIDATES, MAX_SLOTS};
