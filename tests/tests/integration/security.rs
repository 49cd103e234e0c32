//! Security findings of issue 11, each written as the attack: the reserved platform
//! tenant, the sign-in lockout (overflow, races, locking others out), the client IP and
//! its budgets, bounded password hashing, absolute session expiry, and services that
//! refuse to run unbound by row-level security.

use std::time::Duration;

use repstream_tests::TestEnv;
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn the_platform_tenant_can_never_be_created_joined_or_audited() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let attacker = app.user("Platform Squatter").await?;
    let victim = app.user("Audited Victim").await?;
    // The attack: claim the nil studio id, under which account events are stored.
    for id in [Uuid::nil(), Uuid::max()] {
        let (s, body) = app
            .call(
                Method::POST,
                "/api/v1/studios",
                &attacker,
                Some(json!({"id": id, "name": "Mine", "timezone": "UTC", "currency": "EUR"})),
            )
            .await?;
        assert_eq!(s, 422, "{body}");
    }
    let (s, body) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/studios/{}/audit?aggregate_type=account",
                Uuid::nil()
            ),
            &attacker,
            None,
        )
        .await?;
    assert!(s == 403 || s == 404, "{s} {body}");
    assert!(!body.to_string().contains(&victim.id.to_string()));
    // Postgres refuses a platform membership whoever writes it.
    let refused = sqlx::query(
        "INSERT INTO studio_membership (tenant_id, account_id, role) VALUES ($1, $2, 'owner')",
    )
    .bind(Uuid::nil())
    .bind(attacker.id)
    .execute(&env.pool)
    .await;
    assert!(refused.is_err(), "a platform membership was stored");
    Ok(())
}

#[tokio::test]
async fn the_lockout_counter_is_capped_and_never_overflows() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let user = app.user("Much Guessed").await?;
    // The finding: after 35 stored failures `power(2, n)::int` overflowed, the request
    // answered 500 and no lock was written again. Start from far beyond that.
    for failures in [35, 999, 1000] {
        sqlx::query(
            "INSERT INTO login_attempt (email, source, failures, locked_until, last_failure) \
             VALUES ($1, '127.0.0.1', $2, now() - interval '1 second', now()) \
             ON CONFLICT (email, source) DO UPDATE SET failures = $2, \
               locked_until = now() - interval '1 second', last_failure = now()",
        )
        .bind(&user.email)
        .bind(failures)
        .execute(&env.pool)
        .await?;
        let (s, body) = app.login(&user.email, "wrong-guess-1234").await?;
        assert_eq!(s, 400, "{failures} failures: {body}");
        let (s, body) = app.login(&user.email, "wrong-guess-1234").await?;
        assert_eq!(s, 429, "locked again after {failures} failures: {body}");
        assert_eq!(body["code"], "account_locked");
        let (count, minutes): (i32, f64) = sqlx::query_as(
            "SELECT failures, extract(epoch FROM locked_until - now())::float8 / 60 \
             FROM login_attempt WHERE email = $1",
        )
        .bind(&user.email)
        .fetch_one(&env.pool)
        .await?;
        assert!(count <= 1000, "capped: {count}");
        assert!(minutes > 30.0 && minutes <= 60.0, "lock of {minutes} min");
    }
    Ok(())
}

