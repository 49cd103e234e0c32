use std::collections::HashMap;
use std::time::Duration;

use domain::policy::{self, Action, Relation, Role};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser};
use reqwest::Method;
use uuid::Uuid;

/// Waits until `user` can read the studio view at `version` or later.
async fn studio_at(
    app: &TestApp,
    user: &TestUser,
    studio: Uuid,
    version: u64,
) -> anyhow::Result<()> {
    eventually(Duration::from_secs(20), "studio view", || async {
        let (s, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{studio}?min_version={version}"),
                user,
                None,
            )
            .await?;
        Ok((s == 200).then_some(()))
    })
    .await
}

async fn client_record(
    app: &TestApp,
    owner: &TestUser,
    studio: Uuid,
    body: serde_json::Value,
) -> anyhow::Result<Uuid> {
    let (s, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/clients"),
            owner,
            Some(body),
        )
        .await?;
    anyhow::ensure!(s == 201, "create client: {s} {r}");
    r["id"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no id"))
}

async fn wait_client(
    app: &TestApp,
    user: &TestUser,
    studio: Uuid,
    client: Uuid,
    version: u64,
) -> anyhow::Result<serde_json::Value> {
    eventually(Duration::from_secs(20), "client view", || async {
        let (s, body) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{studio}/clients/{client}?min_version={version}"),
                user,
                None,
            )
            .await?;
        Ok((s == 200).then_some(body))
    })
    .await
}

