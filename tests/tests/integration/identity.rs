use std::time::Duration;

use base64::Engine;
use futures::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use repstream_tests::{eventually, test_secret, TestApp, TestEnv};
use reqwest::Method;
use uuid::Uuid;

async fn me(app: &TestApp, token: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await?;
    Ok((r.status().as_u16(), r.json().await.unwrap_or_default()))
}

async fn refresh(app: &TestApp, token: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let r = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await?;
    Ok((r.status().as_u16(), r.json().await.unwrap_or_default()))
}

#[tokio::test]
async fn sign_up_sign_in_refresh_rotation_and_logout() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let id = app
        .signup("Ada@Example.com", "Analytical-Engine-1843", "Ada Lovelace")
        .await?;
    let (s, tokens) = app
        .login("ada@example.com", "Analytical-Engine-1843")
        .await?;
    assert_eq!(s, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let first_refresh = tokens["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (s, who) = me(&app, &access).await?;
    assert_eq!(
        (s, who["id"].as_str()),
        (200, Some(id.to_string().as_str()))
    );
    assert_eq!(who["email"], "ada@example.com");
    assert!(who.get("password_hash").is_none());

    // JSON works too.
    let r = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"grant_type": "password", "username": "ada@example.com", "password": "wrong-password-123"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await?["error"],
        "invalid_grant"
    );

    // Rotation: a refresh yields a new pair; the old refresh token is spent.
    let (s, rotated) = refresh(&app, &first_refresh).await?;
    assert_eq!(s, 200, "{rotated}");
    let second_access = rotated["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(
        rotated["refresh_token"].as_str(),
        Some(first_refresh.as_str())
    );
    assert_eq!(me(&app, &second_access).await?.0, 200);

    // Reuse of the spent token: the whole family is revoked.
    let (s, body) = refresh(&app, &first_refresh).await?;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    let (s, body) = me(&app, &second_access).await?;
    assert_eq!((s, body["code"].as_str()), (401, Some("session_revoked")));
    let (s, _) = refresh(&app, rotated["refresh_token"].as_str().unwrap_or_default()).await?;
    assert_eq!(s, 400, "the family's newest refresh token died with it");

    // Logout ends a session at once.
    let (_, tokens) = app
        .login("ada@example.com", "Analytical-Engine-1843")
        .await?;
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(access)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(me(&app, access).await?.0, 401);
    assert_eq!(
        refresh(&app, tokens["refresh_token"].as_str().unwrap_or_default())
            .await?
            .0,
        400
    );

    let (s, body) = refresh(&app, "not-a-token").await?;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    let r = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?;
    assert_eq!(
        r.json::<serde_json::Value>().await?["error"],
        "unsupported_grant_type"
    );
    Ok(())
}

