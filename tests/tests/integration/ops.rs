//! Operating the pipeline (issue 10): projection lag, dead letters listed and redriven.

use repstream_tests::TestEnv;

use crate::{stream, studio_with_history};

#[tokio::test]
async fn lag_is_reported_and_a_redriven_dead_letter_is_applied() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let id = studio_with_history(&env.pool, 2).await?; // 4 events, none projected
    let all = projector::all_projections();
    let studio_lag = |rows: Vec<projector::ProjectionStatus>| {
        rows.into_iter()
            .find(|r| r.projection == "studio_view")
            .map(|r| (r.streams, r.streams_behind, r.events_behind))
    };
    assert_eq!(
        studio_lag(projector::status(&env.pool, &all).await?),
        Some((1, 1, 4))
    );

    // The stream's last event was dead-lettered (say, during a bug since fixed).
    let last = stream(&env.pool, id).await?.pop().expect("events");
    env.sqs
        .send_message()
        .queue_url(&env.events_dlq)
        .message_body(serde_json::to_string(&last)?)
        .message_group_id(id.to_string())
        .message_deduplication_id(last.event_id.to_string())
        .send()
        .await?;
    let letters = infra::dlq::list(&env.sqs, &env.events_dlq, 10).await?;
    assert_eq!(letters.len(), 1);
    let summary = letters[0].summary.clone().unwrap_or_default();
    assert_eq!(summary["event_type"], "StudioRenamed");
    assert_eq!(summary["sequence"], 4);
    assert_eq!(
        letters[0].group_id.as_deref(),
        Some(id.to_string().as_str())
    );

    // Redriven, it reaches the projector, which fills the stream's gap from the store.
    assert_eq!(
        infra::dlq::redrive(&env.sqs, &env.events_dlq, &env.events_queue).await?,
        1
    );
    assert_eq!(infra::dlq::depth(&env.sqs, &env.events_dlq).await?, 0);
    let received = env
        .sqs
        .receive_message()
        .queue_url(&env.events_queue)
        .wait_time_seconds(5)
        .send()
        .await?
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1);
    let envelope = serde_json::from_str(received[0].body().unwrap_or_default())?;
    env.projector().handle(&envelope).await?;
    assert_eq!(
        studio_lag(projector::status(&env.pool, &all).await?),
        Some((1, 0, 0))
    );
    Ok(())
}
