use std::time::Duration;

use chrono::{Duration as Span, Utc};
use domain::class::{Class, ClassCommand};
use futures::future::join_all;
use infra::event_store::{CommandBus, CommandMetadata};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser};
use reqwest::Method;
use uuid::Uuid;

pub(crate) struct Studio {
    pub(crate) id: Uuid,
    pub(crate) owner: TestUser,
}

pub(crate) async fn studio(
    app: &TestApp,
    settings: Option<serde_json::Value>,
) -> anyhow::Result<Studio> {
    let owner = app.user("Schedule Owner").await?;
    let id = app.create_studio(&owner, "Schedule Studio").await?;
    let mut version = 1;
    if let Some(settings) = settings {
        let (s, r) = app
            .call(
                Method::PUT,
                &format!("/api/v1/studios/{id}/settings"),
                &owner,
                Some(serde_json::json!({"settings": settings})),
            )
            .await?;
        anyhow::ensure!(s == 200, "{r}");
        version = r["version"].as_u64().unwrap_or(2);
    }
    eventually(Duration::from_secs(20), "studio view", || async {
        let (s, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{id}?min_version={version}"),
                &owner,
                None,
            )
            .await?;
        Ok((s == 200).then_some(()))
    })
    .await?;
    Ok(Studio { id, owner })
}

pub(crate) async fn clients(
    app: &TestApp,
    env: &TestEnv,
    s: &Studio,
    n: usize,
) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (st, r) = app
            .call(
                Method::POST,
                &format!("/api/v1/studios/{}/clients", s.id),
                &s.owner,
                Some(serde_json::json!({"full_name": format!("Client {i:02}")})),
            )
            .await?;
        anyhow::ensure!(st == 201, "{r}");
        ids.push(r["id"].as_str().unwrap_or_default().parse()?);
    }
    eventually(Duration::from_secs(30), "client views", || async {
        let c: i64 = sqlx::query_scalar("SELECT count(*) FROM client_view WHERE tenant_id = $1")
            .bind(s.id)
            .fetch_one(&env.pool)
            .await?;
        Ok((c as usize >= n).then_some(()))
    })
    .await?;
    Ok(ids)
}

async fn class(app: &TestApp, s: &Studio, starts_in: Span, capacity: u32) -> anyhow::Result<Uuid> {
    let (st, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/classes", s.id),
            &s.owner,
            Some(serde_json::json!({"title": "Reformer Flow", "starts_at": Utc::now() + starts_in, "duration_minutes": 50, "capacity": capacity})),
        )
        .await?;
    anyhow::ensure!(st == 201, "{r}");
    Ok(r["id"].as_str().unwrap_or_default().parse()?)
}

async fn book(
    app: &TestApp,
    s: &Studio,
    class: Uuid,
    client: Uuid,
) -> anyhow::Result<(u16, serde_json::Value)> {
    app.call(
        Method::POST,
        &format!("/api/v1/studios/{}/classes/{class}/bookings", s.id),
        &s.owner,
        Some(serde_json::json!({"client_id": client})),
    )
    .await
}

async fn roster(
    app: &TestApp,
    s: &Studio,
    class: Uuid,
    version: u64,
) -> anyhow::Result<serde_json::Value> {
    eventually(Duration::from_secs(30), "roster", || async {
        let (st, r) = app
            .call(
                Method::GET,
                &format!(
                    "/api/v1/studios/{}/classes/{class}/roster?min_version={version}",
                    s.id
                ),
                &s.owner,
                None,
            )
            .await?;
        Ok((st == 200).then_some(r))
    })
    .await
}

