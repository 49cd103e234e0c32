use anyhow::Context as _;
use async_trait::async_trait;
use domain::trainer_calendar::view::TrainerCalendarView;
use domain::trainer_calendar::{Appointment, TrainerCalendarEvent};
use infra::jobs::NotificationJob;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::document::{Hook, Pending, Step};
use crate::notify::{Reminded, Reminder};

/// `trainer_calendar_view`'s extras.
///
/// - `trainer_id`: the one view column that cannot be generated from `doc`. The
///   document does not name its trainer (and its JSON stays as it is), and the row id is
///   a v5 hash of studio and trainer, so the trainer comes from the stream's first
///   event, `AvailabilitySet`.
/// - The client hears of an appointment booked, moved or cancelled, and is reminded of
///   it at the studio's reminder times (a move reminds of the new time only).
pub(crate) struct TrainerColumn;

#[async_trait]
impl Hook<TrainerCalendarView> for TrainerColumn {
    async fn after(
        &self,
        conn: &mut PgConnection,
        step: &Step<'_, TrainerCalendarView>,
        _pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        if !step.live() {
            return Ok(Vec::new());
        }
        let find = |view: Option<&TrainerCalendarView>, id: Uuid| -> Option<Appointment> {
            view.and_then(|v| v.appointments.iter().find(|a| a.id == id).copied())
        };
        let (template, appointment) = match &step.event {
            TrainerCalendarEvent::AppointmentBooked { appointment } => {
                ("appointment_booked", Some(*appointment))
            }
            TrainerCalendarEvent::AppointmentRescheduled { appointment_id, .. } => (
                "appointment_rescheduled",
                find(Some(&step.next), *appointment_id),
            ),
            TrainerCalendarEvent::AppointmentCancelled { appointment_id } => (
                "appointment_cancelled",
                find(step.previous.as_ref(), *appointment_id),
            ),
            TrainerCalendarEvent::AvailabilitySet { .. }
            | TrainerCalendarEvent::TimeOffAdded { .. } => return Ok(Vec::new()),
        };
        let Some(appointment) = appointment else {
            return Ok(Vec::new());
        };
        if template != "appointment_booked" {
            crate::notify::cancel_reminders(conn, Reminded::Booking(appointment.id)).await?;
        }
        let data = serde_json::json!({
            "appointment_id": appointment.id,
            "starts_at": appointment.starts_at.to_rfc3339(),
            "ends_at": appointment.ends_at.to_rfc3339(),
            "minutes": (appointment.ends_at - appointment.starts_at).num_minutes(),
        });
        let (mut jobs, studio) = crate::notify::client_jobs(
            conn,
            step.envelope,
            template,
            &[appointment.client_id],
            data,
        )
        .await?;
        if let (false, Some(studio)) = (template == "appointment_cancelled", &studio) {
            let reminder = Reminder {
                template: domain::account::APPOINTMENT_REMINDER,
                booking: appointment.id,
                parent: step.id,
                starts_at: appointment.starts_at,
            };
            crate::notify::schedule_reminders(
                conn,
                step.envelope,
                &reminder,
                &studio.settings.reminder_minutes,
                &jobs,
            )
            .await?;
        }
        // The trainer hears of it too (also when someone else booked it).
        let trainer: Option<Uuid> =
            sqlx::query_scalar("SELECT trainer_id FROM trainer_calendar_view WHERE id = $1")
                .bind(step.id)
                .fetch_optional(&mut *conn)
                .await
                .context("looking up the calendar's trainer")?;
        if let Some(trainer) = trainer {
            let activity = crate::notify::StaffActivity {
                staff: trainer,
                client: appointment.client_id,
                activity: match template {
                    "appointment_booked" => "booked an appointment",
                    "appointment_rescheduled" => "has an appointment moved",
                    _ => "has an appointment cancelled",
                },
                title: "Appointment",
                starts_at: appointment.starts_at,
            };
            jobs.extend(crate::notify::staff_jobs(conn, step.envelope, &activity).await?);
        }
        Ok(jobs)
    }

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