/// RFC 6749 §5.2: what an OAuth2 client parses, for every refusal of the request,
/// malformed ones included; other endpoints keep problem+json.
#[tokio::test]
async fn token_endpoint_errors_are_oauth2_error_documents() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let user = app.user("Oauth Client").await?;
    let token = || app.client.post(app.url("/api/v1/auth/token"));
    let long_name = format!("{}@example.com", "a".repeat(5000));
    let cases = [
        (
            "wrong password",
            token().form(&[
                ("grant_type", "password"),
                ("username", user.email.as_str()),
                ("password", "not-the-password-1"),
            ]),
            "invalid_grant",
        ),
        (
            "unknown refresh token",
            token().form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")]),
            "invalid_grant",
        ),
        (
            "no grant_type",
            token().form(&[("username", user.email.as_str())]),
            "invalid_request",
        ),
        (
            "no password",
            token().form(&[
                ("grant_type", "password"),
                ("username", user.email.as_str()),
            ]),
            "invalid_request",
        ),
        (
            "another media type",
            token()
                .header("content-type", "text/plain")
                .body("grant_type=password"),
            "invalid_request",
        ),
        (
            "no media type",
            token().body("grant_type=password"),
            "invalid_request",
        ),
        (
            "JSON that does not parse",
            token()
                .header("content-type", "application/json")
                .body("{\"grant_type\":"),
            "invalid_request",
        ),
        (
            "a 5,000-character username",
            token().form(&[
                ("grant_type", "password"),
                ("username", long_name.as_str()),
                ("password", "whatever-123"),
            ]),
            "invalid_request",
        ),
        (
            "a NUL character",
            token()
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password&username=a%00b%40example.com&password=x"),
            "invalid_request",
        ),
        (
            "a malformed Idempotency-Key",
            token()
                .header("idempotency-key", "")
                .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]),
            "invalid_request",
        ),
        (
            "another grant type",
            token().form(&[("grant_type", "client_credentials")]),
            "unsupported_grant_type",
        ),
    ];
    for (what, request, error) in cases {
        let r = request.send().await?;
        assert_eq!(r.status().as_u16(), 400, "{what}");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("content-type"), "application/json", "{what}");
        assert_eq!(header("cache-control"), "no-store", "{what}");
        let body: serde_json::Value = r.json().await?;
        assert_eq!(body["error"], error, "{what}: {body}");
        assert!(body["error_description"].is_string(), "{what}: {body}");
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(2),
            "{what}: only `error` and `error_description`: {body}"
        );
    }

    // Elsewhere a wrong password is problem+json like every error.
    let (s, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/password",
            &user,
            Some(serde_json::json!({"current_password": "not-the-password-1", "new_password": "Another-Horse-Battery-7"})),
        )
        .await?;
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_grant")));
    Ok(())
}

#[derive(serde::Serialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
    jti: Uuid,
}

