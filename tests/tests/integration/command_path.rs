//! The command path (issue 8): each step sent the moment the previous one answered, as
//! a client app does; round trips counted by the server; snapshots; `If-Match`;
//! `Idempotency-Key`; ids across tenants.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use domain::studio::Studio;
use infra::event_store::CommandBus;
use repstream_tests::{TestApp, TestEnv, TestUser};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

async fn post(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<(u16, serde_json::Value)> {
    app.call(Method::POST, path, user, Some(body)).await
}

fn id_of(r: &serde_json::Value) -> anyhow::Result<Uuid> {
    Ok(r["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no id in {r}"))?
        .parse()?)
}

fn class_body(location: Option<Uuid>) -> serde_json::Value {
    json!({"title": "Flow", "starts_at": Utc::now() + Span::days(2), "duration_minutes": 50,
           "capacity": 10, "location_id": location})
}

#[tokio::test]
async fn every_no_wait_sequence_succeeds_twenty_times_in_a_row() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // The whole pipeline runs, as in production: nothing here may depend on it.
    let app = env.spawn_all().await?;
    let owner = app.user("No Wait Owner").await?;
    for round in 0..20 {
        // create studio → create a class
        let studio = app.create_studio(&owner, &format!("Round {round}")).await?;
        let base = format!("/api/v1/studios/{studio}");
        let (s, r) = post(&app, &owner, &format!("{base}/classes"), class_body(None)).await?;
        anyhow::ensure!(s == 201, "round {round}: class right after studio: {s} {r}");

        // create studio → create a class type
        let studio2 = app.create_studio(&owner, &format!("Types {round}")).await?;
        let (s, r) = post(
            &app,
            &owner,
            &format!("/api/v1/studios/{studio2}/class-types"),
            json!({"name": "Reformer", "duration_minutes": 50}),
        )
        .await?;
        anyhow::ensure!(
            s == 201,
            "round {round}: class type right after studio: {s} {r}"
        );

        // add a location → create a class at it
        let (s, r) = post(
            &app,
            &owner,
            &format!("{base}/locations"),
            json!({"name": "Hall"}),
        )
        .await?;
        anyhow::ensure!(s == 201, "round {round}: location: {s} {r}");
        let location: Uuid = r["location_id"].as_str().unwrap_or_default().parse()?;
        let (s, r) = post(
            &app,
            &owner,
            &format!("{base}/classes"),
            class_body(Some(location)),
        )
        .await?;
        anyhow::ensure!(s == 201, "round {round}: class at a new location: {s} {r}");
        let class = id_of(&r)?;

        // create a client record → book it into a class
        let (s, r) = post(
            &app,
            &owner,
            &format!("{base}/clients"),
            json!({"full_name": "Cleo"}),
        )
        .await?;
        anyhow::ensure!(s == 201, "round {round}: client: {s} {r}");
        let client = id_of(&r)?;
        let (s, r) = post(
            &app,
            &owner,
            &format!("{base}/classes/{class}/bookings"),
            json!({"client_id": client}),
        )
        .await?;
        anyhow::ensure!(s == 201, "round {round}: booking a new client: {s} {r}");
    }
    Ok(())
}