#[tokio::test]
async fn a_token_of_studio_a_never_reaches_studio_b_on_any_tenant_scoped_endpoint(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner_a = app.user("Owner A").await?;
    let owner_b = app.user("Owner B").await?;
    let trainer_b = app.user("Trainer B").await?;
    let studio_a = app.create_studio(&owner_a, "Studio A").await?;
    let studio_b = app.create_studio(&owner_b, "Studio B Secret").await?;
    app.add_member(&owner_b, studio_b, &trainer_b, "trainer")
        .await?;
    let (_, loc) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio_b}/locations"),
            &owner_b,
            Some(serde_json::json!({"name": "B Loft"})),
        )
        .await?;
    let client_b = client_record(
        &app,
        &owner_b,
        studio_b,
        serde_json::json!({"full_name": "Bea Private"}),
    )
    .await?;
    let (_, inv) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio_b}/members"),
            &owner_b,
            Some(serde_json::json!({"email": "later@example.com", "role": "client"})),
        )
        .await?;
    wait_client(&app, &owner_b, studio_b, client_b, 1).await?;
    let (_, cls) = app
        .call(Method::POST, &format!("/api/v1/studios/{studio_b}/classes"), &owner_b,
            Some(serde_json::json!({"title": "B Secret Class", "starts_at": chrono::Utc::now() + chrono::Duration::days(2), "duration_minutes": 45})))
        .await?;
    let class_b: Uuid = cls["id"].as_str().unwrap_or_default().parse()?;
    let (_, bk) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio_b}/classes/{class_b}/bookings"),
            &owner_b,
            Some(serde_json::json!({"client_id": client_b})),
        )
        .await?;
    let booking_b = bk["booking_id"].as_str().unwrap_or_default().to_owned();
    assert!(!booking_b.is_empty(), "{bk}");
    let b_events = || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE tenant_id = $1")
            .bind(studio_b)
            .fetch_one(&env.pool)
            .await?;
        anyhow::Ok(n)
    };
    let (s, hook) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio_b}/webhooks"),
            &owner_b,
            Some(serde_json::json!({"url": "http://127.0.0.1:9/b-secret", "event_types": ["*"]})),
        )
        .await?;
    assert_eq!(s, 201, "{hook}");
    let webhook_b = hook["id"].as_str().unwrap_or_default().to_owned();
    let before = b_events().await?;

    let ids: HashMap<&str, String> = HashMap::from([
        ("studio_id", studio_b.to_string()),
        (
            "location_id",
            loc["location_id"].as_str().unwrap_or_default().to_owned(),
        ),
        ("client_id", client_b.to_string()),
        ("account_id", trainer_b.id.to_string()),
        ("trainer_id", trainer_b.id.to_string()),
        (
            "invitation_id",
            inv["invitation"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
        ("class_id", class_b.to_string()),
        ("booking_id", booking_b.clone()),
        ("appointment_id", Uuid::new_v4().to_string()),
        ("class_type_id", Uuid::new_v4().to_string()),
        ("schedule_id", Uuid::new_v4().to_string()),
        ("webhook_id", webhook_b.clone()),
        ("delivery_id", Uuid::new_v4().to_string()),
        ("intake_version", "1".to_owned()),
    ]);
    // A plausible body for every body-taking operation, so the request reaches the
    // access check. A new endpoint without an entry here fails this test.
    let bodies: HashMap<(&str, &str), serde_json::Value> = HashMap::from([
        (
            ("post", "/api/v1/studios/{studio_id}/rename"),
            serde_json::json!({"name": "Hacked"}),
        ),
        (
            ("put", "/api/v1/studios/{studio_id}/settings"),
            serde_json::json!({"settings": {}}),
        ),
        (
            ("post", "/api/v1/studios/{studio_id}/locations"),
            serde_json::json!({"name": "Hacked"}),
        ),
        (
            (
                "post",
                "/api/v1/studios/{studio_id}/locations/{location_id}/rename",
            ),
            serde_json::json!({"name": "Hacked"}),
        ),
        (
            ("post", "/api/v1/studios/{studio_id}/members"),
            serde_json::json!({"email": owner_a.email, "role": "owner"}),
        ),
        (
            ("put", "/api/v1/studios/{studio_id}/members/{account_id}"),
            serde_json::json!({"role": "owner"}),
        ),
        (
            ("post", "/api/v1/studios/{studio_id}/clients"),
            serde_json::json!({"full_name": "Hacked"}),
        ),
        (
            (
                "put",
                "/api/v1/studios/{studio_id}/clients/{client_id}/health",
            ),
            repstream_tests::intake_body("hacked"),
        ),
        (
            (
                "post",
                "/api/v1/studios/{studio_id}/clients/{client_id}/health/withdraw-consent",
            ),
            serde_json::json!({}),
        ),
        (
            (
                "post",
                "/api/v1/studios/{studio_id}/clients/{client_id}/trainers",
            ),
            serde_json::json!({"trainer_id": trainer_b.id}),
        ),
        (
            ("post", "/api/v1/studios/{studio_id}/classes"),
            serde_json::json!({"title": "Hacked", "starts_at": "2030-01-01T10:00:00Z", "duration_minutes": 30}),
        ),
        (
            ("post", "/api/v1/studios/{studio_id}/schedules"),
            serde_json::json!({"title": "Hacked", "weekdays": ["mon"], "local_time": "07:00", "starts_on": "2030-01-01", "count": 1, "duration_minutes": 30}),
        ),
        (
            (
                "post",
                "/api/v1/studios/{studio_id}/classes/{class_id}/bookings",
            ),
            serde_json::json!({"client_id": client_b}),
        ),
        (
            (
                "post",
                "/api/v1/studios/{studio_id}/classes/{class_id}/bookings/{booking_id}/check-in",
            ),
            serde_json::json!({}),
        ),
        (
            (
                "post",
                "/api/v1/studios/{studio_id}/classes/{class_id}/cancel",
            ),
            serde_json::json!({"reason": "hacked"}),
        ),
        (
            (
                "put",
                "/api/v1/studios/{studio_id}/classes/{class_id}/capacity",
            ),
            serde_json::json!({"capacity": 1}),
        ),
        (
            (
                "put",
                "/api/v1/studios/{studio_id}/classes/{class_id}/instructor",
            ),
            serde_json::json!({"instructor_id": null}),
        ),
        (("post", "/api/v1/studios/{studio_id}/schedules/{schedule_id}/cancel"), serde_json::json!({"reason": "x"})),
        (("post", "/api/v1/studios/{studio_id}/class-types"), serde_json::json!({"name": "Mat", "duration_minutes": 45})),
        (("put", "/api/v1/studios/{studio_id}/class-types/{class_type_id}"), serde_json::json!({"name": "Mat", "duration_minutes": 45})),
        (("put", "/api/v1/studios/{studio_id}/trainers/{trainer_id}/availability"), serde_json::json!({"weekly": [], "slot_minutes": 60})),
        (("post", "/api/v1/studios/{studio_id}/trainers/{trainer_id}/time-off"), serde_json::json!({"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"})),
        (("post", "/api/v1/studios/{studio_id}/trainers/{trainer_id}/appointments"), serde_json::json!({"starts_at": "2030-01-01T10:00:00Z", "client_id": client_b})),
        (("post", "/api/v1/studios/{studio_id}/trainers/{trainer_id}/appointments/{appointment_id}/reschedule"), serde_json::json!({"starts_at": "2030-01-01T11:00:00Z"})),
        (("post", "/api/v1/studios/{studio_id}/webhooks"), serde_json::json!({"url": "http://127.0.0.1:9/hacked", "event_types": ["*"]})),
        (("patch", "/api/v1/studios/{studio_id}/webhooks/{webhook_id}"), serde_json::json!({"url": "http://127.0.0.1:9/hacked"})),
        (("post", "/api/v1/studios/{studio_id}/webhooks/{webhook_id}/rotate-secret"), serde_json::json!({})),
        (("post", "/api/v1/studios/{studio_id}/webhooks/{webhook_id}/enable"), serde_json::json!({})),
        (("post", "/api/v1/studios/{studio_id}/webhooks/{webhook_id}/test"), serde_json::json!({})),
        (("post", "/api/v1/studios/{studio_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"), serde_json::json!({})),
        (("post", "/api/v1/studios/{studio_id}/clients/{client_id}/recommendations/{intake_version}/review"), serde_json::json!({"decision": "accepted"})),
        (("post", "/api/v1/studios/{studio_id}/clients/{client_id}/questions"), serde_json::json!({"question": "Can she squat?"})),
        (("put", "/api/v1/studios/{studio_id}/clients/{client_id}/profile"), serde_json::json!({"profile": {"notes": "hacked"}})),
        (("post", "/api/v1/studios/{studio_id}/clients/{client_id}/archive"), serde_json::json!({})),
        (("post", "/api/v1/studios/{studio_id}/clients/{client_id}/unarchive"), serde_json::json!({})),
    ]);
    let (_, doc) = app.get_json("/openapi.json").await?;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        if !path.contains("{studio_id}") {
            continue;
        }
        for (method, _) in item.as_object().into_iter().flatten() {
            let mut url = path.clone();
            for (name, value) in &ids {
                url = url.replace(&format!("{{{name}}}"), value);
            }
            assert!(!url.contains('{'), "no sample id for a parameter of {path}");
            // Required query parameters get a well-formed value, so the request gets past
            // parsing to the access check.
            let required: Vec<String> = item[method]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            for (i, name) in required.iter().enumerate() {
                let value = match name.as_str() {
                    "from" => "2030-01-01T00:00:00Z",
                    "to" => "2030-01-02T00:00:00Z",
                    other => panic!("add a sample value for query parameter `{other}` of {path}"),
                };
                url.push(if i == 0 { '?' } else { '&' });
                url.push_str(&format!("{name}={value}"));
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes())?;
            let body = bodies.get(&(method.as_str(), path.as_str())).cloned();
            if matches!(method.as_str(), "post" | "put") {
                assert!(
                    body.is_some(),
                    "add a sample body for {method} {path} to this test"
                );
            }
            let (status, response) = app.call(m, &url, &owner_a, body).await?;
            assert!(
                status == 404 || status == 403,
                "{method} {path} with studio A's token on studio B answered {status}: {response}"
            );
            let text = response.to_string();
            assert!(
                !text.contains("Studio B Secret") && !text.contains("Bea Private"),
                "{method} {path} leaked: {text}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} operations checked");
    assert_eq!(b_events().await?, before, "nothing was written to studio B");
    // And A's owner still works in A.
    studio_at(&app, &owner_a, studio_a, 1).await?;
    Ok(())
}

/// Rows of every kind the API writes for a studio: a client, an invitation, and a class
/// with a booking cancelled late (which records a strike).
async fn seed_tenant(
    app: &TestApp,
    owner: &TestUser,
    studio: Uuid,
    label: &str,
) -> anyhow::Result<()> {
    let base = format!("/api/v1/studios/{studio}");
    let client = client_record(
        app,
        owner,
        studio,
        serde_json::json!({"full_name": format!("Client {label}")}),
    )
    .await?;
    studio_at(app, owner, studio, 1).await?;
    wait_client(app, owner, studio, client, 1).await?;
    // An endpoint for every event: deliveries and (failed) attempts of this tenant.
    let (s, hook) = app
        .call(
            Method::POST,
            &format!("{base}/webhooks"),
            owner,
            Some(serde_json::json!({"url": "http://127.0.0.1:9/rls", "event_types": ["*"]})),
        )
        .await?;
    anyhow::ensure!(s == 201, "webhook: {s} {hook}");
    let (s, inv) = app
        .call(
            Method::POST,
            &format!("{base}/members"),
            owner,
            Some(serde_json::json!({"email": format!("invitee-{label}@example.com"), "role": "client"})),
        )
        .await?;
    anyhow::ensure!(s == 201 && inv["outcome"] == "invited", "invite: {s} {inv}");
    let (s, class) = app
        .call(
            Method::POST,
            &format!("{base}/classes"),
            owner,
            Some(serde_json::json!({"title": format!("RLS Class {label}"), "starts_at": chrono::Utc::now() + chrono::Duration::hours(3), "duration_minutes": 45})),
        )
        .await?;
    anyhow::ensure!(s == 201, "class: {s} {class}");
    let class = class["id"].as_str().unwrap_or_default();
    let (s, booking) = app
        .call(
            Method::POST,
            &format!("{base}/classes/{class}/bookings"),
            owner,
            Some(serde_json::json!({"client_id": client})),
        )
        .await?;
    anyhow::ensure!(s == 201, "booking: {s} {booking}");
    // Inside the default 12-hour cutoff: a late cancel, so a strike.
    let (s, cancel) = app
        .call(
            Method::DELETE,
            &format!(
                "{base}/classes/{class}/bookings/{}",
                booking["booking_id"].as_str().unwrap_or_default()
            ),
            owner,
            None,
        )
        .await?;
    anyhow::ensure!(s == 200 && cancel["strike"] == true, "cancel: {s} {cancel}");
    Ok(())
}

#[tokio::test]
async fn with_rls_a_raw_query_bound_to_tenant_a_returns_no_row_of_tenant_b() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner_a = app.user("RLS A").await?;
    let owner_b = app.user("RLS B").await?;
    let a = app.create_studio(&owner_a, "RLS Studio A").await?;
    let b = app.create_studio(&owner_b, "RLS Studio B").await?;
    seed_tenant(&app, &owner_a, a, "a").await?;
    seed_tenant(&app, &owner_b, b, "b").await?;
    eventually(
        Duration::from_secs(20),
        "class and booking views",
        || async {
            let tenants: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(DISTINCT tenant_id) FROM class_view WHERE tenant_id = ANY($1)) \
             + (SELECT count(DISTINCT tenant_id) FROM booking_view WHERE tenant_id = ANY($1))",
        )
        .bind(vec![a, b])
        .fetch_one(&env.pool)
        .await?;
            Ok((tenants == 4).then_some(()))
        },
    )
    .await?;

    // Every table with a tenant column, from the catalog: a new one is checked without
    // being listed here.
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute col ON col.attrelid = c.oid \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND col.attname = 'tenant_id' \
           AND NOT col.attisdropped AND c.relname <> '_sqlx_migrations' \
         ORDER BY 1",
    )
    .fetch_all(&env.pool)
    .await?;
    let without_rls: Vec<&str> = tables
        .iter()
        .filter(|(_, rls)| !rls)
        .map(|(t, _)| t.as_str())
        .collect();
    assert!(
        without_rls.is_empty(),
        "row-level security is off on {without_rls:?}"
    );
    let mut empty_for_b = Vec::new();
    for (table, _) in &tables {
        // As the superuser: what there is to hide.
        let (rows_a, rows_b): (i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FILTER (WHERE tenant_id = $2) FROM {table}"
        ))
        .bind(a)
        .bind(b)
        .fetch_one(&env.pool)
        .await?;
        if rows_b == 0 {
            empty_for_b.push(table.as_str());
        }
        // The API's own role, bound to A as a request of owner A binds it, queries with
        // no tenant filter. (studio_membership also shows the bound account's memberships
        // in other studios, by design; owner A has none in B.)
        let mut tx = env.api_pool.begin().await?;
        sqlx::query(
            "SELECT set_config('app.tenant_id', $1, true), set_config('app.account_id', $2, true)",
        )
        .bind(a.to_string())
        .bind(owner_a.id.to_string())
        .execute(&mut *tx)
        .await?;
        let seen =
            sqlx::query_scalar::<_, Uuid>(&format!("SELECT DISTINCT tenant_id FROM {table}"))
                .fetch_all(&mut *tx)
                .await;
        tx.rollback().await?;
        let tenants = match seen {
            Ok(tenants) => tenants,
            // Not readable by the API at all (the outbox it only inserts into, the
            // projector's and workers' bookkeeping): stricter than any policy.
            Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42501") => {
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        assert!(
            !tenants.contains(&b),
            "{table} shows tenant B under tenant A"
        );
        if rows_a > 0 {
            assert_eq!(tenants, vec![a], "{table}: tenant A sees its own rows");
        }
        // Bound to no tenant at all: nothing.
        let mut tx = env.api_pool.begin().await?;
        let unbound: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        assert_eq!(unbound, 0, "{table} shows rows with no tenant bound");
    }
    // A table with no row of B proves nothing above: most must have some.
    assert!(
        empty_for_b.len() * 2 < tables.len(),
        "tenant B has no rows in {empty_for_b:?} of {} tenant tables; seed them",
        tables.len()
    );

    // Writing into B from A's transaction is refused by the policy.
    let mut tx = env.api_pool.begin().await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(a.to_string())
        .execute(&mut *tx)
        .await?;
    let write = sqlx::query(
        "INSERT INTO studio_membership (tenant_id, account_id, role) VALUES ($1, $2, 'owner')",
    )
    .bind(b)
    .bind(owner_a.id)
    .execute(&mut *tx)
    .await;
    assert!(
        write.is_err(),
        "RLS WITH CHECK refuses a row of another tenant"
    );
    tx.rollback().await?;
    Ok(())
}

