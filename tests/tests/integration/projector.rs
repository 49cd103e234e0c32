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

/// A receive of several streams' events, shuffled, with duplicates and a gap, applied
/// together (one transaction) ends where a replay does; so does a receive of duplicates.
#[tokio::test]
async fn a_receive_of_many_streams_applies_together_and_equals_a_replay() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let projector = env.projector();
    let (a, b, c) = (
        studio_with_history(&env.pool, 3).await?,
        studio_with_history(&env.pool, 1).await?,
        studio_with_history(&env.pool, 2).await?,
    );
    let (ea, eb, ec) = (
        stream(&env.pool, a).await?,
        stream(&env.pool, b).await?,
        stream(&env.pool, c).await?,
    );
    // a: all but its second event (a gap the store fills), one duplicate; b: reversed;
    // c: only its last event.
    let receive = vec![
        ea[3].clone(),
        eb[2].clone(),
        ea[0].clone(),
        ec[3].clone(),
        eb[1].clone(),
        ea[4].clone(),
        eb[0].clone(),
        ea[2].clone(),
        ea[3].clone(),
    ];
    let outcome = projector.handle_all(&receive).await?;
    assert_eq!(
        outcome,
        projector::Outcome::Applied { events: 5 + 3 + 4 },
        "every stream up to its highest delivered event, gaps included"
    );
    for id in [a, b, c] {
        assert_eq!(
            stored_view(&env.pool, id).await?,
            Some(replayed_view(&env.pool, id).await?)
        );
    }
    assert_eq!(
        projector.handle_all(&receive).await?,
        projector::Outcome::Duplicate,
        "the same receive again changes nothing"
    );
    Ok(())
}

/// A receive that continues documents already stored and starts new ones (both kinds
/// of write in one batch), and two receives of overlapping streams in opposite orders at
/// once (they lock checkpoints in one order, so neither deadlocks): every view ends
/// where a replay does.
#[tokio::test]
async fn receives_that_continue_start_and_overlap_streams_equal_a_replay() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let projector = env.projector();
    let mut ids = Vec::new();
    for locations in 1..=6 {
        ids.push(studio_with_history(&env.pool, locations).await?);
    }
    let mut streams = Vec::new();
    for id in &ids {
        streams.push(stream(&env.pool, *id).await?);
    }
    // The first half of the first three streams is already projected.
    let first: Vec<_> = streams[..3]
        .iter()
        .flat_map(|s| s[..s.len() / 2].iter().cloned())
        .collect();
    projector.handle_all(&first).await?;
    // One receive: the rest of those three (updates) and all of two new ones (inserts).
    let second: Vec<_> = streams[..3]
        .iter()
        .flat_map(|s| s[s.len() / 2..].iter().cloned())
        .chain(streams[3..5].iter().flat_map(|s| s.iter().cloned()))
        .collect();
    projector.handle_all(&second).await?;
    // Two receives at once over the last two streams, in opposite orders.
    let forward: Vec<_> = streams[4..]
        .iter()
        .flat_map(|s| s.iter().cloned())
        .collect();
    let backward: Vec<_> = forward.iter().rev().cloned().collect();
    let (p1, p2) = (projector.clone(), projector.clone());
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move { p1.handle_all(&forward).await }),
        tokio::spawn(async move { p2.handle_all(&backward).await }),
    );
    r1??;
    r2??;
    for id in ids {
        assert_eq!(
            stored_view(&env.pool, id).await?,
            Some(replayed_view(&env.pool, id).await?)
        );
    }
    Ok(())
}

