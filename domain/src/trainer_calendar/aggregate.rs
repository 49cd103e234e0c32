use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    slots, Appointment, Busy, Rules, TimeOff, TrainerCalendarCommand, TrainerCalendarError,
    TrainerCalendarEvent,
};
use crate::account::AccountId;
use crate::client::ClientId;
use crate::studio::StudioId;

/// One trainer's bookable calendar in one studio.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainerCalendar {
    rules: Option<Rules>,
    time_off: Vec<TimeOff>,
    /// Active appointments.
    appointments: Vec<Appointment>,
    /// Ids of cancelled appointments: a retried booking with such an id must not book
    /// again.
    retired: Vec<Uuid>,
}

impl TrainerCalendar {
    /// An active appointment.
    pub fn appointment(&self, id: Uuid) -> Option<&Appointment> {
        self.appointments.iter().find(|a| a.id == id)
    }

    /// Every active appointment.
    pub fn appointments(&self) -> &[Appointment] {
        &self.appointments
    }

    /// The stream id of `trainer`'s calendar in `studio`.
    pub fn id(studio: StudioId, trainer: AccountId) -> Uuid {
        Uuid::new_v5(&studio.0, trainer.0.as_bytes())
    }

    fn bookable(
        &self,
        starts_at: DateTime<Utc>,
        busy: &[Busy],
        now: DateTime<Utc>,
        except: Option<Uuid>,
    ) -> Result<DateTime<Utc>, TrainerCalendarError> {
        let rules = self
            .rules
            .as_ref()
            .ok_or(TrainerCalendarError::NoAvailability)?;
        let others: Vec<Appointment> = self
            .appointments
            .iter()
            .filter(|a| Some(a.id) != except)
            .copied()
            .collect();
        let slot = Duration::minutes(i64::from(rules.slot_minutes));
        let free = slots(
            rules,
            &self.time_off,
            busy,
            &others,
            starts_at,
            starts_at + slot,
            now,
        );
        match free.first() {
            Some((s, e)) if *s == starts_at => Ok(*e),
            _ => Err(TrainerCalendarError::SlotUnavailable),
        }
    }
}

fn validate(rules: &Rules) -> Result<(), TrainerCalendarError> {
    let invalid = |field, message: &str| TrainerCalendarError::Invalid {
        field,
        message: message.to_owned(),
    };
    if rules.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(invalid("timezone", "an IANA time zone"));
    }
    if !(5..=480).contains(&rules.slot_minutes) {
        return Err(invalid("slot_minutes", "between 5 and 480"));
    }
    if rules.buffer_minutes > 240 || rules.min_notice_minutes > 60 * 24 * 30 {
        return Err(invalid(
            "buffer_minutes",
            "buffer ≤ 240 minutes, notice ≤ 30 days",
        ));
    }
    if rules.weekly.len() > 50 || rules.weekly.iter().any(|w| w.start >= w.end) {
        return Err(invalid(
            "weekly",
            "at most 50 windows, each ending after it starts",
        ));
    }
    Ok(())
}

impl Aggregate for TrainerCalendar {
    const TYPE: &'static str = "trainer_calendar";
    type Command = TrainerCalendarCommand;
    type Event = TrainerCalendarEvent;
    type Error = TrainerCalendarError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _s: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            TrainerCalendarCommand::SetAvailability {
                studio_id,
                trainer_id,
                rules,
            } => {
                self.set_availability(studio_id, trainer_id, rules, sink)
                    .await
            }
            TrainerCalendarCommand::AddTimeOff { time_off } => {
                self.add_time_off(time_off, sink).await
            }
            TrainerCalendarCommand::Book {
                appointment_id,
                client_id,
                starts_at,
                busy,
                now,
            } => {
                self.book(appointment_id, client_id, starts_at, busy, now, sink)
                    .await
            }
            TrainerCalendarCommand::Reschedule {
                appointment_id,
                starts_at,
                busy,
                now,
            } => {
                self.reschedule(appointment_id, starts_at, busy, now, sink)
                    .await
            }
            TrainerCalendarCommand::Cancel { appointment_id } => {
                self.cancel(appointment_id, sink).await
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            TrainerCalendarEvent::AvailabilitySet { rules, .. } => self.rules = Some(rules),
            TrainerCalendarEvent::TimeOffAdded { time_off } => self.time_off.push(time_off),
            TrainerCalendarEvent::AppointmentBooked { appointment } => {
                self.appointments.push(appointment)
            }
            TrainerCalendarEvent::AppointmentRescheduled {
                appointment_id,
                starts_at,
                ends_at,
            } => {
                if let Some(a) = self
                    .appointments
                    .iter_mut()
                    .find(|a| a.id == appointment_id)
                {
                    a.starts_at = starts_at;
                    a.ends_at = ends_at;
                }
            }
            TrainerCalendarEvent::AppointmentCancelled { appointment_id } => {
                self.appointments.retain(|a| a.id != appointment_id);
                self.retired.push(appointment_id);
            }
        }
    }
}

