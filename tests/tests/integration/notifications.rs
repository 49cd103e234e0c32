//! Booking notifications through the whole pipeline (issue 12, first part): the client
//! hears of their booking and of their place on the waitlist, once each, in the
//! studio's name and time zone, as text and HTML.

use std::time::Duration;

use anyhow::Context;

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

/// Production mail goes through an SMTP relay (`SMTP_URL`): here a real SMTP server
/// (aiosmtpd). The relay is down when the booking is made: the send fails, the claim is
/// released, the worker pauses until the relay answers (no receive spent per retry), and
/// once the relay is back the message arrives once, its `Message-ID` the job's id (the
/// idempotency key receiving systems deduplicate on).
#[tokio::test]
async fn mail_goes_out_through_a_real_smtp_relay_once_even_if_the_relay_was_down_at_first(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut smtp = repstream_tests::smtp::SmtpServer::start().await?;
    smtp.down().await?;
    let notifier = std::sync::Arc::new(workers::SmtpNotifier::new(
        &smtp.url(),
        repstream_tests::TEST_MAIL_FROM,
        Duration::from_secs(5),
    )?);
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker_with(env.notification_worker_with(notifier));

    let owner = app.user("Smtp Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Smtp").await?;
    let (s, client) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/clients"),
            &owner,
            Some(json!({"full_name": "Rita", "email": "rita@smtp.example"})),
        )
        .await?;
    assert_eq!(s, 201, "{client}");
    let starts_at = Utc::now() + Span::days(2);
    let (s, class) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/classes"),
            &owner,
            Some(json!({"title": "Mat Grüße", "starts_at": starts_at, "duration_minutes": 45, "capacity": 4})),
        )
        .await?;
    assert_eq!(s, 201, "{class}");
    let (s, booking) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/studios/{studio}/classes/{}/bookings",
                class["id"].as_str().unwrap_or_default()
            ),
            &owner,
            Some(json!({"client_id": client["id"]})),
        )
        .await?;
    assert!(s == 200 || s == 201, "{s} {booking}");

    // The relay refuses connections: an attempt is recorded as failed (the owner's
    // sign-up mail or the booking's, whichever the worker takes first: after the first
    // failure it pauses until the relay answers), nothing sent.
    let pool = env.pool.clone();
    let state = |wanted: &'static str, tenant: Option<uuid::Uuid>| {
        let pool = pool.clone();
        move || {
            let pool = pool.clone();
            async move {
                let found: Option<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT job_id FROM side_effect WHERE consumer = 'notifications' \
                     AND ($1::uuid IS NULL OR tenant_id = $1) AND state = $2 LIMIT 1",
                )
                .bind(tenant)
                .bind(wanted)
                .fetch_optional(&pool)
                .await?;
                Ok(found)
            }
        }
    };
    eventually(
        Duration::from_secs(30),
        "a failed send",
        state("failed", None),
    )
    .await?;
    assert!(smtp.received().is_empty());
    // An outage of the relay is not the message's fault: the worker pauses instead of
    // spending the job's receives (with immediate retries, five would be gone by now and
    // the job in the DLQ).
    tokio::time::sleep(Duration::from_secs(3)).await;

    smtp.up().await?;
    let job = eventually(
        Duration::from_secs(60),
        "the send after the relay returned",
        state("done", Some(studio)),
    )
    .await?;
    let received: Vec<Vec<u8>> = smtp
        .received()
        .into_iter()
        .filter(|m| String::from_utf8_lossy(m).contains("rita@smtp.example"))
        .collect();
    assert_eq!(received.len(), 1, "sent once");
    let mail = infra::mailbox::parse(job, Utc::now(), &received[0]).context("a message")?;
    assert_eq!(mail.to, "rita@smtp.example");
    assert_eq!(mail.subject, "Harbor Smtp: you are booked for Mat Grüße");
    assert!(mail.html.is_some_and(|h| h.contains("Mat Grüße")));
    let raw = String::from_utf8_lossy(&received[0]);
    assert!(
        raw.contains(&format!("<{job}@repstream>")),
        "the Message-ID is the job id"
    );
    Ok(())
}

/// `make run`'s mailbox over HTTP (`DEV_MAILBOX_DIR`): every mail listed with its decoded
/// headers and bodies, each also as `message/rfc822`; absent unless configured.
#[tokio::test]
async fn the_dev_mailbox_lists_sent_mail_only_where_it_is_configured() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.dev_mailbox = Some(env.mailbox.clone());
    let app = env.spawn_api_with(config).await?;
    let plain = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    // Sign-up mails a verification link.
    let user = app.unverified_user("Dev Mailbox").await?;
    let mails = eventually(Duration::from_secs(30), "the verification mail", || async {
        let listed: serde_json::Value = app
            .client
            .get(format!("{}/dev/mailbox?to={}", app.base, user.email))
            .send()
            .await?
            .json()
            .await?;
        Ok(listed.as_array().filter(|m| !m.is_empty()).cloned())
    })
    .await?;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], json!(user.email));
    assert!(mails[0]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("/verify-email?token="));
    let id = mails[0]["id"].as_str().unwrap_or_default();
    let raw = app
        .client
        .get(format!("{}/dev/mailbox/{id}", app.base))
        .send()
        .await?;
    assert_eq!(raw.status(), 200);
    assert_eq!(
        raw.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("message/rfc822")
    );
    assert!(raw.text().await?.contains(&format!("<{id}@repstream>")));
    for path in [
        "/dev/mailbox/not-an-id",
        "/dev/mailbox/00000000-0000-0000-0000-000000000001",
    ] {
        let s = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await?
            .status();
        assert_eq!(s, 404, "{path}");
    }
    // Not configured: no such route.
    let s = plain
        .client
        .get(format!("{}/dev/mailbox", plain.base))
        .send()
        .await?
        .status();
    assert_eq!(s, 404);
    Ok(())
}