/// Sends the representative request for `action` as `user`; returns the status.
async fn attempt(
    app: &TestApp,
    user: &TestUser,
    studio: Uuid,
    client: Uuid,
    action: Action,
    newcomer: &TestUser,
) -> anyhow::Result<u16> {
    let base = format!("/api/v1/studios/{studio}");
    let (method, path, body) = match action {
        Action::ViewStudio => (Method::GET, base.clone(), None),
        Action::ManageStudio => (
            Method::PUT,
            format!("{base}/settings"),
            Some(serde_json::json!({"settings": {"booking_window_days": 20}})),
        ),
        Action::ViewMembers => (Method::GET, format!("{base}/members"), None),
        Action::ManageMembers => (
            Method::POST,
            format!("{base}/members"),
            Some(serde_json::json!({"email": newcomer.email, "role": "client"})),
        ),
        Action::ViewAudit => (Method::GET, format!("{base}/audit"), None),
        Action::ViewClient | Action::ViewClientHealth => {
            (Method::GET, format!("{base}/clients/{client}"), None)
        }
        Action::ManageClients => (
            Method::POST,
            format!("{base}/clients"),
            Some(serde_json::json!({"full_name": "New Client"})),
        ),
        Action::AssignTrainers => {
            // A record of its own: an assignment here must not change what the other
            // actions see.
            let (client, trainer) = MATRIX_ASSIGN.with(|a| *a.borrow()).unwrap_or_default();
            (
                Method::POST,
                format!("{base}/clients/{client}/trainers"),
                Some(serde_json::json!({"trainer_id": trainer})),
            )
        }
        Action::RecordHealth => (
            Method::PUT,
            format!("{base}/clients/{client}/health"),
            Some(repstream_tests::intake_body("checked")),
        ),
        Action::ViewSchedule => (Method::GET, format!("{base}/classes"), None),
        Action::ManageSchedule => (
            Method::POST,
            format!("{base}/classes"),
            Some(
                serde_json::json!({"title": "Matrix Class", "starts_at": chrono::Utc::now() + chrono::Duration::days(2), "duration_minutes": 45}),
            ),
        ),
        Action::Book => {
            let class = matrix_class(app, studio).await?;
            (
                Method::POST,
                format!("{base}/classes/{class}/bookings"),
                Some(serde_json::json!({"client_id": client})),
            )
        }
        Action::ManageAttendance => {
            let class = matrix_class(app, studio).await?;
            (Method::GET, format!("{base}/classes/{class}/roster"), None)
        }
        Action::ManageAvailability => {
            // The owner's calendar (owners teach too): for everyone else, not their own.
            let owner = MATRIX_OWNER.with(|o| *o.borrow()).unwrap_or_default();
            (
                Method::PUT,
                format!("{base}/trainers/{owner}/availability"),
                Some(
                    serde_json::json!({"weekly": [{"weekday": "mon", "start": "09:00:00", "end": "12:00:00"}], "slot_minutes": 60}),
                ),
            )
        }
        Action::ManageWebhooks => (Method::GET, format!("{base}/webhooks"), None),
        Action::BookAppointment => {
            // On the owner's calendar (published by the owner's ManageAvailability
            // attempt), for a client record none of them owns: a Monday 09:00 Berlin.
            let owner = MATRIX_OWNER.with(|o| *o.borrow()).unwrap_or_default();
            (
                Method::POST,
                format!("{base}/trainers/{owner}/appointments"),
                Some(serde_json::json!({"starts_at": "2030-01-07T08:00:00Z", "client_id": client})),
            )
        }
    };
    let (status, body) = app.call(method, &path, user, body).await?;
    if action == Action::ViewClientHealth {
        // Seeing the record is one thing; seeing its health fields is the action.
        return Ok(if status == 200 && body["health_visible"] == true {
            200
        } else {
            403
        });
    }
    Ok(status)
}