#[tokio::test]
async fn parallel_guesses_cannot_pass_the_lock_and_only_lock_out_their_own_network(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.rate_limits.trusted_proxy_hops = 1;
    let app = env.spawn_api_with(config).await?;
    let user = app.user("Targeted Owner").await?;
    // The attack: 40 wrong guesses at once from one network.
    let guesses = (0..40).map(|i| {
        let app = &app;
        let email = user.email.clone();
        async move {
            app.login_via(&email, &format!("guess-number-{i}"), Some("203.0.113.7"))
                .await
                .map(|(s, _)| s)
        }
    });
    let statuses = futures::future::try_join_all(guesses).await?;
    let tried = statuses.iter().filter(|s| **s == 400).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(tried + locked, 40, "{statuses:?}");
    assert!(
        tried <= 5,
        "{tried} guesses got past the lock: {statuses:?}"
    );
    // The attacker's network stays locked, even with the right password…
    assert_eq!(
        app.login_via(&user.email, &user.password, Some("203.0.113.7"))
            .await?
            .0,
        429
    );
    // …and a neighbouring IPv6 address in one /64 counts as the same network.
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2::ffff"] {
        for _ in 0..5 {
            app.login_via(&user.email, "wrong-again-123", Some(ip))
                .await?;
        }
    }
    assert_eq!(
        app.login_via(&user.email, &user.password, Some("2001:db8:1:2:abcd::9"))
            .await?
            .0,
        429
    );
    // The owner, elsewhere, signs in as usual: nobody can lock someone else out.
    let (s, body) = app
        .login_via(&user.email, &user.password, Some("198.51.100.20"))
        .await?;
    assert_eq!(s, 200, "{body}");
    Ok(())
}

