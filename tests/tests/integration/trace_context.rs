//! One trace across processes (issue 10, observability): the W3C `traceparent` of an
//! HTTP request travels in the event's metadata, the events queue's message attribute,
//! and the notification job with its attribute, where the worker's span picks it up.
//! (This process exports no traces, so the context is passed on unchanged; with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` each hop adds its span to the same trace, see the unit
//! tests of `infra::telemetry`.)

use std::time::Duration;

use repstream_tests::{eventually, TestEnv};
use serde_json::json;

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[tokio::test]
async fn a_requests_trace_context_reaches_the_notification_job() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Traced Owner").await?;
    let studio = app.create_studio(&owner, "Traced Studio").await?;
    let settings = format!("/api/v1/studios/{studio}/settings");
    let r = app
        .req(reqwest::Method::PUT, &settings, &owner)
        .header("traceparent", TRACEPARENT)
        .json(&json!({"settings": {"contact_email": "traced@desk.example"}}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    // A malformed one is ignored (never stored), and the request still succeeds.
    let r = app
        .req(reqwest::Method::PUT, &settings, &owner)
        .header("traceparent", "00-not-a-trace-01")
        .json(&json!({"settings": {"contact_email": "untraced@desk.example"}}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let stored: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT metadata->>'traceparent' FROM events WHERE aggregate_type = 'studio' \
         AND aggregate_id = $1 AND event_type = 'StudioSettingsUpdated' ORDER BY sequence",
    )
    .bind(studio.to_string())
    .fetch_all(&env.pool)
    .await?;
    assert_eq!(stored, [Some(TRACEPARENT.to_owned()), None]);

    // Relay and projector, no worker: the job waits on its queue to be looked at.
    env.spawn_relay();
    env.spawn_projector();
    let seen = std::sync::Mutex::new(Vec::new());
    let jobs = eventually(
        Duration::from_secs(30),
        "both confirmation jobs",
        || async {
            let out = env
                .sqs
                .receive_message()
                .queue_url(&env.notifications_queue)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .visibility_timeout(30)
                .send()
                .await?;
            let received: Vec<(serde_json::Value, Option<String>)> = out
                .messages
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| {
                    let job: serde_json::Value = serde_json::from_str(m.body()?).ok()?;
                    let attribute = m
                        .message_attributes()
                        .and_then(|a| a.get("traceparent"))
                        .and_then(|v| v.string_value().map(str::to_owned));
                    (job["template"] == "studio_contact_email_confirmation")
                        .then_some((job, attribute))
                })
                .collect();
            let mut seen = seen.lock().expect("not poisoned");
            seen.extend(received);
            Ok((seen.len() >= 2).then(|| seen.clone()))
        },
    )
    .await?;
    for (job, attribute) in jobs {
        if job["recipient"] == "traced@desk.example" {
            assert_eq!(job["traceparent"], TRACEPARENT);
            assert_eq!(attribute.as_deref(), Some(TRACEPARENT));
        } else {
            assert!(job.get("traceparent").is_none(), "{job}");
            assert_eq!(attribute, None);
        }
    }
    Ok(())
}