/// Any class of the studio (the matrix test schedules one up front).
async fn matrix_class(app: &TestApp, studio: Uuid) -> anyhow::Result<Uuid> {
    let _ = app;
    MATRIX_CLASS
        .with(|c| *c.borrow())
        .filter(|(s, _)| *s == studio)
        .map(|(_, c)| c)
        .ok_or_else(|| anyhow::anyhow!("no class scheduled for the matrix"))
}

thread_local! {
    static MATRIX_OWNER: std::cell::RefCell<Option<Uuid>> = const { std::cell::RefCell::new(None) };
    static MATRIX_CLASS: std::cell::RefCell<Option<(Uuid, Uuid)>> = const { std::cell::RefCell::new(None) };
    /// The client record the trainer-assignment attempts use, and the trainer.
    static MATRIX_ASSIGN: std::cell::RefCell<Option<(Uuid, Uuid)>> = const { std::cell::RefCell::new(None) };
}

#[tokio::test(flavor = "current_thread")]
async fn the_role_matrix_holds_for_every_role_and_action() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Matrix Owner").await?;
    let studio = app.create_studio(&owner, "Matrix Studio").await?;
    let mut people = vec![(Role::Owner, owner.clone())];
    for role in [Role::Admin, Role::Trainer, Role::FrontDesk, Role::Client] {
        let user = app.user(role.as_str()).await?;
        app.add_member(&owner, studio, &user, role.as_str()).await?;
        people.push((role, user));
    }
    // A client record none of them owns or is assigned to.
    let client = client_record(
        &app,
        &owner,
        studio,
        serde_json::json!({"full_name": "Someone Else"}),
    )
    .await?;
    wait_client(&app, &owner, studio, client, 1).await?;
    let assign_client = client_record(
        &app,
        &owner,
        studio,
        serde_json::json!({"full_name": "Assigned Elsewhere"}),
    )
    .await?;
    let trainer = people
        .iter()
        .find(|(r, _)| *r == Role::Trainer)
        .map(|(_, u)| u.id)
        .unwrap_or_default();
    MATRIX_ASSIGN.with(|a| *a.borrow_mut() = Some((assign_client, trainer)));
    studio_at(&app, &owner, studio, 5).await?;
    // A class to book (capacity for everyone) and to read the roster of.
    let (s, class) = app
        .call(Method::POST, &format!("/api/v1/studios/{studio}/classes"), &owner,
            Some(serde_json::json!({"title": "Matrix", "starts_at": chrono::Utc::now() + chrono::Duration::days(2), "duration_minutes": 45, "capacity": 50})))
        .await?;
    assert_eq!(s, 201, "{class}");
    let class_id: Uuid = class["id"].as_str().unwrap_or_default().parse()?;
    MATRIX_CLASS.with(|c| *c.borrow_mut() = Some((studio, class_id)));
    MATRIX_OWNER.with(|o| *o.borrow_mut() = Some(owner.id));
    eventually(Duration::from_secs(20), "class view", || async {
        let (s, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{studio}/classes/{class_id}"),
                &owner,
                None,
            )
            .await?;
        Ok((s == 200).then_some(()))
    })
    .await?;

    for (role, user) in &people {
        for action in Action::ALL {
            let newcomer = app.user("Newcomer").await?;
            let allowed = policy::decide(*role, action, Relation::default());
            let status = attempt(&app, user, studio, client, action, &newcomer).await?;
            let record_hidden = matches!(action, Action::ViewClient | Action::RecordHealth)
                && !policy::decide(*role, Action::ViewClient, Relation::default());
            let expected_denial = if record_hidden { 404 } else { 403 };
            if allowed {
                // Booking a client who already holds a spot (or a slot already taken) is
                // refused by the aggregate, after access was granted: that is success for
                // the matrix.
                let ok = (200..300).contains(&status)
                    || (matches!(action, Action::Book | Action::BookAppointment) && status == 422);
                assert!(ok, "{role:?} {action:?}: expected success, got {status}");
            } else {
                assert_eq!(status, expected_denial, "{role:?} {action:?}");
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn health_fields_are_hidden_from_an_unassigned_trainer_and_shown_to_an_assigned_one(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Health Owner").await?;
    let studio = app.create_studio(&owner, "Health Studio").await?;
    let assigned = app.user("Assigned Trainer").await?;
    let other = app.user("Other Trainer").await?;
    let desk = app.user("Desk").await?;
    let me = app.user("The Client").await?;
    app.add_member(&owner, studio, &assigned, "trainer").await?;
    app.add_member(&owner, studio, &other, "trainer").await?;
    app.add_member(&owner, studio, &desk, "front_desk").await?;
    app.add_member(&owner, studio, &me, "client").await?;
    let client = client_record(
        &app,
        &owner,
        studio,
        serde_json::json!({"full_name": "The Client", "account_id": me.id}),
    )
    .await?;
    let base = format!("/api/v1/studios/{studio}/clients/{client}");
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("{base}/health"),
            &owner,
            Some(repstream_tests::intake_body("left knee")),
        )
        .await?;
    assert_eq!(s, 200);
    let (s, body) = app
        .call(
            Method::POST,
            &format!("{base}/trainers"),
            &owner,
            Some(serde_json::json!({"trainer_id": assigned.id})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app
        .call(
            Method::POST,
            &format!("{base}/trainers"),
            &owner,
            Some(serde_json::json!({"trainer_id": desk.id})),
        )
        .await?;
    assert_eq!((s, body["code"].as_str()), (422, Some("not_a_trainer")));
    for viewer in [&owner, &assigned, &other, &desk, &me] {
        wait_client(&app, viewer, studio, client, 3).await?;
    }
    let health = |body: &serde_json::Value| body.get("intake").cloned();
    let seen = wait_client(&app, &assigned, studio, client, 3).await?;
    assert_eq!(seen["health_visible"], true);
    assert_eq!(
        health(&seen)
            .and_then(|h| h["limitations"].as_str().map(str::to_owned))
            .as_deref(),
        Some("left knee")
    );
    assert_eq!(seen["intake_version"], 1);
    for viewer in [&other, &desk] {
        let seen = wait_client(&app, viewer, studio, client, 3).await?;
        assert_eq!(seen["health_visible"], false, "{seen}");
        assert!(health(&seen).is_none(), "{seen}");
        assert_eq!(
            seen["full_name"], "The Client",
            "the rest of the record is there"
        );
    }
    for viewer in [&owner, &me] {
        let seen = wait_client(&app, viewer, studio, client, 3).await?;
        assert_eq!(seen["health_visible"], true);
    }
    // The unassigned trainer may not record health either; the assigned one may.
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("{base}/health"),
            &other,
            Some(repstream_tests::intake_body("not mine")),
        )
        .await?;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("{base}/health"),
            &assigned,
            Some(repstream_tests::intake_body("ok")),
        )
        .await?;
    assert_eq!(s, 200);
    // Lists apply the same rule per record; a client sees only their own record.
    let (_, page) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/clients"),
            &other,
            None,
        )
        .await?;
    assert!(page["items"].as_array().is_some_and(|items| items
        .iter()
        .all(|i| i.get("health").is_none() && i.get("intake").is_none())));
    let other_client = client_record(
        &app,
        &owner,
        studio,
        serde_json::json!({"full_name": "Not Me"}),
    )
    .await?;
    wait_client(&app, &owner, studio, other_client, 1).await?;
    let (_, page) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/clients"),
            &me,
            None,
        )
        .await?;
    // Their own records only: the one joining made and the one staff linked to them.
    let items = page["items"].as_array().cloned().unwrap_or_default();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|i| i["account_id"] == me.id.to_string()),
        "{page}"
    );
    Ok(())
}

