//! Outgoing webhooks (issue 12): Standard Webhooks deliveries to a real HTTP receiver
//! started by each test, verified with the off-the-shelf `standardwebhooks` crate (what a
//! receiver would use), and the attacks: private addresses, DNS rebinding, other studios.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration as Span, Utc};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    /// Verified as a receiver verifies it, with the `standardwebhooks` crate.
    fn verifies_with(&self, secret: &str) -> bool {
        standardwebhooks::Webhook::new(secret)
            .and_then(|w| w.verify(self.body.as_bytes(), &self.headers))
            .is_ok()
    }
}

/// An HTTP receiver on 127.0.0.1: records every request and answers the scripted
/// statuses in order, then 200.
#[derive(Clone)]
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> anyhow::Result<Self> {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<u16>>> =
            Arc::new(Mutex::new(script.iter().copied().collect()));
        let (g, s) = (got.clone(), script.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
            let (g, s) = (g.clone(), s.clone());
            async move {
                g.lock()
                    .map(|mut g| g.push(Received { headers, body }))
                    .ok();
                let status = s.lock().ok().and_then(|mut s| s.pop_front()).unwrap_or(200);
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { port, got })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    fn of_type(&self, event_type: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.json()["type"] == event_type)
            .collect()
    }
}

/// Registers an endpoint; returns its id and secret.
async fn register(
    app: &TestApp,
    owner: &TestUser,
    studio: Uuid,
    url: &str,
    types: &[&str],
) -> anyhow::Result<(Uuid, String)> {
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/webhooks"),
            owner,
            Some(json!({"url": url, "event_types": types, "description": "CRM"})),
        )
        .await?;
    anyhow::ensure!(s == 201, "register webhook: {s} {body}");
    let secret = body["secret"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(secret.starts_with("whsec_"), "{body}");
    Ok((body["id"].as_str().unwrap_or_default().parse()?, secret))
}

/// The endpoint's delivery log (newest first).
async fn deliveries(
    app: &TestApp,
    owner: &TestUser,
    studio: Uuid,
    hook: Uuid,
) -> anyhow::Result<Vec<Value>> {
    let (s, page) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/webhooks/{hook}/deliveries"),
            owner,
            None,
        )
        .await?;
    anyhow::ensure!(s == 200, "deliveries: {s} {page}");
    Ok(page["items"].as_array().cloned().unwrap_or_default())
}

async fn send_test(
    app: &TestApp,
    owner: &TestUser,
    studio: Uuid,
    hook: Uuid,
) -> anyhow::Result<(u16, Value)> {
    app.call(
        Method::POST,
        &format!("/api/v1/studios/{studio}/webhooks/{hook}/test"),
        owner,
        Some(json!({})),
    )
    .await
}

