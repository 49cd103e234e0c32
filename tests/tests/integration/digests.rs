//! Staff activity and daily digests (issue 12): an instructor hears of bookings,
//! cancellations and waitlist changes in their classes, one email each, or, having
//! chosen the daily digest, in one email at their local time (the in-app notices still
//! come one by one). The sweep takes its `now`, so the test need not wait for 07:00.

use std::time::Duration;

use chrono::{Duration as Span, TimeZone as _, Utc};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

async fn post(app: &TestApp, user: &TestUser, path: &str, body: Value) -> anyhow::Result<Value> {
    let (s, reply) = app.call(Method::POST, path, user, Some(body)).await?;
    anyhow::ensure!(s == 201, "POST {path}: {s} {reply}");
    Ok(reply)
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn instructors_get_one_mail_per_event_or_one_digest_a_day_at_their_local_time(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Digest Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Digest").await?;
    let base = format!("/api/v1/studios/{studio}");
    let dana = app.user("Dana Digest").await?;
    app.add_member(&owner, studio, &dana, "trainer").await?;
    let tom = app.user("Tom Each").await?;
    app.add_member(&owner, studio, &tom, "trainer").await?;
    // Dana wants one mail a day, at 07:00 in Berlin.
    let (s, body) = app
        .call(
            Method::PUT,
            "/api/v1/me/notification-preferences",
            &dana,
            Some(json!({"digest": {"at": "07:00", "timezone": "Europe/Berlin"}})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app
        .call(
            Method::PUT,
            "/api/v1/me/notification-preferences",
            &dana,
            Some(json!({"digest": {"at": "7 am", "timezone": "Europe/Berlin"}})),
        )
        .await?;
    assert_eq!(s, 422, "{body}");

    // Every step the moment the previous one answered.
    let client = |name: &'static str| {
        let (app, owner, path) = (&app, &owner, format!("{base}/clients"));
        async move {
            let body = json!({"full_name": name, "email": format!("{}@digest.example", name.to_lowercase())});
            Ok::<_, anyhow::Error>(id(&post(app, owner, &path, body).await?, "id"))
        }
    };
    let rita = client("Rita").await?;
    let sam = client("Sam").await?;
    let starts = Utc::now() + Span::days(3);
    let class = |title: &'static str, instructor: uuid::Uuid| {
        let (app, owner, path) = (&app, &owner, format!("{base}/classes"));
        let body = json!({"title": title, "starts_at": starts, "duration_minutes": 60, "capacity": 1, "instructor_id": instructor});
        async move { Ok::<_, anyhow::Error>(id(&post(app, owner, &path, body).await?, "id")) }
    };
    let dana_class = class("Dana Flow", dana.id).await?;
    let tom_class = class("Tom Mat", tom.id).await?;
    let book = |class: &str, client: &str| {
        let (app, owner) = (&app, &owner);
        let (path, body) = (
            format!("{base}/classes/{class}/bookings"),
            json!({"client_id": client}),
        );
        async move { Ok::<_, anyhow::Error>(id(&post(app, owner, &path, body).await?, "booking_id")) }
    };
    let rita_booking = book(&dana_class, &rita).await?;
    book(&dana_class, &sam).await?; // waitlisted
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("{base}/classes/{dana_class}/bookings/{rita_booking}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{body}"); // Sam moves up
    book(&tom_class, &rita).await?;

    // Tom gets his mail at once.
    eventually(Duration::from_secs(30), "Tom's mail", || async {
        Ok(env
            .mails_to(&tom.email)
            .into_iter()
            .find(|(subject, _)| subject == "Harbor Digest: Rita booked (Tom Mat)"))
    })
    .await?;
    // Dana's four events are in her inbox, one by one.
    let inbox = eventually(Duration::from_secs(30), "Dana's in-app notices", || async {
        let (s, inbox) = app
            .call(Method::GET, "/api/v1/me/notifications", &dana, None)
            .await?;
        anyhow::ensure!(s == 200, "{inbox}");
        let items = inbox["items"].as_array().cloned().unwrap_or_default();
        Ok((items
            .iter()
            .filter(|n| n["kind"] == "staff_activity")
            .count()
            == 4)
            .then_some(items))
    })
    .await?;
    assert!(!inbox.is_empty());

    // Her digest: at the next 07:00 in Berlin, swept by two replicas at once.
    let berlin = chrono_tz::Europe::Berlin;
    let local = Utc::now().with_timezone(&berlin);
    let mut seven = berlin
        .from_local_datetime(&local.date_naive().and_hms_opt(7, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    if seven <= Utc::now() {
        seven += Span::days(1);
    }
    let at = seven + Span::minutes(5);
    let sweep =
        || workers::digests::send_due(&env.worker_pool, &env.sqs, &env.notifications_queue, at);
    let (a, b) = tokio::join!(sweep(), sweep());
    assert_eq!(a? + b?, 1, "one digest");
    assert_eq!(sweep().await?, 0, "nothing twice");
    let digest = eventually(Duration::from_secs(30), "Dana's digest", || async {
        Ok(env
            .mails_to(&dana.email)
            .into_iter()
            .find(|(subject, _)| subject.starts_with("Harbor Digest: your day")))
    })
    .await?;
    assert_eq!(digest.0, "Harbor Digest: your day, 4 updates");
    for line in [
        "Rita booked: Dana Flow",
        "Sam joined the waitlist: Dana Flow",
        "Rita cancelled: Dana Flow",
        "Sam moved up from the waitlist: Dana Flow",
    ] {
        assert!(digest.1.contains(line), "{line}: {}", digest.1);
    }
    assert!(!digest.1.contains("Tom Mat"), "only her classes");
    // No mail per event for her (her invitation to the studio aside); the digest came
    // after them in the studio's order.
    let each: Vec<String> = env
        .mails_to(&dana.email)
        .into_iter()
        .map(|(subject, _)| subject)
        .filter(|s| {
            s.starts_with("Harbor Digest")
                && !s.starts_with("Harbor Digest: your day")
                && !s.contains("invites you to join")
        })
        .collect();
    assert!(each.is_empty(), "{each:?}");
    Ok(())
}
