use chrono::{DateTime, NaiveTime, Utc, Weekday};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::AccountId;
use crate::client::ClientId;
use crate::studio::StudioId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TrainerCalendarEvent {
    AvailabilitySet {
        studio_id: StudioId,
        trainer_id: AccountId,
        rules: Rules,
    },
    TimeOffAdded {
        time_off: TimeOff,
    },
    AppointmentBooked {
        appointment: Appointment,
    },
    AppointmentRescheduled {
        appointment_id: Uuid,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    AppointmentCancelled {
        appointment_id: Uuid,
    },
}

impl DomainEvent for TrainerCalendarEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AvailabilitySet { .. } => "AvailabilitySet",
            Self::TimeOffAdded { .. } => "TimeOffAdded",
            Self::AppointmentBooked { .. } => "AppointmentBooked",
            Self::AppointmentRescheduled { .. } => "AppointmentRescheduled",
            Self::AppointmentCancelled { .. } => "AppointmentCancelled",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A weekly availability window in the trainer's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Window {
    #[schema(value_type = String, example = "mon")]
    pub weekday: Weekday,
    #[schema(value_type = String, example = "09:00:00")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "17:00:00")]
    pub end: NaiveTime,
}

/// How a trainer can be booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rules {
    /// IANA zone the windows are in.
    pub timezone: String,
    pub weekly: Vec<Window>,
    /// Length of one appointment.
    pub slot_minutes: u32,
    /// Free time kept after each appointment.
    pub buffer_minutes: u32,
    /// Earliest booking: this many minutes from now.
    pub min_notice_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimeOff {
    pub id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Appointment {
    pub id: Uuid,
    pub client_id: ClientId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}
