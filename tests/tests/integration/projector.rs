use std::time::Duration;

use repstream_tests::{eventually, TestEnv};
use uuid::Uuid;

use crate::{replayed_view, stored_view, stream, studio_with_history};

#[tokio::test]
async fn duplicate_and_out_of_order_deliveries_end_equal_to_a_replay() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let id = studio_with_history(&env.pool, 4).await?; // 6 events
    let events = stream(&env.pool, id).await?;
    assert_eq!(events.len(), 6);
    let projector = env.projector();
    // 1-based sequence numbers, shuffled and repeated.
    for seq in [5, 2, 5, 1, 6, 3, 3, 4, 1, 6, 2] {
        projector.handle(&events[seq - 1]).await?;
        let view = stored_view(&env.pool, id)
            .await?
            .expect("view exists after any delivery");
        let version = view["version"].as_u64().unwrap_or_default();
        assert!(
            version >= seq as u64,
            "a later event is applied with all its predecessors"
        );
    }
    assert_eq!(
        stored_view(&env.pool, id).await?,
        Some(replayed_view(&env.pool, id).await?)
    );
    let checkpoint: i64 = sqlx::query_scalar(
        "SELECT last_sequence FROM projection_checkpoint WHERE projection = 'studio_view' AND aggregate_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(checkpoint, 6);
    Ok(())
}

#[tokio::test]
async fn poison_messages_land_in_the_dlq_and_the_projector_keeps_going() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    env.sqs
        .send_message()
        .queue_url(&env.events_queue)
        .message_body("{ this is not an envelope")
        .message_group_id("poison")
        .message_deduplication_id(Uuid::new_v4().to_string())
        .send()
        .await?;
    env.spawn_projector();
    env.spawn_relay();
    let id = studio_with_history(&env.pool, 1).await?;
    eventually(
        Duration::from_secs(30),
        "the good stream projected",
        || async {
            Ok(stored_view(&env.pool, id)
                .await?
                .filter(|v| v["version"] == 3))
        },
    )
    .await?;
    eventually(
        Duration::from_secs(60),
        "the poison message in the DLQ",
        || async { Ok((env.queue_depth(&env.events_dlq).await? == 1).then_some(())) },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn rebuild_produces_the_same_view_as_live_projection() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let projector = env.projector();
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = studio_with_history(&env.pool, n).await?;
        for e in stream(&env.pool, id).await? {
            projector.handle(&e).await?;
        }
        ids.push(id);
    }
    let snapshot = || async {
        let docs: Vec<serde_json::Value> =
            sqlx::query_scalar("SELECT doc FROM studio_view ORDER BY id")
                .fetch_all(&env.pool)
                .await?;
        let checkpoints: Vec<(String, i64)> = sqlx::query_as(
            "SELECT aggregate_id, last_sequence FROM projection_checkpoint WHERE projection = 'studio_view' ORDER BY aggregate_id",
        )
        .fetch_all(&env.pool)
        .await?;
        anyhow::Ok((docs, checkpoints))
    };
    let live = snapshot().await?;
    let mut progress = Vec::new();
    let projections = projector::all_projections();
    let studio = projections
        .iter()
        .find(|p| p.name() == "studio_view")
        .expect("studio_view");
    projector::rebuild(&env.pool, studio.as_ref(), |done, total| {
        progress.push((done, total))
    })
    .await?;
    assert_eq!(snapshot().await?, live);
    assert_eq!(
        progress.last(),
        Some(&(20, 20)),
        "progress reaches the total"
    );

    // Live projection carries on on the swapped-in table.
    let next = studio_with_history(&env.pool, 1).await?;
    for e in stream(&env.pool, next).await? {
        projector.handle(&e).await?;
    }
    assert_eq!(
        stored_view(&env.pool, next).await?,
        Some(replayed_view(&env.pool, next).await?)
    );
    Ok(())
}