#[tokio::test]
async fn a_client_member_books_right_after_joining_and_records_are_linked_not_doubled(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Join Owner").await?;
    let studio = app.create_studio(&owner, "Join Studio").await?;
    let base = format!("/api/v1/studios/{studio}");
    let (s, r) = post(&app, &owner, &format!("{base}/classes"), class_body(None)).await?;
    anyhow::ensure!(s == 201, "{r}");
    let class = id_of(&r)?;

    // Added as a client: bookable at once, for themselves.
    let cleo = app.user("Cleo Joiner").await?;
    app.add_member(&owner, studio, &cleo, "client").await?;
    let (s, r) = post(
        &app,
        &cleo,
        &format!("{base}/classes/{class}/bookings"),
        json!({}),
    )
    .await?;
    assert_eq!(s, 201, "{r}");

    // A record with their email existed before they joined: it is linked, not doubled.
    let dana = app.user("Dana Joiner").await?;
    let (s, r) = post(
        &app,
        &owner,
        &format!("{base}/clients"),
        json!({"full_name": "Dana (front desk typed)", "email": dana.email}),
    )
    .await?;
    assert_eq!(s, 201, "{r}");
    let existing = id_of(&r)?;
    app.add_member(&owner, studio, &dana, "client").await?;
    let (s, r) = post(
        &app,
        &dana,
        &format!("{base}/classes/{class}/bookings"),
        json!({}),
    )
    .await?;
    assert_eq!(s, 201, "{r}");
    let records: Vec<(Uuid, Option<Uuid>)> = sqlx::query_as(
        "SELECT client_id, account_id FROM client_record WHERE tenant_id = $1 AND lower(email) = lower($2)",
    )
    .bind(studio)
    .bind(&dana.email)
    .fetch_all(&env.pool)
    .await?;
    assert_eq!(records, vec![(existing, Some(dana.id))]);
    // Her record is hers at once (no projector runs here: no view of it exists yet).
    let (s, r) = app
        .call(
            reqwest::Method::GET,
            &format!("{base}/clients/{existing}/bookings"),
            &dana,
            None,
        )
        .await?;
    assert_eq!(s, 200, "Dana reads her own bookings: {r}");
    Ok(())
}

/// Statements the API's role executed in this test's database since the last reset.
async fn statements(env: &TestEnv) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(calls), 0)::int8 FROM pg_stat_statements \
         WHERE userid = 'repstream_api'::regrole AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&env.pool)
    .await?)
}

async fn reset_statements(env: &TestEnv) -> anyhow::Result<()> {
    sqlx::query(
        "SELECT pg_stat_statements_reset('repstream_api'::regrole, \
         (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
    )
    .execute(&env.pool)
    .await?;
    Ok(())
}

/// Round trips of one request: statements the server ran for it (each is one round trip
/// once the connection has the statement prepared; the calls before warm that up).
async fn round_trips(
    env: &TestEnv,
    request: impl std::future::Future<Output = anyhow::Result<(u16, serde_json::Value)>>,
) -> anyhow::Result<(i64, u16, serde_json::Value)> {
    reset_statements(env).await?;
    let (status, body) = request.await?;
    Ok((statements(env).await?, status, body))
}

