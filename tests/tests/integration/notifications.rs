//! Booking notifications through the whole pipeline (issue 12, first part): the client
//! hears of their booking and of their place on the waitlist, once each, in the
//! studio's name and time zone, as text and HTML.

use std::time::Duration;

use chrono::{Duration as Span, TimeZone, Timelike, Utc};
use repstream_tests::{eventually, TestEnv};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_booking_mails_one_confirmation_with_the_class_its_local_time_and_the_studio(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Mail Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Mail").await?;
    // Each step the moment the previous one answered: clients, class, two bookings.
    let mut clients = Vec::new();
    for (name, email) in [
        ("Rita", "rita@clients.example"),
        ("Sam", "sam@clients.example"),
    ] {
        let (s, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/studios/{studio}/clients"),
                &owner,
                Some(json!({"full_name": name, "email": email})),
            )
            .await?;
        assert_eq!(s, 201, "{body}");
        clients.push(body["id"].as_str().unwrap_or_default().to_owned());
    }
    let day = (Utc::now() + Span::days(3)).date_naive();
    let starts_at = Utc.from_utc_datetime(&day.and_hms_opt(8, 30, 0).expect("time"));
    let (s, class) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/classes"),
            &owner,
            Some(json!({"title": "Reformer <Flow>", "starts_at": starts_at, "duration_minutes": 50, "capacity": 1})),
        )
        .await?;
    assert_eq!(s, 201, "{class}");
    let class = class["id"].as_str().unwrap_or_default().to_owned();
    for client in &clients {
        let (s, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/studios/{studio}/classes/{class}/bookings"),
                &owner,
                Some(json!({"client_id": client})),
            )
            .await?;
        assert!(s == 200 || s == 201, "{s} {body}");
    }

    let local = starts_at.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(local.minute(), 30);
    let when = format!("{} (Europe/Berlin)", local.format("%a %-d %b %Y, %H:%M"));
    let mail = |to: &'static str| {
        let env = &env;
        async move {
            eventually(Duration::from_secs(30), "the booking mail", || async {
                let mails = env.mails_to(to);
                Ok((!mails.is_empty()).then_some(mails))
            })
            .await
        }
    };
    let rita = mail("rita@clients.example").await?;
    assert_eq!(rita[0].0, "Harbor Mail: you are booked for Reformer <Flow>");
    assert!(rita[0].1.contains(&when), "{when} in {}", rita[0].1);
    assert!(rita[0].1.contains("multipart/alternative") || rita[0].1.contains("text/html"));
    assert!(
        rita[0].1.contains("Reformer &lt;Flow&gt;"),
        "HTML part escapes the title"
    );
    let sam = mail("sam@clients.example").await?;
    assert_eq!(
        sam[0].0,
        "Harbor Mail: you are on the waitlist for Reformer <Flow>"
    );
    assert!(
        sam[0].1.contains("number 1 on the waitlist"),
        "{}",
        sam[0].1
    );

    // Settled: each once, however often the jobs were delivered.
    let pool = env.pool.clone();
    eventually(Duration::from_secs(30), "the jobs recorded", || {
        let pool = pool.clone();
        async move {
            let done: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM side_effect WHERE consumer = 'notifications' AND tenant_id = $1 \
                 AND state = 'done'",
            )
            .bind(studio)
            .fetch_one(&pool)
            .await?;
            Ok((done >= 2).then_some(()))
        }
    })
    .await?;
    assert_eq!(env.mails_to("rita@clients.example").len(), 1);
    assert_eq!(env.mails_to("sam@clients.example").len(), 1);
    Ok(())
}