/// A client and a class, then a booking: each the moment the previous step answered.
async fn book(app: &TestApp, owner: &TestUser, studio: Uuid) -> anyhow::Result<String> {
    let base = format!("/api/v1/studios/{studio}");
    let (s, client) = app
        .call(
            Method::POST,
            &format!("{base}/clients"),
            owner,
            Some(json!({"full_name": "Hook Client"})),
        )
        .await?;
    anyhow::ensure!(s == 201, "{client}");
    let (s, class) = app
        .call(Method::POST, &format!("{base}/classes"), owner,
            Some(json!({"title": "Hooked", "starts_at": Utc::now() + Span::days(2), "duration_minutes": 45})))
        .await?;
    anyhow::ensure!(s == 201, "{class}");
    let (s, booking) = app
        .call(
            Method::POST,
            &format!(
                "{base}/classes/{}/bookings",
                class["id"].as_str().unwrap_or_default()
            ),
            owner,
            Some(json!({"client_id": client["id"]})),
        )
        .await?;
    anyhow::ensure!(s == 201, "{booking}");
    Ok(booking["booking_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn a_booking_made_right_after_registering_is_delivered_once_signed_and_verifiable(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let receiver = Receiver::start(&[]).await?;
    let owner = app.user("Hook Owner").await?;
    let studio = app.create_studio(&owner, "Hooked Studio").await?;
    let (hook, secret) =
        register(&app, &owner, studio, &receiver.url(), &["booking.created"]).await?;
    // No waiting: the booking's events are committed after the registration answered.
    let booking = book(&app, &owner, studio).await?;

    let got = eventually(
        Duration::from_secs(20),
        "the booking.created delivery",
        || async {
            let got = receiver.of_type("booking.created");
            Ok((!got.is_empty()).then_some(got))
        },
    )
    .await?;
    let message = &got[0];
    assert!(
        message.verifies_with(&secret),
        "the signature verifies: {message:?}"
    );
    assert!(
        !message.verifies_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        "another secret does not"
    );
    let body = message.json();
    assert_eq!(body["data"]["booking_id"], booking.as_str());
    assert!(
        body["timestamp"].is_string() && body["data"]["class_id"].is_string(),
        "{body}"
    );
    assert_eq!(message.header("content-type"), "application/json");

    // Delivered once: the log says so, and nothing else arrives (it subscribed to
    // bookings only, not to the class or the client).
    let log = eventually(Duration::from_secs(10), "a delivered log entry", || async {
        let log = deliveries(&app, &owner, studio, hook).await?;
        Ok((log.len() == 1 && log[0]["state"] == "delivered").then_some(log))
    })
    .await?;
    assert_eq!(
        log[0]["id"].as_str(),
        Some(message.header("webhook-id").as_str())
    );
    assert_eq!(log[0]["attempt_log"][0]["status_code"], 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "{:?}", receiver.received());
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_delivery WHERE tenant_id = $1")
            .bind(studio)
            .fetch_one(&env.pool)
            .await?;
    assert_eq!(stored, 1);
    // The secret is in no event, outbox row or view.
    let leaks: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM events WHERE payload::text LIKE '%' || $1 || '%') \
         + (SELECT count(*) FROM webhook_endpoint_view WHERE doc::text LIKE '%' || $1 || '%')",
    )
    .bind(secret.trim_start_matches("whsec_"))
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(leaks, 0);
    Ok(())
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_it_on_the_third_attempt_with_the_same_webhook_id(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let receiver = Receiver::start(&[500, 503]).await?;
    let owner = app.user("Retry Owner").await?;
    let studio = app.create_studio(&owner, "Retry Studio").await?;
    let (hook, secret) = register(&app, &owner, studio, &receiver.url(), &["*"]).await?;
    let (s, queued) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(s, 202, "{queued}");

    let log = eventually(
        Duration::from_secs(20),
        "the delivery after two failures",
        || async {
            let log = deliveries(&app, &owner, studio, hook).await?;
            Ok(log
                .into_iter()
                .find(|d| d["state"] == "delivered" && d["event_type"] == "webhook.test"))
        },
    )
    .await?;
    let got = receiver.of_type("webhook.test");
    assert_eq!(got.len(), 3, "three attempts reached the receiver");
    let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id across retries: {ids:?}"
    );
    assert_eq!(ids[0], queued["delivery_id"].as_str().unwrap_or_default());
    assert!(got.iter().all(|r| r.verifies_with(&secret)));
    let statuses: Vec<i64> = log["attempt_log"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["status_code"].as_i64())
        .collect();
    assert_eq!(statuses, [500, 503, 200]);
    assert_eq!(log["attempts"], 3);
    assert_eq!(log["attempt_log"][2]["attempt"], 3);

    // A manual redelivery sends it once more, still with the same id.
    let (s, body) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/studios/{studio}/webhooks/{hook}/deliveries/{}/redeliver",
                ids[0]
            ),
            &owner,
            Some(json!({})),
        )
        .await?;
    assert_eq!(s, 202, "{body}");
    eventually(Duration::from_secs(10), "the redelivery", || async {
        Ok((receiver.of_type("webhook.test").len() == 4).then_some(()))
    })
    .await?;
    assert_eq!(
        receiver.of_type("webhook.test")[3].header("webhook-id"),
        ids[0]
    );
    Ok(())
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_nothing_more_is_sent() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let receiver = Receiver::start(&[410]).await?;
    let owner = app.user("Gone Owner").await?;
    let studio = app.create_studio(&owner, "Gone Studio").await?;
    let (hook, _) = register(&app, &owner, studio, &receiver.url(), &["*"]).await?;
    let (s, _) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(s, 202);
    let view = eventually(
        Duration::from_secs(20),
        "the endpoint disabled by the 410",
        || async {
            let (s, view) = app
                .call(
                    Method::GET,
                    &format!("/api/v1/studios/{studio}/webhooks/{hook}"),
                    &owner,
                    None,
                )
                .await?;
            Ok((s == 200 && view["enabled"] == false).then_some(view))
        },
    )
    .await?;
    assert_eq!(view["disabled_reason"], "gone");
    let log = deliveries(&app, &owner, studio, hook).await?;
    assert_eq!(
        (log[0]["state"].as_str(), log[0]["attempts"].as_i64()),
        (Some("failed"), Some(1))
    );
    // The audit log names the worker as the one who disabled it.
    let actor: String = sqlx::query_scalar(
        "SELECT metadata->>'actor' FROM events WHERE aggregate_id = $1 AND event_type = 'WebhookEndpointDisabled'",
    )
    .bind(hook.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(actor, "system:webhooks");
    // The owner hears of it, by email and in the app.
    let notice = owner_notice(&env, &app, &owner).await?;
    assert!(notice.contains("410 Gone"), "{notice}");

    // Nothing more: neither new events nor a test reach it.
    book(&app, &owner, studio).await?;
    let (s, body) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("webhook_disabled")),
        "{body}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1, "{:?}", receiver.received());
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_delivery WHERE endpoint_id = $1 AND state = 'pending'",
    )
    .bind(hook)
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(pending, 0);

    // Enabled again, it receives again.
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/webhooks/{hook}/enable"),
            &owner,
            Some(json!({})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let (s, _) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(s, 202);
    eventually(
        Duration::from_secs(10),
        "a delivery after enabling",
        || async { Ok((receiver.received().len() == 2).then_some(())) },
    )
    .await?;
    Ok(())
}

