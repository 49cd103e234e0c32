//! 1:1 appointments. Each trainer's calendar in a studio is one aggregate: availability,
//! time off and booked appointments live in one stream, so two requests for the same
//! slot can never both win. Slots come from one pure function ([`slots`]) used both to
//! validate a booking and to answer "which slots are free".

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::AccountId;
use crate::client::ClientId;
use crate::studio::StudioId;

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

/// Time the trainer is busy elsewhere (a class they teach): no slot overlaps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
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

/// Free slots in `[from, to)` given `rules`, time off, other commitments (`busy`) and
/// booked appointments (each blocking its buffer too), not earlier than the minimum
/// notice. At most 2000.
pub fn slots(
    rules: &Rules,
    time_off: &[TimeOff],
    busy: &[Busy],
    booked: &[Appointment],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let Ok(tz) = rules.timezone.parse::<chrono_tz::Tz>() else {
        return Vec::new();
    };
    let slot = Duration::minutes(i64::from(rules.slot_minutes.max(5)));
    let buffer = Duration::minutes(i64::from(rules.buffer_minutes));
    let earliest = now + Duration::minutes(i64::from(rules.min_notice_minutes));
    let mut out = Vec::new();
    let mut date = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = to.with_timezone(&tz).date_naive();
    while date <= last && out.len() < 2000 {
        for w in rules.weekly.iter().filter(|w| w.weekday == date.weekday()) {
            let (Some(mut start), Some(end)) = (
                tz.from_local_datetime(&date.and_time(w.start)).earliest(),
                tz.from_local_datetime(&date.and_time(w.end)).earliest(),
            ) else {
                continue;
            };
            while start + slot <= end && out.len() < 2000 {
                let s = start.with_timezone(&Utc);
                let e = s + slot;
                let free = s >= from
                    && e <= to
                    && s >= earliest
                    && !time_off.iter().any(|t| s < t.to && e > t.from)
                    && !busy
                        .iter()
                        .any(|b| s < b.to + buffer && e + buffer > b.from)
                    && !booked
                        .iter()
                        .any(|a| s < a.ends_at + buffer && e + buffer > a.starts_at);
                if free {
                    out.push((s, e));
                }
                start += slot + buffer;
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    out.sort();
    out
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrainerCommand {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TrainerEvent {
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

impl DomainEvent for TrainerEvent {
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainerError {
    #[error("this trainer has not published availability")]
    NoAvailability,
    #[error("this slot is not available")]
    SlotUnavailable,
    #[error("appointment not found")]
    AppointmentNotFound,
    #[error("this appointment id is already used by another appointment")]
    AppointmentIdTaken,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl TrainerError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoAvailability => "no_availability",
            Self::SlotUnavailable => "slot_unavailable",
            Self::AppointmentNotFound => "appointment_not_found",
            Self::AppointmentIdTaken => "appointment_id_taken",
            Self::Invalid { .. } => "validation_failed",
        }
    }
}

/// One trainer's bookable calendar in one studio.
#[derive(Debug, Default, Serialize, Deserialize)]
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
    ) -> Result<DateTime<Utc>, TrainerError> {
        let rules = self.rules.as_ref().ok_or(TrainerError::NoAvailability)?;
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
            _ => Err(TrainerError::SlotUnavailable),
        }
    }
}

fn validate(rules: &Rules) -> Result<(), TrainerError> {
    let invalid = |field, message: &str| TrainerError::Invalid {
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
    type Command = TrainerCommand;
    type Event = TrainerEvent;
    type Error = TrainerError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _s: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            TrainerCommand::SetAvailability {
                studio_id,
                trainer_id,
                rules,
            } => {
                validate(&rules)?;
                if self.rules.as_ref() != Some(&rules) {
                    sink.write(
                        TrainerEvent::AvailabilitySet {
                            studio_id,
                            trainer_id,
                            rules,
                        },
                        self,
                    )
                    .await;
                }
            }
            TrainerCommand::AddTimeOff { time_off } => {
                // The calendar starts with its availability (which names the studio and
                // trainer the read model is keyed by); time off only shapes it.
                if self.rules.is_none() {
                    return Err(TrainerError::NoAvailability);
                }
                if time_off.to <= time_off.from {
                    return Err(TrainerError::Invalid {
                        field: "to",
                        message: "must be after `from`".into(),
                    });
                }
                if !self.time_off.iter().any(|t| t.id == time_off.id) {
                    sink.write(TrainerEvent::TimeOffAdded { time_off }, self)
                        .await;
                }
            }
            TrainerCommand::Book {
                appointment_id,
                client_id,
                starts_at,
                busy,
                now,
            } => {
                match self.appointment(appointment_id) {
                    // A retried request: booked already.
                    Some(a) if a.client_id == client_id && a.starts_at == starts_at => {
                        return Ok(())
                    }
                    Some(_) => return Err(TrainerError::AppointmentIdTaken),
                    None if self.retired.contains(&appointment_id) => {
                        return Err(TrainerError::AppointmentIdTaken)
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
                sink.write(TrainerEvent::AppointmentBooked { appointment }, self)
                    .await;
            }
            TrainerCommand::Reschedule {
                appointment_id,
                starts_at,
                busy,
                now,
            } => {
                let Some(current) = self.appointment(appointment_id) else {
                    return Err(TrainerError::AppointmentNotFound);
                };
                if current.starts_at == starts_at {
                    return Ok(());
                }
                let ends_at = self.bookable(starts_at, &busy, now, Some(appointment_id))?;
                sink.write(
                    TrainerEvent::AppointmentRescheduled {
                        appointment_id,
                        starts_at,
                        ends_at,
                    },
                    self,
                )
                .await;
            }
            TrainerCommand::Cancel { appointment_id } => {
                if !self.appointments.iter().any(|a| a.id == appointment_id) {
                    return Err(TrainerError::AppointmentNotFound);
                }
                sink.write(TrainerEvent::AppointmentCancelled { appointment_id }, self)
                    .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            TrainerEvent::AvailabilitySet { rules, .. } => self.rules = Some(rules),
            TrainerEvent::TimeOffAdded { time_off } => self.time_off.push(time_off),
            TrainerEvent::AppointmentBooked { appointment } => self.appointments.push(appointment),
            TrainerEvent::AppointmentRescheduled {
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
            TrainerEvent::AppointmentCancelled { appointment_id } => {
                self.appointments.retain(|a| a.id != appointment_id);
                self.retired.push(appointment_id);
            }
        }
    }
}

/// The trainer calendar read model: rules, time off and active appointments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrainerCalendarView {
    pub rules: Option<Rules>,
    pub time_off: Vec<TimeOff>,
    pub appointments: Vec<Appointment>,
    pub version: u64,
}

pub fn apply_view(
    mut view: TrainerCalendarView,
    event: &TrainerEvent,
    sequence: u64,
) -> TrainerCalendarView {
    match event {
        TrainerEvent::AvailabilitySet { rules, .. } => view.rules = Some(rules.clone()),
        TrainerEvent::TimeOffAdded { time_off } => view.time_off.push(*time_off),
        TrainerEvent::AppointmentBooked { appointment } => view.appointments.push(*appointment),
        TrainerEvent::AppointmentRescheduled {
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
        TrainerEvent::AppointmentCancelled { appointment_id } => {
            view.appointments.retain(|a| a.id != *appointment_id)
        }
    }
    view.version = sequence;
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }
    fn rules() -> Rules {
        Rules {
            timezone: "Europe/Berlin".into(),
            weekly: vec![Window {
                weekday: Weekday::Mon,
                start: NaiveTime::from_hms_opt(9, 0, 0).expect("t"),
                end: NaiveTime::from_hms_opt(12, 0, 0).expect("t"),
            }],
            slot_minutes: 50,
            buffer_minutes: 10,
            min_notice_minutes: 120,
        }
    }
    fn set() -> TrainerEvent {
        TrainerEvent::AvailabilitySet {
            studio_id: StudioId(Uuid::nil()),
            trainer_id: AccountId(Uuid::nil()),
            rules: rules(),
        }
    }
    const NOW: &str = "2026-11-30T00:00:00Z"; // a Sunday

    #[test]
    fn slots_follow_windows_buffers_notice_and_time_off() {
        // Monday 2026-11-30, 09:00-12:00 Berlin = 08:00-11:00Z; 50 min + 10 min buffer.
        let all = slots(
            &rules(),
            &[],
            &[],
            &[],
            at("2026-11-30T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            at(NOW),
        );
        let starts: Vec<String> = all
            .iter()
            .map(|(s, _)| s.format("%H:%M").to_string())
            .collect();
        assert_eq!(starts, ["08:00", "09:00", "10:00"]);
        let booked = [Appointment {
            id: Uuid::nil(),
            client_id: ClientId(Uuid::nil()),
            starts_at: at("2026-11-30T09:00:00Z"),
            ends_at: at("2026-11-30T09:50:00Z"),
        }];
        assert_eq!(
            slots(
                &rules(),
                &[],
                &[],
                &booked,
                at(NOW),
                at("2026-12-01T00:00:00Z"),
                at(NOW)
            )
            .len(),
            2
        );
        let off = [TimeOff {
            id: Uuid::nil(),
            from: at("2026-11-30T07:00:00Z"),
            to: at("2026-11-30T09:30:00Z"),
        }];
        assert_eq!(
            slots(
                &rules(),
                &off,
                &[],
                &[],
                at(NOW),
                at("2026-12-01T00:00:00Z"),
                at(NOW)
            )
            .len(),
            1
        );
        // Minimum notice: at 07:00Z only 10:00Z is 2 hours away or more... and 09:00Z.
        assert_eq!(
            slots(
                &rules(),
                &[],
                &[],
                &[],
                at(NOW),
                at("2026-12-01T00:00:00Z"),
                at("2026-11-30T07:00:00Z")
            )
            .len(),
            2
        );
    }

    #[tokio::test]
    async fn a_slot_is_booked_once() {
        let book = |id: u128| TrainerCommand::Book {
            appointment_id: Uuid::from_u128(id),
            client_id: ClientId(Uuid::from_u128(id)),
            starts_at: at("2026-11-30T08:00:00Z"),
            busy: vec![],
            now: at(NOW),
        };
        let booked = TrainerEvent::AppointmentBooked {
            appointment: Appointment {
                id: Uuid::from_u128(1),
                client_id: ClientId(Uuid::from_u128(1)),
                starts_at: at("2026-11-30T08:00:00Z"),
                ends_at: at("2026-11-30T08:50:00Z"),
            },
        };
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![set()])
            .when_async(book(1))
            .await
            .then_expect_events(vec![booked.clone()]);
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![set(), booked])
            .when_async(book(2))
            .await
            .then_expect_error(TrainerError::SlotUnavailable);
        TestFramework::<TrainerCalendar>::with(())
            .given_no_previous_events()
            .when_async(book(2))
            .await
            .then_expect_error(TrainerError::NoAvailability);
    }

    #[tokio::test]
    async fn off_grid_times_and_cancel_of_unknown_appointments_are_refused() {
        let odd = TrainerCommand::Book {
            appointment_id: Uuid::from_u128(1),
            client_id: ClientId(Uuid::nil()),
            starts_at: at("2026-11-30T08:15:00Z"),
            busy: vec![],
            now: at(NOW),
        };
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![set()])
            .when_async(odd)
            .await
            .then_expect_error(TrainerError::SlotUnavailable);
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![set()])
            .when_async(TrainerCommand::Cancel {
                appointment_id: Uuid::nil(),
            })
            .await
            .then_expect_error(TrainerError::AppointmentNotFound);
    }

    #[tokio::test]
    async fn a_retried_booking_is_a_no_op_and_a_cancelled_id_is_not_reused() {
        let appointment = Appointment {
            id: Uuid::from_u128(1),
            client_id: ClientId(Uuid::from_u128(1)),
            starts_at: at("2026-11-30T08:00:00Z"),
            ends_at: at("2026-11-30T08:50:00Z"),
        };
        let book = |client: u128| TrainerCommand::Book {
            appointment_id: Uuid::from_u128(1),
            client_id: ClientId(Uuid::from_u128(client)),
            starts_at: at("2026-11-30T08:00:00Z"),
            busy: vec![],
            now: at(NOW),
        };
        let booked = TrainerEvent::AppointmentBooked { appointment };
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![set(), booked.clone()])
            .when_async(book(1))
            .await
            .then_expect_events(vec![]);
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![set(), booked.clone()])
            .when_async(book(2))
            .await
            .then_expect_error(TrainerError::AppointmentIdTaken);
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![
                set(),
                booked,
                TrainerEvent::AppointmentCancelled {
                    appointment_id: Uuid::from_u128(1),
                },
            ])
            .when_async(book(1))
            .await
            .then_expect_error(TrainerError::AppointmentIdTaken);
    }

    #[tokio::test]
    async fn a_class_the_trainer_teaches_blocks_slots_with_its_buffer() {
        // A class 08:30-09:00Z: the 08:00 slot (ends 08:50) overlaps it; 09:00 starts
        // before the class's 10-minute buffer ends; 10:00 is free.
        let busy = vec![Busy {
            from: at("2026-11-30T08:30:00Z"),
            to: at("2026-11-30T09:00:00Z"),
        }];
        let free = slots(
            &rules(),
            &[],
            &busy,
            &[],
            at(NOW),
            at("2026-12-01T00:00:00Z"),
            at(NOW),
        );
        let starts: Vec<String> = free
            .iter()
            .map(|(s, _)| s.format("%H:%M").to_string())
            .collect();
        assert_eq!(starts, ["10:00"]);
        TestFramework::<TrainerCalendar>::with(())
            .given(vec![set()])
            .when_async(TrainerCommand::Book {
                appointment_id: Uuid::from_u128(1),
                client_id: ClientId(Uuid::nil()),
                starts_at: at("2026-11-30T08:00:00Z"),
                busy,
                now: at(NOW),
            })
            .await
            .then_expect_error(TrainerError::SlotUnavailable);
    }

    #[tokio::test]
    async fn rescheduling_moves_to_a_free_slot_only_and_time_off_needs_availability() {
        let booked = |id: u128, start: &str, end: &str| TrainerEvent::AppointmentBooked {
            appointment: Appointment {
                id: Uuid::from_u128(id),
                client_id: ClientId(Uuid::from_u128(id)),
                starts_at: at(start),
                ends_at: at(end),
            },
        };
        let given = || {
            vec![
                set(),
                booked(1, "2026-11-30T08:00:00Z", "2026-11-30T08:50:00Z"),
                booked(2, "2026-11-30T09:00:00Z", "2026-11-30T09:50:00Z"),
            ]
        };
        let move_to = |start: &str| TrainerCommand::Reschedule {
            appointment_id: Uuid::from_u128(1),
            starts_at: at(start),
            busy: vec![],
            now: at(NOW),
        };
        TestFramework::<TrainerCalendar>::with(())
            .given(given())
            .when_async(move_to("2026-11-30T10:00:00Z"))
            .await
            .then_expect_events(vec![TrainerEvent::AppointmentRescheduled {
                appointment_id: Uuid::from_u128(1),
                starts_at: at("2026-11-30T10:00:00Z"),
                ends_at: at("2026-11-30T10:50:00Z"),
            }]);
        TestFramework::<TrainerCalendar>::with(())
            .given(given())
            .when_async(move_to("2026-11-30T09:00:00Z"))
            .await
            .then_expect_error(TrainerError::SlotUnavailable);
        TestFramework::<TrainerCalendar>::with(())
            .given_no_previous_events()
            .when_async(TrainerCommand::AddTimeOff {
                time_off: TimeOff {
                    id: Uuid::nil(),
                    from: at("2026-11-30T08:00:00Z"),
                    to: at("2026-11-30T09:00:00Z"),
                },
            })
            .await
            .then_expect_error(TrainerError::NoAvailability);
        let mut bad = rules();
        bad.slot_minutes = 2;
        let r = TestFramework::<TrainerCalendar>::with(())
            .given_no_previous_events()
            .when_async(TrainerCommand::SetAvailability {
                studio_id: StudioId(Uuid::nil()),
                trainer_id: AccountId(Uuid::nil()),
                rules: bad,
            })
            .await
            .inspect_result();
        assert!(
            matches!(
                r,
                Err(TrainerError::Invalid {
                    field: "slot_minutes",
                    ..
                })
            ),
            "{r:?}"
        );
    }
}
