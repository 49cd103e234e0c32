use domain::studio::Studio;
use futures::future::join_all;
use infra::event_store::{CommandBus, CommandError};
use repstream_tests::TestEnv;
use uuid::Uuid;

use crate::{add_location, create, meta};

/// Events and outbox rows of a stream, counted in one snapshot.
async fn counts(env: &TestEnv, id: Uuid) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE aggregate_id = $1), \
                (SELECT count(*) FROM outbox WHERE aggregate_id = $1)",
    )
    .bind(id.to_string())
    .fetch_one(&env.pool)
    .await?)
}

#[tokio::test]
async fn an_event_and_its_outbox_row_commit_together_or_not_at_all() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let bus = CommandBus::<Studio>::new(env.pool.clone(), ()).without_hooks();
    let id = Uuid::now_v7();
    // Make the outbox insert fail inside the command's transaction, after the event
    // row was written.
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.aggregate_id = '{id}' THEN RAISE EXCEPTION 'injected outbox failure'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fail_outbox();"
    ))
    .execute(&env.pool)
    .await?;

    let result = bus
        .execute(&id.to_string(), create(id, "Atomic"), None, meta(id))
        .await;
    assert!(matches!(result, Err(CommandError::Store(_))), "{result:?}");
    assert_eq!(
        counts(&env, id).await?,
        (0, 0),
        "neither the event nor the outbox row may exist"
    );

    sqlx::raw_sql("DROP TRIGGER fail_outbox ON outbox")
        .execute(&env.pool)
        .await?;
    bus.execute(&id.to_string(), create(id, "Atomic"), None, meta(id))
        .await?;
    assert_eq!(counts(&env, id).await?, (1, 1));
    let same_event: bool = sqlx::query_scalar(
        "SELECT e.event_id = o.event_id AND o.message->>'event_id' = e.event_id::text \
         FROM events e JOIN outbox o ON o.aggregate_id = e.aggregate_id WHERE e.aggregate_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert!(same_event);
    Ok(())
}

#[tokio::test]
async fn concurrent_commands_on_the_same_version_one_wins_the_others_get_409() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Race Owner").await?;
    let id = app.create_studio(&owner, "Race").await?;
    let requests = (0..10).map(|i| {
        app.req(
            reqwest::Method::POST,
            &format!("/api/v1/studios/{id}/rename"),
            &owner,
        )
        .header("If-Match", "\"1\"")
        .json(&serde_json::json!({ "name": format!("Racer {i}") }))
        .send()
    });
    let mut statuses = Vec::new();
    for r in join_all(requests).await {
        let r = r?;
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await?;
        if status == 412 {
            assert_eq!(body["code"], "precondition_failed");
        }
        statuses.push(status);
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // If-Match is a precondition: the losers get 412 (strong comparison, RFC 9110).
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(counts(&env, id).await?, (2, 2));
    Ok(())
}

#[tokio::test]
async fn the_loser_of_a_race_in_the_store_writes_nothing() -> anyhow::Result<()> {
    // Both commands load version 1 before either commits: the primary key decides.
    let env = TestEnv::new().await?;
    let bus = CommandBus::<Studio>::new(env.pool.clone(), ()).without_hooks();
    let id = Uuid::now_v7();
    let key = id.to_string();
    bus.execute(&key, create(id, "Store race"), None, meta(id))
        .await?;
    let results = join_all((0..8).map(|i| {
        bus.execute(
            &key,
            add_location(100 + i, &format!("L{i}")),
            Some(1),
            meta(id),
        )
    }))
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(CommandError::Conflict | CommandError::VersionMismatch { .. })
            )
        })
        .count();
    assert_eq!((won, conflicts), (1, 7), "{results:?}");
    assert_eq!(counts(&env, id).await?, (2, 2));
    Ok(())
}

#[tokio::test]
async fn commands_without_an_expected_version_are_retried_after_losing_a_race() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let bus = CommandBus::<Studio>::new(env.pool.clone(), ()).without_hooks();
    let id = Uuid::now_v7();
    let key = id.to_string();
    bus.execute(&key, create(id, "Retry"), None, meta(id))
        .await?;
    let results = join_all((0..4).map(|i| {
        bus.execute(
            &key,
            add_location(200 + i, &format!("R{i}")),
            None,
            meta(id),
        )
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(counts(&env, id).await?, (5, 5));
    Ok(())
}

#[tokio::test]
async fn cancelled_requests_never_leave_a_transaction_open() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Cancel Owner").await?;
    let id = app.create_studio(&owner, "Cancel").await?;
    // Clients that hang up almost at once, mid-command.
    for i in 0..40 {
        let request = app
            .req(
                reqwest::Method::POST,
                &format!("/api/v1/studios/{id}/locations"),
                &owner,
            )
            .json(&serde_json::json!({ "name": format!("Cancelled {i}") }))
            .timeout(std::time::Duration::from_millis(1 + (i % 5)))
            .send();
        let _ = request.await;
    }
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&env.pool)
        .await?;
    repstream_tests::eventually(std::time::Duration::from_secs(10), "no idle-in-transaction sessions", || async {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'",
        )
        .bind(&db)
        .fetch_one(&env.pool)
        .await?;
        Ok((open == 0).then_some(()))
    })
    .await?;
    // Whatever committed is whole: every event has its outbox row.
    let (events, outbox) = counts(&env, id).await?;
    assert_eq!(events, outbox);
    Ok(())
}
