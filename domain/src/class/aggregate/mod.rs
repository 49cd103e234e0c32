//! The class aggregate: one class occurrence with its bookings and waitlist. The
//! command handlers live in `handlers`, one per command.

mod handlers;

use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{BookingId, ClassCommand, ClassError, ClassEvent, ClassId};
use crate::client::ClientId;
use crate::scheduling::BookingPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClassStatus {
    Scheduled,
    Cancelled,
    /// Ended and attendance settled (no-shows recorded).
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    Waitlisted,
    Cancelled,
    LateCancelled,
    LeftWaitlist,
    CheckedIn,
    NoShow,
    /// The class itself was cancelled.
    ClassCancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Booking {
    id: BookingId,
    client: ClientId,
    status: BookingStatus,
}

/// Check-in opens this many minutes before the start.
pub const CHECK_IN_OPENS_MINUTES: i64 = 60;

/// Largest class capacity.
pub const MAX_CAPACITY: u32 = 500;
/// Longest class.
pub const MAX_DURATION_MINUTES: u32 = 24 * 60;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Class {
    id: Option<ClassId>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    capacity: u32,
    policy: Option<BookingPolicy>,
    status: Option<ClassStatus>,
    bookings: Vec<Booking>,
    /// Waitlisted booking ids in order.
    waitlist: Vec<BookingId>,
}

impl Class {
    fn booked(&self) -> u32 {
        self.bookings
            .iter()
            .filter(|b| matches!(b.status, BookingStatus::Booked | BookingStatus::CheckedIn))
            .count() as u32
    }

    fn policy(&self) -> BookingPolicy {
        self.policy.unwrap_or_default()
    }

    fn start(&self) -> DateTime<Utc> {
        self.starts_at.unwrap_or_default()
    }

    fn require_open(&self) -> Result<(), ClassError> {
        match self.status {
            None => Err(ClassError::NotFound),
            Some(ClassStatus::Cancelled) => Err(ClassError::ClassCancelled),
            Some(ClassStatus::Closed) => Err(ClassError::ClassOver),
            Some(ClassStatus::Scheduled) => Ok(()),
        }
    }

    /// When the class runs, once scheduled.
    pub fn times(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.starts_at.zip(self.ends_at)
    }

    /// The client holding booking `id` of this class.
    pub fn booking_client(&self, id: BookingId) -> Option<ClientId> {
        self.booking(id).ok().map(|b| b.client)
    }

    /// Clients can be checked in at `now`: the class is neither cancelled nor closed and
    /// starts within [`CHECK_IN_OPENS_MINUTES`] (late arrivals until it is closed).
    pub fn check_in_open(&self, now: DateTime<Utc>) -> Result<(), ClassError> {
        self.require_open()?;
        if now < self.start() - Duration::minutes(CHECK_IN_OPENS_MINUTES) {
            return Err(ClassError::CheckInNotOpen);
        }
        Ok(())
    }

    fn booking(&self, id: BookingId) -> Result<&Booking, ClassError> {
        self.bookings
            .iter()
            .find(|b| b.id == id)
            .ok_or(ClassError::BookingNotFound)
    }

    /// Promote from the waitlist into free spots, while promotion is still allowed.
    async fn promote(&mut self, now: DateTime<Utc>, sink: &EventSink<Self>) {
        let cutoff =
            self.start() - Duration::minutes(i64::from(self.policy().promotion_cutoff_minutes));
        while now < cutoff && self.booked() < self.capacity {
            let Some(next) = self.waitlist.first().copied() else {
                break;
            };
            let Ok(client) = self.booking(next).map(|b| b.client) else {
                break;
            };
            sink.write(
                ClassEvent::WaitlistPromoted {
                    booking_id: next,
                    client_id: client,
                },
                self,
            )
            .await;
        }
    }

    fn set_status(&mut self, id: BookingId, status: BookingStatus) {
        if let Some(b) = self.bookings.iter_mut().find(|b| b.id == id) {
            b.status = status;
        }
        if status != BookingStatus::Waitlisted {
            self.waitlist.retain(|w| *w != id);
        }
    }
}

impl Aggregate for Class {
    const TYPE: &'static str = "class";
    type Command = ClassCommand;
    type Event = ClassEvent;
    type Error = ClassError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            ClassCommand::Schedule {
                class_id,
                studio_id,
                title,
                class_type_id,
                starts_at,
                duration_minutes,
                capacity,
                location_id,
                instructor_id,
                schedule_id,
                policy,
            } => {
                self.schedule(
                    class_id,
                    studio_id,
                    title,
                    class_type_id,
                    starts_at,
                    duration_minutes,
                    capacity,
                    location_id,
                    instructor_id,
                    schedule_id,
                    policy,
                    sink,
                )
                .await
            }
            ClassCommand::Book {
                booking_id,
                client_id,
                now,
                blocked_until,
            } => {
                self.book(booking_id, client_id, now, blocked_until, sink)
                    .await
            }
            ClassCommand::CancelBooking { booking_id, now } => {
                self.cancel_booking(booking_id, now, sink).await
            }
            ClassCommand::CheckIn { booking_id, now } => self.check_in(booking_id, now, sink).await,
            ClassCommand::ChangeCapacity { capacity, now } => {
                self.change_capacity(capacity, now, sink).await
            }
            ClassCommand::SubstituteInstructor { instructor_id } => {
                self.substitute_instructor(instructor_id, sink).await
            }
            ClassCommand::CancelClass { reason } => self.cancel_class(reason, sink).await,
            ClassCommand::Close { now } => self.close(now, sink).await,
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ClassEvent::ClassScheduled {
                class_id,
                starts_at,
                ends_at,
                capacity,
                policy,
                ..
            } => {
                self.id = Some(class_id);
                self.starts_at = Some(starts_at);
                self.ends_at = Some(ends_at);
                self.capacity = capacity;
                self.policy = Some(policy);
                self.status = Some(ClassStatus::Scheduled);
            }
            ClassEvent::SpotBooked {
                booking_id,
                client_id,
            } => self.bookings.push(Booking {
                id: booking_id,
                client: client_id,
                status: BookingStatus::Booked,
            }),
            ClassEvent::Waitlisted {
                booking_id,
                client_id,
                ..
            } => {
                self.bookings.push(Booking {
                    id: booking_id,
                    client: client_id,
                    status: BookingStatus::Waitlisted,
                });
                self.waitlist.push(booking_id);
            }
            ClassEvent::BookingCancelled {
                booking_id, late, ..
            } => {
                let status = if late {
                    BookingStatus::LateCancelled
                } else {
                    BookingStatus::Cancelled
                };
                self.set_status(booking_id, status);
            }
            ClassEvent::WaitlistLeft { booking_id, .. } => {
                self.set_status(booking_id, BookingStatus::LeftWaitlist);
            }
            ClassEvent::WaitlistPromoted { booking_id, .. } => {
                self.set_status(booking_id, BookingStatus::Booked);
            }
            ClassEvent::CheckedIn { booking_id, .. } => {
                self.set_status(booking_id, BookingStatus::CheckedIn);
            }
            ClassEvent::NoShowRecorded { booking_id, .. } => {
                self.set_status(booking_id, BookingStatus::NoShow);
            }
            ClassEvent::CapacityChanged { capacity } => self.capacity = capacity,
            ClassEvent::InstructorSubstituted { .. } => {}
            ClassEvent::ClassCancelled { .. } => {
                self.status = Some(ClassStatus::Cancelled);
                for b in &mut self.bookings {
                    if matches!(
                        b.status,
                        BookingStatus::Booked
                            | BookingStatus::Waitlisted
                            | BookingStatus::CheckedIn
                    ) {
                        b.status = BookingStatus::ClassCancelled;
                    }
                }
                self.waitlist.clear();
            }
            ClassEvent::ClassClosed => self.status = Some(ClassStatus::Closed),
        }
    }
}
