//! The in-app inbox (issue 12): notifications land once in their recipient's inbox,
//! stream live to them (and to nobody else) from any API instance, resume with
//! `Last-Event-ID`, and are marked read or archived by their owner only.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// A Server-Sent Events reader over a streaming response.
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

/// One event: (`event`, `id`, `data`).
type SseEvent = (String, Option<String>, String);

impl Sse {
    async fn open(
        app: &TestApp,
        user: &TestUser,
        last_event_id: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut request = app
            .client
            .get(format!("{}/api/v1/me/notifications/stream", app.base))
            .bearer_auth(&user.access_token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await?;
        anyhow::ensure!(
            response.status() == 200,
            "stream answered {}",
            response.status()
        );
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        anyhow::ensure!(kind.starts_with("text/event-stream"), "{kind}");
        Ok(Self {
            response,
            buffer: String::new(),
        })
    }

    /// The next event (comments skipped) within `wait`, or `None`.
    async fn next(&mut self, wait: Duration) -> anyhow::Result<Option<SseEvent>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = ("message".to_owned(), None, Vec::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push(v.trim_start().to_owned());
                    }
                }
                if !data.is_empty() || id.is_some() {
                    return Ok(Some((event, id, data.join("\n"))));
                }
            }
            let Ok(chunk) = tokio::time::timeout_at(deadline, self.response.chunk()).await else {
                return Ok(None);
            };
            match chunk? {
                Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                None => return Ok(None),
            }
        }
    }

    /// The next `notification` event's data, waiting up to 30 s.
    async fn notification(&mut self) -> anyhow::Result<(String, Value)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Some((event, Some(id), data)) if event == "notification" => {
                    return Ok((id, serde_json::from_str(&data)?));
                }
                Some(_) => continue,
                None => anyhow::bail!("no notification arrived on the stream"),
            }
        }
    }
}

async fn class(
    app: &TestApp,
    owner: &TestUser,
    studio: Uuid,
    title: &str,
) -> anyhow::Result<String> {
    let (s, class) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/classes"),
            owner,
            Some(json!({"title": title, "starts_at": Utc::now() + Span::days(2), "duration_minutes": 45, "capacity": 5})),
        )
        .await?;
    anyhow::ensure!(s == 201, "{class}");
    Ok(class["id"].as_str().unwrap_or_default().to_owned())
}

async fn book_self(
    app: &TestApp,
    user: &TestUser,
    studio: Uuid,
    class: &str,
) -> anyhow::Result<()> {
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/classes/{class}/bookings"),
            user,
            Some(json!({})),
        )
        .await?;
    anyhow::ensure!(s == 201, "{s} {body}");
    Ok(())
}