#[tokio::test]
async fn a_forged_forwarded_for_neither_escapes_the_limit_nor_reaches_the_audit_log(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.rate_limits.trusted_proxy_hops = 1;
    config.rate_limits.per_ip_per_minute = 1;
    config.rate_limits.burst = 3;
    let app = env.spawn_api_with(config).await?;
    // The attack: a fresh leftmost hop on every request; our proxy appends the real one.
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = app
            .client
            .get(app.url("/api/v1/me"))
            .header("x-forwarded-for", format!("10.9.8.{i}, 192.0.2.44"))
            .send()
            .await?;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // An IPv6 client rotating addresses within its /64 gains nothing either.
    let mut statuses = Vec::new();
    for i in 0..5 {
        let r = app
            .client
            .get(app.url("/api/v1/me"))
            .header("x-forwarded-for", format!("2001:db8:77:1::{i:x}"))
            .send()
            .await?;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // The session and the audit trail record the hop our proxy saw.
    let email = format!("forger-{}@example.com", Uuid::new_v4().simple());
    let r = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .header("x-forwarded-for", "1.2.3.4, 192.0.2.99")
        .json(&json!({"email": email, "password": "Forged-Hop-Secret-1", "full_name": "Forger"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    let ip: Option<String> = sqlx::query_scalar(
        "SELECT metadata->>'ip' FROM events WHERE aggregate_type = 'account' \
         AND payload::text LIKE '%' || $1 || '%'",
    )
    .bind(&email)
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(ip.as_deref(), Some("192.0.2.99"));
    Ok(())
}

#[tokio::test]
async fn one_studio_cannot_spend_the_whole_service() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.rate_limits.per_tenant_per_minute = 1;
    config.rate_limits.burst = 5;
    let app = env.spawn_api_with(config).await?;
    let owner = app.user("Busy Owner").await?;
    let busy = app.create_studio(&owner, "Busy Studio").await?;
    let quiet = app.create_studio(&owner, "Quiet Studio").await?;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (s, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{busy}"),
                &owner,
                None,
            )
            .await?;
        statuses.push(s);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let (s, body) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{quiet}?min_version=1"),
            &owner,
            None,
        )
        .await?;
    assert_ne!(s, 429, "another studio keeps its budget: {body}");
    Ok(())
}

#[tokio::test]
async fn a_huge_username_is_a_bad_request() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let username = format!("{}@example.com", "a".repeat(5000));
    let (s, body) = app.login(&username, "whatever-12345").await?;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn two_hundred_concurrent_sign_ins_leave_the_service_answering() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.auth.password_hash_concurrency = 2;
    let app = env.spawn_api_with(config).await?;
    // The attack: 200 token requests for unknown emails at once (each an Argon2 verify
    // of 19 MiB).
    let flood = (0..200).map(|i| {
        let app = &app;
        async move {
            app.login(&format!("nobody-{i}@example.com"), "not-a-real-password")
                .await
                .map(|(s, body)| (s, body["code"].as_str().map(str::to_owned)))
        }
    });
    let probe = async {
        let mut answers = Vec::new();
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let started = std::time::Instant::now();
            let r = app.client.get(app.url("/healthz")).send().await?;
            answers.push((r.status().as_u16(), started.elapsed()));
        }
        anyhow::Ok(answers)
    };
    let (outcomes, health) = tokio::join!(futures::future::try_join_all(flood), probe);
    for (status, _) in health? {
        assert_eq!(status, 200);
    }
    for (status, code) in outcomes? {
        assert!(
            status == 400 || (status == 503 && code.as_deref() == Some("busy")),
            "{status} {code:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn sessions_end_at_their_absolute_expiry_however_often_refreshed() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let user = app.user("Forever Refresher").await?;
    let (s, _) = app.call(Method::GET, "/api/v1/me", &user, None).await?;
    assert_eq!(s, 200);
    // Thirty days later (the default maximum age), refreshed all along.
    sqlx::query(
        "UPDATE auth_session SET expires_at = now() - interval '1 second' WHERE account_id = $1",
    )
    .bind(user.id)
    .execute(&env.pool)
    .await?;
    let (s, _) = app.call(Method::GET, "/api/v1/me", &user, None).await?;
    assert_eq!(s, 401, "the access token outlived its session");
    let studio_read = app
        .call(Method::GET, "/api/v1/studios", &user, None)
        .await?
        .0;
    assert_eq!(studio_read, 401);
    let r = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", user.refresh_token.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(
        r.status().as_u16(),
        400,
        "the refresh token outlived its session"
    );
    Ok(())
}

#[tokio::test]
async fn services_refuse_to_run_unbound_by_row_level_security() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // The superuser (the old default DATABASE_URL) bypasses every policy.
    let err = infra::db::refuse_privileged(&env.pool, false)
        .await
        .expect_err("a superuser was accepted");
    assert!(err.to_string().contains("superuser"), "{err}");
    infra::db::refuse_privileged(&env.pool, true).await?;
    // A service role that was given BYPASSRLS by hand is refused as well.
    let role = format!("rs_bypass_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE ROLE {role} LOGIN BYPASSRLS"))
        .execute(&env.pool)
        .await?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&env.role_url(&role))
        .await?;
    let refused = infra::db::refuse_privileged(&pool, false).await;
    pool.close().await;
    sqlx::query(&format!("DROP ROLE {role}"))
        .execute(&env.pool)
        .await?;
    assert!(refused.is_err_and(|e| e.to_string().contains("BYPASSRLS")));
    // The service roles as migrated pass.
    for pool in [
        &env.api_pool,
        &env.relay_pool,
        &env.projector_pool,
        &env.worker_pool,
    ] {
        infra::db::refuse_privileged(pool, false).await?;
    }
    // And a published example secret is refused.
    assert!(infra::config::refuse_example_secret(
        "JWT_SECRET",
        b"dev-only-insecure-jwt-secret-0123456789abcdef",
        false
    )
    .is_err());
    assert!(infra::config::refuse_example_secret(
        "ACCOUNT_LINK_KEY",
        b"change-me-to-another-32-random-bytes-0000",
        false
    )
    .is_err());
    infra::config::refuse_example_secret("JWT_SECRET", &repstream_tests::test_secret(), false)?;
    Ok(())
}

#[tokio::test]
async fn an_unbounded_request_id_is_replaced_not_echoed_or_stored() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Long Ids").await?;
    let long = "r".repeat(16 * 1024);
    let r = app
        .req(Method::POST, "/api/v1/studios", &owner)
        .header("x-request-id", &long)
        .json(&json!({"name": "Long Id Studio", "timezone": "UTC", "currency": "EUR"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 201);
    let echoed = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        Uuid::parse_str(&echoed).is_ok(),
        "echoed {} bytes",
        echoed.len()
    );
    let longest: Option<i32> = sqlx::query_scalar(
        "SELECT max(length(metadata::text)) FROM events WHERE aggregate_type = 'studio'",
    )
    .fetch_one(&env.pool)
    .await?;
    assert!(longest.unwrap_or_default() < 2048, "{longest:?}");
    Ok(())
}