#[tokio::test]
async fn invitations_join_once_and_the_last_owner_stays() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Inviting Owner").await?;
    let studio = app.create_studio(&owner, "Invite Studio").await?;
    let members = format!("/api/v1/studios/{studio}/members");
    let (s, invite) = app
        .call(
            Method::POST,
            &members,
            &owner,
            Some(serde_json::json!({"email": "Newbie@Example.com", "role": "trainer"})),
        )
        .await?;
    assert_eq!(
        (s, invite["outcome"].as_str()),
        (201, Some("invited")),
        "{invite}"
    );
    let token = invite["invitation"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (s, again) = app
        .call(
            Method::POST,
            &members,
            &owner,
            Some(serde_json::json!({"email": "newbie@example.com", "role": "client"})),
        )
        .await?;
    assert_eq!((s, again["code"].as_str()), (422, Some("already_invited")));

    // Someone else cannot use it.
    let stranger = app.user("Stranger").await?;
    let accept_body = serde_json::json!({"token": token});
    async fn accept_as(
        app: &TestApp,
        u: &TestUser,
        body: &serde_json::Value,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        app.call(
            Method::POST,
            "/api/v1/invitations/accept",
            u,
            Some(body.clone()),
        )
        .await
    }
    let (s, body) = accept_as(&app, &stranger, &accept_body).await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("invitation_email_mismatch"))
    );

    let newbie_id = app
        .signup("newbie@example.com", "Fresh-Start-2026!", "New Bie")
        .await?;
    app.verify_email(newbie_id, "newbie@example.com").await?;
    let (_, tokens) = app.login("newbie@example.com", "Fresh-Start-2026!").await?;
    let newbie = TestUser {
        id: Uuid::nil(),
        email: "newbie@example.com".into(),
        password: "Fresh-Start-2026!".into(),
        access_token: tokens["access_token"].as_str().unwrap_or_default().into(),
        refresh_token: String::new(),
    };
    let (s, accepted) = accept_as(&app, &newbie, &accept_body).await?;
    assert_eq!(s, 200, "{accepted}");
    let (s, body) = accept_as(&app, &newbie, &accept_body).await?;
    assert_eq!((s, body["code"].as_str()), (422, Some("invitation_used")));
    let (_, me) = app.call(Method::GET, "/api/v1/me", &newbie, None).await?;
    assert_eq!(me["memberships"][0]["role"], "trainer");
    let (_, list) = app.call(Method::GET, &members, &owner, None).await?;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(list["invitations"].as_array().map(Vec::len), Some(0));

    // The last owner can neither leave nor be demoted; a trainer cannot manage members.
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("{members}/{}", owner.id),
            &owner,
            None,
        )
        .await?;
    assert_eq!((s, body["code"].as_str()), (422, Some("last_owner")));
    let (s, body) = app
        .call(
            Method::PUT,
            &format!("{members}/{}", owner.id),
            &owner,
            Some(serde_json::json!({"role": "admin"})),
        )
        .await?;
    assert_eq!((s, body["code"].as_str()), (422, Some("last_owner")));
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("{members}/{}", owner.id),
            &newbie,
            Some(serde_json::json!({"role": "client"})),
        )
        .await?;
    assert_eq!(s, 403);
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            &newbie,
            Some(serde_json::json!({"token": "nope"})),
        )
        .await?;
    assert_eq!(s, 404);
    Ok(())
}

