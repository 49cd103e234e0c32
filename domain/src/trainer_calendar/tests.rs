use chrono::{DateTime, NaiveTime, Utc, Weekday};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::account::AccountId;
use crate::client::ClientId;
use crate::studio::StudioId;

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
fn set() -> TrainerCalendarEvent {
    TrainerCalendarEvent::AvailabilitySet {
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
    let book = |id: u128| TrainerCalendarCommand::Book {
        appointment_id: Uuid::from_u128(id),
        client_id: ClientId(Uuid::from_u128(id)),
        starts_at: at("2026-11-30T08:00:00Z"),
        busy: vec![],
        now: at(NOW),
    };
    let booked = TrainerCalendarEvent::AppointmentBooked {
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
        .then_expect_error(TrainerCalendarError::SlotUnavailable);
    TestFramework::<TrainerCalendar>::with(())
        .given_no_previous_events()
        .when_async(book(2))
        .await
        .then_expect_error(TrainerCalendarError::NoAvailability);
}

#[tokio::test]
async fn off_grid_times_and_cancel_of_unknown_appointments_are_refused() {
    let odd = TrainerCalendarCommand::Book {
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
        .then_expect_error(TrainerCalendarError::SlotUnavailable);
    TestFramework::<TrainerCalendar>::with(())
        .given(vec![set()])
        .when_async(TrainerCalendarCommand::Cancel {
            appointment_id: Uuid::nil(),
        })
        .await
        .then_expect_error(TrainerCalendarError::AppointmentNotFound);
}

#[tokio::test]
async fn a_retried_booking_is_a_no_op_and_a_cancelled_id_is_not_reused() {
    let appointment = Appointment {
        id: Uuid::from_u128(1),
        client_id: ClientId(Uuid::from_u128(1)),
        starts_at: at("2026-11-30T08:00:00Z"),
        ends_at: at("2026-11-30T08:50:00Z"),
    };
    let book = |client: u128| TrainerCalendarCommand::Book {
        appointment_id: Uuid::from_u128(1),
        client_id: ClientId(Uuid::from_u128(client)),
        starts_at: at("2026-11-30T08:00:00Z"),
        busy: vec![],
        now: at(NOW),
    };
    let booked = TrainerCalendarEvent::AppointmentBooked { appointment };
    TestFramework::<TrainerCalendar>::with(())
        .given(vec![set(), booked.clone()])
        .when_async(book(1))
        .await
        .then_expect_events(vec![]);
    TestFramework::<TrainerCalendar>::with(())
        .given(vec![set(), booked.clone()])
        .when_async(book(2))
        .await
        .then_expect_error(TrainerCalendarError::AppointmentIdTaken);
    TestFramework::<TrainerCalendar>::with(())
        .given(vec![
            set(),
            booked,
            TrainerCalendarEvent::AppointmentCancelled {
                appointment_id: Uuid::from_u128(1),
            },
        ])
        .when_async(book(1))
        .await
        .then_expect_error(TrainerCalendarError::AppointmentIdTaken);
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
        .when_async(TrainerCalendarCommand::Book {
            appointment_id: Uuid::from_u128(1),
            client_id: ClientId(Uuid::nil()),
            starts_at: at("2026-11-30T08:00:00Z"),
            busy,
            now: at(NOW),
        })
        .await
        .then_expect_error(TrainerCalendarError::SlotUnavailable);
}

#[tokio::test]
async fn rescheduling_moves_to_a_free_slot_only_and_time_off_needs_availability() {
    let booked = |id: u128, start: &str, end: &str| TrainerCalendarEvent::AppointmentBooked {
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
    let move_to = |start: &str| TrainerCalendarCommand::Reschedule {
        appointment_id: Uuid::from_u128(1),
        starts_at: at(start),
        busy: vec![],
        now: at(NOW),
    };
    TestFramework::<TrainerCalendar>::with(())
        .given(given())
        .when_async(move_to("2026-11-30T10:00:00Z"))
        .await
        .then_expect_events(vec![TrainerCalendarEvent::AppointmentRescheduled {
            appointment_id: Uuid::from_u128(1),
            starts_at: at("2026-11-30T10:00:00Z"),
            ends_at: at("2026-11-30T10:50:00Z"),
        }]);
    TestFramework::<TrainerCalendar>::with(())
        .given(given())
        .when_async(move_to("2026-11-30T09:00:00Z"))
        .await
        .then_expect_error(TrainerCalendarError::SlotUnavailable);
    TestFramework::<TrainerCalendar>::with(())
        .given_no_previous_events()
        .when_async(TrainerCalendarCommand::AddTimeOff {
            time_off: TimeOff {
                id: Uuid::nil(),
                from: at("2026-11-30T08:00:00Z"),
                to: at("2026-11-30T09:00:00Z"),
            },
        })
        .await
        .then_expect_error(TrainerCalendarError::NoAvailability);
    let mut bad = rules();
    bad.slot_minutes = 2;
    let r = TestFramework::<TrainerCalendar>::with(())
        .given_no_previous_events()
        .when_async(TrainerCalendarCommand::SetAvailability {
            studio_id: StudioId(Uuid::nil()),
            trainer_id: AccountId(Uuid::nil()),
            rules: bad,
        })
        .await
        .inspect_result();
    assert!(
        matches!(
            r,
            Err(TrainerCalendarError::Invalid {
                field: "slot_minutes",
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn overlapping_windows_and_thousands_of_time_offs_stay_bounded_and_exact() {
    // The attack: 50 identical whole-day windows on every weekday, 5-minute slots, and
    // 3,000 short time-offs, over the longest range (31 days).
    let weekdays = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let weekly = (0..50)
        .map(|i| Window {
            weekday: weekdays[i % 7],
            start: NaiveTime::from_hms_opt(0, 0, 0).expect("t"),
            end: NaiveTime::from_hms_opt(23, 55, 0).expect("t"),
        })
        .collect();
    let rules = Rules {
        timezone: "UTC".into(),
        weekly,
        slot_minutes: 5,
        buffer_minutes: 0,
        min_notice_minutes: 0,
    };
    let from = at("2026-12-01T00:00:00Z");
    let time_off: Vec<TimeOff> = (0..3000)
        .map(|i| TimeOff {
            id: Uuid::from_u128(i),
            from: from + chrono::Duration::minutes(i as i64 * 15),
            to: from + chrono::Duration::minutes(i as i64 * 15 + 5),
        })
        .collect();
    let to = from + chrono::Duration::days(31);
    let free = slots(&rules, &time_off, &[], &[], from, to, at(NOW));
    assert!(free.len() <= MAX_SLOTS);
    assert!(
        free.windows(2).all(|w| w[0] < w[1]),
        "sorted, each slot once"
    );
    // Exact: every slot offered is free of every time off, and the first hour offers
    // the two of every three 5-minute slots the time offs leave.
    assert!(free
        .iter()
        .all(|(s, e)| !time_off.iter().any(|t| *s < t.to && *e > t.from)));
    let first_hour = free
        .iter()
        .filter(|(s, _)| *s < from + chrono::Duration::hours(1))
        .count();
    assert_eq!(first_hour, 8);
}