/// The owner's email that a webhook endpoint was disabled (the body), once it came, and
/// the same notice in their inbox.
async fn owner_notice(env: &TestEnv, app: &TestApp, owner: &TestUser) -> anyhow::Result<String> {
    let notices = || {
        env.mails_to(&owner.email)
            .into_iter()
            .filter(|(subject, _)| subject.contains("a webhook endpoint was disabled"))
            .collect::<Vec<_>>()
    };
    let mail = eventually(Duration::from_secs(30), "the owner's notice", || async {
        Ok(notices().into_iter().next())
    })
    .await?;
    let inbox = eventually(
        Duration::from_secs(10),
        "the notice in the inbox",
        || async {
            let (s, body) = app
                .call(Method::GET, "/api/v1/me/notifications", owner, None)
                .await?;
            anyhow::ensure!(s == 200, "{s} {body}");
            let items = body["items"].as_array().cloned().unwrap_or_default();
            Ok(items.into_iter().find(|n| n["kind"] == "webhook_disabled"))
        },
    )
    .await?;
    assert_eq!(inbox["kind"], "webhook_disabled", "{inbox}");
    assert_eq!(notices().len(), 1, "told once");
    Ok(mail.1)
}

/// An endpoint whose every delivery failed for longer than the limit (here: no grace at
/// all) is disabled when one more delivery fails for good, and the owner is told; one
/// that staff disabled themselves tells nobody.
#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_disabled_and_its_owner_told_unlike_one_staff_disabled(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    let mut config = env.webhook_config();
    config.max_attempts = 2;
    config.disable_after = Duration::ZERO;
    env.spawn_webhooks(config)?;
    let receiver = Receiver::start(&[500; 10]).await?;
    let owner = app.user("Failing Owner").await?;
    let studio = app.create_studio(&owner, "Failing Studio").await?;
    let base = format!("/api/v1/studios/{studio}/webhooks");
    let (quiet, _) = register(&app, &owner, studio, &receiver.url(), &["*"]).await?;
    let (s, body) = app
        .call(
            Method::PATCH,
            &format!("{base}/{quiet}"),
            &owner,
            Some(json!({"enabled": false})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let (hook, _) = register(&app, &owner, studio, &receiver.url(), &["*"]).await?;
    let (s, _) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(s, 202);
    let view = eventually(Duration::from_secs(30), "the endpoint disabled", || async {
        let (s, view) = app
            .call(Method::GET, &format!("{base}/{hook}"), &owner, None)
            .await?;
        Ok((s == 200 && view["enabled"] == false).then_some(view))
    })
    .await?;
    assert_eq!(view["disabled_reason"], "failing", "{view}");
    let log = deliveries(&app, &owner, studio, hook).await?;
    assert_eq!(
        (log[0]["state"].as_str(), log[0]["attempts"].as_i64()),
        (Some("failed"), Some(2)),
        "{log:?}"
    );
    let notice = owner_notice(&env, &app, &owner).await?;
    assert!(notice.contains("has failed since"), "{notice}");
    assert!(notice.contains(&hook.to_string()), "{notice}");
    Ok(())
}

#[tokio::test]
async fn during_a_rotation_both_the_old_and_the_new_secret_verify() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let receiver = Receiver::start(&[]).await?;
    let owner = app.user("Rotate Owner").await?;
    let studio = app.create_studio(&owner, "Rotating Studio").await?;
    let (hook, old) = register(&app, &owner, studio, &receiver.url(), &["*"]).await?;
    let (s, rotated) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/webhooks/{hook}/rotate-secret"),
            &owner,
            Some(json!({})),
        )
        .await?;
    assert_eq!(s, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap_or_default().to_owned();
    assert!(new.starts_with("whsec_") && new != old, "{rotated}");
    assert!(rotated["previous_secret_valid_until"].is_string());
    let (s, _) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(s, 202);
    let got = eventually(Duration::from_secs(20), "the signed test event", || async {
        let got = receiver.of_type("webhook.test");
        Ok((!got.is_empty()).then_some(got))
    })
    .await?;
    let message = &got[0];
    assert_eq!(
        message.header("webhook-signature").split(' ').count(),
        2,
        "{message:?}"
    );
    assert!(message.verifies_with(&new), "the new secret verifies");
    assert!(
        message.verifies_with(&old),
        "the old secret still verifies during the overlap"
    );
    // The endpoint's read model knows the version, never a secret.
    let (_, view) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/webhooks/{hook}?min_version=2"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(view["secret_version"], 2, "{view}");
    assert!(!view.to_string().contains("whsec_"));
    Ok(())
}