/// One handler per command: each checks the rules against the current state and
/// writes the resulting events (none for a no-op retry).
impl TrainerCalendar {
    async fn set_availability(
        &mut self,
        studio_id: StudioId,
        trainer_id: AccountId,
        rules: Rules,
        sink: &EventSink<Self>,
    ) -> Result<(), TrainerCalendarError> {
        validate(&rules)?;
        if self.rules.as_ref() != Some(&rules) {
            sink.write(
                TrainerCalendarEvent::AvailabilitySet {
                    studio_id,
                    trainer_id,
                    rules,
                },
                self,
            )
            .await;
        }
        Ok(())
    }

    async fn add_time_off(
        &mut self,
        time_off: TimeOff,
        sink: &EventSink<Self>,
    ) -> Result<(), TrainerCalendarError> {
        // The calendar starts with its availability (which names the studio and
        // trainer the read model is keyed by); time off only shapes it.
        if self.rules.is_none() {
            return Err(TrainerCalendarError::NoAvailability);
        }
        if time_off.to <= time_off.from {
            return Err(TrainerCalendarError::Invalid {
                field: "to",
                message: "must be after `from`".into(),
            });
        }
        if !self.time_off.iter().any(|t| t.id == time_off.id) {
            sink.write(TrainerCalendarEvent::TimeOffAdded { time_off }, self)
                .await;
        }
        Ok(())
    }

    async fn book(
        &mut self,
        appointment_id: Uuid,
        client_id: ClientId,
        starts_at: DateTime<Utc>,
        busy: Vec<Busy>,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), TrainerCalendarError> {
        match self.appointment(appointment_id) {
            // A retried request: booked already.
            Some(a) if a.client_id == client_id && a.starts_at == starts_at => return Ok(()),
            Some(_) => return Err(TrainerCalendarError::AppointmentIdTaken),
            None if self.retired.contains(&appointment_id) => {
                return Err(TrainerCalendarError::AppointmentIdTaken)
            }
            None => {}
        }
        let ends_at = self.bookable(starts_at, &busy, now, None)?;
        let appointment = Appointment {
            id: appointment_id,
            client_id,
            starts_at,
            ends_at,
        };
        sink.write(
            TrainerCalendarEvent::AppointmentBooked { appointment },
            self,
        )
        .await;
        Ok(())
    }

    async fn reschedule(
        &mut self,
        appointment_id: Uuid,
        starts_at: DateTime<Utc>,
        busy: Vec<Busy>,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), TrainerCalendarError> {
        let Some(current) = self.appointment(appointment_id) else {
            return Err(TrainerCalendarError::AppointmentNotFound);
        };
        if current.starts_at == starts_at {
            return Ok(());
        }
        let ends_at = self.bookable(starts_at, &busy, now, Some(appointment_id))?;
        sink.write(
            TrainerCalendarEvent::AppointmentRescheduled {
                appointment_id,
                starts_at,
                ends_at,
            },
            self,
        )
        .await;
        Ok(())
    }

    async fn cancel(
        &mut self,
        appointment_id: Uuid,
        sink: &EventSink<Self>,
    ) -> Result<(), TrainerCalendarError> {
        if !self.appointments.iter().any(|a| a.id == appointment_id) {
            return Err(TrainerCalendarError::AppointmentNotFound);
        }
        sink.write(
            TrainerCalendarEvent::AppointmentCancelled { appointment_id },
            self,
        )
        .await;
        Ok(())
    }
}