/// One poison message in a receive of good ones: the good ones are projected, only the
/// poison one is retried (the receive falls back to one message at a time).
#[tokio::test]
async fn a_poison_message_does_not_hold_back_the_rest_of_its_receive() -> anyhow::Result<()> {
    use infra::consumer::MessageHandler;
    let env = TestEnv::new().await?;
    let projector = env.projector();
    let id = studio_with_history(&env.pool, 1).await?;
    let events = stream(&env.pool, id).await?;
    let mut bodies: Vec<String> = events
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()?;
    bodies.insert(1, "{ not an envelope".to_owned());
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    assert!(
        MessageHandler::handle_all(&projector, &refs).await.is_err(),
        "the receive as a whole is refused"
    );
    assert_eq!(
        stored_view(&env.pool, id).await?,
        None,
        "nothing half-applied"
    );
    // What the consumer does next: one at a time.
    let mut results = Vec::new();
    for body in &refs {
        results.push(MessageHandler::handle(&projector, body).await.is_ok());
    }
    assert_eq!(results, vec![true, false, true, true]);
    assert_eq!(
        stored_view(&env.pool, id).await?,
        Some(replayed_view(&env.pool, id).await?)
    );
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
    // Three events a page: the replay crosses many pages, as a production-sized one does.
    projector::rebuild_paged(&env.pool, studio.as_ref(), 3, |done, total| {
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

/// Events committed but not yet projected when a rebuild runs stay live projection's:
/// the rebuilt table stops where live projection was, and the late deliveries are
/// applied after the swap through the live path (jobs and all), not swallowed by the
/// rebuild as duplicates.
#[tokio::test]
async fn a_rebuild_leaves_events_in_flight_to_live_projection() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let projector = env.projector();
    let done = studio_with_history(&env.pool, 2).await?;
    for e in stream(&env.pool, done).await? {
        projector.handle(&e).await?;
    }
    // In flight: the last two events of one studio, and every event of another.
    let partly = studio_with_history(&env.pool, 2).await?;
    let partly_events = stream(&env.pool, partly).await?;
    assert_eq!(partly_events.len(), 4);
    for e in &partly_events[..2] {
        projector.handle(e).await?;
    }
    let unseen = studio_with_history(&env.pool, 1).await?;

    let projections = projector::all_projections();
    let studio = projections
        .iter()
        .find(|p| p.name() == "studio_view")
        .expect("studio_view");
    projector::rebuild_paged(&env.pool, studio.as_ref(), 2, |_, _| {}).await?;
    let version = |v: Option<serde_json::Value>| v.map(|v| v["version"].clone());
    assert_eq!(
        version(stored_view(&env.pool, partly).await?),
        Some(serde_json::json!(2)),
        "the rebuild stops where live projection was"
    );
    assert_eq!(stored_view(&env.pool, unseen).await?, None);

    assert_eq!(
        projector.handle(&partly_events[3]).await?,
        projector::Outcome::Applied { events: 2 },
        "the late delivery is applied by live projection, gap and all"
    );
    for e in stream(&env.pool, unseen).await? {
        assert!(matches!(
            projector.handle(&e).await?,
            projector::Outcome::Applied { .. }
        ));
    }
    for id in [done, partly, unseen] {
        assert_eq!(
            stored_view(&env.pool, id).await?,
            Some(replayed_view(&env.pool, id).await?)
        );
    }
    Ok(())
}

#[tokio::test]
async fn rebuilding_class_view_rebuilds_booking_view_keeps_the_sweepers_rights_and_never_rewinds(
) -> anyhow::Result<()> {
    use chrono::{Duration as Span, Utc};
    use domain::class::{BookingId, Class, ClassCommand, ClassId};
    use domain::scheduling::BookingPolicy;
    use infra::envelope::{EventEnvelope, StoredEvent, STORED_EVENT_COLUMNS};
    use infra::event_store::{CommandBus, CommandMetadata};
    use infra::inline::ClassStrikes;

    let env = TestEnv::new().await?;
    let projector = env.projector();
    let bus =
        CommandBus::<Class>::new(env.pool.clone(), ()).with_hook(std::sync::Arc::new(ClassStrikes));
    let tenant = Uuid::new_v4();
    let meta = || CommandMetadata::system(tenant, "test", None);
    // A class that has ended, with one booking the live projector has seen cancelled.
    let class = Uuid::now_v7();
    let start = Utc::now() - Span::hours(2);
    bus.execute(
        &class.to_string(),
        ClassCommand::Schedule {
            class_id: ClassId(class),
            studio_id: domain::studio::StudioId(tenant),
            title: "Rebuilt".into(),
            class_type_id: None,
            starts_at: start,
            duration_minutes: 30,
            capacity: 5,
            location_id: None,
            instructor_id: None,
            schedule_id: None,
            policy: BookingPolicy::default(),
        },
        None,
        meta(),
    )
    .await?;
    let (kept, cancelled) = (Uuid::now_v7(), Uuid::now_v7());
    for booking in [kept, cancelled] {
        bus.execute(
            &class.to_string(),
            ClassCommand::Book {
                booking_id: BookingId(booking),
                client_id: domain::client::ClientId(Uuid::new_v4()),
                now: start - Span::days(2),
                blocked_until: None,
            },
            None,
            meta(),
        )
        .await?;
    }
    bus.execute(
        &class.to_string(),
        ClassCommand::CancelBooking {
            booking_id: BookingId(cancelled),
            now: start - Span::days(1),
        },
        None,
        meta(),
    )
    .await?;
    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {STORED_EVENT_COLUMNS} FROM events WHERE aggregate_type = 'class' AND aggregate_id = $1 ORDER BY sequence"
    ))
    .bind(class.to_string())
    .fetch_all(&env.pool)
    .await?;
    for row in rows {
        projector.handle(&EventEnvelope::from(row)).await?;
    }
    let statuses = || async {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT booking_id, status FROM booking_view WHERE class_id = $1 ORDER BY booking_id",
        )
        .bind(class)
        .fetch_all(&env.pool)
        .await?;
        anyhow::Ok(rows)
    };
    let before = statuses().await?;
    assert!(
        before.contains(&(cancelled, "cancelled".to_owned())),
        "{before:?}"
    );
    let rows = || async {
        let rows: Vec<serde_json::Value> = sqlx::query_scalar(
            "SELECT to_jsonb(b) FROM booking_view b WHERE class_id = $1 ORDER BY booking_id",
        )
        .bind(class)
        .fetch_all(&env.pool)
        .await?;
        anyhow::Ok(rows)
    };
    let live_rows = rows().await?;
    // booking_view is rebuilt with class_view: a row lost (or never written) comes back.
    sqlx::query("DELETE FROM booking_view WHERE booking_id = $1")
        .bind(kept)
        .execute(&env.pool)
        .await?;
    let live_class: serde_json::Value =
        sqlx::query_scalar("SELECT doc FROM class_view WHERE id = $1")
            .bind(class)
            .fetch_one(&env.pool)
            .await?;

    // Watch booking_view while the rebuild replays: it must never go back in time.
    let watcher = {
        let pool = env.pool.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let s: Option<String> =
                    sqlx::query_scalar("SELECT status FROM booking_view WHERE booking_id = $1")
                        .bind(cancelled)
                        .fetch_optional(&pool)
                        .await?;
                seen.extend(s);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            anyhow::Ok(seen)
        });
        (stop, task)
    };
    let projections = projector::all_projections();
    let classes = projections
        .iter()
        .find(|p| p.name() == "class_view")
        .expect("class_view");
    projector::rebuild(&env.pool, classes.as_ref(), |_, _| {}).await?;
    watcher.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = watcher.1.await??;
    assert!(
        seen.iter().all(|s| s == "cancelled"),
        "booking_view went back in time during the rebuild: {seen:?}"
    );
    assert_eq!(statuses().await?, before);
    assert_eq!(
        rows().await?,
        live_rows,
        "booking_view rebuilt row for row, the deleted one included"
    );
    let rebuilt: serde_json::Value = sqlx::query_scalar("SELECT doc FROM class_view WHERE id = $1")
        .bind(class)
        .fetch_one(&env.pool)
        .await?;
    assert_eq!(rebuilt, live_class, "the rebuild equals live projection");

    // The no-show sweeper (its own role, reading class_view across tenants) still works
    // on the swapped-in table.
    let settled = workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now()).await?;
    assert_eq!(settled, 1, "the sweeper still sees the rebuilt class_view");
    Ok(())
}

