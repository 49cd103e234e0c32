//! Outages are not poison (issue 10): a database that goes away for a while costs
//! nothing but time.

use std::time::Duration;

use repstream_tests::{eventually, Proxy, TestEnv};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_database_outage_pauses_the_projector_sends_nothing_to_the_dlq_and_answers_503(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    // The projector and a second API reach Postgres through a link we can cut.
    let link = Proxy::start(env.database_addr()?).await?;
    let projector_pool = env.pool_via(&link, "repstream_projector", 4).await?;
    let projector = projector::Projector::new(
        projector_pool,
        projector::all_projections(),
        env.sqs.clone(),
        env.job_queues(),
    );
    let config = env.consumer_config(&env.events_queue);
    let (sqs, token) = (env.sqs.clone(), env.shutdown.child_token());
    let run_token = token.clone();
    tokio::spawn(async move { projector::run(projector, sqs, config, run_token).await });
    let cut_off = env
        .spawn_api_on(
            env.api_config(),
            env.pool_via(&link, "repstream_api", 4).await?,
        )
        .await?;

    let owner = app.user("Outage Owner").await?;
    let mut studios = Vec::new();
    for n in 0..5 {
        studios.push(app.create_studio(&owner, &format!("Outage {n}")).await?);
    }
    link.cut();
    // Commands keep being accepted (the API's own link is fine) and published; the
    // projector cannot apply them.
    for round in 0..6 {
        for studio in &studios {
            let (status, body) = app
                .call(
                    Method::POST,
                    &format!("/api/v1/studios/{studio}/rename"),
                    &owner,
                    Some(json!({"name": format!("During outage {round}")})),
                )
                .await?;
            assert_eq!(status, 200, "{body}");
        }
    }
    // The API that lost its database answers 503 with a problem, never 500.
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/studios/{}", studios[0]), None),
        (
            Method::POST,
            format!("/api/v1/studios/{}/rename", studios[0]),
            Some(json!({"name": "Refused"})),
        ),
    ] {
        let (status, problem) = cut_off.call(method, &path, &owner, body).await?;
        assert_eq!(status, 503, "{path}: {problem}");
        assert_eq!(problem["code"], "service_unavailable");
    }
    // Long enough that the old behaviour (retry at once, five receives) would have
    // dead-lettered every message several times over.
    tokio::time::sleep(Duration::from_secs(8)).await;
    link.restore();
    // Every change reaches its view once the database is back (the projector resumes
    // on its own; a reader may see 503 view_not_caught_up until then).
    for studio in &studios {
        let view = eventually(
            Duration::from_secs(60),
            "the view after the outage",
            || async {
                let (status, view) = app
                    .call(
                        Method::GET,
                        &format!("/api/v1/studios/{studio}?min_version=7"),
                        &owner,
                        None,
                    )
                    .await?;
                Ok((status == 200).then_some(view))
            },
        )
        .await?;
        assert_eq!(view["name"], "During outage 5");
    }
    assert_eq!(
        env.queue_depth(&env.events_dlq).await?,
        0,
        "a message was dead-lettered"
    );
    // The cut-off API recovers by itself.
    eventually(
        Duration::from_secs(30),
        "the cut-off API answering",
        || async {
            let (status, _) = cut_off
                .call(
                    Method::GET,
                    &format!("/api/v1/studios/{}", studios[0]),
                    &owner,
                    None,
                )
                .await?;
            Ok((status == 200).then_some(()))
        },
    )
    .await?;
    token.cancel();
    Ok(())
}

#[tokio::test]
async fn readiness_reports_states_without_raw_error_text() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let link = Proxy::start(env.database_addr()?).await?;
    let app = env
        .spawn_api_on(
            env.api_config(),
            env.pool_via(&link, "repstream_api", 2).await?,
        )
        .await?;
    let (status, body) = app.get_json("/readyz").await?;
    assert_eq!(status, 200, "{body}");
    link.cut();
    let (status, body) = app.get_json("/readyz").await?;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    let postgres = body["checks"]["postgres"].as_str().unwrap_or_default();
    assert!(matches!(postgres, "unavailable" | "timed_out"), "{body}");
    assert_eq!(body["checks"]["sqs"], "ok");
    assert!(
        !body.to_string().contains("error"),
        "raw error text: {body}"
    );
    link.restore();
    Ok(())
}