#[tokio::test]
async fn the_audit_log_shows_who_did_what_from_where() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Audited Owner").await?;
    let trainer = app.user("Audited Trainer").await?;
    let studio = app.create_studio(&owner, "Audit Studio").await?;
    app.add_member(&owner, studio, &trainer, "trainer").await?;
    let r = app
        .req(
            Method::POST,
            &format!("/api/v1/studios/{studio}/rename"),
            &owner,
        )
        .header("user-agent", "audit-test/1.0")
        .header("x-correlation-id", "audit-corr-1")
        .json(&serde_json::json!({"name": "Audit Studio Renamed"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    let (s, page) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit?limit=2"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{page}");
    let newest = &page["items"][0];
    assert_eq!(newest["event_type"], "StudioRenamed");
    assert_eq!(newest["actor"], format!("user:{}", owner.id));
    assert_eq!(newest["ip"], "127.0.0.1");
    assert_eq!(newest["user_agent"], "audit-test/1.0");
    assert_eq!(newest["correlation_id"], "audit-corr-1");
    assert!(newest.get("payload").is_none());
    let after = page["next_after"].as_i64().unwrap_or_default();
    let (_, older) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit?after={after}"),
            &owner,
            None,
        )
        .await?;
    let older_types: Vec<&str> = older["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["event_type"].as_str())
        .collect();
    assert_eq!(older_types, ["MemberInvited", "StudioCreated"], "{older}");
    let (_, filtered) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit?aggregate_type=client"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(0));
    let types = |page: &serde_json::Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["event_type"].as_str().map(str::to_owned))
            .collect()
    };
    let (_, by_trainer) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit?actor=user:{}", trainer.id),
            &owner,
            None,
        )
        .await?;
    // By actor: the trainer only accepted the invitation; the owner did the rest.
    assert_eq!(types(&by_trainer), ["InvitationAccepted"], "{by_trainer}");
    let (_, by_owner) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit?actor=user:{}", owner.id),
            &owner,
            None,
        )
        .await?;
    assert!(
        types(&by_owner).contains(&"StudioRenamed".to_owned()),
        "{by_owner}"
    );
    // By time: nothing before the studio existed, everything in a window around now.
    let (_, past) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit?to=2020-01-01T00:00:00Z"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(types(&past), Vec::<String>::new(), "{past}");
    let since = (chrono::Utc::now() - chrono::Duration::minutes(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, recent) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit?from={since}"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(
        types(&recent),
        [
            "StudioRenamed",
            "InvitationAccepted",
            "MemberInvited",
            "StudioCreated"
        ],
        "{recent}"
    );
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/audit"),
            &trainer,
            None,
        )
        .await?;
    assert_eq!(s, 403);
    Ok(())
}

