//! The trainer calendar read model as a pure function of the calendar's events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Appointment, Rules, TimeOff, TrainerCalendar, TrainerCalendarEvent};
use crate::view::View;

/// The trainer calendar read model: rules, time off and active appointments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrainerCalendarView {
    pub rules: Option<Rules>,
    pub time_off: Vec<TimeOff>,
    pub appointments: Vec<Appointment>,
    pub version: u64,
}

pub fn apply(
    mut view: TrainerCalendarView,
    event: &TrainerCalendarEvent,
    sequence: u64,
) -> TrainerCalendarView {
    match event {
        TrainerCalendarEvent::AvailabilitySet { rules, .. } => view.rules = Some(rules.clone()),
        TrainerCalendarEvent::TimeOffAdded { time_off } => view.time_off.push(*time_off),
        TrainerCalendarEvent::AppointmentBooked { appointment } => {
            view.appointments.push(*appointment)
        }
        TrainerCalendarEvent::AppointmentRescheduled {
            appointment_id,
            starts_at,
            ends_at,
        } => {
            if let Some(a) = view
                .appointments
                .iter_mut()
                .find(|a| a.id == *appointment_id)
            {
                a.starts_at = *starts_at;
                a.ends_at = *ends_at;
            }
        }
        TrainerCalendarEvent::AppointmentCancelled { appointment_id } => {
            view.appointments.retain(|a| a.id != *appointment_id)
        }
    }
    view.version = sequence;
    view
}

impl View for TrainerCalendarView {
    type Aggregate = TrainerCalendar;
    type Event = TrainerCalendarEvent;
    const TABLE: &'static str = "trainer_calendar_view";

    /// A calendar starts with `AvailabilitySet`; the document has no timestamps (`at` is
    /// not used).
    fn apply(
        current: Option<Self>,
        event: &TrainerCalendarEvent,
        sequence: u64,
        _at: DateTime<Utc>,
    ) -> Option<Self> {
        match (current, event) {
            (Some(view), event) => Some(apply(view, event, sequence)),
            (None, TrainerCalendarEvent::AvailabilitySet { .. }) => {
                Some(apply(TrainerCalendarView::default(), event, sequence))
            }
            (None, _) => None,
        }
    }

    fn version(&self) -> u64 {
        self.version
    }
}