#[tokio::test]
async fn private_loopback_and_metadata_addresses_are_refused_at_registration() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.webhook_policy = infra::webhooks::UrlPolicy::new(false);
    let app = env.spawn_api_with(config).await?;
    let owner = app.user("Guarded Owner").await?;
    let studio = app.create_studio(&owner, "Guarded Studio").await?;
    let events = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM events WHERE aggregate_type = 'webhook_endpoint'",
        )
        .fetch_one(&env.pool)
        .await
    };
    for (url, code) in [
        ("http://127.0.0.1/", "webhook_url_not_https"),
        ("http://169.254.169.254/", "webhook_url_not_https"),
        ("http://[::1]/", "webhook_url_not_https"),
        ("http://localhost/", "webhook_url_not_https"),
        ("https://127.0.0.1/", "webhook_url_private"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "webhook_url_private",
        ),
        ("https://[::1]/", "webhook_url_private"),
        ("https://[::ffff:127.0.0.1]/", "webhook_url_private"),
        ("https://10.0.0.7/", "webhook_url_private"),
        ("https://100.64.0.1/", "webhook_url_private"),
        ("https://localhost/hooks", "webhook_url_private"),
        ("https://user:pw@hooks.example.com/", "webhook_url_invalid"),
        ("gopher://hooks.example.com/", "webhook_url_not_https"),
    ] {
        let (s, body) = app
            .call(
                Method::POST,
                &format!("/api/v1/studios/{studio}/webhooks"),
                &owner,
                Some(json!({"url": url, "event_types": ["*"]})),
            )
            .await?;
        assert_eq!(
            (s, body["code"].as_str()),
            (422, Some(code)),
            "{url}: {body}"
        );
    }
    let long = format!("https://hooks.example.com/{}", "a".repeat(2048));
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/webhooks"),
            &owner,
            Some(json!({"url": long, "event_types": ["*"]})),
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("webhook_url_invalid")),
        "{body}"
    );
    assert_eq!(events().await?, 0, "nothing was registered");
    Ok(())
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_at_delivery_is_never_connected_to() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    // Registered while the guard let it pass (as a name that pointed at a public address
    // then would); the worker's guard is on, and the name now resolves to 127.0.0.1.
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    let mut config = env.webhook_config();
    config.policy = infra::webhooks::UrlPolicy::new(false);
    config.max_attempts = 2;
    env.spawn_webhooks(config)?;
    let receiver = Receiver::start(&[]).await?;
    let owner = app.user("Rebind Owner").await?;
    let studio = app.create_studio(&owner, "Rebind Studio").await?;
    let url = format!("https://localhost:{}/hooks", receiver.port);
    let (hook, _) = register(&app, &owner, studio, &url, &["*"]).await?;
    let (s, _) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(s, 202);
    let log = eventually(Duration::from_secs(20), "the refused delivery", || async {
        let log = deliveries(&app, &owner, studio, hook).await?;
        Ok(log.into_iter().find(|d| d["state"] == "failed"))
    })
    .await?;
    let error = log["attempt_log"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains("non-public address"), "{log}");
    assert!(log["attempt_log"][0]["status_code"].is_null());
    assert!(
        receiver.received().is_empty(),
        "the receiver was never reached"
    );
    Ok(())
}

