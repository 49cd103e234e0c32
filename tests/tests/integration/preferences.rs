//! Notification preferences (issue 12): one-click unsubscribe (RFC 8058) from a kind of a
//! studio's mail, types turned off per channel, quiet hours in the person's time zone,
//! and security mail that always goes.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser, TEST_API_URL, TEST_APP_URL};
use reqwest::Method;
use serde_json::{json, Value};

async fn post(app: &TestApp, user: &TestUser, path: &str, body: Value) -> anyhow::Result<Value> {
    let (s, reply) = app.call(Method::POST, path, user, Some(body)).await?;
    anyhow::ensure!(s == 201, "POST {path}: {s} {reply}");
    Ok(reply)
}

async fn new_class(
    app: &TestApp,
    owner: &TestUser,
    base: &str,
    title: &str,
) -> anyhow::Result<String> {
    let body = json!({"title": title, "starts_at": Utc::now() + Span::days(3), "duration_minutes": 45, "capacity": 5});
    Ok(
        post(app, owner, &format!("{base}/classes"), body).await?["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn one_click_unsubscribe_stops_that_kind_of_mail_from_that_studio_only() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Unsub Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Unsub").await?;
    let base = format!("/api/v1/studios/{studio}");
    let rita = post(
        &app,
        &owner,
        &format!("{base}/clients"),
        json!({"full_name": "Rita", "email": "rita@unsub.example"}),
    )
    .await?["id"]
        .clone();
    let first = new_class(&app, &owner, &base, "First Flow").await?;
    post(
        &app,
        &owner,
        &format!("{base}/classes/{first}/bookings"),
        json!({"client_id": rita}),
    )
    .await?;

    let mailbox = infra::mailbox::Mailbox::new(&env.mailbox);
    let confirmation = eventually(Duration::from_secs(30), "the confirmation", || async {
        Ok(mailbox.to("rita@unsub.example")?.into_iter().next())
    })
    .await?;
    let header = confirmation.list_unsubscribe.clone().unwrap_or_default();
    let prefix = format!("<{TEST_API_URL}/api/v1/unsubscribe?token=");
    assert!(header.starts_with(&prefix), "{header}");
    let token = header
        .trim_start_matches(&prefix)
        .trim_end_matches('>')
        .to_owned();
    assert!(
        confirmation
            .text
            .contains(&format!("{TEST_APP_URL}/unsubscribe?token={token}")),
        "{}",
        confirmation.text
    );

    // The mail client's one-click POST (RFC 8058), twice: the same answer.
    for _ in 0..2 {
        let reply = app
            .client
            .post(format!("{}/api/v1/unsubscribe?token={token}", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await?;
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await?;
        assert_eq!(body["kind"], "booking_confirmed", "{body}");
    }
    for bad in ["nope", &"x".repeat(500)] {
        let reply = app
            .client
            .post(format!("{}/api/v1/unsubscribe?token={bad}", app.base))
            .send()
            .await?;
        assert_eq!(reply.status(), 404);
    }

    // Another booking: no confirmation, but its cancellation (another kind) comes. The
    // notifications of a studio are one FIFO group: when the cancellation has arrived,
    // the confirmation before it has been handled.
    let second = new_class(&app, &owner, &base, "Second Flow").await?;
    let booking = post(
        &app,
        &owner,
        &format!("{base}/classes/{second}/bookings"),
        json!({"client_id": rita}),
    )
    .await?;
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!(
                "{base}/classes/{second}/bookings/{}",
                booking["booking_id"].as_str().unwrap_or_default()
            ),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    eventually(Duration::from_secs(30), "the cancellation mail", || async {
        Ok(mailbox
            .to("rita@unsub.example")?
            .into_iter()
            .find(|m| m.subject.contains("cancelled")))
    })
    .await?;
    let subjects: Vec<String> = mailbox
        .to("rita@unsub.example")?
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains("you are booked"))
            .count(),
        1,
        "{subjects:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_person_turns_types_off_per_channel_and_quiet_hours_hold_optional_email_back(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Prefs Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Prefs").await?;
    let base = format!("/api/v1/studios/{studio}");
    let cleo = app.user("Cleo Prefs").await?;
    app.add_member(&owner, studio, &cleo, "client").await?;
    let path = "/api/v1/me/notification-preferences";

    let (s, prefs) = app.call(Method::GET, path, &cleo, None).await?;
    assert_eq!(s, 200, "{prefs}");
    assert_eq!(
        prefs,
        json!({"muted": [], "quiet_hours": null, "digest": null})
    );
    // Security mail cannot be turned off; nonsense is refused whole.
    for bad in [
        json!({"muted": [{"kind": "password_reset", "channel": "email"}]}),
        json!({"muted": [{"kind": "class_reminder", "channel": "pigeon"}]}),
        json!({"quiet_hours": {"start": "25:00", "end": "07:00", "timezone": "Europe/Berlin"}}),
        json!({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}}),
        json!({"muted": [], "surprise": true}),
    ] {
        let (s, body) = app
            .call(Method::PUT, path, &cleo, Some(bad.clone()))
            .await?;
        assert!(s == 400 || s == 422, "{bad}: {s} {body}");
    }
    // No confirmation in the app; email as usual.
    let muted = json!({"muted": [{"kind": "booking_confirmed", "channel": "in_app"}], "quiet_hours": null, "digest": null});
    let (s, body) = app
        .call(Method::PUT, path, &cleo, Some(muted.clone()))
        .await?;
    assert_eq!(s, 200, "{body}");
    let (_, prefs) = app.call(Method::GET, path, &cleo, None).await?;
    assert_eq!(prefs, muted);

    let first = new_class(&app, &owner, &base, "Quiet Flow").await?;
    post(
        &app,
        &cleo,
        &format!("{base}/classes/{first}/bookings"),
        json!({}),
    )
    .await?;
    let mailbox = infra::mailbox::Mailbox::new(&env.mailbox);
    eventually(
        Duration::from_secs(30),
        "the confirmation by email",
        || async {
            Ok(mailbox
                .to(&cleo.email)?
                .into_iter()
                .find(|m| m.subject.contains("you are booked for Quiet Flow")))
        },
    )
    .await?;
    // The in-app job was handled in the same FIFO group before or with the email one.
    let (_, inbox) = app
        .call(Method::GET, "/api/v1/me/notifications", &cleo, None)
        .await?;
    assert!(
        !inbox["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|n| n["kind"] == "booking_confirmed")),
        "{inbox}"
    );

    // Quiet hours around now (in UTC): the next confirmation email waits in Postgres,
    // the studio's other notifications keep flowing.
    let now = Utc::now();
    let hm = |t: chrono::DateTime<Utc>| t.format("%H:%M").to_string();
    let quiet = json!({"muted": [], "quiet_hours": {"start": hm(now - Span::hours(1)), "end": hm(now + Span::hours(2)), "timezone": "UTC"}});
    let (s, body) = app.call(Method::PUT, path, &cleo, Some(quiet)).await?;
    assert_eq!(s, 200, "{body}");
    let second = new_class(&app, &owner, &base, "Night Flow").await?;
    post(
        &app,
        &cleo,
        &format!("{base}/classes/{second}/bookings"),
        json!({}),
    )
    .await?;
    let rita = post(
        &app,
        &owner,
        &format!("{base}/clients"),
        json!({"full_name": "Rita", "email": "rita@prefs.example"}),
    )
    .await?["id"]
        .clone();
    post(
        &app,
        &owner,
        &format!("{base}/classes/{second}/bookings"),
        json!({"client_id": rita}),
    )
    .await?;
    eventually(
        Duration::from_secs(60),
        "someone else's mail, not held back",
        || async { Ok(mailbox.to("rita@prefs.example")?.into_iter().next()) },
    )
    .await?;
    let held: Vec<(chrono::DateTime<Utc>, Value)> =
        sqlx::query_as("SELECT due_at, job FROM deferred_job WHERE tenant_id = $1")
            .bind(studio)
            .fetch_all(&env.pool)
            .await?;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].1["template"], "booking_confirmed");
    assert!(
        held[0].0 > now + Span::minutes(100),
        "held until the quiet hours end"
    );
    assert!(!mailbox
        .to(&cleo.email)?
        .iter()
        .any(|m| m.subject.contains("Night Flow")));
    // In the app it is there at once (quiet hours hold back email only).
    let (_, inbox) = app
        .call(Method::GET, "/api/v1/me/notifications", &cleo, None)
        .await?;
    assert!(
        inbox["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|n| n["title"]
                .as_str()
                .is_some_and(|t| t.contains("Night Flow")))),
        "{inbox}"
    );

    // Once the quiet hours are over (here: turned off), the sweep sends it, once.
    let (s, body) = app
        .call(
            Method::PUT,
            path,
            &cleo,
            Some(json!({"muted": [], "quiet_hours": null})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let due = held[0].0 + Span::minutes(1);
    let sent = workers::reminders::send_deferred(
        &env.worker_pool,
        &env.sqs,
        &env.notifications_queue,
        due,
    )
    .await?;
    assert_eq!(sent, 1);
    assert_eq!(
        workers::reminders::send_deferred(
            &env.worker_pool,
            &env.sqs,
            &env.notifications_queue,
            due
        )
        .await?,
        0
    );
    eventually(
        Duration::from_secs(30),
        "the held-back confirmation",
        || async {
            Ok(mailbox
                .to(&cleo.email)?
                .into_iter()
                .find(|m| m.subject.contains("Night Flow")))
        },
    )
    .await?;

    // Security mail goes at any hour: a reset request during quiet hours is mailed.
    let quiet = json!({"muted": [], "quiet_hours": {"start": hm(now - Span::hours(1)), "end": hm(now + Span::hours(2)), "timezone": "UTC"}});
    let (s, _) = app.call(Method::PUT, path, &cleo, Some(quiet)).await?;
    assert_eq!(s, 200);
    let reply = app
        .client
        .post(format!("{}/api/v1/auth/password-reset/request", app.base))
        .json(&json!({"email": cleo.email}))
        .send()
        .await?;
    assert_eq!(reply.status(), 202);
    eventually(Duration::from_secs(30), "the reset mail", || async {
        Ok(mailbox
            .to(&cleo.email)?
            .into_iter()
            .find(|m| m.text.contains("/reset-password?token=")))
    })
    .await?;
    Ok(())
}