#[tokio::test]
async fn fifty_concurrent_bookings_for_ten_spots_book_ten_and_waitlist_forty_in_order(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let ids = clients(&app, &env, &s, 50).await?;
    let class = class(&app, &s, Span::days(3), 10).await?;
    let results = join_all(ids.iter().map(|c| book(&app, &s, class, *c))).await;
    let mut booked = 0;
    let mut positions = Vec::new();
    let mut version = 0;
    for r in results {
        let (st, body) = r?;
        assert_eq!(st, 201, "{body}");
        version = version.max(body["version"].as_u64().unwrap_or_default());
        match body["status"].as_str() {
            Some("booked") => booked += 1,
            Some("waitlisted") => {
                positions.push(body["waitlist_position"].as_u64().unwrap_or_default())
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    positions.sort_unstable();
    assert_eq!(booked, 10);
    assert_eq!(positions, (1..=40).collect::<Vec<u64>>());
    assert_eq!(version, 51);

    let r = roster(&app, &s, class, 51).await?;
    assert_eq!(r["class"]["booked"], 10);
    assert_eq!(r["class"]["waitlisted"], 40);
    let lines = r["lines"].as_array().cloned().unwrap_or_default();
    let waitlist: Vec<u64> = lines
        .iter()
        .filter(|l| l["status"] == "waitlisted")
        .filter_map(|l| l["waitlist_position"].as_u64())
        .collect();
    assert_eq!(
        waitlist,
        (1..=40).collect::<Vec<u64>>(),
        "the roster lists the waitlist in order"
    );
    assert!(lines.iter().all(|l| l["client_name"]
        .as_str()
        .is_some_and(|n| n.starts_with("Client"))));
    Ok(())
}

#[tokio::test]
async fn freed_spots_promote_the_first_in_line_exactly_once_even_under_concurrent_cancellations(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let ids = clients(&app, &env, &s, 50).await?;
    let class = class(&app, &s, Span::days(3), 25).await?;
    let mut bookings = Vec::new(); // (client, booking, status) in booking order
    for c in &ids {
        let (st, b) = book(&app, &s, class, *c).await?;
        assert_eq!(st, 201);
        bookings.push((
            *c,
            b["booking_id"].as_str().unwrap_or_default().to_owned(),
            b["status"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let waitlisted: Vec<Uuid> = bookings
        .iter()
        .filter(|b| b.2 == "waitlisted")
        .map(|b| b.0)
        .collect();
    let booked: Vec<&(Uuid, String, String)> =
        bookings.iter().filter(|b| b.2 == "booked").collect();
    assert_eq!((booked.len(), waitlisted.len()), (25, 25));

    async fn cancel_at(
        app: &TestApp,
        s: &Studio,
        class: Uuid,
        booking: &str,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        app.call(
            Method::DELETE,
            &format!(
                "/api/v1/studios/{}/classes/{class}/bookings/{booking}",
                s.id
            ),
            &s.owner,
            None,
        )
        .await
    }
    let cancel = |booking: &str| {
        let booking = booking.to_owned();
        let (app, s) = (&app, &s);
        async move { cancel_at(app, s, class, &booking).await }
    };
    let (st, one) = cancel(&booked[0].1).await?;
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["status"], "cancelled");
    assert_eq!(
        one["promoted"],
        serde_json::json!([waitlisted[0]]),
        "the first in line, exactly once"
    );

    let results = join_all(booked[1..21].iter().map(|b| cancel(&b.1))).await;
    let mut promoted: Vec<Uuid> = Vec::new();
    for r in results {
        let (st, body) = r?;
        assert_eq!(st, 200, "{body}");
        for p in body["promoted"].as_array().into_iter().flatten() {
            promoted.push(p.as_str().unwrap_or_default().parse()?);
        }
    }
    promoted.sort_unstable();
    let mut expected = waitlisted[1..21].to_vec();
    expected.sort_unstable();
    assert_eq!(
        promoted, expected,
        "20 freed spots, the next 20 in line, each once"
    );
    let r = roster(&app, &s, class, 1 + 50 + 2 + 40).await?;
    assert_eq!(
        (
            r["class"]["booked"].as_u64(),
            r["class"]["waitlisted"].as_u64()
        ),
        (Some(25), Some(4))
    );
    // Cancelling again is harmless.
    let (st, again) = cancel(&booked[0].1).await?;
    assert_eq!(
        (st, again["promoted"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    Ok(())
}

#[tokio::test]
async fn booking_outside_the_window_twice_or_for_a_cancelled_class_gets_422_with_stable_codes(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?; // booking window: 14 days
    let ids = clients(&app, &env, &s, 2).await?;
    let far = class(&app, &s, Span::days(30), 5).await?;
    let (st, body) = book(&app, &s, far, ids[0]).await?;
    assert_eq!((st, body["code"].as_str()), (422, Some("booking_not_open")));
    let soon = class(&app, &s, Span::days(2), 5).await?;
    assert_eq!(book(&app, &s, soon, ids[0]).await?.0, 201);
    let (st, body) = book(&app, &s, soon, ids[0]).await?;
    assert_eq!((st, body["code"].as_str()), (422, Some("already_booked")));
    let (st, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/classes/{soon}/cancel", s.id),
            &s.owner,
            Some(serde_json::json!({"reason": "instructor ill"})),
        )
        .await?;
    assert_eq!(st, 200);
    let (st, body) = book(&app, &s, soon, ids[1]).await?;
    assert_eq!((st, body["code"].as_str()), (422, Some("class_cancelled")));
    let (st, body) = book(&app, &s, Uuid::new_v4(), ids[1]).await?;
    assert_eq!((st, body["code"].as_str()), (404, Some("class_not_found")));
    let (st, body) = book(&app, &s, soon, Uuid::new_v4()).await?;
    assert_eq!((st, body["code"].as_str()), (422, Some("client_not_found")));
    Ok(())
}

#[tokio::test]
async fn a_late_cancel_and_a_no_show_cost_strikes_and_the_limit_blocks_booking(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, Some(serde_json::json!({"strike_limit": 2, "strike_block_days": 7, "cancellation_cutoff_hours": 12}))).await?;
    let ids = clients(&app, &env, &s, 1).await?;
    let client = ids[0];

    // Late cancel: the class starts in 3 hours, the free-cancel cutoff is 12 hours.
    let soon = class(&app, &s, Span::hours(3), 5).await?;
    let (_, b) = book(&app, &s, soon, client).await?;
    let (st, c) = app
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/studios/{}/classes/{soon}/bookings/{}",
                s.id,
                b["booking_id"].as_str().unwrap_or_default()
            ),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200);
    assert_eq!(
        (c["status"].as_str(), c["strike"].as_bool()),
        (Some("late_cancelled"), Some(true))
    );

    // No-show: booked, never checked in; the class is settled after it ends (the
    // attendance sweep, run here as of a time after the end).
    let other = class(&app, &s, Span::hours(5), 5).await?;
    assert_eq!(book(&app, &s, other, client).await?.0, 201);
    eventually(Duration::from_secs(20), "class view", || async {
        let c: i64 =
            sqlx::query_scalar("SELECT count(*) FROM class_view WHERE id = $1 AND version >= 2")
                .bind(other)
                .fetch_one(&env.pool)
                .await?;
        Ok((c == 1).then_some(()))
    })
    .await?;
    let settled =
        workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now() + Span::hours(7))
            .await?;
    assert!(settled >= 1);
    let strikes: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM client_strike WHERE client_id = $1 ORDER BY at")
            .bind(client)
            .fetch_all(&env.pool)
            .await?;
    assert_eq!(strikes, ["late_cancel", "no_show"]);
    let view = roster(&app, &s, other, 4).await?;
    assert_eq!(view["class"]["status"], "closed");
    assert_eq!(view["lines"][0]["status"], "no_show");

    // Two strikes reach the limit: booking is blocked.
    let next = class(&app, &s, Span::days(2), 5).await?;
    let (st, body) = book(&app, &s, next, client).await?;
    assert_eq!(
        (st, body["code"].as_str()),
        (422, Some("booking_blocked")),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn a_weekly_series_keeps_its_local_time_across_daylight_saving() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?; // Europe/Berlin
                                       // Mondays and Thursdays at 07:00 over the last Sunday of October 2027.
    let (st, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/schedules", s.id),
            &s.owner,
            Some(serde_json::json!({"title": "Sunrise Flow", "weekdays": ["mon", "thu"], "local_time": "07:00",
                "starts_on": "2027-10-18", "count": 6, "duration_minutes": 45})),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    let starts: Vec<String> = r["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["starts_at"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(starts.len(), 6);
    // 07:00 CEST = 05:00Z before 2027-10-31; 07:00 CET = 06:00Z after.
    let expected = [
        "2027-10-18T05:00:00",
        "2027-10-21T05:00:00",
        "2027-10-25T05:00:00",
        "2027-10-28T05:00:00",
        "2027-11-01T06:00:00",
        "2027-11-04T06:00:00",
    ];
    for (got, want) in starts.iter().zip(expected) {
        assert!(got.starts_with(want), "{starts:?}");
    }
    // The calendar shows them (filtered by range) once projected.
    let (s_id, owner) = (s.id, &s.owner);
    let cal = eventually(Duration::from_secs(20), "calendar", || async {
        let (st, cal) = app
            .call(Method::GET, &format!("/api/v1/studios/{s_id}/classes?from=2027-10-18T00:00:00Z&to=2027-11-10T00:00:00Z"), owner, None)
            .await?;
        assert_eq!(st, 200);
        Ok((cal["classes"].as_array().map(Vec::len) == Some(6)).then_some(cal))
    })
    .await?;
    assert!(
        cal["classes"][0]["roster"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "the calendar carries counts, not rosters"
    );
    Ok(())
}

#[tokio::test]
async fn clients_book_and_cancel_for_themselves_only() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let me = app.user("Self Booker").await?;
    app.add_member(&s.owner, s.id, &me, "client").await?;
    let (st, mine) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/clients", s.id),
            &s.owner,
            Some(serde_json::json!({"full_name": "Self Booker", "account_id": me.id})),
        )
        .await?;
    assert_eq!(st, 201);
    let other = clients(&app, &env, &s, 2).await?[0];
    let c = class(&app, &s, Span::days(2), 5).await?;
    let path = format!("/api/v1/studios/{}/classes/{c}/bookings", s.id);
    let (st, b) = app
        .call(Method::POST, &path, &me, Some(serde_json::json!({})))
        .await?;
    assert_eq!((st, b["status"].as_str()), (201, Some("booked")), "{b}");
    let (st, _) = app
        .call(
            Method::POST,
            &path,
            &me,
            Some(serde_json::json!({"client_id": other})),
        )
        .await?;
    assert_eq!(st, 403, "a client cannot book someone else");
    let client_id = mine["id"].as_str().unwrap_or_default();
    let (st, upcoming) = eventually(Duration::from_secs(20), "bookings view", || async {
        let r = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{}/clients/{client_id}/bookings", s.id),
                &me,
                None,
            )
            .await?;
        Ok((r.1["items"].as_array().is_some_and(|i| !i.is_empty())).then_some(r))
    })
    .await?;
    assert_eq!(
        (st, upcoming["items"][0]["status"].as_str()),
        (200, Some("booked"))
    );
    let (st, _) = app
        .call(
            Method::DELETE,
            &format!("{path}/{}", b["booking_id"].as_str().unwrap_or_default()),
            &me,
            None,
        )
        .await?;
    assert_eq!(st, 200);
    let (st, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{}/classes/{c}/roster", s.id),
            &me,
            None,
        )
        .await?;
    assert_eq!(st, 403, "rosters are for staff");
    // Book and cancel at once, before any view has caught up: ownership comes from the
    // class's stream.
    let c2 = class(&app, &s, Span::days(3), 5).await?;
    let path = format!("/api/v1/studios/{}/classes/{c2}/bookings", s.id);
    let (st, b) = app
        .call(Method::POST, &path, &me, Some(serde_json::json!({})))
        .await?;
    assert_eq!(st, 201, "{b}");
    let (st, r) = app
        .call(
            Method::DELETE,
            &format!("{path}/{}", b["booking_id"].as_str().unwrap_or_default()),
            &me,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{r}");
    Ok(())
}

#[tokio::test]
async fn settling_is_idempotent_and_catches_up_after_downtime() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let bus = CommandBus::<Class>::new(env.pool.clone(), ());
    let tenant = Uuid::new_v4();
    let id = Uuid::now_v7();
    let meta = || CommandMetadata::system(tenant, "test", None);
    let start = Utc::now() + Span::hours(1);
    bus.execute(
        &id.to_string(),
        ClassCommand::Close { now: start },
        None,
        meta(),
    )
    .await
    .err();
    let schedule = ClassCommand::Schedule {
        class_id: domain::class::ClassId(id),
        studio_id: domain::studio::StudioId(tenant),
        title: "t".into(),
        class_type_id: None,
        starts_at: start,
        duration_minutes: 30,
        capacity: 3,
        location_id: None,
        instructor_id: None,
        schedule_id: None,
        policy: domain::scheduling::BookingPolicy::default(),
    };
    bus.execute(&id.to_string(), schedule, None, meta()).await?;
    let later = start + Span::hours(2);
    let first = bus
        .execute(
            &id.to_string(),
            ClassCommand::Close { now: later },
            None,
            meta(),
        )
        .await?;
    let second = bus
        .execute(
            &id.to_string(),
            ClassCommand::Close { now: later },
            None,
            meta(),
        )
        .await?;
    assert_eq!((first.events, second.events), (1, 0));
    Ok(())
}

#[tokio::test]
async fn twenty_concurrent_requests_for_one_trainer_slot_make_exactly_one_appointment(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let trainer = app.user("Slot Trainer").await?;
    app.add_member(&s.owner, s.id, &trainer, "trainer").await?;
    let ids = clients(&app, &env, &s, 20).await?;
    let every_day: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| serde_json::json!({"weekday": d, "start": "06:00:00", "end": "22:00:00"}))
        .collect();
    let base = format!("/api/v1/studios/{}/trainers/{}", s.id, trainer.id);
    // The trainer publishes their own availability.
    let (st, r) = app
        .call(Method::PUT, &format!("{base}/availability"), &trainer,
            Some(serde_json::json!({"weekly": every_day, "slot_minutes": 60, "buffer_minutes": 15, "min_notice_minutes": 60})))
        .await?;
    assert_eq!(st, 200, "{r}");
    let from = Utc::now() + Span::days(1);
    let to = from + Span::days(1);
    let range = format!(
        "from={}&to={}",
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let slots = eventually(Duration::from_secs(20), "slots", || async {
        let (st, r) = app
            .call(
                Method::GET,
                &format!("{base}/slots?{range}"),
                &s.owner,
                None,
            )
            .await?;
        assert_eq!(st, 200, "{r}");
        Ok(r["slots"].as_array().filter(|a| a.len() > 2).cloned())
    })
    .await?;
    let slot = slots[1]["starts_at"].clone();
    let book_path = format!("{base}/appointments");
    let results = join_all(ids.iter().map(|c| {
        app.call(
            Method::POST,
            &book_path,
            &s.owner,
            Some(serde_json::json!({"starts_at": slot, "client_id": c})),
        )
    }))
    .await;
    let mut won = Vec::new();
    for r in results {
        let (st, body) = r?;
        match st {
            201 => won.push(body),
            422 => assert_eq!(body["code"], "slot_unavailable"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one appointment");
    let appointment = won[0]["appointment"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Buffers: the next slot starts 75 minutes later, so the one after the booked slot
    // is still free; rescheduling into it works and frees the original.
    let next = slots[2]["starts_at"].clone();
    let (st, _) = app
        .call(
            Method::POST,
            &format!("{base}/appointments/{appointment}/reschedule"),
            &s.owner,
            Some(serde_json::json!({"starts_at": next})),
        )
        .await?;
    assert_eq!(st, 200);
    let (st, body) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &s.owner,
            Some(serde_json::json!({"starts_at": next, "client_id": ids[1]})),
        )
        .await?;
    assert_eq!((st, body["code"].as_str()), (422, Some("slot_unavailable")));
    let (st, _) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &s.owner,
            Some(serde_json::json!({"starts_at": slot, "client_id": ids[1]})),
        )
        .await?;
    assert_eq!(st, 201, "the original slot was freed by the reschedule");
    let (st, _) = app
        .call(
            Method::DELETE,
            &format!("{base}/appointments/{appointment}"),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200);
    // Minimum notice: a slot 30 minutes from now is never offered or bookable.
    let soon = (Utc::now() + Span::minutes(30)).to_rfc3339();
    let (st, body) = app
        .call(
            Method::POST,
            &format!("{base}/appointments"),
            &s.owner,
            Some(serde_json::json!({"starts_at": soon, "client_id": ids[2]})),
        )
        .await?;
    assert_eq!((st, body["code"].as_str()), (422, Some("slot_unavailable")));
    // A front-desk user may not publish a trainer's availability.
    let desk = app.user("Desk").await?;
    app.add_member(&s.owner, s.id, &desk, "front_desk").await?;
    let (st, _) = app
        .call(
            Method::PUT,
            &format!("{base}/availability"),
            &desk,
            Some(serde_json::json!({"weekly": [], "slot_minutes": 60})),
        )
        .await?;
    assert_eq!(st, 403);
    Ok(())
}

#[tokio::test]
async fn classes_take_their_defaults_from_a_class_type_and_a_retried_series_does_not_duplicate(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let base = format!("/api/v1/studios/{}", s.id);
    let policy = serde_json::json!({"opens_hours_before": 48, "closes_minutes_before": 30,
        "free_cancel_hours_before": 6, "promotion_cutoff_minutes": 120,
        "late_cancel_strike": false, "no_show_strike": true});
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/class-types"),
            &s.owner,
            Some(
                serde_json::json!({"name": "Reformer Flow", "duration_minutes": 50,
                "default_capacity": 2, "policy": policy}),
            ),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    let type_id = r["id"].as_str().unwrap_or_default().to_owned();

    // Scheduled right after the type was defined: the type is read from the event store,
    // so no waiting for its view.
    let starts_at = Utc::now() + Span::hours(24);
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/classes"),
            &s.owner,
            Some(serde_json::json!({"class_type_id": type_id, "starts_at": starts_at})),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    let class_id = r["id"].as_str().unwrap_or_default().to_owned();
    let (st, view) = app
        .call(
            Method::GET,
            &format!("{base}/classes/{class_id}?min_version=1"),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{view}");
    assert_eq!(view["title"], "Reformer Flow");
    assert_eq!(view["capacity"], 2);
    assert_eq!(view["class_type_id"], type_id.as_str());
    let minutes = (view["ends_at"]
        .as_str()
        .unwrap_or_default()
        .parse::<chrono::DateTime<Utc>>()?
        - view["starts_at"]
            .as_str()
            .unwrap_or_default()
            .parse::<chrono::DateTime<Utc>>()?)
    .num_minutes();
    assert_eq!(minutes, 50);
    // The type's booking window (48 h) applies: a class in 3 days is not bookable yet.
    let ids = clients(&app, &env, &s, 1).await?;
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/classes"),
            &s.owner,
            Some(serde_json::json!({"class_type_id": type_id, "starts_at": Utc::now() + Span::days(3), "title": "Reformer Flow (late)"})),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    let later = r["id"].as_str().unwrap_or_default().parse()?;
    let (st, r) = book(&app, &s, later, ids[0]).await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("booking_not_open")),
        "{r}"
    );

    // A series from the type; retried with the same schedule_id it creates nothing new.
    let schedule_id = Uuid::now_v7();
    let series = serde_json::json!({"schedule_id": schedule_id, "class_type_id": type_id,
        "weekdays": ["tue"], "local_time": "18:00", "starts_on": "2030-01-01", "count": 3});
    for _ in 0..2 {
        let (st, r) = app
            .call(
                Method::POST,
                &format!("{base}/schedules"),
                &s.owner,
                Some(series.clone()),
            )
            .await?;
        assert_eq!(st, 201, "{r}");
        assert_eq!(r["classes"].as_array().map(Vec::len), Some(3));
    }
    let (s_id, owner) = (s.id, &s.owner);
    eventually(Duration::from_secs(20), "filtered calendar", || async {
        let (st, cal) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{s_id}/classes?from=2030-01-01T00:00:00Z&to=2030-01-31T00:00:00Z&class_type_id={type_id}"),
                owner,
                None,
            )
            .await?;
        assert_eq!(st, 200, "{cal}");
        // The calendar carries the names it refers to: one request renders it.
        let named = cal["class_types"][&type_id] == "Reformer Flow";
        Ok((cal["classes"].as_array().map(Vec::len) == Some(3) && named).then_some(()))
    })
    .await?;
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'class' AND payload->>'schedule_id' = $1",
    )
    .bind(schedule_id.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(events, 3, "the retry wrote no second set of classes");

    // Listing, updating and archiving; an archived type schedules nothing.
    let (st, _) = app
        .call(
            Method::PUT,
            &format!("{base}/class-types/{type_id}"),
            &s.owner,
            Some(serde_json::json!({"name": "Reformer Flow II", "duration_minutes": 55})),
        )
        .await?;
    assert_eq!(st, 200);
    let (st, r) = app
        .call(
            Method::DELETE,
            &format!("{base}/class-types/{type_id}"),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{r}");
    let version = r["version"].as_u64().unwrap_or_default();
    let (st, view) = app
        .call(
            Method::GET,
            &format!("{base}/class-types/{type_id}?min_version={version}"),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{view}");
    assert_eq!(
        (view["name"].as_str(), view["archived"].as_bool()),
        (Some("Reformer Flow II"), Some(true))
    );
    let (_, list) = app
        .call(Method::GET, &format!("{base}/class-types"), &s.owner, None)
        .await?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    let (_, list) = app
        .call(
            Method::GET,
            &format!("{base}/class-types?include_archived=true"),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/classes"),
            &s.owner,
            Some(serde_json::json!({"class_type_id": type_id, "starts_at": starts_at})),
        )
        .await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("class_type_archived")),
        "{r}"
    );

    // Without a type, title and duration are required; another studio's type is unknown.
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/classes"),
            &s.owner,
            Some(serde_json::json!({"starts_at": starts_at, "duration_minutes": 30})),
        )
        .await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("validation_failed")),
        "{r}"
    );
    let other = studio(&app, None).await?;
    let (st, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/classes", other.id),
            &other.owner,
            Some(serde_json::json!({"class_type_id": type_id, "starts_at": starts_at})),
        )
        .await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (404, Some("class_type_not_found")),
        "{r}"
    );
    Ok(())
}

/// A member with the client role and their own client record, once projected.
async fn own_client(
    app: &TestApp,
    env: &TestEnv,
    s: &Studio,
    name: &str,
) -> anyhow::Result<(TestUser, Uuid)> {
    let user = app.user(name).await?;
    app.add_member(&s.owner, s.id, &user, "client").await?;
    let (st, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/clients", s.id),
            &s.owner,
            Some(serde_json::json!({"full_name": name, "account_id": user.id})),
        )
        .await?;
    anyhow::ensure!(st == 201, "{r}");
    let id: Uuid = r["id"].as_str().unwrap_or_default().parse()?;
    eventually(Duration::from_secs(20), "own client view", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM client_view WHERE id = $1")
            .bind(id)
            .fetch_one(&env.pool)
            .await?;
        Ok((n == 1).then_some(()))
    })
    .await?;
    Ok((user, id))
}

#[tokio::test]
async fn clients_check_themselves_in_with_the_code_shown_at_the_studio_and_only_their_own_booking(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let other = clients(&app, &env, &s, 1).await?[0];
    let (me, _) = own_client(&app, &env, &s, "Self Checker").await?;
    // Starts in 30 minutes: check-in is open.
    let c = class(&app, &s, Span::minutes(30), 5).await?;
    let base = format!("/api/v1/studios/{}/classes/{c}", s.id);
    let (st, mine) = app
        .call(
            Method::POST,
            &format!("{base}/bookings"),
            &me,
            Some(serde_json::json!({})),
        )
        .await?;
    assert_eq!(st, 201, "{mine}");
    let (st, theirs) = book(&app, &s, c, other).await?;
    assert_eq!(st, 201, "{theirs}");
    let booking = |b: &serde_json::Value| b["booking_id"].as_str().unwrap_or_default().to_owned();
    let (mine, theirs) = (booking(&mine), booking(&theirs));
    // Who owns a booking is read from the booking view.
    roster(&app, &s, c, 3).await?;

    // Staff fetch the code to show; clients cannot.
    let (st, issued) = app
        .call(
            Method::GET,
            &format!("{base}/check-in-code"),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{issued}");
    let code = issued["code"].as_str().unwrap_or_default().to_owned();
    assert_eq!(code.len(), 6, "{issued}");
    let expires_at: chrono::DateTime<Utc> =
        issued["expires_at"].as_str().unwrap_or_default().parse()?;
    assert!(expires_at > Utc::now() + Span::minutes(9), "{issued}");
    let (st, _) = app
        .call(Method::GET, &format!("{base}/check-in-code"), &me, None)
        .await?;
    assert_eq!(
        st, 403,
        "the code is for staff to show, not for clients to fetch"
    );

    let check_in = |booking: &str, body: Option<serde_json::Value>, user: &TestUser| {
        let path = format!("{base}/bookings/{booking}/check-in");
        let user = user.clone();
        let app = &app;
        async move { app.call(Method::POST, &path, &user, body).await }
    };
    // Without a code, or with a wrong one: refused.
    let (st, r) = check_in(&mine, None, &me).await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("invalid_check_in_code")),
        "{r}"
    );
    let mut wrong = code.clone().into_bytes();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong)?;
    let (st, r) = check_in(&mine, Some(serde_json::json!({"code": wrong})), &me).await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("invalid_check_in_code")),
        "{r}"
    );
    assert_eq!(
        r["type"], "urn:repstream:problem:invalid_check_in_code",
        "{r}"
    );
    // The right code does not open someone else's booking.
    let (st, r) = check_in(&theirs, Some(serde_json::json!({"code": code})), &me).await?;
    assert_eq!(st, 403, "{r}");
    // The right code, typed sloppily, checks me in.
    let typed = format!("{}-{}", &code[..3], &code[3..]).to_lowercase();
    let (st, r) = check_in(&mine, Some(serde_json::json!({"code": typed})), &me).await?;
    assert_eq!(st, 200, "{r}");
    // Staff still check anyone in without a code (and without a body).
    let (st, r) = check_in(&theirs, None, &s.owner).await?;
    assert_eq!(st, 200, "{r}");
    let version = r["version"].as_u64().unwrap_or_default();
    assert_eq!(version, 5);

    let view = roster(&app, &s, c, version).await?;
    let statuses: Vec<&str> = view["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["status"].as_str())
        .collect();
    assert_eq!(statuses, ["checked_in", "checked_in"], "{view}");

    // No code before check-in opens, nor for a class that does not exist.
    let later = class(&app, &s, Span::days(2), 5).await?;
    let (st, r) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{}/classes/{later}/check-in-code", s.id),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (422, Some("check_in_not_open")),
        "{r}"
    );
    let (st, r) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/studios/{}/classes/{}/check-in-code",
                s.id,
                Uuid::now_v7()
            ),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(
        (st, r["code"].as_str()),
        (404, Some("class_not_found")),
        "{r}"
    );
    Ok(())
}

