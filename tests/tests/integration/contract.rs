//! The OpenAPI document tells the truth: schemathesis sends generated requests (valid and
//! invalid) to every operation, signed in as a studio owner, and checks every answer's
//! status, media type, headers and body against what `/openapi.json` declares, and that
//! nothing answers a server error.
//!
//! `make test` installs schemathesis into a venv and exports `SCHEMATHESIS_BIN`; the test
//! fails without it. Reproduce a failure with the seed in the report:
//! `SCHEMATHESIS_SEED=<seed> scripts/test.sh -E 'test(openapi_document)'`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use repstream_tests::{TestApp, TestEnv, TestUser};
use reqwest::Method;
use uuid::Uuid;

/// Generated cases per operation and phase: enough to reach every declared status of
/// most operations, small enough for `make test`.
const MAX_EXAMPLES: u32 = 10;
/// The run's length: schemathesis fuzzes until it is spent.
const MAX_TIME: Duration = Duration::from_secs(75);

/// The checks: every status, media type and required header is declared, every body
/// matches its schema, nothing answers 5xx, undeclared methods answer 405. (Not
/// `positive_data_acceptance`: valid-looking requests are refused by business rules
/// the schema cannot express; nor the checks that read a resource right after its
/// creation or deletion, which views show a moment later.)
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,unsupported_method";

/// Operations that would end the session the run signs in with, and the inbox's live
/// stream, which never ends by itself (tested in `inbox.rs`).
const EXCLUDED: &str = "^/api/v1/auth/(logout|password)$|^/api/v1/me/notifications/stream$";

fn schemathesis_bin() -> anyhow::Result<String> {
    std::env::var("SCHEMATHESIS_BIN").context(
        "SCHEMATHESIS_BIN is not set: this test runs schemathesis. Run it with `make test` \
         (scripts/test.sh installs schemathesis and exports its path)",
    )
}

/// `POST`s `body` as `user` and answers the field `field` of a `201` reply.
async fn created(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    body: serde_json::Value,
    field: &str,
) -> anyhow::Result<String> {
    let (status, reply) = app.call(Method::POST, path, user, Some(body)).await?;
    anyhow::ensure!(status == 201, "POST {path}: {status} {reply}");
    reply[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("POST {path}: no `{field}` in {reply}"))
}

#[tokio::test]
async fn openapi_document_declares_every_answer_the_api_gives() -> anyhow::Result<()> {
    let bin = schemathesis_bin()?;
    let env = TestEnv::new().await?;
    // One client sending thousands of requests: no budget may interfere.
    let mut config = env.api_config();
    config.rate_limits.per_ip_per_minute = u32::MAX;
    config.rate_limits.per_account_per_minute = u32::MAX;
    config.rate_limits.auth_per_ip_per_minute = u32::MAX;
    config.rate_limits.burst = u32::MAX;
    let app = env.spawn_api_with(config).await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();

    // A studio with one of each thing, so generated requests name real resources often
    // enough to get past `404` to the handlers' own answers.
    let owner = app.user("Contract Owner").await?;
    let studio = app.create_studio(&owner, "Contract Studio").await?;
    let base = format!("/api/v1/studios/{studio}");
    let location = created(
        &app,
        &owner,
        &format!("{base}/locations"),
        serde_json::json!({"name": "Main Hall"}),
        "location_id",
    )
    .await?;
    let class_type = created(
        &app,
        &owner,
        &format!("{base}/class-types"),
        serde_json::json!({"name": "Mat", "duration_minutes": 45}),
        "id",
    )
    .await?;
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let class = created(
        &app,
        &owner,
        &format!("{base}/classes"),
        serde_json::json!({"title": "Morning Flow", "starts_at": starts_at, "duration_minutes": 60, "capacity": 10}),
        "id",
    )
    .await?;
    let client = created(
        &app,
        &owner,
        &format!("{base}/clients"),
        serde_json::json!({"full_name": "Casey Client"}),
        "id",
    )
    .await?;
    let booking = created(
        &app,
        &owner,
        &format!("{base}/classes/{class}/bookings"),
        serde_json::json!({"client_id": client}),
        "booking_id",
    )
    .await?;

    let ids = [
        ("studio_id", studio.to_string()),
        ("location_id", location),
        ("class_type_id", class_type),
        ("class_id", class),
        ("client_id", client),
        ("booking_id", booking),
        ("trainer_id", owner.id.to_string()),
        ("account_id", owner.id.to_string()),
    ];
    // Mostly the real id, sometimes a generated value (another id, or no id at all).
    let mut toml = String::from("[parameters]\n");
    for (name, _) in &ids {
        toml.push_str(&format!(
            "\"path.{name}\" = {{ dictionary = \"{name}\", probability = 0.9 }}\n"
        ));
    }
    for (name, id) in &ids {
        toml.push_str(&format!("\n[dictionaries.{name}]\nvalues = [\"{id}\"]\n"));
    }
    let dir = std::env::temp_dir().join(format!("repstream-contract-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let config_file = dir.join("schemathesis.toml");
    std::fs::write(&config_file, toml)?;

    let mut command = tokio::process::Command::new(&bin);
    command
        .current_dir(&dir)
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(app.url("/openapi.json"))
        .args([
            "--header",
            &format!("Authorization: Bearer {}", owner.access_token),
        ])
        .args(["--checks", CHECKS])
        .args(["--exclude-path-regex", EXCLUDED])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--max-time", &MAX_TIME.as_secs().to_string()])
        .args(["--workers", "2", "--request-timeout", "10"])
        .args(["--generation-database", "none", "--no-color"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Ok(seed) = std::env::var("SCHEMATHESIS_SEED") {
        command.args(["--seed", &seed]);
    }
    let started = Instant::now();
    let run = tokio::time::timeout(MAX_TIME * 2, command.output())
        .await
        .context("schemathesis did not finish within twice its time budget")?
        .with_context(|| format!("running {bin}"))?;
    std::fs::remove_dir_all(&dir).ok();
    let report = String::from_utf8_lossy(&run.stdout);
    let errors = String::from_utf8_lossy(&run.stderr);
    anyhow::ensure!(
        run.status.success(),
        "schemathesis found answers that break the OpenAPI document ({}):\n{report}\n{errors}",
        run.status
    );
    let lines: Vec<&str> = report.lines().collect();
    eprintln!(
        "schemathesis passed in {:.0} s:\n{}",
        started.elapsed().as_secs_f64(),
        lines[lines.len().saturating_sub(6)..].join("\n")
    );
    Ok(())
}