#[tokio::test]
async fn commands_and_reads_stay_within_their_round_trips() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&env.pool)
        .await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Counting Owner").await?;
    let studio = app.create_studio(&owner, "Counting Studio").await?;
    let base = format!("/api/v1/studios/{studio}");
    let (_, r) = post(&app, &owner, &format!("{base}/classes"), class_body(None)).await?;
    let class = id_of(&r)?;
    // Warm every statement up on the pool's connections (prepared once per connection).
    for i in 0..25 {
        post(
            &app,
            &owner,
            &format!("{base}/locations"),
            json!({"name": format!("Warm {i}")}),
        )
        .await?;
        let (_, c) = post(
            &app,
            &owner,
            &format!("{base}/clients"),
            json!({"full_name": "Warm"}),
        )
        .await?;
        post(
            &app,
            &owner,
            &format!("{base}/classes/{class}/bookings"),
            json!({"client_id": id_of(&c)?}),
        )
        .await?;
        app.call(Method::GET, &base, &owner, None).await?;
        app.call(
            Method::GET,
            &format!("{base}/classes/{class}"),
            &owner,
            None,
        )
        .await?;
    }
    // The class view is projected by now; wait for it rather than assume it.
    let (app_ref, owner_ref, class_path) = (&app, &owner, format!("{base}/classes/{class}"));
    repstream_tests::eventually(Duration::from_secs(30), "the class view", || async {
        let (s, _) = app_ref
            .call(Method::GET, &class_path, owner_ref, None)
            .await?;
        Ok((s == 200).then_some(()))
    })
    .await?;

    let (n, s, r) = round_trips(
        &env,
        post(
            &app,
            &owner,
            &format!("{base}/locations"),
            json!({"name": "Counted"}),
        ),
    )
    .await?;
    assert_eq!(s, 201, "{r}");
    assert!(n <= 6, "adding a location took {n} round trips");

    let (_, c) = post(
        &app,
        &owner,
        &format!("{base}/clients"),
        json!({"full_name": "Counted"}),
    )
    .await?;
    let client = id_of(&c)?;
    let (n, s, r) = round_trips(
        &env,
        post(
            &app,
            &owner,
            &format!("{base}/classes/{class}/bookings"),
            json!({"client_id": client}),
        ),
    )
    .await?;
    assert_eq!(s, 201, "{r}");
    assert!(n <= 6, "booking took {n} round trips");

    // A document read is one statement: session, membership and document together.
    let (n, s, r) = round_trips(&env, app.call(Method::GET, &base, &owner, None)).await?;
    assert_eq!(s, 200, "{r}");
    assert!(n <= 1, "reading a studio took {n} round trips");
    let (n, s, r) = round_trips(
        &env,
        app.call(
            Method::GET,
            &format!("{base}/classes/{class}"),
            &owner,
            None,
        ),
    )
    .await?;
    assert_eq!(s, 200, "{r}");
    assert!(n <= 1, "reading a class took {n} round trips");
    Ok(())
}

fn create_studio_cmd(id: Uuid) -> domain::studio::StudioCommand {
    crate::create(id, "Long Stream")
}

#[tokio::test]
async fn a_long_stream_loads_from_its_snapshot_exactly_as_a_full_replay() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let studio = Uuid::new_v4();
    let bus = CommandBus::<Studio>::new(env.pool.clone(), ()).without_hooks();
    bus.execute(
        &studio.to_string(),
        create_studio_cmd(studio),
        None,
        crate::meta(studio),
    )
    .await?;
    // 9,998 more events written as the store writes them, fast: renames.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
           payload, metadata, event_id, tenant_id, occurred_at) \
         SELECT 'studio', $1, n, 'StudioRenamed', '1.0', \
           jsonb_build_object('type', 'StudioRenamed', 'name', 'Name ' || n), '{}'::jsonb, \
           gen_random_uuid(), $2, now() FROM generate_series(2, 9999) AS n",
    )
    .bind(studio.to_string())
    .bind(studio)
    .execute(&env.pool)
    .await?;
    // The 10,000th event crosses a snapshot boundary: written with the snapshot.
    bus.execute(
        &studio.to_string(),
        crate::rename("Snapshot Point"),
        None,
        crate::meta(studio),
    )
    .await?;
    let snap: i64 = sqlx::query_scalar("SELECT sequence FROM snapshots WHERE aggregate_id = $1")
        .bind(studio.to_string())
        .fetch_one(&env.pool)
        .await?;
    assert_eq!(snap, 10_000);
    for i in 0..3 {
        let outcome = bus
            .execute(
                &studio.to_string(),
                crate::rename(&format!("After {i}")),
                None,
                crate::meta(studio),
            )
            .await?;
        assert_eq!(outcome.version, 10_001 + i);
    }
    // Same state from snapshot + tail as from the whole stream (another snapshot version
    // cannot use the stored snapshot).
    let replay = CommandBus::<Studio>::new(env.pool.clone(), ())
        .without_hooks()
        .with_snapshot_version(2);
    let (from_snapshot, v1) = bus.load(studio, &studio.to_string()).await?;
    let (from_events, v2) = replay.load(studio, &studio.to_string()).await?;
    assert_eq!((v1, v2), (10_003, 10_003));
    assert_eq!(
        serde_json::to_value(&from_snapshot)?,
        serde_json::to_value(&from_events)?
    );

    // A snapshot ahead of its stream (its events gone) is never used.
    sqlx::query(
        "UPDATE snapshots SET sequence = 20000, state = '{}'::jsonb WHERE aggregate_id = $1",
    )
    .bind(studio.to_string())
    .execute(&env.pool)
    .await?;
    let (after_tamper, v3) = bus.load(studio, &studio.to_string()).await?;
    assert_eq!(v3, 10_003);
    assert_eq!(
        serde_json::to_value(&after_tamper)?,
        serde_json::to_value(&from_events)?
    );
    Ok(())
}