#[tokio::test]
async fn expired_tampered_foreign_and_unsigned_tokens_are_refused() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let user = app.user("Token Target").await?;
    let session: Uuid = sqlx::query_scalar("SELECT id FROM auth_session WHERE account_id = $1")
        .bind(user.id)
        .fetch_one(&env.pool)
        .await?;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64, iss: &str, aud: &str| Claims {
        sub: user.id,
        sid: session,
        iat: now - 10,
        exp,
        iss: iss.into(),
        aud: aud.into(),
        jti: Uuid::new_v4(),
    };
    let sign = |c: &Claims, key: &[u8], alg: Algorithm| {
        jsonwebtoken::encode(&Header::new(alg), c, &EncodingKey::from_secret(key)).expect("sign")
    };
    let secret = test_secret();
    // Sanity: a token we sign correctly is accepted.
    let good = sign(
        &claims(now + 600, "repstream", "repstream-api"),
        &secret,
        Algorithm::HS256,
    );
    assert_eq!(me(&app, &good).await?.0, 200);

    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let payload = serde_json::to_value(claims(now + 600, "repstream", "repstream-api"))?;
    let unsigned = format!(
        "{}.{}.",
        b64(serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(payload.clone())
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut forged = payload;
    forged["sub"] = serde_json::json!(Uuid::new_v4());
    parts[1] = b64(forged);
    let tampered = parts.join(".");

    for (what, token) in [
        (
            "expired",
            sign(
                &claims(now - 60, "repstream", "repstream-api"),
                &secret,
                Algorithm::HS256,
            ),
        ),
        (
            "wrong audience",
            sign(
                &claims(now + 600, "repstream", "someone-else"),
                &secret,
                Algorithm::HS256,
            ),
        ),
        (
            "wrong issuer",
            sign(
                &claims(now + 600, "evil", "repstream-api"),
                &secret,
                Algorithm::HS256,
            ),
        ),
        (
            "wrong key",
            sign(
                &claims(now + 600, "repstream", "repstream-api"),
                b"another-secret-another-secret-!!",
                Algorithm::HS256,
            ),
        ),
        (
            "other algorithm",
            sign(
                &claims(now + 600, "repstream", "repstream-api"),
                &secret,
                Algorithm::HS512,
            ),
        ),
        ("alg none", unsigned),
        ("tampered", tampered),
        ("garbage", "abc.def.ghi".to_owned()),
    ] {
        let (s, body) = me(&app, &token).await?;
        assert_eq!(
            (s, body["code"].as_str()),
            (401, Some("invalid_token")),
            "{what}"
        );
    }
    let r = app.client.get(app.url("/api/v1/me")).send().await?;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    Ok(())
}

#[tokio::test]
async fn concurrent_sign_ups_with_one_email_create_exactly_one_account() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let variants = [
        "race@example.com",
        "RACE@example.com",
        "Race@Example.com",
        "race@EXAMPLE.com",
    ];
    let bodies: Vec<serde_json::Value> = (0..12)
        .map(|i| serde_json::json!({"email": variants[i % variants.len()], "password": "Photo-Finish-2026", "full_name": format!("Racer {i}")}))
        .collect();
    let results = join_all(
        bodies
            .iter()
            .map(|b| app.post_json("/api/v1/auth/signup", b)),
    )
    .await;
    let mut created = 0;
    for r in results {
        let (s, body) = r?;
        match s {
            201 => created += 1,
            409 => assert_eq!(body["code"], "email_taken"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM account WHERE lower(email) = 'race@example.com'")
            .fetch_one(&env.pool)
            .await?;
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'AccountRegistered' AND payload->>'email' = 'race@example.com'",
    )
    .fetch_one(&env.pool)
    .await?;
    assert_eq!((accounts, events), (1, 1), "the losers wrote nothing");
    Ok(())
}

#[tokio::test]
async fn password_hashes_never_reach_events_the_outbox_or_responses() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let user = app.user("Secret Keeper").await?;
    // Read-model rows about this person, so the view scan below reads something: their
    // studio, their own client record, a class and a booking.
    let studio = app.create_studio(&user, "Secret Studio").await?;
    let base = format!("/api/v1/studios/{studio}");
    let (s, client) = app
        .call(
            Method::POST,
            &format!("{base}/clients"),
            &user,
            Some(serde_json::json!({"full_name": "Secret Keeper", "email": user.email, "account_id": user.id})),
        )
        .await?;
    assert_eq!(s, 201, "{client}");
    let client = client["id"].as_str().unwrap_or_default().to_owned();
    eventually(Duration::from_secs(20), "client view", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM client_view")
            .fetch_one(&env.pool)
            .await?;
        Ok((n > 0).then_some(()))
    })
    .await?;
    let (s, class) = app
        .call(
            Method::POST,
            &format!("{base}/classes"),
            &user,
            Some(serde_json::json!({"title": "Secret Class", "starts_at": chrono::Utc::now() + chrono::Duration::days(2), "duration_minutes": 45})),
        )
        .await?;
    assert_eq!(s, 201, "{class}");
    let (s, booking) = app
        .call(
            Method::POST,
            &format!(
                "{base}/classes/{}/bookings",
                class["id"].as_str().unwrap_or_default()
            ),
            &user,
            Some(serde_json::json!({"client_id": client})),
        )
        .await?;
    assert_eq!(s, 201, "{booking}");

    let hash = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT password_hash FROM account_credential WHERE account_id = $1",
        )
        .bind(user.id)
        .fetch_one(&env.pool)
        .await
    };
    let old_hash = hash().await?;
    let new_password = "Brand-New-Secret-77";
    let r = app
        .req(Method::POST, "/api/v1/auth/password", &user)
        .json(&serde_json::json!({"current_password": user.password, "new_password": new_password}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 204);
    let new_hash = hash().await?;
    assert!(new_hash.starts_with("$argon2id$") && new_hash != old_hash);
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_credential WHERE password_hash LIKE '$argon2id$%'",
    )
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(stored, 1, "Argon2id, in the credentials table only");

    // Every read model, with rows about this person in each one seeded above.
    let views: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname LIKE '%\\_view' \
         ORDER BY 1",
    )
    .fetch_all(&env.pool)
    .await?;
    let seeded = ["booking_view", "class_view", "client_view", "studio_view"];
    for view in seeded {
        assert!(views.iter().any(|v| v == view), "{view} in {views:?}");
    }
    eventually(Duration::from_secs(20), "read models", || async {
        let mut filled = true;
        for view in seeded {
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {view}"))
                .fetch_one(&env.pool)
                .await?;
            filled &= n > 0;
        }
        Ok(filled.then_some(()))
    })
    .await?;
    let secrets = [
        ("an Argon2 hash", "argon2"),
        ("the old hash", old_hash.as_str()),
        ("the new hash", new_hash.as_str()),
        ("the old password", user.password.as_str()),
        ("the new password", new_password),
    ];
    for (what, secret) in secrets {
        let leaks: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM events \
                     WHERE strpos(payload::text, $1) > 0 OR strpos(metadata::text, $1) > 0) \
             + (SELECT count(*) FROM outbox WHERE strpos(message::text, $1) > 0)",
        )
        .bind(secret)
        .fetch_one(&env.pool)
        .await?;
        assert_eq!(leaks, 0, "{what} in events or the outbox");
        for view in &views {
            // Every column, as the row's text form.
            let leaks: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {view} t WHERE strpos(t::text, $1) > 0"
            ))
            .bind(secret)
            .fetch_one(&env.pool)
            .await?;
            assert_eq!(leaks, 0, "{what} in {view}");
        }
    }
    let (_, body) = app.call(Method::GET, "/api/v1/me", &user, None).await?;
    let body = body.to_string();
    assert!(secrets.iter().all(|(_, secret)| !body.contains(secret)));
    Ok(())
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let user = app.user("Two Devices").await?;
    let (_, other) = app.login(&user.email, &user.password).await?;
    let other_access = other["access_token"].as_str().unwrap_or_default();
    assert_eq!(me(&app, other_access).await?.0, 200);
    let r = app
        .req(Method::POST, "/api/v1/auth/password", &user)
        .json(&serde_json::json!({"current_password": "not it at all", "new_password": "Brand-New-Secret-77"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 400);
    let r = app
        .req(Method::POST, "/api/v1/auth/password", &user)
        .json(&serde_json::json!({"current_password": user.password, "new_password": "short"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 422);
    let r = app
        .req(Method::POST, "/api/v1/auth/password", &user)
        .json(&serde_json::json!({"current_password": user.password, "new_password": "Brand-New-Secret-77"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        me(&app, other_access).await?.0,
        401,
        "the other session ended"
    );
    assert_eq!(
        me(&app, &user.access_token).await?.0,
        200,
        "this session goes on"
    );
    assert_eq!(app.login(&user.email, &user.password).await?.0, 400);
    assert_eq!(app.login(&user.email, "Brand-New-Secret-77").await?.0, 200);
    Ok(())
}

#[tokio::test]
async fn repeated_failed_sign_ins_lock_the_account_for_a_while() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let user = app.user("Forgetful").await?;
    for _ in 0..5 {
        assert_eq!(app.login(&user.email, "definitely-wrong-1").await?.0, 400);
    }
    let r = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(
        r.status().as_u16(),
        429,
        "locked even with the right password"
    );
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(
        r.json::<serde_json::Value>().await?["code"],
        "account_locked"
    );
    Ok(())
}

#[tokio::test]
async fn auth_endpoints_are_rate_limited_per_ip() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.rate_limits.auth_per_ip_per_minute = 3;
    config.rate_limits.burst = 3;
    let app = env.spawn_api_with(config).await?;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", "x@example.com"),
                ("password", "whatever-123"),
            ])
            .send()
            .await?;
        if r.status().as_u16() == 429 {
            assert!(r.headers().get("retry-after").is_some());
            assert_eq!(r.json::<serde_json::Value>().await?["code"], "rate_limited");
            statuses.push(429);
        } else {
            statuses.push(r.status().as_u16());
        }
    }
    assert_eq!(statuses, [400, 400, 400, 429, 429]);
    // Other endpoints have their own, larger budget.
    let r = app.client.get(app.url("/healthz")).send().await?;
    assert_eq!(r.status().as_u16(), 200);
    Ok(())
}

