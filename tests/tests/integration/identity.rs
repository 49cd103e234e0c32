use base64::Engine;
use futures::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use repstream_tests::{test_secret, TestApp, TestEnv};
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
        r.json::<serde_json::Value>().await?["code"],
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
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_grant")));
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
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_grant")));
    let r = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?;
    assert_eq!(
        r.json::<serde_json::Value>().await?["code"],
        "unsupported_grant_type"
    );
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
    let app = env.spawn_api().await?;
    let user = app.user("Secret Keeper").await?;
    let r = app
        .req(Method::POST, "/api/v1/auth/password", &user)
        .json(&serde_json::json!({"current_password": user.password, "new_password": "Brand-New-Secret-77"}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 204);
    let leaks: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM events WHERE payload::text LIKE '%argon2%' OR metadata::text LIKE '%argon2%') \
         + (SELECT count(*) FROM outbox WHERE message::text LIKE '%argon2%')",
    )
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(leaks, 0);
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_credential WHERE password_hash LIKE '$argon2id$%'",
    )
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(stored, 1, "Argon2id, in the credentials table only");
    let (_, body) = app.call(Method::GET, "/api/v1/me", &user, None).await?;
    assert!(!body.to_string().contains("argon2"));
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