#[tokio::test]
async fn if_match_applies_on_a_match_and_412s_on_a_stale_or_weak_tag() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Etag Owner").await?;
    let studio = app.create_studio(&owner, "Etag Studio").await?;
    let base = format!("/api/v1/studios/{studio}");
    let send = |method: Method, path: String, etag: &'static str, body: serde_json::Value| {
        app.req(method, &path, &owner)
            .header("If-Match", etag)
            .json(&body)
            .send()
    };
    let events = |id: Uuid| {
        let pool = env.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE aggregate_id = $1")
                .bind(id.to_string())
                .fetch_one(&pool)
                .await
        }
    };

    // A class at version 1.
    let (_, r) = post(&app, &owner, &format!("{base}/classes"), class_body(None)).await?;
    let class = id_of(&r)?;
    let path = format!("{base}/classes/{class}/capacity");
    let ok = send(Method::PUT, path.clone(), "\"1\"", json!({"capacity": 12})).await?;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["etag"], "\"2\"");
    let stale = send(Method::PUT, path.clone(), "\"1\"", json!({"capacity": 14})).await?;
    assert_eq!(stale.status(), 412);
    let weak = send(
        Method::PUT,
        path.clone(),
        "W/\"2\"",
        json!({"capacity": 14}),
    )
    .await?;
    assert_eq!(weak.status(), 412);
    assert_eq!(events(class).await?, 2, "nothing written on 412");

    // A class type.
    let (_, r) = post(
        &app,
        &owner,
        &format!("{base}/class-types"),
        json!({"name": "Mat", "duration_minutes": 45}),
    )
    .await?;
    let class_type = id_of(&r)?;
    let path = format!("{base}/class-types/{class_type}");
    let ok = send(
        Method::PUT,
        path.clone(),
        "\"1\"",
        json!({"name": "Mat II", "duration_minutes": 45}),
    )
    .await?;
    assert_eq!(ok.status(), 200);
    let stale = send(
        Method::PUT,
        path.clone(),
        "\"1\"",
        json!({"name": "Mat III", "duration_minutes": 45}),
    )
    .await?;
    assert_eq!(stale.status(), 412);
    assert_eq!(events(class_type).await?, 2);

    // A trainer calendar (the owner teaches).
    let path = format!("{base}/trainers/{}/availability", owner.id);
    let rules = json!({"weekly": [{"weekday": "mon", "start": "09:00:00", "end": "12:00:00"}], "slot_minutes": 60});
    let first = app
        .call(Method::PUT, &path, &owner, Some(rules.clone()))
        .await?;
    assert_eq!(first.0, 200, "{}", first.1);
    let ok = send(
        Method::PUT,
        path.clone(),
        "\"1\"",
        json!({"weekly": [], "slot_minutes": 30}),
    )
    .await?;
    assert_eq!(ok.status(), 200);
    let stale = send(Method::PUT, path.clone(), "\"1\"", rules).await?;
    assert_eq!(stale.status(), 412);
    Ok(())
}

