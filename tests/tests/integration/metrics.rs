//! Prometheus metrics (issue 10): every service can serve `/metrics`; labels are
//! bounded (route templates, aggregate types, outcomes), never ids.

use repstream_tests::TestEnv;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn metrics_are_served_with_route_templates_and_outcomes_never_ids() -> anyhow::Result<()> {
    // One recorder per process (nextest runs each test in a process of its own).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
    infra::metrics::serve(addr)?;

    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Metrics Owner").await?;
    let studio = app.create_studio(&owner, "Measured").await?;
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/rename"),
            &owner,
            Some(json!({"name": "Measured Again"})),
        )
        .await?;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}"),
            &owner,
            None,
        )
        .await?;
    assert!(status == 200 || status == 404);
    env.relay().drain().await?;

    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await?
        .text()
        .await?;
    for expected in [
        r#"repstream_http_requests_total{method="POST",route="/api/v1/studios/{studio_id}/rename",status="200"}"#,
        r#"repstream_http_request_duration_seconds_bucket{method="POST",route="/api/v1/studios/{studio_id}/rename",status="200""#,
        r#"repstream_commands_total{aggregate="studio",outcome="accepted"}"#,
        r#"repstream_outbox_rows_total{outcome="published"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    assert!(!text.contains(&studio.to_string()), "an id became a label");
    Ok(())
}

/// The queue depth gauges: what a DLQ holds shows up as `visible` messages of it.
#[tokio::test]
async fn queue_depths_are_gauges_per_queue_and_state() -> anyhow::Result<()> {
    infra::metrics::install()?;
    let env = TestEnv::new().await?;
    env.sqs
        .send_message()
        .queue_url(&env.events_dlq)
        .message_body("{}")
        .message_group_id("dead")
        .message_deduplication_id(uuid::Uuid::new_v4().to_string())
        .send()
        .await?;
    let name = |url: &str| url.rsplit('/').next().unwrap_or(url).to_owned();
    let queues = vec![
        (name(&env.events_queue), env.events_queue.clone()),
        (name(&env.events_dlq), env.events_dlq.clone()),
    ];
    let shutdown = infra::shutdown::CancellationToken::new();
    let watcher = tokio::spawn(infra::dlq::watch(
        env.sqs.clone(),
        queues,
        std::time::Duration::from_millis(100),
        shutdown.clone(),
    ));
    let (dlq, queue) = (name(&env.events_dlq), name(&env.events_queue));
    repstream_tests::eventually(
        std::time::Duration::from_secs(20),
        "the DLQ's depth as a gauge",
        || {
            let (dlq, queue) = (dlq.clone(), queue.clone());
            async move {
                let text = infra::metrics::render();
                let value = |queue: &str| {
                    let prefix =
                        format!(r#"repstream_sqs_messages{{queue="{queue}",state="visible"}} "#);
                    text.lines()
                        .find_map(|l| l.strip_prefix(&prefix))
                        .and_then(|v| v.trim().parse::<f64>().ok())
                };
                Ok((value(&dlq) == Some(1.0) && value(&queue) == Some(0.0)).then_some(()))
            }
        },
    )
    .await?;
    shutdown.cancel();
    watcher.await?;
    Ok(())
}
