use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use super::{BookingId, ClassId};
use crate::account::AccountId;
use crate::client::ClientId;
use crate::studio::{LocationId, StudioId};

/// When booking opens and closes, and what cancelling late or not showing up costs.
/// Fixed when the class is scheduled (from its class type or the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingPolicy {
    /// Booking opens this many hours before the start (1..=8760).
    #[schema(minimum = 1, maximum = 8760)]
    pub opens_hours_before: u32,
    /// Booking closes this many minutes before the start (at most 7 days, and before
    /// booking opens).
    #[schema(maximum = 10080)]
    pub closes_minutes_before: u32,
    /// Cancelling later than this many hours before the start is a late cancel (≤ 336).
    #[schema(maximum = 336)]
    pub free_cancel_hours_before: u32,
    /// Waitlisted clients are promoted into freed spots until this many minutes before
    /// the start; after that the spot stays open (≤ 10080).
    #[schema(maximum = 10080)]
    pub promotion_cutoff_minutes: u32,
    /// A late cancel counts as a strike.
    pub late_cancel_strike: bool,
    /// A no-show counts as a strike.
    pub no_show_strike: bool,
}

impl Default for BookingPolicy {
    fn default() -> Self {
        Self {
            opens_hours_before: 14 * 24,
            closes_minutes_before: 0,
            free_cancel_hours_before: 12,
            promotion_cutoff_minutes: 60,
            late_cancel_strike: true,
            no_show_strike: true,
        }
    }
}

impl BookingPolicy {
    /// The policy a class or class type gets when it sets none: the studio's booking
    /// window and cancellation cutoff, the rest defaulted.
    pub fn from_settings(settings: &crate::studio::StudioSettings) -> Self {
        Self {
            opens_hours_before: settings.booking_window_days * 24,
            free_cancel_hours_before: settings.cancellation_cutoff_hours,
            ..Self::default()
        }
    }

    /// Bounds that keep every derived instant meaningful; `Err((field, why))`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=365 * 24).contains(&self.opens_hours_before) {
            return Err(("policy.opens_hours_before", "1..=8760 hours".to_owned()));
        }
        if self.closes_minutes_before > 7 * 24 * 60
            || u64::from(self.closes_minutes_before) >= u64::from(self.opens_hours_before) * 60
        {
            return Err((
                "policy.closes_minutes_before",
                "at most 7 days, and before booking opens".to_owned(),
            ));
        }
        if self.free_cancel_hours_before > 14 * 24 {
            return Err((
                "policy.free_cancel_hours_before",
                "0..=336 hours".to_owned(),
            ));
        }
        if self.promotion_cutoff_minutes > 7 * 24 * 60 {
            return Err((
                "policy.promotion_cutoff_minutes",
                "0..=10080 minutes".to_owned(),
            ));
        }
        Ok(())
    }
}

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

