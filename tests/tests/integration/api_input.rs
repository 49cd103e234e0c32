use repstream_tests::TestEnv;
use uuid::Uuid;

/// Sends a raw request and checks it is refused with problem+json and `code`.
async fn refused(
    app: &repstream_tests::TestApp,
    request: reqwest::RequestBuilder,
    status: u16,
    code: &str,
) -> anyhow::Result<serde_json::Value> {
    let _ = app;
    let response = request.send().await?;
    assert_eq!(response.status().as_u16(), status, "status for {code}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "content type for {code}"
    );
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.ends_with(code)));
    assert!(body["title"].is_string() && body["detail"].is_string());
    Ok(body)
}

#[tokio::test]
async fn bad_input_gets_a_problem_with_a_stable_code_and_writes_nothing() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let user = app.user("Input Tester").await?;
    let c = &app.client;
    let studios = app.url("/api/v1/studios");
    let token = user.access_token.clone();
    let json = |body: &str| {
        c.post(&studios)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_owned())
    };
    let get = |path: &str| c.get(app.url(path)).bearer_auth(&token);

    refused(&app, json("{\"name\": "), 400, "malformed_json").await?;
    refused(&app, json("not json"), 400, "malformed_json").await?;
    refused(&app, json(""), 400, "malformed_json").await?;
    refused(
        &app,
        json(r#"{"name":"A","timezone":"UTC","currency":"EUR","owner":"me"}"#),
        400,
        "invalid_body",
    )
    .await?;
    refused(
        &app,
        json(r#"{"name":"A","timezone":"UTC"}"#),
        400,
        "invalid_body",
    )
    .await?;
    refused(
        &app,
        json(r#"{"name":5,"timezone":"UTC","currency":"EUR"}"#),
        400,
        "invalid_body",
    )
    .await?;
    refused(&app, json(r#"[1,2,3]"#), 400, "invalid_body").await?;
    refused(
        &app,
        json(r#"{"id":"not-a-uuid","name":"A","timezone":"UTC","currency":"EUR"}"#),
        400,
        "invalid_body",
    )
    .await?;
    refused(
        &app,
        c.post(&studios)
            .bearer_auth(&token)
            .body(r#"{"name":"A","timezone":"UTC","currency":"EUR"}"#),
        415,
        "unsupported_media_type",
    )
    .await?;
    let huge = format!(
        r#"{{"name":"{}","timezone":"UTC","currency":"EUR"}}"#,
        "x".repeat(200_000)
    );
    refused(&app, json(&huge), 413, "payload_too_large").await?;

    let invalid = refused(
        &app,
        json(r#"{"name":"  ","timezone":"Mars/Base","currency":"XXQ"}"#),
        422,
        "validation_failed",
    )
    .await?;
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["name", "timezone", "currency"]);

    refused(
        &app,
        get("/api/v1/studios/not-a-uuid"),
        400,
        "invalid_path_parameter",
    )
    .await?;
    refused(
        &app,
        get(&format!(
            "/api/v1/studios/{}?min_version=abc",
            Uuid::new_v4()
        )),
        400,
        "invalid_query_parameter",
    )
    .await?;
    refused(
        &app,
        get("/api/v1/studios?limit=0"),
        400,
        "invalid_query_parameter",
    )
    .await?;
    refused(
        &app,
        get(&format!("/api/v1/studios/{}", Uuid::new_v4())),
        404,
        "studio_not_found",
    )
    .await?;
    refused(&app, get("/api/v1/nope"), 404, "route_not_found").await?;
    refused(&app, c.delete(&studios), 405, "method_not_allowed").await?;
    refused(&app, c.get(&studios), 401, "unauthorized").await?;

    let rename = app.url(&format!("/api/v1/studios/{}/rename", Uuid::new_v4()));
    refused(
        &app,
        c.post(&rename)
            .bearer_auth(&token)
            .header("If-Match", "yesterday")
            .json(&serde_json::json!({"name": "B"})),
        400,
        "invalid_header",
    )
    .await?;
    refused(
        &app,
        c.post(&rename)
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": "B"})),
        404,
        "studio_not_found",
    )
    .await?;

    // NUL characters (which Postgres text and jsonb cannot hold) in a body, a query or a
    // path: 400, not a failed write (a token form's: see
    // `token_endpoint_errors_are_oauth2_error_documents`).
    refused(
        &app,
        json(r#"{"name":"A\u0000B","timezone":"UTC","currency":"EUR"}"#),
        400,
        "invalid_body",
    )
    .await?;
    refused(
        &app,
        get(&format!(
            "/api/v1/studios/{}/audit?actor=user%00x",
            Uuid::new_v4()
        )),
        400,
        "invalid_query_parameter",
    )
    .await?;
    refused(
        &app,
        get("/api/v1/studios/ab%00cd"),
        400,
        "invalid_path_parameter",
    )
    .await?;

    // Only the sign-up of the tester (and its verification) wrote anything.
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type <> 'account'")
            .fetch_one(&env.pool)
            .await?;
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&env.pool)
        .await?;
    assert_eq!((events, outbox), (0, 2), "no bad request wrote anything");
    Ok(())
}

#[tokio::test]
async fn business_rules_answer_422_with_their_code() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let owner = app.user("Rules Owner").await?;
    let id = app.create_studio(&owner, "Rules").await?;
    let post = reqwest::Method::POST;
    let (s, _) = app
        .call(
            post.clone(),
            &format!("/api/v1/studios/{id}/locations"),
            &owner,
            Some(serde_json::json!({"name": "Main"})),
        )
        .await?;
    assert_eq!(s, 201);
    let (s, body) = app
        .call(
            post.clone(),
            &format!("/api/v1/studios/{id}/locations"),
            &owner,
            Some(serde_json::json!({"name": "MAIN"})),
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("location_name_taken"))
    );
    let (s, body) = app
        .call(
            post.clone(),
            "/api/v1/studios",
            &owner,
            Some(serde_json::json!({"id": id, "name": "Again", "timezone": "UTC", "currency": "EUR"})),
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (409, Some("studio_already_exists"))
    );
    let r = app
        .req(
            reqwest::Method::PUT,
            &format!("/api/v1/studios/{id}/settings"),
            &owner,
        )
        .json(&serde_json::json!({"settings": {"booking_window_days": 0}}))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = r.json().await?;
    assert_eq!(body["errors"][0]["field"], "settings.booking_window_days");
    let (s, body) = app
        .call(
            post,
            &format!("/api/v1/studios/{id}/locations/{}/rename", Uuid::new_v4()),
            &owner,
            Some(serde_json::json!({"name": "X"})),
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (404, Some("location_not_found"))
    );
    Ok(())
}

#[tokio::test]
async fn openapi_docs_and_health_are_served() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    let (s, doc) = app.get_json("/openapi.json").await?;
    assert_eq!(s, 200);
    for path in [
        "/api/v1/studios",
        "/api/v1/studios/{studio_id}",
        "/api/v1/studios/{studio_id}/rename",
        "/api/v1/studios/{studio_id}/settings",
        "/api/v1/studios/{studio_id}/locations",
        "/api/v1/studios/{studio_id}/locations/{location_id}/rename",
        "/api/v1/auth/signup",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/studios/{studio_id}/members",
        "/api/v1/studios/{studio_id}/clients/{client_id}",
        "/api/v1/studios/{studio_id}/audit",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    // Every operation except sign-up, sign-in, mailed links (unsubscribe included) and health declares the
    // bearer scheme.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let public = [
        "/api/v1/auth/signup",
        "/api/v1/auth/token",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/password-reset/request",
        "/api/v1/auth/password-reset",
        "/api/v1/unsubscribe",
        "/healthz",
        "/readyz",
    ];
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            assert_eq!(
                secured,
                !public.contains(&path.as_str()),
                "{method} {path} security"
            );
        }
    }
    let docs = app.client.get(app.url("/docs/")).send().await?;
    assert_eq!(docs.status().as_u16(), 200);
    assert!(
        docs.text().await?.contains("swagger"),
        "Swagger UI is served from the binary"
    );
    let (s, h) = app.get_json("/healthz").await?;
    assert_eq!((s, h["status"].as_str()), (200, Some("ok")));
    let (s, r) = app.get_json("/readyz").await?;
    assert_eq!((s, r["status"].as_str()), (200, Some("ready")), "{r}");
    Ok(())
}
