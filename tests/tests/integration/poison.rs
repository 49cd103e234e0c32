//! Poison isolation in the relay (issue 10): no single row stalls anyone else.

use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use infra::config::AwsArgs;
use infra::event_store::{CommandBus, CommandError};
use infra::sqs::{Timeouts, ENVELOPE_MAX};
use repstream_tests::{eventually, TestEnv};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{meta, studio_with_history};

async fn unpublished(env: &TestEnv) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL",
    )
    .fetch_one(&env.pool)
    .await?)
}

/// Puts a row straight into the outbox (as a bug, a legacy row or a hand edit would),
/// with a `padding` string of `pad` bytes.
async fn raw_outbox_row(env: &TestEnv, aggregate: &str, pad: usize) -> anyhow::Result<i64> {
    let tenant = Uuid::now_v7();
    let message = json!({
        "event_id": Uuid::now_v7(), "tenant_id": tenant, "aggregate_type": "raw",
        "aggregate_id": aggregate, "sequence": 1, "event_type": "Raw", "event_version": "1",
        "occurred_at": "2026-12-01T00:00:00Z", "metadata": {},
        "payload": {"padding": "x".repeat(pad)},
    });
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (event_id, tenant_id, aggregate_id, message) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(tenant)
    .bind(aggregate)
    .bind(message)
    .fetch_one(&env.pool)
    .await?)
}

#[tokio::test]
async fn unicode_noncharacters_are_delivered_intact_and_lone_surrogates_refused(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    // A sign-up whose name SQS would refuse verbatim (U+FFFF, U+FFFE).
    let email = format!(
        "nonchar-{}@example.com",
        &Uuid::new_v4().simple().to_string()[..8]
    );
    app.signup(&email, "Correct-Horse-Battery-9", "Zoë \u{ffff}\u{fffe} Ng")
        .await?;
    let owner = app.user("Nonchar Owner").await?;
    let name = "Studio \u{ffff} and \u{fffe}";
    let studio = app.create_studio(&owner, name).await?;
    // At once, as a client would: the view arrives with the name exactly as sent.
    let (status, view) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}?min_version=1"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["name"], name);
    eventually(Duration::from_secs(30), "every row published", || async {
        Ok((unpublished(&env).await? == 0).then_some(()))
    })
    .await?;
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE attempts > 0")
        .fetch_one(&env.pool)
        .await?;
    assert_eq!(failed, 0, "SQS refused a row");
    // A lone surrogate escape is not a string: a clear 400, nothing written.
    let r = app
        .req(Method::POST, "/api/v1/studios", &owner)
        .header("content-type", "application/json")
        .body(r#"{"name":"Lone \ud800 surrogate","timezone":"Europe/Berlin","currency":"EUR"}"#)
        .send()
        .await?;
    assert_eq!(r.status(), 400);
    Ok(())
}

/// A stream type whose one command records whatever it is given: the store's size bound
/// is the store's, not any domain rule's.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Blob;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BlobStored {
    bytes: String,
}

impl DomainEvent for BlobStored {
    fn event_type(&self) -> String {
        "BlobStored".to_owned()
    }
    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl std::error::Error for Never {}

impl Aggregate for Blob {
    const TYPE: &'static str = "test_blob";
    type Command = String;
    type Event = BlobStored;
    type Error = Never;
    type Services = ();