/// A class that changes (here: its instructor) tells everyone booked or waiting, each
/// step the moment the previous one answered.
#[tokio::test]
async fn a_new_instructor_is_announced_to_everyone_booked_or_waiting() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Change Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Change").await?;
    let base = format!("/api/v1/studios/{studio}");
    let mut clients = Vec::new();
    for (name, email) in [
        ("Rita", "rita@change.example"),
        ("Sam", "sam@change.example"),
    ] {
        let (s, body) = app
            .call(
                Method::POST,
                &format!("{base}/clients"),
                &owner,
                Some(json!({"full_name": name, "email": email})),
            )
            .await?;
        assert_eq!(s, 201, "{body}");
        clients.push(body["id"].clone());
    }
    let (s, class) = app
        .call(
            Method::POST,
            &format!("{base}/classes"),
            &owner,
            Some(json!({"title": "Core", "starts_at": Utc::now() + Span::days(2), "duration_minutes": 45, "capacity": 1})),
        )
        .await?;
    assert_eq!(s, 201, "{class}");
    let class = class["id"].as_str().unwrap_or_default().to_owned();
    for client in &clients {
        let (s, body) = app
            .call(
                Method::POST,
                &format!("{base}/classes/{class}/bookings"),
                &owner,
                Some(json!({"client_id": client})),
            )
            .await?;
        assert_eq!(s, 201, "{body}");
    }
    let (s, body) = app
        .call(
            Method::PUT,
            &format!("{base}/classes/{class}/instructor"),
            &owner,
            Some(json!({"instructor_id": owner.id})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    for to in ["rita@change.example", "sam@change.example"] {
        let env = &env;
        eventually(
            Duration::from_secs(30),
            "the change notice",
            || async move {
                Ok(env
                    .mails_to(to)
                    .into_iter()
                    .find(|(subject, _)| subject == "Harbor Change: Core has a new instructor"))
            },
        )
        .await?;
    }
    Ok(())
}

/// Notifications are addressed from the directory written with the events, never from a
/// view: here the projector runs without `client_view` and `studio_view` at all (as if
/// the client's and the studio's streams lagged behind the class's), and the booking
/// still reaches the client in the studio's name, and the instructor by the client's.
#[tokio::test]
async fn a_booking_reaches_client_and_instructor_by_name_before_any_view_has_them(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_worker();
    let projections = projector::all_projections()
        .into_iter()
        .filter(|p| !matches!(p.name(), "client_view" | "studio_view"))
        .collect();
    let lagging = projector::Projector::new(
        env.projector_pool.clone(),
        projections,
        env.sqs.clone(),
        env.job_queues(),
    );
    let config = env.consumer_config(&env.events_queue);
    let token = env.shutdown.child_token();
    tokio::spawn(projector::run(lagging, env.sqs.clone(), config, token));

    let owner = app.user("Directory Owner").await?;
    let studio = app.create_studio(&owner, "Directory Studio").await?;
    let (s, client) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/clients"),
            &owner,
            Some(json!({"full_name": "Dora Direct", "email": "dora@clients.example"})),
        )
        .await?;
    assert_eq!(s, 201, "{client}");
    let (s, class) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/classes"),
            &owner,
            Some(
                json!({"title": "Directory Flow", "starts_at": Utc::now() + Span::days(2),
                "duration_minutes": 50, "capacity": 4, "instructor_id": owner.id}),
            ),
        )
        .await?;
    assert_eq!(s, 201, "{class}");
    let (s, booking) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/studios/{studio}/classes/{}/bookings",
                class["id"].as_str().unwrap_or_default()
            ),
            &owner,
            Some(json!({"client_id": client["id"]})),
        )
        .await?;
    assert_eq!(s, 201, "{booking}");

    let found = |to: &str, subject: &str| {
        env.mails_to(to)
            .into_iter()
            .find(|(s, _)| s.contains(subject))
    };
    let confirmation = eventually(Duration::from_secs(30), "the confirmation", || async {
        Ok(found("dora@clients.example", "you are booked"))
    })
    .await?;
    assert_eq!(
        confirmation.0,
        "Directory Studio: you are booked for Directory Flow"
    );
    let activity = eventually(
        Duration::from_secs(30),
        "the instructor's notice",
        || async { Ok(found(&owner.email, "booked")) },
    )
    .await?;
    assert_eq!(
        activity.0,
        "Directory Studio: Dora Direct booked (Directory Flow)"
    );
    let views: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM client_view) + (SELECT count(*) FROM studio_view)",
    )
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(views, 0, "no view was ever written");
    Ok(())
}