#[tokio::test]
async fn another_studio_can_neither_see_nor_manage_an_endpoint_and_front_desk_is_refused(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let receiver = Receiver::start(&[]).await?;
    let owner_a = app.user("Owner A").await?;
    let owner_b = app.user("Owner B").await?;
    let desk = app.user("Desk A").await?;
    let a = app.create_studio(&owner_a, "Studio A").await?;
    let b = app.create_studio(&owner_b, "Studio B").await?;
    app.add_member(&owner_a, a, &desk, "front_desk").await?;
    let (hook, _) = register(&app, &owner_a, a, &receiver.url(), &["*"]).await?;
    let (s, _) = send_test(&app, &owner_a, a, hook).await?;
    assert_eq!(s, 202);
    eventually(Duration::from_secs(20), "A's delivery", || async {
        Ok((!receiver.received().is_empty()).then_some(()))
    })
    .await?;

    // B's owner, through A's path or their own: 404 for every operation.
    for studio in [a, b] {
        let base = format!("/api/v1/studios/{studio}/webhooks/{hook}");
        for (method, path, body) in [
            (Method::GET, base.clone(), None),
            (
                Method::PATCH,
                base.clone(),
                Some(json!({"url": "http://127.0.0.1:9/stolen"})),
            ),
            (Method::DELETE, base.clone(), None),
            (
                Method::POST,
                format!("{base}/rotate-secret"),
                Some(json!({})),
            ),
            (Method::POST, format!("{base}/enable"), Some(json!({}))),
            (Method::POST, format!("{base}/test"), Some(json!({}))),
            (Method::GET, format!("{base}/deliveries"), None),
        ] {
            let (s, body) = app.call(method.clone(), &path, &owner_b, body).await?;
            assert_eq!(s, 404, "{method} {path}: {body}");
        }
    }
    let (s, page) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{b}/webhooks"),
            &owner_b,
            None,
        )
        .await?;
    assert_eq!(
        (s, page["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{page}"
    );
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{a}/webhooks"),
            &owner_b,
            None,
        )
        .await?;
    assert_eq!(s, 404);

    // Row-level security: the API's role bound to B sees none of A's webhook rows.
    for table in [
        "webhook_endpoint",
        "webhook_endpoint_view",
        "webhook_delivery",
        "webhook_attempt",
    ] {
        let mut tx = env.api_pool.begin().await?;
        sqlx::query(
            "SELECT set_config('app.tenant_id', $1, true), set_config('app.account_id', $2, true)",
        )
        .bind(b.to_string())
        .bind(owner_b.id.to_string())
        .execute(&mut *tx)
        .await?;
        let seen: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        ))
        .bind(a)
        .fetch_one(&mut *tx)
        .await?;
        tx.rollback().await?;
        assert_eq!(seen, 0, "{table} shows studio A's rows to studio B");
    }

    // Front desk manages no webhooks.
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{a}/webhooks"),
            &desk,
            None,
        )
        .await?;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{a}/webhooks"),
            &desk,
            Some(json!({"url": receiver.url(), "event_types": ["*"]})),
        )
        .await?;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{a}/webhooks/{hook}/rotate-secret"),
            &desk,
            Some(json!({})),
        )
        .await?;
    assert_eq!(s, 403);
    Ok(())
}

