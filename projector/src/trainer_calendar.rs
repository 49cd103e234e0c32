use domain::trainer_calendar::view::TrainerCalendarView;
use domain::trainer_calendar::TrainerCalendarEvent;
use uuid::Uuid;

use crate::document::{Hook, Step};

/// `trainer_calendar_view.trainer_id`: the one view column that cannot be generated from
/// `doc`. The document does not name its trainer (and its JSON stays as it is), and the
/// row id is a v5 hash of studio and trainer, so the trainer comes from the stream's
/// first event, `AvailabilitySet`.
pub(crate) struct TrainerColumn;

impl Hook<TrainerCalendarView> for TrainerColumn {
    fn created_with(
        &self,
        step: &Step<'_, TrainerCalendarView>,
    ) -> anyhow::Result<Vec<(&'static str, Uuid)>> {
        match &step.event {
            TrainerCalendarEvent::AvailabilitySet { trainer_id, .. } => {
                Ok(vec![("trainer_id", trainer_id.0)])
            }
            TrainerCalendarEvent::TimeOffAdded { .. }
            | TrainerCalendarEvent::AppointmentBooked { .. }
            | TrainerCalendarEvent::AppointmentRescheduled { .. }
            | TrainerCalendarEvent::AppointmentCancelled { .. } => {
                anyhow::bail!("calendar {} does not start with AvailabilitySet", step.id)
            }
        }
    }
}
