use chrono::{DateTime, Duration, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::client::ClientId;
use crate::scheduling::BookingPolicy;
use crate::studio::StudioId;

type T = TestFramework<Class>;

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
        let mut c = Class::default();
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
        Class::default().check_in_open(start()),
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
