//! One handler per command: each checks the rules against the current state and
//! writes the resulting events (none for a no-op retry).

use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use uuid::Uuid;

use super::{Booking, BookingStatus, Class, ClassStatus, MAX_CAPACITY, MAX_DURATION_MINUTES};
use crate::account::AccountId;
use crate::class::{BookingId, ClassError, ClassEvent, ClassId};
use crate::client::ClientId;
use crate::scheduling::BookingPolicy;
use crate::studio::{LocationId, StudioId};

impl Class {
    // One parameter per field of `ClassCommand::Schedule`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn schedule(
        &mut self,
        class_id: ClassId,
        studio_id: StudioId,
        title: String,
        class_type_id: Option<Uuid>,
        starts_at: DateTime<Utc>,
        duration_minutes: u32,
        capacity: u32,
        location_id: Option<LocationId>,
        instructor_id: Option<AccountId>,
        schedule_id: Option<Uuid>,
        policy: BookingPolicy,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        if self.id.is_some() {
            // A retried series request re-sends the same occurrence (its id
            // derives from the series id and the instant): nothing to do.
            let retry = schedule_id.is_some()
                && self.id == Some(class_id)
                && self.starts_at == Some(starts_at);
            return if retry {
                Ok(())
            } else {
                Err(ClassError::AlreadyExists)
            };
        }
        if !(1..=MAX_CAPACITY).contains(&capacity) {
            return Err(ClassError::Invalid {
                field: "capacity",
                message: format!("must be between 1 and {MAX_CAPACITY}"),
            });
        }
        if !(5..=MAX_DURATION_MINUTES).contains(&duration_minutes) {
            return Err(ClassError::Invalid {
                field: "duration_minutes",
                message: format!("must be between 5 and {MAX_DURATION_MINUTES}"),
            });
        }
        policy
            .validate()
            .map_err(|(field, message)| ClassError::Invalid { field, message })?;
        let event = ClassEvent::ClassScheduled {
            class_id,
            studio_id,
            title,
            class_type_id,
            starts_at,
            ends_at: starts_at + Duration::minutes(i64::from(duration_minutes)),
            capacity,
            location_id,
            instructor_id,
            schedule_id,
            policy,
        };
        sink.write(event, self).await;
        Ok(())
    }

    pub(super) async fn book(
        &mut self,
        booking_id: BookingId,
        client_id: ClientId,
        now: DateTime<Utc>,
        blocked_until: Option<DateTime<Utc>>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        self.require_open()?;
        if self
            .bookings
            .iter()
            .any(|b| b.id == booking_id && b.client == client_id)
        {
            return Ok(()); // retried request
        }
        let policy = self.policy();
        let start = self.start();
        if now >= start {
            return Err(ClassError::ClassOver);
        }
        let opens = start - Duration::hours(i64::from(policy.opens_hours_before));
        if now < opens {
            return Err(ClassError::BookingNotOpen(opens));
        }
        if now >= start - Duration::minutes(i64::from(policy.closes_minutes_before)) {
            return Err(ClassError::BookingClosed);
        }
        if let Some(until) = blocked_until.filter(|u| *u > now) {
            return Err(ClassError::BookingBlocked(until));
        }
        let active = self.bookings.iter().any(|b| {
            b.client == client_id
                && matches!(
                    b.status,
                    BookingStatus::Booked | BookingStatus::Waitlisted | BookingStatus::CheckedIn
                )
        });
        if active {
            return Err(ClassError::AlreadyBooked);
        }
        if self.booked() < self.capacity && self.waitlist.is_empty() {
            sink.write(
                ClassEvent::SpotBooked {
                    booking_id,
                    client_id,
                },
                self,
            )
            .await;
        } else {
            let position = self.waitlist.len() as u32 + 1;
            let event = ClassEvent::Waitlisted {
                booking_id,
                client_id,
                position,
            };
            sink.write(event, self).await;
        }
        Ok(())
    }

    pub(super) async fn cancel_booking(
        &mut self,
        booking_id: BookingId,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        self.require_open()?;
        let booking = self.booking(booking_id)?.clone();
        match booking.status {
            BookingStatus::Waitlisted => {
                // Leaving the waitlist is always free.
                let event = ClassEvent::WaitlistLeft {
                    booking_id,
                    client_id: booking.client,
                };
                sink.write(event, self).await;
            }
            BookingStatus::Booked => {
                let policy = self.policy();
                let late = now
                    > self.start() - Duration::hours(i64::from(policy.free_cancel_hours_before));
                let event = ClassEvent::BookingCancelled {
                    booking_id,
                    client_id: booking.client,
                    late,
                    strike: late && policy.late_cancel_strike,
                };
                sink.write(event, self).await;
                self.promote(now, sink).await;
            }
            BookingStatus::Cancelled
            | BookingStatus::LateCancelled
            | BookingStatus::LeftWaitlist
            | BookingStatus::ClassCancelled => {} // already done: idempotent
            BookingStatus::CheckedIn | BookingStatus::NoShow => {
                return Err(ClassError::BookingNotActive)
            }
        }
        Ok(())
    }

    pub(super) async fn check_in(
        &mut self,
        booking_id: BookingId,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        self.check_in_open(now)?;
        let booking = self.booking(booking_id)?.clone();
        match booking.status {
            BookingStatus::CheckedIn => {}
            BookingStatus::Booked => {
                let event = ClassEvent::CheckedIn {
                    booking_id,
                    client_id: booking.client,
                };
                sink.write(event, self).await;
            }
            BookingStatus::Waitlisted
            | BookingStatus::Cancelled
            | BookingStatus::LateCancelled
            | BookingStatus::LeftWaitlist
            | BookingStatus::NoShow
            | BookingStatus::ClassCancelled => return Err(ClassError::BookingNotActive),
        }
        Ok(())
    }

    pub(super) async fn change_capacity(
        &mut self,
        capacity: u32,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        self.require_open()?;
        if !(1..=MAX_CAPACITY).contains(&capacity) {
            return Err(ClassError::Invalid {
                field: "capacity",
                message: format!("must be between 1 and {MAX_CAPACITY}"),
            });
        }
        if capacity != self.capacity {
            // Lowering capacity never removes booked clients; it only stops new
            // bookings until enough spots free up.
            sink.write(ClassEvent::CapacityChanged { capacity }, self)
                .await;
            self.promote(now, sink).await;
        }
        Ok(())
    }

    pub(super) async fn substitute_instructor(
        &mut self,
        instructor_id: Option<AccountId>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        self.require_open()?;
        sink.write(ClassEvent::InstructorSubstituted { instructor_id }, self)
            .await;
        Ok(())
    }

    pub(super) async fn cancel_class(
        &mut self,
        reason: String,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        match self.status {
            None => return Err(ClassError::NotFound),
            Some(ClassStatus::Cancelled) => return Ok(()),
            Some(ClassStatus::Closed) => return Err(ClassError::ClassOver),
            Some(ClassStatus::Scheduled) => {}
        }
        let affected = self
            .bookings
            .iter()
            .filter(|b| {
                matches!(
                    b.status,
                    BookingStatus::Booked | BookingStatus::Waitlisted | BookingStatus::CheckedIn
                )
            })
            .map(|b| b.client)
            .collect();
        sink.write(ClassEvent::ClassCancelled { reason, affected }, self)
            .await;
        Ok(())
    }

    pub(super) async fn close(
        &mut self,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClassError> {
        match self.status {
            None => return Err(ClassError::NotFound),
            Some(ClassStatus::Cancelled | ClassStatus::Closed) => return Ok(()),
            Some(ClassStatus::Scheduled) => {}
        }
        if now < self.ends_at.unwrap_or_default() {
            return Ok(()); // not over yet: nothing to settle
        }
        let strike = self.policy().no_show_strike;
        let no_shows: Vec<Booking> = self
            .bookings
            .iter()
            .filter(|b| b.status == BookingStatus::Booked)
            .cloned()
            .collect();
        for b in no_shows {
            let event = ClassEvent::NoShowRecorded {
                booking_id: b.id,
                client_id: b.client,
                strike,
            };
            sink.write(event, self).await;
        }
        sink.write(ClassEvent::ClassClosed, self).await;
        Ok(())
    }
}