#[tokio::test]
async fn an_endpoint_is_changed_disabled_by_staff_listed_in_pages_and_deleted() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let receiver = Receiver::start(&[]).await?;
    let owner = app.user("Patch Owner").await?;
    let studio = app.create_studio(&owner, "Patched Studio").await?;
    let base = format!("/api/v1/studios/{studio}/webhooks");
    let (hook, _) = register(&app, &owner, studio, &receiver.url(), &["booking.created"]).await?;
    let (other, _) = register(&app, &owner, studio, &receiver.url(), &["*"]).await?;
    let (s, body) = app
        .call(Method::PATCH, &format!("{base}/{hook}"), &owner,
            Some(json!({"event_types": ["class.scheduled", "booking.created", "class.scheduled"], "description": ""})))
        .await?;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app
        .call(
            Method::PATCH,
            &format!("{base}/{hook}"),
            &owner,
            Some(json!({"event_types": ["booking.exploded"]})),
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("validation_failed")),
        "{body}"
    );
    let (s, body) = app
        .call(
            Method::PATCH,
            &format!("{base}/{hook}"),
            &owner,
            Some(json!({"enabled": false})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let version = body["version"].as_u64().unwrap_or_default();
    let (s, view) = app
        .call(
            Method::GET,
            &format!("{base}/{hook}?min_version={version}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{view}");
    assert_eq!(
        view["event_types"],
        json!(["booking.created", "class.scheduled"])
    );
    assert!(view["description"].is_null(), "{view}");
    assert_eq!(
        (view["enabled"].as_bool(), view["disabled_reason"].as_str()),
        (Some(false), Some("staff"))
    );
    let (s, body) = send_test(&app, &owner, studio, hook).await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("webhook_disabled")),
        "{body}"
    );

    // Pages of one, oldest first.
    let (_, first) = app
        .call(Method::GET, &format!("{base}?limit=1"), &owner, None)
        .await?;
    assert_eq!(
        first["items"][0]["id"],
        hook.to_string().as_str(),
        "{first}"
    );
    let after = first["next_after"].as_str().unwrap_or_default().to_owned();
    let (_, second) = app
        .call(
            Method::GET,
            &format!("{base}?limit=1&after={after}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(
        second["items"][0]["id"],
        other.to_string().as_str(),
        "{second}"
    );
    assert!(second["next_after"].is_null(), "{second}");

    let (s, body) = app
        .call(Method::DELETE, &format!("{base}/{hook}"), &owner, None)
        .await?;
    assert_eq!(s, 200, "{body}");
    let version = body["version"].as_u64().unwrap_or_default();
    let (s, _) = app
        .call(
            Method::GET,
            &format!("{base}/{hook}?min_version={version}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 404);
    let (s, _) = app
        .call(
            Method::GET,
            &format!("{base}/{hook}/deliveries"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 404);
    let (s, _) = app
        .call(Method::DELETE, &format!("{base}/{hook}"), &owner, None)
        .await?;
    assert_eq!(s, 404);
    let (_, page) = app.call(Method::GET, &base, &owner, None).await?;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    Ok(())
}