#[test]
fn the_readme_role_matrix_is_the_policy() {
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(&policy::matrix_markdown()),
        "README's role matrix differs from domain::policy; paste policy::matrix_markdown():\n{}",
        policy::matrix_markdown()
    );
}

/// Walks a list with `limit` per page from the first page to the last; the items in
/// order. Every page but the last is full and names where the next one starts.
async fn walk(
    app: &TestApp,
    user: &TestUser,
    list: &str,
    limit: usize,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let sep = if list.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..20 {
        let url = match &after {
            Some(a) => format!("{list}{sep}limit={limit}&after={a}"),
            None => format!("{list}{sep}limit={limit}"),
        };
        let (s, page) = app.call(Method::GET, &url, user, None).await?;
        anyhow::ensure!(s == 200, "{url}: {s} {page}");
        let got = page["items"].as_array().cloned().unwrap_or_default();
        match &page["next_after"] {
            serde_json::Value::Null => {
                anyhow::ensure!(got.len() <= limit, "{url}: {page}");
                items.extend(got);
                return Ok(items);
            }
            next => {
                anyhow::ensure!(got.len() == limit, "{url}: a page before the last is full");
                items.extend(got);
                after = Some(next.to_string().trim_matches('"').to_owned());
            }
        }
    }
    anyhow::bail!("{list} did not end")
}