/// Status and body of a response; a 429 must be the `rate_limited` problem with a
/// `Retry-After` in seconds.
async fn limited(r: reqwest::Response) -> anyhow::Result<(u16, serde_json::Value)> {
    let status = r.status().as_u16();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (retry_after, content_type) = (header("retry-after"), header("content-type"));
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if status == 429 {
        let secs: u64 = retry_after.as_deref().unwrap_or_default().parse()?;
        assert!(secs >= 1, "Retry-After: {secs}");
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        assert_eq!(body["code"], "rate_limited", "{body}");
    }
    Ok((status, body))
}

#[tokio::test]
async fn other_endpoints_are_rate_limited_per_ip_and_invalid_tokens_count_there(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.rate_limits.per_ip_per_minute = 1;
    config.rate_limits.burst = 3;
    let app = env.spawn_api_with(config).await?;
    let mut statuses = Vec::new();
    for token in [None, Some("abc.def.ghi"), None, Some("abc.def.ghi"), None] {
        let mut r = app.client.get(app.url("/api/v1/me"));
        if let Some(token) = token {
            r = r.bearer_auth(token);
        }
        statuses.push(limited(r.send().await?).await?.0);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // The auth endpoints have their own budget.
    assert_eq!(app.login("x@example.com", "whatever-123").await?.0, 400);
    Ok(())
}

/// `GET /me` with `token`, as seen from `ip` (the API trusts one proxy hop here).
async fn me_from(app: &TestApp, token: &str, ip: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .header("x-forwarded-for", ip)
        .send()
        .await?;
    limited(r).await
}

#[tokio::test]
async fn the_per_account_limit_counts_verified_tokens_only() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.rate_limits.per_ip_per_minute = 1;
    config.rate_limits.per_account_per_minute = 1;
    config.rate_limits.burst = 3;
    // Every request below comes from its own address, so no per-IP budget runs out:
    // what is left to stop them is the per-account limit.
    config.rate_limits.trusted_proxy_hops = 1;
    let app = env.spawn_api_with(config).await?;
    let victim = app.user("Rate Victim").await?;
    let bystander = app.user("Rate Bystander").await?;
    let session: Uuid = sqlx::query_scalar("SELECT id FROM auth_session WHERE account_id = $1")
        .bind(victim.id)
        .fetch_one(&env.pool)
        .await?;

    // Tokens naming the victim that do not verify: another key, no signature, and the
    // victim's own token with an edited payload.
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: victim.id,
        sid: session,
        iat: now - 10,
        exp: now + 600,
        iss: "repstream".into(),
        aud: "repstream-api".into(),
        jti: Uuid::new_v4(),
    };
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let payload = serde_json::to_value(&claims)?;
    let wrong_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"not-the-api-key-not-the-api-key!"),
    )?;
    let unsigned = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(&payload)
    );
    let mut parts: Vec<&str> = victim.access_token.split('.').collect();
    let edited = b64(&payload);
    if let Some(p) = parts.get_mut(1) {
        *p = &edited;
    }
    let tampered = parts.join(".");
    let mut ip = 0;
    for forged in [&wrong_key, &unsigned, &tampered] {
        for _ in 0..3 {
            ip += 1;
            let (s, body) = me_from(&app, forged, &format!("198.51.100.{ip}")).await?;
            assert_eq!(
                (s, body["code"].as_str()),
                (401, Some("invalid_token")),
                "a forged token is not counted against the account it names"
            );
        }
    }

    // The victim's budget is whole: three requests (the burst), then 429.
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let ip = format!("203.0.113.{i}");
        statuses.push(me_from(&app, &victim.access_token, &ip).await?.0);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429],
        "forged tokens spent nothing"
    );
    // Per account: another account from another address goes on.
    let (s, _) = me_from(&app, &bystander.access_token, "203.0.113.50").await?;
    assert_eq!(s, 200);
    Ok(())
}

#[tokio::test]
async fn responses_carry_security_headers_and_cors_follows_settings() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let mut config = env.api_config();
    config.cors_allowed_origins = vec!["https://app.example.com".into()];
    let app = env.spawn_api_with(config).await?;
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://app.example.com")
        .send()
        .await?;
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["content-security-policy"]
        .to_str()?
        .contains("default-src 'none'"));
    assert!(h.get("strict-transport-security").is_some());
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await?;
    assert!(r.headers().get("access-control-allow-origin").is_none());
    Ok(())
}
