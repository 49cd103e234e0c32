//! Class reminders (issue 12): 24 h and 1 h before each booked class, once each, shared by
//! sweeping replicas, never for a cancelled booking, and not for a reminder time that
//! had passed when the spot was booked. The sweep takes its `now`, so the test moves
//! through a day without waiting for it.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

async fn post(app: &TestApp, user: &TestUser, path: &str, body: Value) -> anyhow::Result<Value> {
    let (s, reply) = app.call(Method::POST, path, user, Some(body)).await?;
    anyhow::ensure!(s == 201, "POST {path}: {s} {reply}");
    Ok(reply)
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn booked_clients_are_reminded_once_per_reminder_time_and_never_after_cancelling(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Remind Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Remind").await?;
    let base = format!("/api/v1/studios/{studio}");
    let cleo = app.user("Cleo Remind").await?;
    app.add_member(&owner, studio, &cleo, "client").await?;

    // Every step the moment the previous one answered.
    let rita = id(
        &post(
            &app,
            &owner,
            &format!("{base}/clients"),
            json!({"full_name": "Rita", "email": "rita@remind.example"}),
        )
        .await?,
        "id",
    );
    let sam = id(
        &post(
            &app,
            &owner,
            &format!("{base}/clients"),
            json!({"full_name": "Sam", "email": "sam@remind.example"}),
        )
        .await?,
        "id",
    );
    let t0 = Utc::now();
    let class = |title: &'static str, hours: i64| {
        let (app, owner, base) = (&app, &owner, &base);
        async move {
            let body = json!({"title": title, "starts_at": t0 + Span::hours(hours), "duration_minutes": 60, "capacity": 10});
            Ok::<_, anyhow::Error>(id(
                &post(app, owner, &format!("{base}/classes"), body).await?,
                "id",
            ))
        }
    };
    let flow = class("Morning Flow", 30).await?;
    let late = class("Late Mat", 3).await?;
    let book = |who: &TestUser, class: &str, client: Option<&str>| {
        let (app, base) = (&app, &base);
        let (who, path) = (who.clone(), format!("{base}/classes/{class}/bookings"));
        let body = client.map_or(json!({}), |c| json!({"client_id": c}));
        async move { Ok::<_, anyhow::Error>(id(&post(app, &who, &path, body).await?, "booking_id")) }
    };
    let rita_flow = book(&owner, &flow, Some(&rita)).await?;
    let sam_flow = book(&owner, &flow, Some(&sam)).await?;
    book(&cleo, &flow, None).await?;
    book(&owner, &late, Some(&rita)).await?;
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("{base}/classes/{flow}/bookings/{sam_flow}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{body}");

    // Scheduled by the projector: 24 h and 1 h for Rita and Cleo on Morning Flow, only
    // 1 h for Rita on Late Mat (booked after its 24 h mark), Sam's cancelled.
    let pool = env.pool.clone();
    eventually(Duration::from_secs(30), "the reminders scheduled", || {
        let pool = pool.clone();
        async move {
            let (pending, cancelled): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'cancelled') \
                 FROM class_reminder WHERE tenant_id = $1",
            )
            .bind(studio)
            .fetch_one(&pool)
            .await?;
            Ok((pending == 5 && cancelled == 2).then_some(()))
        }
    })
    .await?;
    let late_rows: Vec<i32> =
        sqlx::query_scalar("SELECT minutes_before FROM class_reminder WHERE class_id = $1::uuid")
            .bind(&late)
            .fetch_all(&env.pool)
            .await?;
    assert_eq!(late_rows, vec![60]);

    let sweep = |at: chrono::DateTime<Utc>| {
        let env = &env;
        async move {
            workers::reminders::send_due(&env.worker_pool, &env.sqs, &env.notifications_queue, at)
                .await
        }
    };
    let minute = Span::minutes(1);
    // Late Mat's 1 h mark: Rita.
    assert_eq!(sweep(t0 + Span::hours(2) + minute).await?, 1);
    // Morning Flow's 24 h mark, swept by two replicas at once: each reminder once.
    let at = t0 + Span::hours(6) + minute;
    let (a, b) = tokio::join!(sweep(at), sweep(at));
    assert_eq!(a? + b?, 2, "Rita and Cleo, once each");
    assert_eq!(sweep(at).await?, 0, "nothing twice");

    let reminders_to = |to: &str| {
        env.mails_to(to)
            .into_iter()
            .filter(|(subject, _)| subject.starts_with("Reminder:"))
            .map(|(subject, _)| subject)
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(30), "the reminder mails", || async {
        Ok(
            (reminders_to("rita@remind.example").len() == 2
                && reminders_to(&cleo.email).len() == 1)
                .then_some(()),
        )
    })
    .await?;
    let rita_mails = reminders_to("rita@remind.example");
    assert!(
        rita_mails
            .iter()
            .any(|s| s.starts_with("Reminder: Morning Flow at Harbor Remind,")),
        "{rita_mails:?}"
    );
    assert!(
        rita_mails
            .iter()
            .any(|s| s.starts_with("Reminder: Late Mat")),
        "{rita_mails:?}"
    );
    // Cleo has an account: the reminder is in her inbox too.
    eventually(
        Duration::from_secs(30),
        "Cleo's in-app reminder",
        || async {
            let (s, inbox) = app
                .call(Method::GET, "/api/v1/me/notifications", &cleo, None)
                .await?;
            anyhow::ensure!(s == 200, "{inbox}");
            Ok(inbox["items"].as_array().and_then(|items| {
                items
                    .iter()
                    .find(|n| n["kind"] == "class_reminder")
                    .cloned()
            }))
        },
    )
    .await?;
    assert!(
        reminders_to("sam@remind.example").is_empty(),
        "Sam cancelled"
    );

    // Rita cancels; at the 1 h mark only Cleo is reminded. A sweep after the class
    // started sends nothing.
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("{base}/classes/{flow}/bookings/{rita_flow}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    eventually(Duration::from_secs(30), "Rita's reminder cancelled", || {
        let pool = pool.clone();
        let booking = Uuid::parse_str(&rita_flow).unwrap_or_default();
        async move {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM class_reminder WHERE booking_id = $1 AND state = 'pending'",
            )
            .bind(booking)
            .fetch_one(&pool)
            .await?;
            Ok((pending == 0).then_some(()))
        }
    })
    .await?;
    assert_eq!(sweep(t0 + Span::hours(29) + minute).await?, 1);
    assert_eq!(sweep(t0 + Span::hours(31)).await?, 0);
    eventually(Duration::from_secs(30), "Cleo's 1 h reminder", || async {
        Ok((reminders_to(&cleo.email).len() == 2).then_some(()))
    })
    .await?;
    assert_eq!(reminders_to("rita@remind.example").len(), 2);
    Ok(())
}