/// A rebuild of streams written through the API that live projection has applied
/// (their checkpoints at the head) equals a replay of each.
#[tokio::test]
async fn a_rebuild_of_api_written_streams_equals_their_replay() -> anyhow::Result<()> {
    use reqwest::Method;
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Rebuild Owner").await?;
    let mut ids = Vec::new();
    for n in 0..3 {
        let studio = app.create_studio(&owner, &format!("Rebuilt {n}")).await?;
        for l in 0..3 {
            let (status, body) = app
                .call(
                    Method::POST,
                    &format!("/api/v1/studios/{studio}/locations"),
                    &owner,
                    Some(serde_json::json!({"name": format!("Room {l}"), "address": "Hafenstrasse 1, 20457 Hamburg"})),
                )
                .await?;
            assert!(status == 200 || status == 201, "{status} {body}");
        }
        ids.push(studio);
    }
    let projector = env.projector();
    for id in &ids {
        for e in stream(&env.pool, *id).await? {
            projector.handle(&e).await?;
        }
    }
    let projections = projector::all_projections();
    let studio = projections
        .iter()
        .find(|p| p.name() == "studio_view")
        .expect("studio_view");
    projector::rebuild_paged(&env.pool, studio.as_ref(), 4, |_, _| {}).await?;
    for id in ids {
        assert_eq!(
            stored_view(&env.pool, id).await?,
            Some(replayed_view(&env.pool, id).await?)
        );
    }
    Ok(())
}
