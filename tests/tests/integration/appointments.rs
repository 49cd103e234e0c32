//! 1:1 appointments beyond the concurrency test in `scheduling`: who may book, retries,
//! and classes the trainer teaches.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use repstream_tests::{eventually, TestApp};
use reqwest::Method;
use uuid::Uuid;

use crate::scheduling::{clients, studio};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn free_slots(
    app: &TestApp,
    base: &str,
    user: &repstream_tests::TestUser,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let (st, r) = app
        .call(
            Method::GET,
            &format!("{base}/slots?from={}&to={}", rfc3339(from), rfc3339(to)),
            user,
            None,
        )
        .await?;
    anyhow::ensure!(st == 200, "{r}");
    Ok(r["slots"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["starts_at"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn trainers_book_their_own_calendar_retries_book_once_and_classes_they_teach_block_slots(
) -> anyhow::Result<()> {
    let env = repstream_tests::TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let trainer = app.user("Own Calendar Trainer").await?;
    app.add_member(&s.owner, s.id, &trainer, "trainer").await?;
    let other_trainer = app.user("Other Trainer").await?;
    app.add_member(&s.owner, s.id, &other_trainer, "trainer")
        .await?;
    let ids = clients(&app, &env, &s, 2).await?;
    let base = format!("/api/v1/studios/{}/trainers/{}", s.id, trainer.id);
    let every_day: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| serde_json::json!({"weekday": d, "start": "00:00:00", "end": "23:59:00"}))
        .collect();
    let (st, r) = app
        .call(
            Method::PUT,
            &format!("{base}/availability"),
            &trainer,
            Some(serde_json::json!({"weekly": every_day, "slot_minutes": 60, "timezone": "UTC"})),
        )
        .await?;
    assert_eq!(st, 200, "{r}");

    // A class the trainer teaches, two days out at 10:00Z.
    let day = (Utc::now() + Span::days(2)).date_naive();
    let class_at = day
        .and_hms_opt(10, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default();
    let (st, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/classes", s.id),
            &s.owner,
            Some(serde_json::json!({"title": "Taught", "starts_at": class_at, "duration_minutes": 60, "instructor_id": trainer.id})),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    let (from, to) = (class_at - Span::hours(2), class_at + Span::hours(2));
    let slots = eventually(
        Duration::from_secs(20),
        "slots without the class",
        || async {
            let slots = free_slots(&app, &base, &s.owner, from, to).await?;
            Ok((slots.len() == 3).then_some(slots))
        },
    )
    .await?;
    assert!(
        !slots.contains(&rfc3339(class_at)),
        "the class's hour is not offered: {slots:?}"
    );
    let (st, cal) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/studios/{}/classes?from={}&to={}",
                s.id,
                rfc3339(from),
                rfc3339(to)
            ),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{cal}");
    assert_eq!(
        cal["instructors"][trainer.id.to_string()],
        "Own Calendar Trainer",
        "the calendar names the instructor: {cal}"
    );
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &s.owner,
            Some(serde_json::json!({"starts_at": class_at, "client_id": ids[0]})),
        )
        .await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("slot_unavailable")),
        "{r}"
    );

    // The trainer books a client into their own calendar; the retry books nothing new.
    let id = Uuid::now_v7();
    let slot = &slots[0];
    let body = serde_json::json!({"id": id, "starts_at": slot, "client_id": ids[0]});
    let (st, first) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &trainer,
            Some(body.clone()),
        )
        .await?;
    assert_eq!(st, 201, "{first}");
    let (st, again) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &trainer,
            Some(body),
        )
        .await?;
    assert_eq!(st, 201, "{again}");
    assert_eq!(first["appointment"], again["appointment"]);
    assert_eq!(
        first["version"], again["version"],
        "the retry wrote nothing"
    );
    // The same id for another client is refused.
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &trainer,
            Some(serde_json::json!({"id": id, "starts_at": slots[2], "client_id": ids[1]})),
        )
        .await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("appointment_id_taken")),
        "{r}"
    );

    // Another trainer may not book or cancel on this calendar.
    let (st, _) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &other_trainer,
            Some(serde_json::json!({"starts_at": slots[2], "client_id": ids[1]})),
        )
        .await?;
    assert_eq!(st, 403);
    let (st, _) = app
        .call(
            Method::DELETE,
            &format!("{base}/appointments/{id}"),
            &other_trainer,
            None,
        )
        .await?;
    assert_eq!(st, 403);
    // The trainer's schedule shows both the class and the appointment.
    let (st, schedule) = app
        .call(
            Method::GET,
            &format!("{base}/schedule?from={}&to={}", rfc3339(from), rfc3339(to)),
            &trainer,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{schedule}");
    let (classes, appointments) = eventually(Duration::from_secs(20), "schedule", || async {
        let (_, schedule) = app
            .call(
                Method::GET,
                &format!("{base}/schedule?from={}&to={}", rfc3339(from), rfc3339(to)),
                &trainer,
                None,
            )
            .await?;
        let counts = (
            schedule["classes"].as_array().map_or(0, Vec::len),
            schedule["appointments"].as_array().map_or(0, Vec::len),
        );
        Ok((counts.1 == 1).then_some(counts))
    })
    .await?;
    assert_eq!((classes, appointments), (1, 1));
    // Nor can the trainer be given a class over that appointment, or over the class
    // they already teach; someone else can.
    let appointment_at: DateTime<Utc> = slot.parse()?;
    for at in [
        appointment_at + Span::minutes(30),
        class_at + Span::minutes(15),
    ] {
        let (st, r) = app
            .call(
                Method::POST,
                &format!("/api/v1/studios/{}/classes", s.id),
                &s.owner,
                Some(serde_json::json!({"title": "Clash", "starts_at": at, "duration_minutes": 30, "instructor_id": trainer.id})),
            )
            .await?;
        assert_eq!(
            (st, r["code"].as_str()),
            (422, Some("instructor_busy")),
            "{r}"
        );
    }
    let (st, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/classes", s.id),
            &s.owner,
            Some(serde_json::json!({"title": "Covered", "starts_at": class_at, "duration_minutes": 30, "instructor_id": other_trainer.id})),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    let (st, _) = app
        .call(
            Method::DELETE,
            &format!("{base}/appointments/{id}"),
            &trainer,
            None,
        )
        .await?;
    assert_eq!(st, 200);
    Ok(())
}