/// A reminder already on the queue when its booking is cancelled is not sent: the
/// worker checks the reminder's mark before it sends.
#[tokio::test]
async fn a_reminder_enqueued_before_its_booking_was_cancelled_is_not_sent() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    // No notification worker yet: the reminder waits on the queue.
    let owner = app.user("Stale Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Stale").await?;
    let base = format!("/api/v1/studios/{studio}");
    let rita = id(
        &post(
            &app,
            &owner,
            &format!("{base}/clients"),
            json!({"full_name": "Rita", "email": "rita@stale.example"}),
        )
        .await?,
        "id",
    );
    let t0 = Utc::now();
    let class = id(
        &post(&app, &owner, &format!("{base}/classes"), json!({"title": "Stale Flow", "starts_at": t0 + Span::hours(30), "duration_minutes": 60, "capacity": 4})).await?,
        "id",
    );
    let booking = id(
        &post(
            &app,
            &owner,
            &format!("{base}/classes/{class}/bookings"),
            json!({"client_id": rita}),
        )
        .await?,
        "booking_id",
    );
    let pool = env.pool.clone();
    eventually(Duration::from_secs(30), "the reminders scheduled", || {
        let pool = pool.clone();
        async move {
            let n: i64 =
                sqlx::query_scalar("SELECT count(*) FROM class_reminder WHERE tenant_id = $1")
                    .bind(studio)
                    .fetch_one(&pool)
                    .await?;
            Ok((n == 2).then_some(()))
        }
    })
    .await?;
    let sent = workers::reminders::send_due(
        &env.worker_pool,
        &env.sqs,
        &env.notifications_queue,
        t0 + Span::hours(6) + Span::minutes(1),
    )
    .await?;
    assert_eq!(sent, 1);
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("{base}/classes/{class}/bookings/{booking}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    eventually(Duration::from_secs(30), "the reminders cancelled", || {
        let pool = pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM class_reminder WHERE tenant_id = $1 AND state = 'cancelled'",
            )
            .bind(studio)
            .fetch_one(&pool)
            .await?;
            Ok((n == 2).then_some(()))
        }
    })
    .await?;
    env.spawn_worker();
    // The confirmation and the cancellation arrive; the reminder does not.
    eventually(Duration::from_secs(30), "the booking mails", || async {
        Ok((env.mails_to("rita@stale.example").len() >= 2).then_some(()))
    })
    .await?;
    let skipped = eventually(
        Duration::from_secs(30),
        "the reminder job handled",
        || async {
            let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM side_effect WHERE consumer = 'notifications' AND tenant_id = $1",
        )
        .bind(studio)
        .fetch_one(&env.pool)
        .await?;
            // Handled means: the queue no longer holds it. Two mails recorded, the
            // reminder never claimed.
            Ok((left == 2).then_some(left))
        },
    )
    .await?;
    assert_eq!(skipped, 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let subjects: Vec<String> = env
        .mails_to("rita@stale.example")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(
        !subjects.iter().any(|s| s.starts_with("Reminder:")),
        "{subjects:?}"
    );
    Ok(())
}

