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
