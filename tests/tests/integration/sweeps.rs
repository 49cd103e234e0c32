//! The attendance sweep at scale (issue 10): fair across tenants, shared by replicas,
//! driven from committed state; and no backlog of history at creation.

use chrono::{Duration as Span, Utc};
use domain::class::{Class, ClassCommand, ClassId};
use domain::studio::StudioId;
use infra::event_store::{CommandBus, CommandMetadata};
use repstream_tests::TestEnv;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// `n` classes of `tenant` that ended an hour ago, scheduled through the command bus
/// (with the class hooks, so the class_slot directory holds them).
async fn ended_classes(env: &TestEnv, tenant: Uuid, n: usize) -> anyhow::Result<Vec<Uuid>> {
    let bus = CommandBus::<Class>::new(env.pool.clone(), ());
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = Uuid::now_v7();
        let schedule = ClassCommand::Schedule {
            class_id: ClassId(id),
            studio_id: StudioId(tenant),
            title: format!("Past {i}"),
            class_type_id: None,
            starts_at: Utc::now() - Span::hours(2) + Span::seconds(i as i64),
            duration_minutes: 30,
            capacity: 3,
            location_id: None,
            instructor_id: None,
            schedule_id: None,
            policy: domain::scheduling::BookingPolicy::default(),
        };
        bus.execute(
            &id.to_string(),
            schedule,
            None,
            CommandMetadata::system(tenant, "test", None),
        )
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

async fn closed(env: &TestEnv, ids: &[Uuid]) -> anyhow::Result<i64> {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'class' \
         AND event_type = 'ClassClosed' AND aggregate_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_one(&env.pool)
    .await?)
}

#[tokio::test]
async fn a_burst_of_one_studios_classes_never_starves_another_and_replicas_share_the_work(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let (busy, quiet) = (Uuid::now_v7(), Uuid::now_v7());
    let burst = ended_classes(&env, busy, 520).await?;
    let lone = ended_classes(&env, quiet, 1).await?;
    // Two replicas sweep at the same moment.
    let now = Utc::now();
    let (a, b) = tokio::join!(
        workers::attendance::settle_ended_classes(&env.worker_pool, now),
        workers::attendance::settle_ended_classes(&env.worker_pool, now)
    );
    let first_pass = a? + b?;
    // The quiet studio's class is settled in the first pass, behind no one.
    assert_eq!(closed(&env, &lone).await?, 1);
    // Each class was closed by one replica only; together they did one pass's worth.
    assert_eq!(closed(&env, &burst).await? + 1, first_pass as i64);
    // Further passes settle the rest, each class once.
    while workers::attendance::settle_ended_classes(&env.worker_pool, Utc::now()).await? > 0 {}
    assert_eq!(closed(&env, &burst).await?, 520);
    Ok(())
}

#[tokio::test]
async fn a_class_more_than_a_day_in_the_past_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Sweep Owner").await?;
    let studio = app.create_studio(&owner, "Sweep Studio").await?;
    let path = format!("/api/v1/studios/{studio}/classes");
    for (starts_at, ok) in [
        (Utc::now() - Span::hours(20), true),
        (Utc::now() - Span::days(2), false),
        (chrono::DateTime::UNIX_EPOCH, false),
    ] {
        let (status, body) = app
            .call(
                Method::POST,
                &path,
                &owner,
                Some(json!({"title": "Dated", "starts_at": starts_at, "duration_minutes": 30, "capacity": 5})),
            )
            .await?;
        if ok {
            assert_eq!(status, 201, "{starts_at}: {body}");
        } else {
            assert_eq!(status, 422, "{starts_at}: {body}");
            assert_eq!(body["errors"][0]["field"], "starts_at");
        }
    }
    Ok(())
}