#[tokio::test]
async fn every_queue_is_encrypted_at_rest() -> anyhow::Result<()> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let env = TestEnv::new().await?;
    for queue in [
        &env.events_queue,
        &env.events_dlq,
        &env.notifications_queue,
        &env.notifications_dlq,
    ] {
        let attributes = env
            .sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
            .send()
            .await?
            .attributes
            .unwrap_or_default();
        assert_eq!(
            attributes
                .get(&QueueAttributeName::SqsManagedSseEnabled)
                .map(String::as_str),
            Some("true"),
            "{queue}"
        );
    }
    Ok(())
}

/// The trainers the client record lists, as committed (what commands decide on).
async fn assigned(env: &TestEnv, client: Uuid) -> anyhow::Result<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT trainers FROM client_record WHERE client_id = $1")
            .bind(client)
            .fetch_one(&env.pool)
            .await?,
    )
}

#[tokio::test]
async fn health_visibility_ends_with_the_relationship_and_only_health_roles_grant_it(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Hygiene Owner").await?;
    let studio = app.create_studio(&owner, "Hygiene Studio").await?;
    let trainer = app.user("Departing Trainer").await?;
    let desk = app.user("Front Desk").await?;
    app.add_member(&owner, studio, &trainer, "trainer").await?;
    app.add_member(&owner, studio, &desk, "front_desk").await?;
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/clients"),
            &owner,
            Some(json!({"full_name": "Private Client"})),
        )
        .await?;
    assert_eq!(s, 201, "{body}");
    let client: Uuid = body["id"].as_str().unwrap_or_default().parse()?;
    let base = format!("/api/v1/studios/{studio}/clients/{client}");
    let trainers = format!("{base}/trainers");
    let assign = |by| {
        app.call(
            Method::POST,
            &trainers,
            by,
            Some(json!({"trainer_id": trainer.id})),
        )
    };
    // Front desk may not see health data, so may not grant it either.
    assert_eq!(assign(&desk).await?.0, 403);
    assert_eq!(assign(&owner).await?.0, 200);
    assert_eq!(assigned(&env, client).await?, vec![trainer.id]);

    // Removed, then added back at once: the assignment is gone and stays gone.
    let (s, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/studios/{studio}/members/{}", trainer.id),
            &owner,
            None,
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    assert!(assigned(&env, client).await?.is_empty());
    app.add_member(&owner, studio, &trainer, "trainer").await?;
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("{base}/health"),
            &trainer,
            Some(repstream_tests::intake_body("peeking")),
        )
        .await?;
    assert_eq!(s, 403, "a re-added trainer regained health access");
    let seen = repstream_tests::eventually(Duration::from_secs(20), "client view", || async {
        let (s, body) = app
            .call(
                Method::GET,
                &format!("{base}?min_version=3"),
                &trainer,
                None,
            )
            .await?;
        Ok((s == 200).then_some(body))
    })
    .await?;
    assert_eq!(seen["health_visible"], false, "{seen}");
    assert_eq!(seen["assigned_trainers"], json!([]), "{seen}");

    // Demoted to front desk and back: the same.
    assert_eq!(assign(&owner).await?.0, 200);
    for role in ["front_desk", "trainer"] {
        let (s, body) = app
            .call(
                Method::PUT,
                &format!("/api/v1/studios/{studio}/members/{}", trainer.id),
                &owner,
                Some(json!({"role": role})),
            )
            .await?;
        assert_eq!(s, 200, "{body}");
    }
    assert!(assigned(&env, client).await?.is_empty());
    Ok(())
}