/// Appointments: the client hears of one booked, moved or cancelled, and is reminded of
/// the time it has now, never of the time it had or of a cancelled one. Every step is
/// sent the moment the previous one answered.
#[tokio::test]
async fn appointment_clients_are_told_of_bookings_moves_and_cancellations_and_reminded_of_the_new_time(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Appt Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Appt").await?;
    let trainer = app.user("Appt Trainer").await?;
    app.add_member(&owner, studio, &trainer, "trainer").await?;
    let rita = id(
        &post(
            &app,
            &owner,
            &format!("/api/v1/studios/{studio}/clients"),
            json!({"full_name": "Rita", "email": "rita@appt.example"}),
        )
        .await?,
        "id",
    );
    let base = format!("/api/v1/studios/{studio}/trainers/{}", trainer.id);
    let every_day: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"weekday": d, "start": "00:00:00", "end": "23:59:00"}))
        .collect();
    let (s, body) = app
        .call(
            Method::PUT,
            &format!("{base}/availability"),
            &trainer,
            Some(json!({"weekly": every_day, "slot_minutes": 60, "timezone": "UTC"})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let day = (Utc::now() + Span::days(2)).date_naive();
    let at = |hour: u32| {
        day.and_hms_opt(hour, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_default()
    };
    let book = |hour: u32| {
        let (app, trainer, path) = (&app, &trainer, format!("{base}/appointments"));
        let body = json!({"starts_at": at(hour), "client_id": rita});
        async move {
            let reply = post(app, trainer, &path, body).await?;
            Ok::<_, anyhow::Error>(id(&reply["appointment"], "id"))
        }
    };
    let kept = book(10).await?;
    let (s, body) = app
        .call(
            Method::POST,
            &format!("{base}/appointments/{kept}/reschedule"),
            &trainer,
            Some(json!({"starts_at": at(12)})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let dropped = book(14).await?;
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("{base}/appointments/{dropped}"),
            &trainer,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{body}");

    let subjects = |prefix: &'static str| {
        let env = &env;
        move || {
            env.mails_to("rita@appt.example")
                .into_iter()
                .filter(|(subject, _)| subject.starts_with(prefix))
                .count()
        }
    };
    eventually(Duration::from_secs(30), "the appointment mails", || async {
        Ok((subjects("Harbor Appt: appointment booked")() == 2
            && subjects("Harbor Appt: appointment moved")() == 1
            && subjects("Harbor Appt: appointment on")() == 1)
            .then_some(()))
    })
    .await?;
    let moved = env
        .mails_to("rita@appt.example")
        .into_iter()
        .find(|(subject, _)| subject.contains("moved"))
        .map(|(subject, _)| subject)
        .unwrap_or_default();
    // Times are the studio's (the harness's studios are in Europe/Berlin).
    let local = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Europe::Berlin)
            .format("%H:%M (Europe/Berlin)")
            .to_string()
    };
    assert!(moved.contains(&local(at(12))), "the new time: {moved}");

    // Reminders: the kept appointment's at its new time; the old time's and the
    // cancelled appointment's are cancelled.
    let pool = env.pool.clone();
    let kept_id = Uuid::parse_str(&kept)?;
    let dropped_id = Uuid::parse_str(&dropped)?;
    eventually(Duration::from_secs(30), "the reminders", || {
        let pool = pool.clone();
        async move {
            let rows: Vec<(Uuid, String, chrono::DateTime<Utc>)> = sqlx::query_as(
                "SELECT booking_id, state, starts_at FROM class_reminder WHERE tenant_id = $1",
            )
            .bind(studio)
            .fetch_all(&pool)
            .await?;
            let count = |booking: Uuid, state: &str, starts: chrono::DateTime<Utc>| {
                rows.iter()
                    .filter(|r| r.0 == booking && r.1 == state && r.2 == starts)
                    .count()
            };
            Ok((rows.len() == 6
                && count(kept_id, "pending", at(12)) == 2
                && count(kept_id, "cancelled", at(10)) == 2
                && count(dropped_id, "cancelled", at(14)) == 2)
                .then_some(()))
        }
    })
    .await?;
    let sent = workers::reminders::send_due(
        &env.worker_pool,
        &env.sqs,
        &env.notifications_queue,
        at(12) - Span::hours(24) + Span::minutes(1),
    )
    .await?;
    assert_eq!(sent, 1, "the 24 h reminder of the new time only");
    let reminder = eventually(Duration::from_secs(30), "the reminder mail", || async {
        Ok(env
            .mails_to("rita@appt.example")
            .into_iter()
            .find(|(subject, _)| subject.starts_with("Reminder: your appointment")))
    })
    .await?;
    assert!(reminder.0.contains(&local(at(12))), "{}", reminder.0);
    Ok(())
}