#[tokio::test]
async fn a_retried_booking_with_its_idempotency_key_books_once_and_answers_the_same(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Retry Owner").await?;
    let studio = app.create_studio(&owner, "Retry Studio").await?;
    let base = format!("/api/v1/studios/{studio}");
    let keyed = |path: String, key: &'static str, body: serde_json::Value| {
        let request = app
            .req(Method::POST, &path, &owner)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let r = request.send().await?;
            Ok::<_, anyhow::Error>((r.status().as_u16(), r.json::<serde_json::Value>().await?))
        }
    };
    // A class created twice with one key is one class.
    let body = class_body(None);
    let (s1, c1) = keyed(format!("{base}/classes"), "class-1", body.clone()).await?;
    let (s2, c2) = keyed(format!("{base}/classes"), "class-1", body).await?;
    assert_eq!((s1, s2), (201, 201));
    // The bodies differ only if the replay is not the stored first response.
    assert_eq!(c1, c2);
    let class = id_of(&c1)?;

    let (_, r) = post(
        &app,
        &owner,
        &format!("{base}/clients"),
        json!({"full_name": "Rita"}),
    )
    .await?;
    let rita = id_of(&r)?;
    let (_, r) = post(
        &app,
        &owner,
        &format!("{base}/clients"),
        json!({"full_name": "Sam"}),
    )
    .await?;
    let sam = id_of(&r)?;
    let path = format!("{base}/classes/{class}/bookings");
    // The client retries at once, concurrently with its own first try.
    let (a, b) = tokio::join!(
        keyed(path.clone(), "book-1", json!({"client_id": rita})),
        keyed(path.clone(), "book-1", json!({"client_id": rita}))
    );
    let ((sa, ra), (sb, rb)) = (a?, b?);
    assert_eq!((sa, sb), (201, 201), "{ra} {rb}");
    assert_eq!(ra["booking_id"], rb["booking_id"]);
    let bookings: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'SpotBooked'",
    )
    .bind(class.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(bookings, 1);
    // The same key with another body is refused.
    let (s, r) = keyed(path.clone(), "book-1", json!({"client_id": sam})).await?;
    assert_eq!(s, 422);
    assert_eq!(r["code"], "idempotency_key_reused");
    Ok(())
}

#[tokio::test]
async fn an_id_another_studio_uses_is_refused_at_once_and_its_stream_untouched(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let (a_owner, b_owner) = (app.user("Owner A").await?, app.user("Owner B").await?);
    let a = app.create_studio(&a_owner, "Studio A").await?;
    let b = app.create_studio(&b_owner, "Studio B").await?;
    let (client, class_type) = (Uuid::new_v4(), Uuid::new_v4());
    let (s, r) = post(
        &app,
        &a_owner,
        &format!("/api/v1/studios/{a}/clients"),
        json!({"id": client, "full_name": "A's"}),
    )
    .await?;
    assert_eq!(s, 201, "{r}");
    let (s, r) = post(
        &app,
        &a_owner,
        &format!("/api/v1/studios/{a}/class-types"),
        json!({"id": class_type, "name": "A's type", "duration_minutes": 30}),
    )
    .await?;
    assert_eq!(s, 201, "{r}");

    let (s, r) = post(
        &app,
        &b_owner,
        &format!("/api/v1/studios/{b}/clients"),
        json!({"id": client, "full_name": "B's"}),
    )
    .await?;
    assert_eq!((s, r["code"].as_str()), (409, Some("id_taken")), "{r}");
    let (s, r) = post(
        &app,
        &b_owner,
        &format!("/api/v1/studios/{b}/class-types"),
        json!({"id": class_type, "name": "B's type", "duration_minutes": 30}),
    )
    .await?;
    assert_eq!((s, r["code"].as_str()), (409, Some("id_taken")), "{r}");
    let (s, r) = post(
        &app,
        &b_owner,
        "/api/v1/studios",
        json!({"id": a, "name": "Copy of A", "timezone": "Europe/Berlin", "currency": "EUR"}),
    )
    .await?;
    assert_eq!(s, 409, "{r}");

    for id in [client, class_type, a] {
        let tenants: Vec<Uuid> =
            sqlx::query_scalar("SELECT DISTINCT tenant_id FROM events WHERE aggregate_id = $1")
                .bind(id.to_string())
                .fetch_all(&env.pool)
                .await?;
        assert_eq!(tenants, vec![a], "only A's stream for {id}");
    }
    // The nil id is reserved.
    let (s, _) = post(
        &app,
        &a_owner,
        &format!("/api/v1/studios/{a}/clients"),
        json!({"id": Uuid::nil(), "full_name": "Nil"}),
    )
    .await?;
    assert_eq!(s, 422);
    Ok(())
}

