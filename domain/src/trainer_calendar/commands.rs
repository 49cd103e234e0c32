use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Rules, TimeOff};
use crate::account::AccountId;
use crate::client::ClientId;
use crate::studio::StudioId;

/// Time the trainer is busy elsewhere (a class they teach): no slot overlaps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrainerCalendarCommand {
    SetAvailability {
        studio_id: StudioId,
        trainer_id: AccountId,
        rules: Rules,
    },
    AddTimeOff {
        time_off: TimeOff,
    },
    Book {
        appointment_id: Uuid,
        client_id: ClientId,
        starts_at: DateTime<Utc>,
        /// The trainer's other commitments around `starts_at` (classes they teach).
        busy: Vec<Busy>,
        now: DateTime<Utc>,
    },
    Reschedule {
        appointment_id: Uuid,
        starts_at: DateTime<Utc>,
        busy: Vec<Busy>,
        now: DateTime<Utc>,
    },
    Cancel {
        appointment_id: Uuid,
    },
}