#[derive(Debug, Clone, PartialEq)]
pub enum ClassCommand {
    Schedule {
        class_id: ClassId,
        studio_id: StudioId,
        title: String,
        class_type_id: Option<uuid::Uuid>,
        starts_at: DateTime<Utc>,
        duration_minutes: u32,
        capacity: u32,
        location_id: Option<LocationId>,
        instructor_id: Option<AccountId>,
        schedule_id: Option<uuid::Uuid>,
        policy: BookingPolicy,
    },
    Book {
        booking_id: BookingId,
        client_id: ClientId,
        now: DateTime<Utc>,
        /// The client may not book before this (strike limit reached).
        blocked_until: Option<DateTime<Utc>>,
    },
    CancelBooking {
        booking_id: BookingId,
        now: DateTime<Utc>,
    },
    CheckIn {
        booking_id: BookingId,
        now: DateTime<Utc>,
    },
    ChangeCapacity {
        capacity: u32,
        now: DateTime<Utc>,
    },
    SubstituteInstructor {
        instructor_id: Option<AccountId>,
    },
    CancelClass {
        reason: String,
    },
    /// Settle attendance after the end: booked clients not checked in are no-shows.
    Close {
        now: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClassEvent {
    ClassScheduled {
        class_id: ClassId,
        studio_id: StudioId,
        title: String,
        class_type_id: Option<uuid::Uuid>,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        capacity: u32,
        location_id: Option<LocationId>,
        instructor_id: Option<AccountId>,
        schedule_id: Option<uuid::Uuid>,
        policy: BookingPolicy,
    },
    SpotBooked {
        booking_id: BookingId,
        client_id: ClientId,
    },
    Waitlisted {
        booking_id: BookingId,
        client_id: ClientId,
        /// 1-based position at the time of joining.
        position: u32,
    },
    BookingCancelled {
        booking_id: BookingId,
        client_id: ClientId,
        late: bool,
        /// The policy counts this as a strike.
        strike: bool,
    },
    WaitlistLeft {
        booking_id: BookingId,
        client_id: ClientId,
    },
    /// A waitlisted client got a freed spot (notifications pick this up).
    WaitlistPromoted {
        booking_id: BookingId,
        client_id: ClientId,
    },
    CheckedIn {
        booking_id: BookingId,
        client_id: ClientId,
    },
    NoShowRecorded {
        booking_id: BookingId,
        client_id: ClientId,
        strike: bool,
    },
    CapacityChanged {
        capacity: u32,
    },
    InstructorSubstituted {
        instructor_id: Option<AccountId>,
    },
    /// Every open booking is cancelled with it; clients are notified.
    ClassCancelled {
        reason: String,
        affected: Vec<ClientId>,
    },
    ClassClosed,
}

impl DomainEvent for ClassEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ClassScheduled { .. } => "ClassScheduled",
            Self::SpotBooked { .. } => "SpotBooked",
            Self::Waitlisted { .. } => "Waitlisted",
            Self::BookingCancelled { .. } => "BookingCancelled",
            Self::WaitlistLeft { .. } => "WaitlistLeft",
            Self::WaitlistPromoted { .. } => "WaitlistPromoted",
            Self::CheckedIn { .. } => "CheckedIn",
            Self::NoShowRecorded { .. } => "NoShowRecorded",
            Self::CapacityChanged { .. } => "CapacityChanged",
            Self::InstructorSubstituted { .. } => "InstructorSubstituted",
            Self::ClassCancelled { .. } => "ClassCancelled",
            Self::ClassClosed => "ClassClosed",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    #[error("a class with this id already exists")]
    AlreadyExists,
    #[error("class not found")]
    NotFound,
    #[error("this class was cancelled")]
    ClassCancelled,
    #[error("this class has already taken place")]
    ClassOver,
    #[error("booking for this class opens at {0}")]
    BookingNotOpen(DateTime<Utc>),
    #[error("booking for this class has closed")]
    BookingClosed,
    #[error("this client already holds a booking for this class")]
    AlreadyBooked,
    #[error("booking is blocked until {0} (strike limit reached)")]
    BookingBlocked(DateTime<Utc>),
    #[error("booking not found")]
    BookingNotFound,
    #[error("this booking is not active")]
    BookingNotActive,
    #[error("check-in opens 60 minutes before the class")]
    CheckInNotOpen,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl ClassError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "class_already_exists",
            Self::NotFound => "class_not_found",
            Self::ClassCancelled => "class_cancelled",
            Self::ClassOver => "class_over",
            Self::BookingNotOpen(_) => "booking_not_open",
            Self::BookingClosed => "booking_closed",
            Self::AlreadyBooked => "already_booked",
            Self::BookingBlocked(_) => "booking_blocked",
            Self::BookingNotFound => "booking_not_found",
            Self::BookingNotActive => "booking_not_active",
            Self::CheckInNotOpen => "check_in_not_open",
            Self::Invalid { .. } => "validation_failed",
        }
    }
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

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ClassSession {
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

impl ClassSession {
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

impl Aggregate for ClassSession {
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
            }
            ClassCommand::Book {
                booking_id,
                client_id,
                now,
                blocked_until,
            } => {
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
                            BookingStatus::Booked
                                | BookingStatus::Waitlisted
                                | BookingStatus::CheckedIn
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
            }
            ClassCommand::CancelBooking { booking_id, now } => {
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
                            > self.start()
                                - Duration::hours(i64::from(policy.free_cancel_hours_before));
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
            }
            ClassCommand::CheckIn { booking_id, now } => {
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
            }
            ClassCommand::ChangeCapacity { capacity, now } => {
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
            }
            ClassCommand::SubstituteInstructor { instructor_id } => {
                self.require_open()?;
                sink.write(ClassEvent::InstructorSubstituted { instructor_id }, self)
                    .await;
            }
            ClassCommand::CancelClass { reason } => {
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
                            BookingStatus::Booked
                                | BookingStatus::Waitlisted
                                | BookingStatus::CheckedIn
                        )
                    })
                    .map(|b| b.client)
                    .collect();
                sink.write(ClassEvent::ClassCancelled { reason, affected }, self)
                    .await;
            }
            ClassCommand::Close { now } => {
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
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use uuid::Uuid;

    type T = TestFramework<ClassSession>;

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T18:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }
    fn hours_before(h: i64) -> DateTime<Utc> {
        start() - Duration::hours(h)
    }
    fn client(n: u128) -> ClientId {
        ClientId(Uuid::from_u128(n))
    }
    fn booking(n: u128) -> BookingId {
        BookingId(Uuid::from_u128(1000 + n))
    }
    fn scheduled(capacity: u32) -> ClassEvent {
        ClassEvent::ClassScheduled {
            class_id: ClassId(Uuid::from_u128(1)),
            studio_id: StudioId(Uuid::from_u128(2)),
            title: "Reformer".into(),
            class_type_id: None,
            starts_at: start(),
            ends_at: start() + Duration::minutes(50),
            capacity,
            location_id: None,
            instructor_id: None,
            schedule_id: None,
            policy: BookingPolicy::default(),
        }
    }
    fn booked(n: u128) -> ClassEvent {
        ClassEvent::SpotBooked {
            booking_id: booking(n),
            client_id: client(n),
        }
    }
    fn waitlisted(n: u128, position: u32) -> ClassEvent {
        ClassEvent::Waitlisted {
            booking_id: booking(n),
            client_id: client(n),
            position,
        }
    }
    fn book(n: u128, now: DateTime<Utc>) -> ClassCommand {
        ClassCommand::Book {
            booking_id: booking(n),
            client_id: client(n),
            now,
            blocked_until: None,
        }
    }

    #[tokio::test]
    async fn a_free_spot_is_booked_and_a_full_class_waitlists_in_order() {
        T::with(())
            .given(vec![scheduled(1)])
            .when_async(book(1, hours_before(24)))
            .await
            .then_expect_events(vec![booked(1)]);
        T::with(())
            .given(vec![scheduled(1), booked(1)])
            .when_async(book(2, hours_before(24)))
            .await
            .then_expect_events(vec![waitlisted(2, 1)]);
        T::with(())
            .given(vec![scheduled(1), booked(1), waitlisted(2, 1)])
            .when_async(book(3, hours_before(24)))
            .await
            .then_expect_events(vec![waitlisted(3, 2)]);
    }

    #[tokio::test]
    async fn a_client_holds_at_most_one_booking_per_class() {
        let again = ClassCommand::Book {
            booking_id: booking(9),
            client_id: client(1),
            now: hours_before(24),
            blocked_until: None,
        };
        T::with(())
            .given(vec![scheduled(5), booked(1)])
            .when_async(again)
            .await
            .then_expect_error(ClassError::AlreadyBooked);
        // The same booking id again is a retried request, not an error.
        T::with(())
            .given(vec![scheduled(5), booked(1)])
            .when_async(book(1, hours_before(24)))
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn booking_respects_the_window_and_strike_blocks() {
        let too_early = hours_before(24 * 15);
        T::with(())
            .given(vec![scheduled(5)])
            .when_async(book(1, too_early))
            .await
            .then_expect_error(ClassError::BookingNotOpen(
                start() - Duration::hours(14 * 24),
            ));
        T::with(())
            .given(vec![scheduled(5)])
            .when_async(book(1, start() + Duration::minutes(1)))
            .await
            .then_expect_error(ClassError::ClassOver);
        let until = start() + Duration::days(3);
        let blocked = ClassCommand::Book {
            booking_id: booking(1),
            client_id: client(1),
            now: hours_before(24),
            blocked_until: Some(until),
        };
        T::with(())
            .given(vec![scheduled(5)])
            .when_async(blocked)
            .await
            .then_expect_error(ClassError::BookingBlocked(until));
    }

    #[tokio::test]
    async fn a_cancelled_class_cannot_be_booked() {
        let cancelled = ClassEvent::ClassCancelled {
            reason: "flood".into(),
            affected: vec![],
        };
        T::with(())
            .given(vec![scheduled(5), cancelled])
            .when_async(book(1, hours_before(24)))
            .await
            .then_expect_error(ClassError::ClassCancelled);
    }

    #[tokio::test]
    async fn cancelling_early_is_free_and_promotes_the_first_in_line() {
        let cancel = ClassCommand::CancelBooking {
            booking_id: booking(1),
            now: hours_before(24),
        };
        T::with(())
            .given(vec![
                scheduled(1),
                booked(1),
                waitlisted(2, 1),
                waitlisted(3, 2),
            ])
            .when_async(cancel)
            .await
            .then_expect_events(vec![
                ClassEvent::BookingCancelled {
                    booking_id: booking(1),
                    client_id: client(1),
                    late: false,
                    strike: false,
                },
                ClassEvent::WaitlistPromoted {
                    booking_id: booking(2),
                    client_id: client(2),
                },
            ]);
    }

    #[tokio::test]
    async fn cancelling_after_the_cutoff_is_a_late_cancel_with_a_strike() {
        let cancel = ClassCommand::CancelBooking {
            booking_id: booking(1),
            now: hours_before(2),
        };
        T::with(())
            .given(vec![scheduled(1), booked(1), waitlisted(2, 1)])
            .when_async(cancel)
            .await
            .then_expect_events(vec![
                ClassEvent::BookingCancelled {
                    booking_id: booking(1),
                    client_id: client(1),
                    late: true,
                    strike: true,
                },
                ClassEvent::WaitlistPromoted {
                    booking_id: booking(2),
                    client_id: client(2),
                },
            ]);
    }

    #[tokio::test]
    async fn after_the_promotion_cutoff_a_freed_spot_stays_open() {
        let cancel = ClassCommand::CancelBooking {
            booking_id: booking(1),
            now: start() - Duration::minutes(30),
        };
        T::with(())
            .given(vec![scheduled(1), booked(1), waitlisted(2, 1)])
            .when_async(cancel)
            .await
            .then_expect_events(vec![ClassEvent::BookingCancelled {
                booking_id: booking(1),
                client_id: client(1),
                late: true,
                strike: true,
            }]);
    }

    #[tokio::test]
    async fn leaving_the_waitlist_is_always_free() {
        let cancel = ClassCommand::CancelBooking {
            booking_id: booking(2),
            now: start() - Duration::minutes(5),
        };
        T::with(())
            .given(vec![scheduled(1), booked(1), waitlisted(2, 1)])
            .when_async(cancel)
            .await
            .then_expect_events(vec![ClassEvent::WaitlistLeft {
                booking_id: booking(2),
                client_id: client(2),
            }]);
    }

    #[tokio::test]
    async fn raising_capacity_promotes_from_the_waitlist() {
        let raise = ClassCommand::ChangeCapacity {
            capacity: 3,
            now: hours_before(24),
        };
        T::with(())
            .given(vec![
                scheduled(1),
                booked(1),
                waitlisted(2, 1),
                waitlisted(3, 2),
                waitlisted(4, 3),
            ])
            .when_async(raise)
            .await
            .then_expect_events(vec![
                ClassEvent::CapacityChanged { capacity: 3 },
                ClassEvent::WaitlistPromoted {
                    booking_id: booking(2),
                    client_id: client(2),
                },
                ClassEvent::WaitlistPromoted {
                    booking_id: booking(3),
                    client_id: client(3),
                },
            ]);
    }

    #[tokio::test]
    async fn check_in_and_no_shows_settle_attendance_after_the_end() {
        T::with(())
            .given(vec![scheduled(5), booked(1)])
            .when_async(ClassCommand::CheckIn {
                booking_id: booking(1),
                now: hours_before(2),
            })
            .await
            .then_expect_error(ClassError::CheckInNotOpen);
        let checked_in = ClassEvent::CheckedIn {
            booking_id: booking(1),
            client_id: client(1),
        };
        T::with(())
            .given(vec![scheduled(5), booked(1)])
            .when_async(ClassCommand::CheckIn {
                booking_id: booking(1),
                now: start() - Duration::minutes(10),
            })
            .await
            .then_expect_events(vec![checked_in.clone()]);
        T::with(())
            .given(vec![scheduled(5), booked(1), checked_in, booked(2)])
            .when_async(ClassCommand::Close {
                now: start() + Duration::hours(2),
            })
            .await
            .then_expect_events(vec![
                ClassEvent::NoShowRecorded {
                    booking_id: booking(2),
                    client_id: client(2),
                    strike: true,
                },
                ClassEvent::ClassClosed,
            ]);
        // Closing before the end does nothing; closing twice does nothing.
        T::with(())
            .given(vec![scheduled(5), booked(2)])
            .when_async(ClassCommand::Close { now: start() })
            .await
            .then_expect_events(vec![]);
        T::with(())
            .given(vec![scheduled(5), ClassEvent::ClassClosed])
            .when_async(ClassCommand::Close {
                now: start() + Duration::hours(2),
            })
            .await
            .then_expect_events(vec![]);
    }

    #[test]
    fn check_in_is_open_from_an_hour_before_the_start_until_the_class_is_closed() {
        let class = |events: Vec<ClassEvent>| {
            let mut c = ClassSession::default();
            for e in events {
                c.apply(e);
            }
            c
        };
        let open = class(vec![scheduled(5)]);
        assert_eq!(
            open.check_in_open(start() - Duration::minutes(61)),
            Err(ClassError::CheckInNotOpen)
        );
        assert_eq!(open.check_in_open(start() - Duration::minutes(60)), Ok(()));
        assert_eq!(open.check_in_open(start() + Duration::hours(3)), Ok(()));
        let closed = class(vec![scheduled(5), ClassEvent::ClassClosed]);
        assert_eq!(closed.check_in_open(start()), Err(ClassError::ClassOver));
        let cancelled = class(vec![
            scheduled(5),
            ClassEvent::ClassCancelled {
                reason: "flood".into(),
                affected: vec![],
            },
        ]);
        assert_eq!(
            cancelled.check_in_open(start()),
            Err(ClassError::ClassCancelled)
        );
        assert_eq!(
            ClassSession::default().check_in_open(start()),
            Err(ClassError::NotFound)
        );
    }

    #[tokio::test]
    async fn cancelling_a_class_cancels_its_bookings_for_notification() {
        T::with(())
            .given(vec![scheduled(1), booked(1), waitlisted(2, 1)])
            .when_async(ClassCommand::CancelClass {
                reason: "instructor ill".into(),
            })
            .await
            .then_expect_events(vec![ClassEvent::ClassCancelled {
                reason: "instructor ill".into(),
                affected: vec![client(1), client(2)],
            }]);
    }

    #[tokio::test]
    async fn scheduling_validates_capacity_and_duration() {
        let cmd = |capacity, duration_minutes| ClassCommand::Schedule {
            class_id: ClassId(Uuid::from_u128(1)),
            studio_id: StudioId(Uuid::from_u128(2)),
            title: "X".into(),
            class_type_id: None,
            starts_at: start(),
            duration_minutes,
            capacity,
            location_id: None,
            instructor_id: None,
            schedule_id: None,
            policy: BookingPolicy::default(),
        };
        for (c, d) in [
            (0, 50),
            (MAX_CAPACITY + 1, 50),
            (10, 0),
            (10, MAX_DURATION_MINUTES + 1),
        ] {
            let r = T::with(())
                .given_no_previous_events()
                .when_async(cmd(c, d))
                .await
                .inspect_result();
            assert!(
                matches!(r, Err(ClassError::Invalid { .. })),
                "{c} {d}: {r:?}"
            );
        }
        T::with(())
            .given(vec![scheduled(5)])
            .when_async(cmd(5, 50))
            .await
            .then_expect_error(ClassError::AlreadyExists);
        let mut policy = BookingPolicy::default();
        policy.closes_minutes_before = policy.opens_hours_before * 60;
        let r = T::with(())
            .given_no_previous_events()
            .when_async(ClassCommand::Schedule {
                class_id: ClassId(Uuid::from_u128(1)),
                studio_id: StudioId(Uuid::from_u128(2)),
                title: "X".into(),
                class_type_id: None,
                starts_at: start(),
                duration_minutes: 50,
                capacity: 5,
                location_id: None,
                instructor_id: None,
                schedule_id: None,
                policy,
            })
            .await
            .inspect_result();
        assert!(
            matches!(
                r,
                Err(ClassError::Invalid {
                    field: "policy.closes_minutes_before",
                    ..
                })
            ),
            "booking must close after it opens: {r:?}"
        );
    }

    #[tokio::test]
    async fn a_retried_series_occurrence_is_a_no_op() {
        let series = Some(Uuid::from_u128(9));
        let occurrence = ClassCommand::Schedule {
            class_id: ClassId(Uuid::from_u128(1)),
            studio_id: StudioId(Uuid::from_u128(2)),
            title: "Reformer".into(),
            class_type_id: None,
            starts_at: start(),
            duration_minutes: 50,
            capacity: 5,
            location_id: None,
            instructor_id: None,
            schedule_id: series,
            policy: BookingPolicy::default(),
        };
        let mut first = scheduled(5);
        if let ClassEvent::ClassScheduled { schedule_id, .. } = &mut first {
            *schedule_id = series;
        }
        T::with(())
            .given(vec![first])
            .when_async(occurrence)
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn booking_closes_before_the_start_and_unknown_bookings_are_refused() {
        let policy = BookingPolicy {
            closes_minutes_before: 60,
            ..BookingPolicy::default()
        };
        let mut event = scheduled(5);
        if let ClassEvent::ClassScheduled { policy: p, .. } = &mut event {
            *p = policy;
        }
        T::with(())
            .given(vec![event])
            .when_async(ClassCommand::Book {
                booking_id: booking(1),
                client_id: client(1),
                now: start() - Duration::minutes(30),
                blocked_until: None,
            })
            .await
            .then_expect_error(ClassError::BookingClosed);
        T::with(())
            .given(vec![scheduled(5)])
            .when_async(ClassCommand::CancelBooking {
                booking_id: booking(7),
                now: hours_before(48),
            })
            .await
            .then_expect_error(ClassError::BookingNotFound);
        T::with(())
            .given_no_previous_events()
            .when_async(ClassCommand::CancelClass { reason: "x".into() })
            .await
            .then_expect_error(ClassError::NotFound);
    }
}