/// Schedules, through the command bus, a 50-minute class starting at `start` (which may
/// lie in the past) and books `clients` an hour before it; those flagged are checked in
/// five minutes before the start. Returns the class and its booking ids.
async fn class_at(
    bus: &CommandBus<Class>,
    studio: Uuid,
    start: chrono::DateTime<Utc>,
    clients: &[(Uuid, bool)],
) -> anyhow::Result<(Uuid, Vec<Uuid>)> {
    let id = Uuid::now_v7();
    let meta = || CommandMetadata::system(studio, "test", None);
    let schedule = ClassCommand::Schedule {
        class_id: domain::class::ClassId(id),
        studio_id: domain::studio::StudioId(studio),
        title: format!("Class at {}", start.format("%H:%M")),
        class_type_id: None,
        starts_at: start,
        duration_minutes: 50,
        capacity: 10,
        location_id: None,
        instructor_id: None,
        schedule_id: None,
        policy: domain::scheduling::BookingPolicy::default(),
    };
    bus.execute(&id.to_string(), schedule, None, meta()).await?;
    let mut bookings = Vec::new();
    for (client, _) in clients {
        let booking = Uuid::now_v7();
        let book = ClassCommand::Book {
            booking_id: domain::class::BookingId(booking),
            client_id: domain::client::ClientId(*client),
            now: start - Span::hours(1),
            blocked_until: None,
        };
        bus.execute(&id.to_string(), book, None, meta()).await?;
        bookings.push(booking);
    }
    for (booking, _) in bookings.iter().zip(clients).filter(|(_, c)| c.1) {
        let check_in = ClassCommand::CheckIn {
            booking_id: domain::class::BookingId(*booking),
            now: start - Span::minutes(5),
        };
        bus.execute(&id.to_string(), check_in, None, meta()).await?;
    }
    Ok((id, bookings))
}

