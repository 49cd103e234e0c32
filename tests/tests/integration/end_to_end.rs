use std::time::Duration;

use repstream_tests::{eventually, ApiConfig, TestEnv};

#[tokio::test]
async fn a_command_posted_over_http_shows_in_the_view_through_relay_sqs_and_projector(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Flow Owner").await?;
    let r = app
        .req(reqwest::Method::POST, "/api/v1/studios", &owner)
        .header("x-correlation-id", "e2e-correlation-1")
        .json(&serde_json::json!({"name": "Flow Studio", "timezone": "America/New_York", "currency": "usd"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(r.headers()["x-correlation-id"], "e2e-correlation-1");
    assert_eq!(r.headers()["etag"], "\"1\"");
    let created: serde_json::Value = r.json().await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(created["version"], 1);

    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let (s, view) = app
        .call(
            get.clone(),
            &format!("/api/v1/studios/{id}?min_version=1"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["name"], "Flow Studio");
    assert_eq!(view["currency"], "USD");
    assert_eq!(view["timezone"], "America/New_York");

    let (s, renamed) = app
        .call(
            post.clone(),
            &format!("/api/v1/studios/{id}/rename"),
            &owner,
            Some(serde_json::json!({"name": "Flow Studio East", "expected_version": 1})),
        )
        .await?;
    assert_eq!((s, renamed["version"].as_u64()), (200, Some(2)));
    let (s, loc) = app
        .call(
            post,
            &format!("/api/v1/studios/{id}/locations"),
            &owner,
            Some(serde_json::json!({"name": "Midtown", "address": "5th Ave"})),
        )
        .await?;
    assert_eq!(s, 201);
    let (s, view) = app
        .call(
            get.clone(),
            &format!("/api/v1/studios/{id}?min_version=3"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200);
    assert_eq!(view["name"], "Flow Studio East");
    assert_eq!(view["locations"][0]["id"], loc["location_id"]);
    assert_eq!(view["version"], 3);

    // The correlation id travelled into the stored event metadata.
    let correlation: Option<String> = sqlx::query_scalar(
        "SELECT metadata->>'correlation_id' FROM events WHERE aggregate_id = $1 AND sequence = 1",
    )
    .bind(&id)
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(correlation.as_deref(), Some("e2e-correlation-1"));

    let (s, page) = app
        .call(get, "/api/v1/studios?limit=10", &owner, None)
        .await?;
    assert_eq!(s, 200);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn reading_a_version_the_view_has_not_reached_answers_503_after_a_bounded_wait(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // No relay, no projector: the view can never catch up.
    let mut config: ApiConfig = env.api_config();
    config.read_wait_max = Duration::from_millis(300);
    let app = env.spawn_api_with(config).await?;
    let owner = app.user("Lagging Owner").await?;
    let id = app.create_studio(&owner, "Lagging").await?;
    let r = app
        .req(
            reqwest::Method::GET,
            &format!("/api/v1/studios/{id}?min_version=1"),
            &owner,
        )
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["code"], "view_not_caught_up");
    // A version the stream itself has not reached, or a stream that does not exist, is
    // answered at once: nothing to wait for.
    let (s, body) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/studios/{id}?min_version=2"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (400, Some("invalid_query_parameter")),
        "{body}"
    );
    let (s, body) = app
        .call(
            reqwest::Method::GET,
            &format!(
                "/api/v1/studios/{id}/classes/{}?min_version=1",
                uuid::Uuid::new_v4()
            ),
            &owner,
            None,
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (404, Some("class_not_found")),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn a_new_contact_email_is_confirmed_once_through_the_notification_worker(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Mail Owner").await?;
    let id = app.create_studio(&owner, "Mail Studio").await?;
    let r = app
        .req(
            reqwest::Method::PUT,
            &format!("/api/v1/studios/{id}/settings"),
            &owner,
        )
        .json(&serde_json::json!({"settings": {"contact_email": "desk@mail-studio.example"}}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let mails = eventually(
        Duration::from_secs(30),
        "a message in the mailbox",
        || async {
            let mails = env.mails_to("desk@mail-studio.example");
            Ok((!mails.is_empty()).then_some(mails))
        },
    )
    .await?;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "Mail Studio: this is now your contact address");

    // Same settings again: no event, no second message.
    let r = app
        .req(
            reqwest::Method::PUT,
            &format!("/api/v1/studios/{id}/settings"),
            &owner,
        )
        .json(&serde_json::json!({"settings": {"contact_email": "desk@mail-studio.example"}}))
        .send()
        .await?;
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["version"], 2);
    // The worker writes the message before it records the send, so the record is
    // waited for rather than read once.
    let pool = env.pool.clone();
    eventually(
        Duration::from_secs(30),
        "the message marked processed",
        || {
            let pool = pool.clone();
            async move {
                let processed: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM side_effect WHERE consumer = 'notifications' AND state = 'done' \
                     AND budget_key = $1",
                )
                .bind(format!("studio:{id}:contact"))
                .fetch_one(&pool)
                .await?;
                Ok((processed >= 1).then_some(processed))
            }
        },
    )
    .await
    .map(|processed| assert_eq!(processed, 1))?;
    assert_eq!(
        env.mails_to("desk@mail-studio.example").len(),
        1,
        "the unchanged settings sent no second message"
    );
    let _ = std::fs::remove_dir_all(&env.mailbox);
    Ok(())
}

#[tokio::test]
async fn the_demo_seed_is_idempotent_and_fills_a_week_with_bookings_and_a_waitlist(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let state = env.state(env.api_config());
    api::seed::seed(&state).await?;
    let count = || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&env.pool)
            .await?;
        anyhow::Ok(n)
    };
    let first = count().await?;
    api::seed::seed(&state).await?;
    assert_eq!(count().await?, first, "a second seed writes nothing");
    let waitlisted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'Waitlisted'")
            .fetch_one(&env.pool)
            .await?;
    let classes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'ClassScheduled'")
            .fetch_one(&env.pool)
            .await?;
    // Colin waits for tomorrow's first class and for today's Express Core.
    assert_eq!(waitlisted, 2);
    assert!(classes >= 10, "a week of classes and today's: {classes}");
    let app = env.spawn_api().await?;
    let (s, tokens) = app
        .login("theo@harbor-pilates.example", "Kettle-Swing-5520")
        .await?;
    assert_eq!(s, 200, "demo credentials work: {tokens}");
    Ok(())
}