    async fn handle(
        &mut self,
        command: String,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Never> {
        sink.write(BlobStored { bytes: command }, self).await;
        Ok(())
    }

    fn apply(&mut self, _: BlobStored) {}
}

#[tokio::test]
async fn an_event_over_the_envelope_bound_is_refused_when_made_and_one_at_it_is_delivered(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let bus = CommandBus::<Blob>::new(env.pool.clone(), ());
    let tenant = Uuid::now_v7();
    let refused = bus
        .execute("big", "x".repeat(ENVELOPE_MAX), None, meta(tenant))
        .await;
    assert!(
        matches!(refused, Err(CommandError::TooLarge { .. })),
        "{refused:?}"
    );
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_one(&env.pool)
        .await?;
    assert_eq!(written, 0, "a refused command writes nothing");

    // An envelope just under the bound goes through the relay and arrives byte for byte.
    let fits = ENVELOPE_MAX - 2_000;
    bus.execute("fits", "y".repeat(fits), None, meta(tenant))
        .await?;
    env.relay().drain().await?;
    assert_eq!(unpublished(&env).await?, 0);
    let out = env
        .sqs
        .receive_message()
        .queue_url(&env.events_queue)
        .wait_time_seconds(5)
        .send()
        .await?;
    let body = out
        .messages
        .unwrap_or_default()
        .into_iter()
        .find_map(|m| m.body)
        .unwrap_or_default();
    let envelope: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(
        envelope["payload"]["bytes"].as_str().map(str::len),
        Some(fits)
    );
    assert!(body.len() <= ENVELOPE_MAX);
    Ok(())
}

#[tokio::test]
async fn an_oversized_request_id_never_reaches_the_events() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Request Id Owner").await?;
    let r = app
        .req(Method::POST, "/api/v1/studios", &owner)
        .header("x-request-id", "r".repeat(8_000))
        .json(&json!({"name": "Bounded", "timezone": "Europe/Berlin", "currency": "EUR"}))
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let longest: Option<i32> = sqlx::query_scalar("SELECT max(length(metadata::text)) FROM events")
        .fetch_one(&env.pool)
        .await?;
    assert!(longest.unwrap_or_default() < 1_000, "{longest:?}");
    Ok(())
}

#[tokio::test]
async fn parked_rows_hold_up_only_their_own_aggregates() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // 20 rows SQS can never take, each on an aggregate of its own, and one row queued
    // behind the first of them.
    let mut poison = Vec::new();
    for n in 0..20 {
        poison.push(raw_outbox_row(&env, &format!("poison-{n}"), 300 * 1024).await?);
    }
    let behind = raw_outbox_row(&env, "poison-0", 10).await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Busy Owner").await?;
    // 200 commands across 20 studios, each sent the moment the previous one answered.
    let mut studios = Vec::new();
    for s in 0..20 {
        studios.push(app.create_studio(&owner, &format!("Busy {s}")).await?);
    }
    for round in 0..9 {
        for studio in &studios {
            let (status, body) = app
                .call(
                    Method::POST,
                    &format!("/api/v1/studios/{studio}/rename"),
                    &owner,
                    Some(json!({"name": format!("Renamed {round}")})),
                )
                .await?;
            assert_eq!(status, 200, "{body}");
        }
    }
    for studio in &studios {
        let (status, view) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{studio}?min_version=10"),
                &owner,
                None,
            )
            .await?;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["name"], "Renamed 8");
    }
    // Every poison row is parked with its reason; the one behind waits, unsent.
    let pool = env.relay_pool.clone();
    let parked = eventually(Duration::from_secs(30), "all 20 parked", || async {
        let parked = outbox_relay::ops::parked(&pool).await?;
        let status = outbox_relay::ops::status(&pool).await?;
        Ok((parked.len() == 20 && status.pending == 1).then_some(parked))
    })
    .await?;
    assert!(parked.iter().all(|p| p
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("exceeds SQS's limit"))));
    assert_eq!(parked[0].id, poison[0]);
    assert_eq!(parked[0].waiting_behind, 1);
    // Discarding the head lets its aggregate flow again.
    assert_eq!(outbox_relay::ops::discard(&pool, &[poison[0]]).await?, 1);
    eventually(
        Duration::from_secs(30),
        "the row behind published",
        || async {
            let published: Option<bool> =
                sqlx::query_scalar("SELECT published_at IS NOT NULL FROM outbox WHERE id = $1")
                    .bind(behind)
                    .fetch_optional(&env.pool)
                    .await?;
            Ok((published == Some(true)).then_some(()))
        },
    )
    .await?;
    // Retrying puts a row back in line (here it is parked again: it is still too big).
    assert_eq!(outbox_relay::ops::retry(&pool, &[poison[1]]).await?, 1);
    assert_eq!(outbox_relay::ops::retry(&pool, &[poison[1]]).await?, 0);
    Ok(())
}

/// An SQS endpoint that accepts connections and never answers.
async fn hanging_endpoint() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    Ok(format!("http://{addr}"))
}

#[tokio::test]
async fn a_relay_whose_sqs_calls_hang_steps_down_and_the_standby_publishes() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let hung = infra::sqs::client_with(
        &AwsArgs {
            aws_endpoint_url: Some(hanging_endpoint().await?),
            aws_region: "us-east-1".to_owned(),
        },
        Timeouts {
            attempt: Duration::from_millis(500),
            operation: Duration::from_secs(1),
        },
    )
    .await;
    // The hung relay leads first.
    let first = env.spawn_relay_with(hung);
    eventually(Duration::from_secs(30), "a leader", || async {
        let holders: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()",
        )
        .fetch_one(&env.pool)
        .await?;
        Ok((holders >= 1).then_some(()))
    })
    .await?;
    let second = env.spawn_relay();
    studio_with_history(&env.pool, 2).await?;
    // Its calls time out, it steps down, and the standby takes over and publishes.
    eventually(
        Duration::from_secs(60),
        "publication by the standby",
        || async { Ok((unpublished(&env).await? == 0).then_some(())) },
    )
    .await?;
    first.cancel();
    second.cancel();
    Ok(())
}