/// Waits until the class views of `classes` are at their versions.
async fn class_views_at(env: &TestEnv, classes: &[(Uuid, i64)]) -> anyhow::Result<()> {
    let (ids, versions): (Vec<Uuid>, Vec<i64>) = classes.iter().copied().unzip();
    eventually(Duration::from_secs(30), "class views", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM class_view v JOIN unnest($1::uuid[], $2::bigint[]) AS w(id, version) \
             ON v.id = w.id AND v.version >= w.version",
        )
        .bind(&ids)
        .bind(&versions)
        .fetch_one(&env.pool)
        .await?;
        Ok((n as usize == classes.len()).then_some(()))
    })
    .await
}

#[tokio::test]
async fn classes_that_ended_while_nothing_settled_attendance_are_settled_once_by_the_next_sweep(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // API, relay and projector, but no attendance sweeper: it is down.
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    let s = studio(&app, None).await?;
    let c = clients(&app, &env, &s, 3).await?;
    let bus = CommandBus::<Class>::new(env.api_pool.clone(), ());
    let now = Utc::now();
    // Two classes ended during the downtime; one is still running.
    let (early, _) = class_at(
        &bus,
        s.id,
        now - Span::hours(3),
        &[(c[0], true), (c[1], false)],
    )
    .await?;
    let (late, _) = class_at(
        &bus,
        s.id,
        now - Span::hours(2),
        &[(c[1], false), (c[2], true)],
    )
    .await?;
    let (running, _) = class_at(&bus, s.id, now - Span::minutes(10), &[(c[0], false)]).await?;
    class_views_at(&env, &[(early, 4), (late, 4), (running, 2)]).await?;

    let class_events = || async {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT aggregate_id, event_type, payload->>'client_id' FROM events \
             WHERE aggregate_type = 'class' AND tenant_id = $1 \
             AND event_type IN ('NoShowRecorded', 'ClassClosed') ORDER BY position",
        )
        .bind(s.id)
        .fetch_all(&env.pool)
        .await?;
        anyhow::Ok(rows)
    };
    let strikes = || async {
        let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT class_id, client_id, kind FROM client_strike WHERE tenant_id = $1 ORDER BY class_id",
        )
        .bind(s.id)
        .fetch_all(&env.pool)
        .await?;
        anyhow::Ok(rows)
    };
    assert!(class_events().await?.is_empty(), "nothing settled yet");

    // The sweeper is back: one sweep settles everything that ended meanwhile.
    let settled = workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now()).await?;
    assert_eq!(settled, 2);
    let no_show = |class: Uuid, client: Uuid| {
        (
            class.to_string(),
            "NoShowRecorded".to_owned(),
            Some(client.to_string()),
        )
    };
    let closed = |class: Uuid| (class.to_string(), "ClassClosed".to_owned(), None);
    let settled_events = vec![
        no_show(early, c[1]),
        closed(early),
        no_show(late, c[1]),
        closed(late),
    ];
    assert_eq!(
        class_events().await?,
        settled_events,
        "only the booked clients who did not check in are no-shows"
    );
    let mut expected_strikes = vec![
        (early, c[1], "no_show".to_owned()),
        (late, c[1], "no_show".to_owned()),
    ];
    expected_strikes.sort();
    assert_eq!(strikes().await?, expected_strikes);

    // Sweeping again, even before the views show the classes closed, changes nothing.
    workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now()).await?;
    assert_eq!(class_events().await?, settled_events);
    class_views_at(&env, &[(early, 6), (late, 6)]).await?;
    assert_eq!(
        workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now()).await?,
        0,
        "nothing left to settle"
    );
    assert_eq!(class_events().await?, settled_events);
    assert_eq!(strikes().await?, expected_strikes);
    let view = roster(&app, &s, early, 6).await?;
    assert_eq!(view["class"]["status"], "closed");
    let mut statuses: Vec<(String, String)> = view["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["client_id"].as_str().unwrap_or_default().to_owned(),
                l["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    statuses.sort();
    let mut expected = vec![
        (c[0].to_string(), "checked_in".to_owned()),
        (c[1].to_string(), "no_show".to_owned()),
    ];
    expected.sort();
    assert_eq!(statuses, expected);

    // The running class is settled by a sweep after it ends.
    let settled =
        workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now() + Span::hours(1))
            .await?;
    assert_eq!(settled, 1);
    assert_eq!(
        class_events().await?[settled_events.len()..],
        [no_show(running, c[0]), closed(running)]
    );
    Ok(())
}