#[tokio::test]
async fn every_list_pages_with_limit_and_after() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Pager Owner").await?;
    let studio = app.create_studio(&owner, "Paged Studio").await?;
    app.create_studio(&owner, "Paged Studio Two").await?;
    for name in ["Pager Cleo", "Pager Alma", "Pager Bea"] {
        let member = app.user(name).await?;
        app.add_member(&owner, studio, &member, "trainer").await?;
    }
    let base = format!("/api/v1/studios/{studio}");
    for name in ["Yoga", "barre", "Mat", "Aerial"] {
        let (s, r) = app
            .call(
                Method::POST,
                &format!("{base}/class-types"),
                &owner,
                Some(serde_json::json!({"name": name, "duration_minutes": 45})),
            )
            .await?;
        assert_eq!(s, 201, "{r}");
    }

    // Members by name, from the directory (no waiting); invitations on every page.
    let members = walk(&app, &owner, &format!("{base}/members"), 2).await?;
    let names: Vec<&str> = members
        .iter()
        .filter_map(|m| m["full_name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Pager Alma", "Pager Bea", "Pager Cleo", "Pager Owner"]
    );
    let (_, page) = app
        .call(
            Method::GET,
            &format!("{base}/members?limit=1"),
            &owner,
            None,
        )
        .await?;
    assert_eq!(page["invitations"].as_array().map(Vec::len), Some(0));

    // Class types by name (case-insensitive), once their view has caught up.
    eventually(Duration::from_secs(20), "class type view", || async {
        let (_, page) = app
            .call(Method::GET, &format!("{base}/class-types"), &owner, None)
            .await?;
        Ok((page["items"].as_array().map(Vec::len) == Some(4)).then_some(()))
    })
    .await?;
    let types = walk(&app, &owner, &format!("{base}/class-types"), 3).await?;
    let names: Vec<&str> = types.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["Aerial", "barre", "Mat", "Yoga"]);

    // The audit log, newest first: `after` continues with older entries.
    let entries = walk(&app, &owner, &format!("{base}/audit"), 2).await?;
    let positions: Vec<i64> = entries
        .iter()
        .filter_map(|e| e["position"].as_i64())
        .collect();
    assert!(positions.len() >= 8, "{positions:?}");
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "{positions:?}");

    // Studios by id.
    let studios = walk(&app, &owner, "/api/v1/studios", 1).await?;
    assert_eq!(studios.len(), 2);

    // One validation for every list.
    for list in [
        "/api/v1/studios".to_owned(),
        format!("{base}/clients"),
        format!("{base}/members"),
        format!("{base}/class-types"),
        format!("{base}/audit"),
    ] {
        for query in ["limit=0", "limit=101", "after=nope", "bogus=1"] {
            let (s, body) = app
                .call(Method::GET, &format!("{list}?{query}"), &owner, None)
                .await?;
            assert_eq!(
                (s, body["code"].as_str()),
                (400, Some("invalid_query_parameter")),
                "{list}?{query}: {body}"
            );
        }
    }
    Ok(())
}