#[tokio::test]
async fn a_booking_reaches_the_clients_inbox_once_live_on_another_instance_and_nobody_elses(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    // A second API instance: streams are driven from Postgres, not one process's memory.
    let other = env.spawn_api().await?;
    let owner = app.user("Inbox Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Inbox").await?;
    let cleo = app.user("Cleo Inbox").await?;
    let mallory = app.user("Mallory Inbox").await?;
    app.add_member(&owner, studio, &cleo, "client").await?;
    app.add_member(&owner, studio, &mallory, "client").await?;

    let mut cleo_live = Sse::open(&other, &cleo, None).await?;
    let mut mallory_live = Sse::open(&other, &mallory, None).await?;
    // Each step the moment the previous one answered.
    let reformer = class(&app, &owner, studio, "Reformer").await?;
    book_self(&app, &cleo, studio, &reformer).await?;

    let (first_id, first) = cleo_live.notification().await?;
    assert_eq!(first["kind"], "booking_confirmed", "{first}");
    assert_eq!(first["title"], "Harbor Inbox: you are booked for Reformer");
    assert_eq!(first["studio_id"], json!(studio));
    assert_eq!(first["data"]["class_id"], json!(reformer));
    assert_eq!(first["seq"].to_string(), first_id);
    // Mallory's stream carries nothing of Cleo's.
    assert!(
        !matches!(mallory_live.next(Duration::from_secs(1)).await?, Some((e, _, _)) if e == "notification"),
        "another person's notification reached Mallory"
    );

    let inbox = |user: &TestUser, query: &'static str| {
        let (app, user) = (&app, user.clone());
        async move {
            let (s, body) = app
                .call(
                    Method::GET,
                    &format!("/api/v1/me/notifications{query}"),
                    &user,
                    None,
                )
                .await?;
            anyhow::ensure!(s == 200, "{s} {body}");
            Ok::<_, anyhow::Error>(body["items"].as_array().cloned().unwrap_or_default())
        }
    };
    let unread = |user: &TestUser| {
        let (app, user) = (&app, user.clone());
        async move {
            let (s, body) = app
                .call(
                    Method::GET,
                    "/api/v1/me/notifications/unread-count",
                    &user,
                    None,
                )
                .await?;
            anyhow::ensure!(s == 200, "{s} {body}");
            Ok::<_, anyhow::Error>(body["unread"].as_i64().unwrap_or(-1))
        }
    };
    let items = inbox(&cleo, "").await?;
    assert_eq!(items.len(), 1, "once: {items:?}");
    assert_eq!(items[0]["id"], first["id"]);
    assert!(items[0]["read_at"].is_null());
    assert_eq!(unread(&cleo).await?, 1);
    assert!(inbox(&mallory, "").await?.is_empty());

    // Mallory cannot mark or archive Cleo's notification: it does not exist for her.
    let id = first["id"].as_str().unwrap_or_default().to_owned();
    for action in ["read", "archive"] {
        let (s, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/me/notifications/{id}/{action}"),
                &mallory,
                None,
            )
            .await?;
        assert_eq!(s, 404, "{body}");
        assert_eq!(body["code"], "notification_not_found");
    }
    // Nor can a query of hers that forgets its WHERE: row-level security holds.
    let mut tx = env.api_pool.begin().await?;
    sqlx::query("SELECT set_config('app.account_id', $1, true)")
        .bind(mallory.id.to_string())
        .execute(&mut *tx)
        .await?;
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox_notification")
        .fetch_one(&mut *tx)
        .await?;
    tx.rollback().await?;
    assert_eq!(seen, 0);

    // Cleo reads it (twice: no change the second time).
    for _ in 0..2 {
        let (s, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/me/notifications/{id}/read"),
                &cleo,
                None,
            )
            .await?;
        assert_eq!(s, 204, "{body}");
    }
    assert_eq!(unread(&cleo).await?, 0);
    assert_eq!(inbox(&cleo, "?unread=true").await?.len(), 0);

    // Offline for a while: a reconnect with Last-Event-ID gets what arrived meanwhile.
    drop(cleo_live);
    let mat = class(&app, &owner, studio, "Mat").await?;
    book_self(&app, &cleo, studio, &mat).await?;
    eventually(
        Duration::from_secs(30),
        "the second notification",
        || async { Ok((unread(&cleo).await? == 1).then_some(())) },
    )
    .await?;
    let mut resumed = Sse::open(&app, &cleo, Some(&first_id)).await?;
    let (_, second) = resumed.notification().await?;
    assert_eq!(second["title"], "Harbor Inbox: you are booked for Mat");
    assert!(second["seq"].as_i64() > first["seq"].as_i64());

    // Archive leaves the inbox; read-all marks what is left.
    let second_id = second["id"].as_str().unwrap_or_default().to_owned();
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/me/notifications/{id}/archive"),
            &cleo,
            None,
        )
        .await?;
    assert_eq!(s, 204, "{body}");
    let items = inbox(&cleo, "").await?;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], json!(second_id));
    assert_eq!(inbox(&cleo, "?archived=true").await?.len(), 1);
    let (s, body) = app
        .call(
            Method::POST,
            "/api/v1/me/notifications/read-all",
            &cleo,
            None,
        )
        .await?;
    assert_eq!((s, body["marked"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(unread(&cleo).await?, 0);

    // Paging: one per page, newest first, `next_after` continues.
    let (s, page) = app
        .call(
            Method::GET,
            "/api/v1/me/notifications?limit=1&archived=true",
            &cleo,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{page}");
    assert!(page["next_after"].is_null());
    Ok(())
}

#[tokio::test]
async fn a_stream_ends_with_its_session_and_refuses_a_malformed_resume_point() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Stream Owner").await?;
    let studio = app.create_studio(&owner, "Harbor Stream").await?;
    let cleo = app.user("Cleo Stream").await?;
    app.add_member(&owner, studio, &cleo, "client").await?;

    let response = app
        .client
        .get(format!("{}/api/v1/me/notifications/stream", app.base))
        .bearer_auth(&cleo.access_token)
        .header("Last-Event-ID", "'; DROP TABLE inbox_notification; --")
        .send()
        .await?;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await?;
    assert_eq!(body["code"], "invalid_header", "{body}");
    let anonymous = app
        .client
        .get(format!("{}/api/v1/me/notifications/stream", app.base))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);

    let mut live = Sse::open(&app, &cleo, None).await?;
    let (s, body) = app
        .call(Method::POST, "/api/v1/auth/logout", &cleo, None)
        .await?;
    assert!(s == 204 || s == 200, "{s} {body}");
    // The next wake-up (here: a notification for Cleo) finds the session closed.
    let yoga = class(&app, &owner, studio, "Yoga").await?;
    let record = eventually(Duration::from_secs(30), "Cleo's client record", || async {
        let (s, clients) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{studio}/clients?limit=100"),
                &owner,
                None,
            )
            .await?;
        anyhow::ensure!(s == 200, "{clients}");
        Ok(clients["items"]
            .as_array()
            .and_then(|items| items.iter().find(|c| c["account_id"] == json!(cleo.id)))
            .and_then(|c| c["id"].as_str())
            .map(str::to_owned))
    })
    .await?;
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/classes/{yoga}/bookings"),
            &owner,
            Some(json!({"client_id": record})),
        )
        .await?;
    assert_eq!(s, 201, "{body}");
    let mut ended = false;
    while let Some((event, _, _)) = live.next(Duration::from_secs(30)).await? {
        assert_ne!(event, "notification", "a closed session still streams");
        if event == "session_ended" {
            ended = true;
        }
    }
    assert!(ended, "the stream ended without saying why");
    Ok(())
}