#[tokio::test]
async fn read_models_refuse_to_be_read_inside_a_command_transaction() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // Every read model, present and future (the catalogue, not a list), carries the
    // restrictive policy.
    let unguarded: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE '%\\_view' \
         AND c.relnamespace = 'public'::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_policies p \
           WHERE p.tablename = c.relname AND p.policyname = 'not_in_commands' AND p.permissive = 'RESTRICTIVE') \
         ORDER BY 1",
    )
    .fetch_all(&env.pool)
    .await?;
    assert!(
        unguarded.is_empty(),
        "read models without the guard: {unguarded:?}"
    );
    // Inside a command transaction the guard raises, so a command that reads a view
    // fails loudly the first time it runs on any data (the no-wait test runs every
    // command on data).
    let app = env.spawn_all().await?;
    let owner = app.user("Guard Owner").await?;
    let studio = app.create_studio(&owner, "Guard").await?;
    repstream_tests::eventually(
        std::time::Duration::from_secs(20),
        "studio view",
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM studio_view WHERE id = $1")
                .bind(studio)
                .fetch_one(&env.pool)
                .await?;
            Ok((n == 1).then_some(()))
        },
    )
    .await?;
    let mut tx = env.api_pool.begin().await?;
    sqlx::query(api::tenancy::ENTER_SQL)
        .bind(studio)
        .bind(owner.id)
        .bind(Uuid::new_v4())
        .bind("on")
        .bind(None::<String>)
        .execute(&mut *tx)
        .await?;
    let read = sqlx::query("SELECT count(*) FROM studio_view")
        .execute(&mut *tx)
        .await;
    let err = read.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("read model was read inside a command"),
        "studio_view was readable in a command transaction: {err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_cached_state_is_only_a_start_another_writers_events_are_applied_after_it(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Cache Owner").await?;
    let studio = app.create_studio(&owner, "Cache Studio").await?;
    let base = format!("/api/v1/studios/{studio}");
    let rename = |name: &'static str, etag: &'static str| {
        app.req(Method::POST, &format!("{base}/rename"), &owner)
            .header("If-Match", etag)
            .json(&json!({ "name": name }))
            .send()
    };
    // The API's command caches the studio at version 2.
    let r = rename("Cached Name", "\"1\"").await?;
    assert_eq!(r.status(), 200);
    // Another writer (another API replica, a worker) appends version 3 behind its back.
    let other = CommandBus::<Studio>::new(env.pool.clone(), ()).without_hooks();
    other
        .execute(
            &studio.to_string(),
            domain::studio::StudioCommand::RenameStudio {
                name: domain::values::DisplayName::parse("Written Elsewhere")?,
            },
            Some(2),
            crate::meta(studio),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The API starts from its cached version 2 and must read version 3 before deciding:
    // the stale tag is refused, and renaming to the name written elsewhere changes
    // nothing (with the cached state alone it would append an event).
    let stale = rename("Stale", "\"2\"").await?;
    assert_eq!(stale.status(), 412);
    let same = rename("Written Elsewhere", "\"3\"").await?;
    assert_eq!(same.status(), 200);
    assert_eq!(same.headers()["etag"], "\"3\"");
    let full = CommandBus::<Studio>::new(env.pool.clone(), ()).without_hooks();
    let (_, version) = full
        .load(studio, &studio.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(version, 3, "the no-op rename appended nothing");
    Ok(())
}