#[tokio::test]
async fn a_clients_history_shows_past_bookings_with_their_final_status_and_upcoming_ones_apart(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let (me, client) = own_client(&app, &env, &s, "History Client").await?;
    let bus = CommandBus::<Class>::new(env.api_pool.clone(), ());
    let now = Utc::now();
    let (attended, _) = class_at(&bus, s.id, now - Span::days(2), &[(client, true)]).await?;
    let (missed, _) = class_at(&bus, s.id, now - Span::days(1), &[(client, false)]).await?;
    let ahead = class(&app, &s, Span::days(2), 5).await?;
    let (st, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/classes/{ahead}/bookings", s.id),
            &me,
            Some(serde_json::json!({})),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    class_views_at(&env, &[(attended, 3), (missed, 2), (ahead, 2)]).await?;
    assert_eq!(
        workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now()).await?,
        2
    );
    class_views_at(&env, &[(attended, 4), (missed, 4)]).await?;

    let history = |scope: &'static str, user: &TestUser| {
        let path = format!(
            "/api/v1/studios/{}/clients/{client}/bookings?scope={scope}",
            s.id
        );
        let user = user.clone();
        let app = &app;
        async move {
            let (st, r) = app.call(Method::GET, &path, &user, None).await?;
            anyhow::ensure!(st == 200, "{scope}: {st} {r}");
            let items: Vec<(String, String)> = r["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    (
                        i["class_id"].as_str().unwrap_or_default().to_owned(),
                        i["status"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            anyhow::Ok(items)
        }
    };
    let past = vec![
        (missed.to_string(), "no_show".to_owned()),
        (attended.to_string(), "checked_in".to_owned()),
    ];
    let upcoming = vec![(ahead.to_string(), "booked".to_owned())];
    // The client sees their own history, staff see it too; latest first.
    for user in [&me, &s.owner] {
        assert_eq!(history("past", user).await?, past);
        assert_eq!(history("upcoming", user).await?, upcoming);
    }
    Ok(())
}

#[tokio::test]
async fn cancelling_the_rest_of_a_series_cancels_each_later_occurrence_once() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = studio(&app, None).await?;
    let base = format!("/api/v1/studios/{}", s.id);
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/schedules"),
            &s.owner,
            Some(serde_json::json!({"title": "Evening Mat", "weekdays": ["wed"], "local_time": "19:00",
                "starts_on": "2031-03-01", "count": 4, "duration_minutes": 45})),
        )
        .await?;
    assert_eq!(st, 201, "{r}");
    let schedule_id = r["schedule_id"].as_str().unwrap_or_default().to_owned();
    let starts: Vec<String> = r["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["starts_at"].as_str().map(str::to_owned))
        .collect();
    let ids: Vec<String> = r["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let range = "from=2031-03-01T00:00:00Z&to=2031-04-30T00:00:00Z";
    let calendar = || async {
        let (st, cal) = app
            .call(
                Method::GET,
                &format!("{base}/classes?{range}"),
                &s.owner,
                None,
            )
            .await?;
        anyhow::ensure!(st == 200, "{cal}");
        let statuses: Vec<String> = cal["classes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["status"].as_str().map(str::to_owned))
            .collect();
        anyhow::Ok(statuses)
    };
    eventually(
        Duration::from_secs(20),
        "series in the calendar",
        || async { Ok((calendar().await?.len() == 4).then_some(())) },
    )
    .await?;
    let cancel = serde_json::json!({"reason": "Instructor moves away", "from": starts[1]});
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/schedules/{schedule_id}/cancel"),
            &s.owner,
            Some(cancel.clone()),
        )
        .await?;
    assert_eq!(st, 200, "{r}");
    let cancelled: Vec<String> = r["cancelled"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    assert_eq!(cancelled, ids[1..].to_vec());
    let statuses = eventually(
        Duration::from_secs(20),
        "cancellations projected",
        || async {
            let statuses = calendar().await?;
            Ok((statuses.iter().filter(|s| *s == "cancelled").count() == 3).then_some(statuses))
        },
    )
    .await?;
    assert_eq!(
        statuses,
        ["scheduled", "cancelled", "cancelled", "cancelled"]
    );
    let (st, r) = app
        .call(
            Method::POST,
            &format!("{base}/schedules/{schedule_id}/cancel"),
            &s.owner,
            Some(cancel),
        )
        .await?;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        r["cancelled"].as_array().map(Vec::len),
        Some(0),
        "nothing twice"
    );
    Ok(())
}
