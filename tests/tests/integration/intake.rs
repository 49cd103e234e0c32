//! Client records, health intake and AI recommendations (issue 13): versioned
//! submissions of the PAR-Q+ form under the studio's current consent text, hostile or
//! malformed forms refused naming the field, consent withdrawn; the recommendation
//! pipeline end to end (relay, SQS, projector, AI worker, LocalStack S3), its providers
//! (the rules engine, an OpenAI-compatible server started by the test) and their
//! failures; trainer review and Q&A; profiles and archiving. Each step is sent the
//! moment the previous one answered.

use std::time::Duration;

use anyhow::Context as _;
use repstream_tests::{eventually, intake_body, TestApp, TestEnv, TestUser};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// A studio whose client `Cleo` joined as a client (her record is linked to her), and a
/// trainer assigned to her.
struct Setup {
    studio: Uuid,
    owner: TestUser,
    cleo: TestUser,
    client: Uuid,
}

async fn setup(app: &TestApp) -> anyhow::Result<Setup> {
    let owner = app.user("Intake Owner").await?;
    let studio = app.create_studio(&owner, "Intake Studio").await?;
    let cleo = app.user("Cleo Intake").await?;
    app.add_member(&owner, studio, &cleo, "client").await?;
    let (s, page) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/clients"),
            &cleo,
            None,
        )
        .await?;
    anyhow::ensure!(s == 200, "{page}");
    let client = eventually(Duration::from_secs(20), "Cleo's record", || async {
        let (_, page) = app
            .call(
                Method::GET,
                &format!("/api/v1/studios/{studio}/clients"),
                &cleo,
                None,
            )
            .await?;
        Ok(page["items"][0]["id"]
            .as_str()
            .and_then(|id| id.parse::<Uuid>().ok()))
    })
    .await?;
    Ok(Setup {
        studio,
        owner,
        cleo,
        client,
    })
}

/// A new trainer of `s`'s studio, assigned to its client (each step at once).
async fn assigned_trainer(app: &TestApp, s: &Setup, name: &str) -> anyhow::Result<TestUser> {
    let trainer = app.user(name).await?;
    app.add_member(&s.owner, s.studio, &trainer, "trainer")
        .await?;
    let (st, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/clients/{}/trainers", s.studio, s.client),
            &s.owner,
            Some(json!({"trainer_id": trainer.id})),
        )
        .await?;
    anyhow::ensure!(st == 200, "assign trainer: {st} {body}");
    Ok(trainer)
}

async fn submit(
    app: &TestApp,
    s: &Setup,
    who: &TestUser,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    app.call(
        Method::PUT,
        &format!("/api/v1/studios/{}/clients/{}/health", s.studio, s.client),
        who,
        Some(body.clone()),
    )
    .await
}

async fn record(app: &TestApp, s: &Setup, who: &TestUser, version: u64) -> anyhow::Result<Value> {
    eventually(Duration::from_secs(20), "the client record", || async {
        let (st, body) = app
            .call(
                Method::GET,
                &format!(
                    "/api/v1/studios/{}/clients/{}?min_version={version}",
                    s.studio, s.client
                ),
                who,
                None,
            )
            .await?;
        Ok((st == 200).then_some(body))
    })
    .await
}

#[tokio::test]
async fn a_client_submits_their_intake_and_a_retry_adds_no_version() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = setup(&app).await?;
    let mut body = intake_body("no running on concrete");
    body["intake"]["parq"]["bone_joint_or_soft_tissue_problem"] = json!({
        "answer": true,
        "follow_up": {"detail": "old ankle sprain", "cleared_by_professional": true}
    });
    body["intake"]["injuries"] =
        json!([{"area": "ankle_foot", "side": "right", "status": "resolved"}]);
    let (st, first) = submit(&app, &s, &s.cleo, &body).await?;
    assert_eq!(st, 200, "{first}");
    // The app retries (a lost answer): the same form adds no version.
    let (st, again) = submit(&app, &s, &s.cleo, &body).await?;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["version"], first["version"], "{again}");
    let version = first["version"].as_u64().unwrap_or_default();
    let seen = record(&app, &s, &s.owner, version).await?;
    assert_eq!(seen["intake_version"], 1, "{seen}");
    assert_eq!(seen["intake"]["limitations"], "no running on concrete");
    assert_eq!(seen["intake"]["consent"]["text_version"], 1);
    assert_eq!(seen["intake"]["injuries"][0]["area"], "ankle_foot");

    // A changed form is version 2.
    body["intake"]["limitations"] = json!("no running at all");
    let (st, second) = submit(&app, &s, &s.cleo, &body).await?;
    assert_eq!(st, 200, "{second}");
    let seen = record(&app, &s, &s.cleo, second["version"].as_u64().unwrap_or(0)).await?;
    assert_eq!(seen["intake_version"], 2, "{seen}");
    Ok(())
}

#[tokio::test]
async fn malformed_or_hostile_forms_are_refused_naming_the_field_and_write_nothing(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = setup(&app).await?;
    let events = || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'HealthIntakeSubmitted'",
        )
        .bind(s.client.to_string())
        .fetch_one(&env.pool)
        .await?;
        Ok::<_, anyhow::Error>(n)
    };
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut pain = intake_body("x");
    pain["intake"]["pain"] = json!([{"area": "lower_back", "level": 11}]);
    cases.push((pain, "intake.pain[0].level"));
    let mut yes = intake_body("x");
    yes["intake"]["parq"]["chest_pain"] = json!({"answer": true});
    cases.push((yes, "intake.parq.chest_pain.follow_up"));
    let mut long = intake_body("x");
    long["intake"]["limitations"] = json!("y".repeat(4001));
    cases.push((long, "intake.limitations"));
    let mut control = intake_body("x");
    control["intake"]["goals"] = json!("run\u{7}fast");
    cases.push((control, "intake.goals"));
    let mut many = intake_body("x");
    many["intake"]["medications"] = json!((0..51)
        .map(|i| json!({"name": format!("m{i}")}))
        .collect::<Vec<_>>());
    cases.push((many, "intake.medications"));
    for (body, field) in cases {
        let (st, answer) = submit(&app, &s, &s.cleo, &body).await?;
        assert_eq!(
            (st, answer["code"].as_str()),
            (422, Some("validation_failed")),
            "{field}: {answer}"
        );
        let named = answer["errors"][0]["field"].as_str().unwrap_or_default();
        assert!(named.starts_with(field), "{field}: {answer}");
        // Messages never echo health data.
        assert!(!answer.to_string().contains("fast"), "{answer}");
    }
    // Not the form at all (unknown fields, wrong types): 400; a form version from the
    // future: 422.
    let mut future = intake_body("x");
    future["intake"]["form_version"] = json!(99);
    for (intake, status) in [
        (
            json!({"intake": {"form_version": 1, "smuggled": true}}),
            400,
        ),
        (json!({"intake": "not an object"}), 400),
        (future, 422),
    ] {
        let (st, answer) = submit(&app, &s, &s.cleo, &intake).await?;
        assert_eq!(st, status, "{intake}: {answer}");
    }
    assert_eq!(events().await?, 0, "nothing was written");
    Ok(())
}

#[tokio::test]
async fn a_new_consent_text_needs_a_new_consent_and_withdrawing_hides_the_intake(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = setup(&app).await?;
    let settings = |consent: Value| {
        let (app, owner, studio) = (&app, &s.owner, s.studio);
        async move {
            app.call(
                Method::PUT,
                &format!("/api/v1/studios/{studio}/settings"),
                owner,
                Some(json!({"settings": {"health_consent": consent}})),
            )
            .await
        }
    };
    // A new wording under the old version is refused; under version 2 it is the text.
    let (st, body) = settings(json!({"version": 1, "text": "We keep it safe."})).await?;
    assert_eq!(st, 422, "{body}");
    let (st, body) = settings(json!({"version": 2, "text": "We keep it safe."})).await?;
    assert_eq!(st, 200, "{body}");
    // Right away: the form under version 1 is outdated, under version 2 it is taken.
    let mut body = intake_body("knees");
    let (st, answer) = submit(&app, &s, &s.cleo, &body).await?;
    assert_eq!(
        (st, answer["code"].as_str()),
        (422, Some("consent_outdated")),
        "{answer}"
    );
    body["intake"]["consent"]["text_version"] = json!(2);
    let (st, answer) = submit(&app, &s, &s.cleo, &body).await?;
    assert_eq!(st, 200, "{answer}");

    // Cleo withdraws: staff no longer see her intake; she can give it again.
    let (st, withdrawn) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/studios/{}/clients/{}/health/withdraw-consent",
                s.studio, s.client
            ),
            &s.cleo,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{withdrawn}");
    let seen = record(
        &app,
        &s,
        &s.owner,
        withdrawn["version"].as_u64().unwrap_or(0),
    )
    .await?;
    assert!(seen.get("intake").is_none(), "{seen}");
    assert!(seen["consent_withdrawn_at"].is_string(), "{seen}");
    let (st, again) = submit(&app, &s, &s.cleo, &body).await?;
    assert_eq!(st, 200, "{again}");
    let seen = record(&app, &s, &s.owner, again["version"].as_u64().unwrap_or(0)).await?;
    assert_eq!(seen["intake_version"], 2, "{seen}");
    assert!(seen["consent_withdrawn_at"].is_null(), "{seen}");
    Ok(())
}

/// The recommendations of `client` as `who` sees them (reading at least `version` of
/// the record, the one the submission answered), once there are `n`.
async fn recommendations(
    app: &TestApp,
    s: &Setup,
    client: Uuid,
    who: &TestUser,
    (version, n): (u64, usize),
) -> anyhow::Result<Vec<Value>> {
    eventually(Duration::from_secs(30), "the recommendations", || async {
        let (st, body) = app
            .call(
                Method::GET,
                &format!(
                    "/api/v1/studios/{}/clients/{client}/recommendations?min_version={version}",
                    s.studio
                ),
                who,
                None,
            )
            .await?;
        anyhow::ensure!(st == 200, "{st} {body}");
        let items = body["items"].as_array().cloned().unwrap_or_default();
        Ok((items.len() >= n).then_some(items))
    })
    .await
}

/// The intake → projector → AI job (own queue) → worker → S3 artifact → command → view
/// pipeline, polled the way an app polls right after submitting: a knee injury and an
/// uncleared PAR-Q+ "yes" give a recommendation with clearance and the knee's
/// contraindication, its artifact in S3; a redelivered job records nothing; another
/// client's identical form reuses the artifact; front desk never sees it; a withdrawal
/// hides it.
#[tokio::test]
async fn an_intake_becomes_one_recommendation_with_its_artifact_in_s3() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = setup(&app).await?;
    let trainer = assigned_trainer(&app, &s, "Tess Trainer").await?;
    let desk = app.user("Desk Dora").await?;
    app.add_member(&s.owner, s.studio, &desk, "front_desk")
        .await?;
    let mut body = intake_body("knee clicks on stairs");
    body["intake"]["parq"]["chest_pain"] = json!({
        "answer": true,
        "follow_up": {"detail": "tightness when sprinting", "cleared_by_professional": false}
    });
    body["intake"]["injuries"] = json!([{"area": "knee", "side": "left", "status": "recovering"}]);
    let (st, answer) = submit(&app, &s, &s.cleo, &body).await?;
    assert_eq!(st, 200, "{answer}");

    let submitted = answer["version"].as_u64().unwrap_or(0);
    let items = recommendations(&app, &s, s.client, &trainer, (submitted, 1)).await?;
    let first = &items[0];
    assert_eq!(first["intake_version"], 1, "{first}");
    assert_eq!(first["provider"], "rules");
    assert_eq!(first["reused"], false);
    let rec = &first["recommendation"];
    assert_eq!(rec["medical_clearance"]["required"], true, "{rec}");
    let avoided: Vec<&str> = rec["contraindications"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["movement"].as_str())
        .collect();
    assert!(avoided.contains(&"deep_loaded_knee_flexion"), "{avoided:?}");
    assert!(!rec["first_week"].as_array().is_none_or(Vec::is_empty));

    // The artifact: input hash, prompt version, model, raw and validated output, timings.
    let key = first["artifact_key"].as_str().unwrap_or_default();
    assert!(
        key.starts_with(&format!("{}/{}/1/", s.studio, s.client)),
        "{key}"
    );
    let bytes = infra::s3::get(&env.s3, repstream_tests::AI_ARTIFACTS_BUCKET, key)
        .await?
        .unwrap_or_default();
    let artifact: Value = serde_json::from_slice(&bytes)?;
    assert_eq!(artifact["input_hash"], first["input_hash"]);
    assert_eq!(artifact["prompt_version"], workers::ai::PROMPT_VERSION);
    assert!(artifact["raw_output"].is_string());
    assert_eq!(artifact["output"], first["recommendation"]);
    assert!(artifact["timings"]["provider_ms"].is_number());

    // The assigned trainer hears that it is ready (and nothing of the health data).
    let ready = eventually(Duration::from_secs(30), "the trainer's notice", || async {
        Ok(env
            .mails_to(&trainer.email)
            .into_iter()
            .find(|(subject, _)| subject.contains("recommendation for Cleo Intake is ready")))
    })
    .await?;
    assert!(
        !ready.1.contains("knee") && !ready.1.contains("chest"),
        "{}",
        ready.1
    );

    // The job again (a redelivery, a second worker): nothing new.
    let again = env
        .ai_worker()
        .recommend(s.studio, s.client, 1, None)
        .await?;
    assert_eq!(again, workers::ai::Outcome::Skipped);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'RecommendationRecorded'",
    )
    .bind(s.client.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(recorded, 1);

    // Front desk may not see health data, so not its recommendations either.
    let (st, refused) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/studios/{}/clients/{}/recommendations",
                s.studio, s.client
            ),
            &desk,
            None,
        )
        .await?;
    assert_eq!(
        (st, refused["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );

    // Another client with the very same form: the stored artifact is reused.
    let (st, dan) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/clients", s.studio),
            &s.owner,
            Some(json!({"full_name": "Dan Same"})),
        )
        .await?;
    assert_eq!(st, 201, "{dan}");
    let dan: Uuid = dan["id"].as_str().unwrap_or_default().parse()?;
    let (st, answer) = app
        .call(
            Method::PUT,
            &format!("/api/v1/studios/{}/clients/{dan}/health", s.studio),
            &s.owner,
            Some(body.clone()),
        )
        .await?;
    assert_eq!(st, 200, "{answer}");
    let submitted = answer["version"].as_u64().unwrap_or(0);
    let dans = recommendations(&app, &s, dan, &s.owner, (submitted, 1)).await?;
    assert_eq!(dans[0]["reused"], true, "{}", dans[0]);
    assert_eq!(dans[0]["input_hash"], first["input_hash"]);

    // Cleo withdraws consent: her recommendations are hidden with her intake.
    let (st, withdrawn) = app
        .call(
            Method::POST,
            &format!(
                "/api/v1/studios/{}/clients/{}/health/withdraw-consent",
                s.studio, s.client
            ),
            &s.cleo,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{withdrawn}");
    let version = withdrawn["version"].as_u64().unwrap_or(0);
    let (st, body) = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/studios/{}/clients/{}/recommendations?min_version={version}",
                s.studio, s.client
            ),
            &trainer,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["items"], json!([]), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_trainer_reviews_the_latest_recommendation_and_the_client_cannot() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = setup(&app).await?;
    let trainer = assigned_trainer(&app, &s, "Rex Reviewer").await?;
    let (st, answer) = submit(&app, &s, &s.cleo, &intake_body("sore shoulder")).await?;
    assert_eq!(st, 200, "{answer}");
    let submitted = answer["version"].as_u64().unwrap_or(0);
    let items = recommendations(&app, &s, s.client, &trainer, (submitted, 1)).await?;
    let original = items[0]["recommendation"].clone();

    let review = |who: &TestUser, version: u32, body: Value| {
        let (app, who, path) = (
            &app,
            who.clone(),
            format!(
                "/api/v1/studios/{}/clients/{}/recommendations/{version}/review",
                s.studio, s.client
            ),
        );
        async move { app.call(Method::POST, &path, &who, Some(body)).await }
    };
    let (st, body) = review(&s.cleo, 1, json!({"decision": "accepted"})).await?;
    assert_eq!(
        (st, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let mut upside_down = original.clone();
    upside_down["intensity"]["rpe_min"] = json!(9);
    upside_down["intensity"]["rpe_max"] = json!(3);
    for (body, field) in [
        (json!({"decision": "rejected"}), "note"),
        (json!({"decision": "edited"}), "recommendation"),
        (
            json!({"decision": "accepted", "recommendation": original}),
            "recommendation",
        ),
        (
            json!({"decision": "edited", "recommendation": upside_down}),
            "recommendation.intensity",
        ),
    ] {
        let (st, answer) = review(&trainer, 1, body.clone()).await?;
        assert_eq!(
            (st, answer["code"].as_str()),
            (422, Some("validation_failed")),
            "{body}: {answer}"
        );
        let named = answer["errors"][0]["field"].as_str().unwrap_or_default();
        assert!(named.starts_with(field), "{field}: {answer}");
    }
    let (st, body) = review(&trainer, 7, json!({"decision": "accepted"})).await?;
    assert_eq!(
        (st, body["code"].as_str()),
        (404, Some("recommendation_not_found")),
        "{body}"
    );

    // Accepted, and the retry adds nothing; then edited, which replaces it.
    let accept = json!({"decision": "accepted", "note": "fine to start"});
    let (st, first) = review(&trainer, 1, accept.clone()).await?;
    assert_eq!(st, 200, "{first}");
    let (st, again) = review(&trainer, 1, accept).await?;
    assert_eq!((st, &again["version"]), (200, &first["version"]), "{again}");
    let mut edited = original.clone();
    edited["summary"] = json!("Start with the machines; no overhead work yet.");
    let (st, last) = review(
        &trainer,
        1,
        json!({"decision": "edited", "note": "gentler start", "recommendation": edited}),
    )
    .await?;
    assert_eq!(st, 200, "{last}");
    let seen = recommendations(
        &app,
        &s,
        s.client,
        &s.cleo,
        (last["version"].as_u64().unwrap_or(0), 1),
    )
    .await?;
    let review = &seen[0]["review"];
    assert_eq!(review["decision"], "edited", "{review}");
    assert_eq!(review["by"], trainer.id.to_string());
    assert_eq!(
        review["recommendation"]["summary"],
        "Start with the machines; no overhead work yet."
    );
    assert_eq!(seen[0]["recommendation"], original, "the original is kept");
    Ok(())
}

/// Trainer Q&A: the assigned trainer asks "Can she do box jumps?" about a client with a
/// recovering knee and gets "not yet" with the rule's source, asynchronously through
/// the AI queue; a retried question is asked once; front desk can neither ask nor read.
#[tokio::test]
async fn a_trainer_asks_about_box_jumps_and_gets_not_yet_with_its_sources() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = setup(&app).await?;
    let trainer = assigned_trainer(&app, &s, "Quinn Asker").await?;
    let desk = app.user("Desk Quill").await?;
    app.add_member(&s.owner, s.studio, &desk, "front_desk")
        .await?;
    let path = format!(
        "/api/v1/studios/{}/clients/{}/questions",
        s.studio, s.client
    );
    // No intake yet: nothing to answer from.
    let (st, body) = app
        .call(
            Method::POST,
            &path,
            &trainer,
            Some(json!({"question": "Can she do box jumps?"})),
        )
        .await?;
    assert_eq!(
        (st, body["code"].as_str()),
        (422, Some("no_health_intake")),
        "{body}"
    );
    let mut intake = intake_body("knee");
    intake["intake"]["injuries"] =
        json!([{"area": "knee", "side": "left", "status": "recovering"}]);
    let (st, answer) = submit(&app, &s, &s.cleo, &intake).await?;
    assert_eq!(st, 200, "{answer}");

    // Asked the moment the intake answered; the app retries with the same id.
    let id = Uuid::now_v7();
    let ask = json!({"id": id, "question": "Can she do box jumps?"});
    let (st, asked) = app
        .call(Method::POST, &path, &trainer, Some(ask.clone()))
        .await?;
    assert_eq!(st, 202, "{asked}");
    assert_eq!(asked["id"], id.to_string());
    let (st, again) = app.call(Method::POST, &path, &trainer, Some(ask)).await?;
    assert_eq!((st, &again["version"]), (202, &asked["version"]), "{again}");
    let (st, body) = app
        .call(
            Method::POST,
            &path,
            &trainer,
            Some(json!({"id": id, "question": "Something else?"})),
        )
        .await?;
    assert_eq!(
        (st, body["code"].as_str()),
        (422, Some("question_id_taken")),
        "{body}"
    );
    for bad in [
        json!({"question": ""}),
        json!({"question": "x".repeat(501)}),
    ] {
        let (st, body) = app.call(Method::POST, &path, &trainer, Some(bad)).await?;
        assert_eq!(
            (st, body["code"].as_str()),
            (422, Some("validation_failed")),
            "{body}"
        );
    }
    let (st, body) = app
        .call(
            Method::POST,
            &path,
            &desk,
            Some(json!({"question": "Can she run?"})),
        )
        .await?;
    assert_eq!(st, 403, "{body}");

    let version = asked["version"].as_u64().unwrap_or(0);
    let answered = eventually(Duration::from_secs(30), "the answer", || async {
        let (st, list) = app
            .call(
                Method::GET,
                &format!("{path}?min_version={version}"),
                &trainer,
                None,
            )
            .await?;
        anyhow::ensure!(st == 200, "{st} {list}");
        Ok(list
            .as_array()
            .and_then(|l| l.first().cloned())
            .filter(|q| q["answer"].is_object()))
    })
    .await?;
    assert_eq!(answered["question"], "Can she do box jumps?");
    assert_eq!(answered["answer"]["verdict"], "not_yet", "{answered}");
    assert!(
        !answered["answer"]["sources"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{answered}"
    );
    assert_eq!(answered["answered_by"], "rules");
    let (st, body) = app.call(Method::GET, &path, &desk, None).await?;
    assert_eq!(st, 403, "{body}");
    let asked_events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'QuestionAsked'",
    )
    .bind(s.client.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(asked_events, 1, "asked once");
    Ok(())
}

/// With a model configured, the recommendation comes from an OpenAI-compatible server
/// (here a local one the test starts, as vLLM or Ollama would be): asked with the
/// strict JSON schema, the API key as a bearer token, the intake without its consent;
/// its answer recorded as the model's, its model name in the artifact.
#[tokio::test]
async fn with_a_model_configured_the_recommendation_comes_from_it_under_the_schema(
) -> anyhow::Result<()> {
    use std::sync::{Arc, Mutex};
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    let consent = domain::health::ConsentText::standard().given_at(chrono::Utc::now());
    let mut from_model =
        domain::health::rules::recommend(&domain::health::HealthSubmission::new(consent));
    from_model.summary = "From the model: start gently.".to_owned();
    let content = serde_json::to_string(&from_model)?;
    // Each request the server got: its Authorization header and body.
    type Requests = Arc<Mutex<Vec<(Option<String>, Value)>>>;
    let seen: Requests = Arc::default();
    let recorded = seen.clone();
    let server = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let (recorded, content) = (recorded.clone(), content.clone());
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    recorded.lock().map(|mut r| r.push((auth, body))).ok();
                    axum::Json(json!({
                        "id": "chatcmpl-1", "object": "chat.completion",
                        "model": "gpt-4o-mini-2024-07-18",
                        "choices": [{"index": 0, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content}}],
                        "usage": {"prompt_tokens": 812, "completion_tokens": 430, "total_tokens": 1242}
                    }))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, server).await });
    let provider = workers::openai::OpenAiProvider::new(workers::openai::OpenAiConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "gpt-4o-mini".to_owned(),
        api_key: Some("sk-test-key".to_owned()),
        timeout: Duration::from_secs(10),
    })?;
    env.spawn_ai_worker_with(env.ai_worker_with(Arc::new(provider)));

    let s = setup(&app).await?;
    let (st, answer) = submit(&app, &s, &s.cleo, &intake_body("model me")).await?;
    assert_eq!(st, 200, "{answer}");
    let submitted = answer["version"].as_u64().unwrap_or(0);
    let items = recommendations(&app, &s, s.client, &s.owner, (submitted, 1)).await?;
    assert_eq!(items[0]["provider"], "openai", "{}", items[0]);
    assert_eq!(
        items[0]["recommendation"]["summary"],
        "From the model: start gently."
    );
    let requests = seen.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(requests.len(), 1);
    let (auth, body) = &requests[0];
    assert_eq!(auth.as_deref(), Some("Bearer sk-test-key"));
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert!(body["response_format"]["json_schema"]["schema"]["properties"]["summary"].is_object());
    let user = body["messages"][1]["content"].as_str().unwrap_or_default();
    assert!(
        user.contains("model me") && !user.contains("given_at"),
        "{user}"
    );
    let key = items[0]["artifact_key"].as_str().unwrap_or_default();
    let bytes = infra::s3::get(&env.s3, repstream_tests::AI_ARTIFACTS_BUCKET, key)
        .await?
        .unwrap_or_default();
    let artifact: Value = serde_json::from_slice(&bytes)?;
    assert_eq!(artifact["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(artifact["provider"], "openai");
    Ok(())
}

/// A provider that always fails (a model that is down or answers nonsense).
struct Broken;

#[async_trait::async_trait]
impl workers::ai::RecommendationProvider for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    async fn recommend(
        &self,
        _intake: &domain::health::HealthSubmission,
    ) -> anyhow::Result<workers::ai::ProviderAnswer> {
        anyhow::bail!("the model answered 500: overloaded")
    }
}

/// A provider failing every attempt: the job's failures are counted, the last one
/// records `RecommendationFailed` (the trainer sees why), and the job dead-letters.
#[tokio::test]
async fn a_provider_failing_every_attempt_ends_in_recommendation_failed_and_the_dlq(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    env.spawn_ai_worker_with(
        env.ai_worker_with(std::sync::Arc::new(Broken))
            .with_max_failures(5),
    );
    let s = setup(&app).await?;
    let (st, answer) = submit(&app, &s, &s.cleo, &intake_body("doomed")).await?;
    assert_eq!(st, 200, "{answer}");
    let version = answer["version"].as_u64().unwrap_or(0);
    let failed = eventually(Duration::from_secs(60), "RecommendationFailed", || async {
        let (st, body) = app
            .call(
                Method::GET,
                &format!(
                    "/api/v1/studios/{}/clients/{}/recommendations?min_version={version}",
                    s.studio, s.client
                ),
                &s.owner,
                None,
            )
            .await?;
        anyhow::ensure!(st == 200, "{st} {body}");
        Ok(body["failures"].as_array().and_then(|f| f.first().cloned()))
    })
    .await?;
    assert_eq!(failed["intake_version"], 1, "{failed}");
    assert_eq!(failed["attempts"], 5);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("overloaded"),
        "{failed}"
    );
    eventually(Duration::from_secs(60), "the job in the AI DLQ", || async {
        Ok((env.queue_depth(&env.ai_dlq).await? >= 1).then_some(()))
    })
    .await?;
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'RecommendationFailed'",
    )
    .bind(s.client.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(events, 1);
    Ok(())
}

#[tokio::test]
async fn a_profile_is_validated_and_an_archived_client_cannot_book_until_unarchived(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let s = setup(&app).await?;
    let path = format!("/api/v1/studios/{}/clients/{}", s.studio, s.client);
    let profile = json!({"profile": {
        "phone": "+49 30 1234567", "date_of_birth": "1990-04-12",
        "emergency_contact": {"name": "Kai", "phone": "+49 170 555", "relationship": "partner"},
        "goals": "Run a half marathon", "tags": ["morning", "runner"], "notes": "Prefers mornings."
    }});
    let (st, set) = app
        .call(
            Method::PUT,
            &format!("{path}/profile"),
            &s.owner,
            Some(profile),
        )
        .await?;
    assert_eq!(st, 200, "{set}");
    let seen = record(&app, &s, &s.owner, set["version"].as_u64().unwrap_or(0)).await?;
    assert_eq!(
        seen["profile"]["emergency_contact"]["name"], "Kai",
        "{seen}"
    );
    assert_eq!(seen["profile"]["tags"], json!(["morning", "runner"]));
    for (body, field) in [
        (
            json!({"profile": {"date_of_birth": "2999-01-01"}}),
            "profile.date_of_birth",
        ),
        (json!({"profile": {"phone": "call me"}}), "profile.phone"),
        (
            json!({"profile": {"tags": ["x".repeat(41)]}}),
            "profile.tags[0]",
        ),
        (
            json!({"profile": {"emergency_contact": {"name": "", "phone": "123"}}}),
            "profile.emergency_contact.name",
        ),
    ] {
        let (st, answer) = app
            .call(
                Method::PUT,
                &format!("{path}/profile"),
                &s.owner,
                Some(body),
            )
            .await?;
        assert_eq!(st, 422, "{answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{answer}");
    }
    // The client keeps their own profile.
    let (st, own) = app
        .call(
            Method::PUT,
            &format!("{path}/profile"),
            &s.cleo,
            Some(json!({"profile": {"goals": "Feel strong"}})),
        )
        .await?;
    assert_eq!(st, 200, "{own}");

    // Archived: a booking right after is refused; unarchived, it goes through.
    let (st, body) = app
        .call(Method::POST, &format!("{path}/archive"), &s.owner, None)
        .await?;
    assert_eq!(st, 200, "{body}");
    let (st, class) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{}/classes", s.studio),
            &s.owner,
            Some(json!({"title": "Archive Flow", "starts_at": chrono::Utc::now() + chrono::Duration::days(2),
                "duration_minutes": 45, "capacity": 5})),
        )
        .await?;
    assert_eq!(st, 201, "{class}");
    let bookings = format!(
        "/api/v1/studios/{}/classes/{}/bookings",
        s.studio,
        class["id"].as_str().unwrap_or_default()
    );
    let book = json!({"client_id": s.client});
    let (st, body) = app
        .call(Method::POST, &bookings, &s.owner, Some(book.clone()))
        .await?;
    assert_eq!(
        (st, body["code"].as_str()),
        (422, Some("client_archived")),
        "{body}"
    );
    let (st, active) = app
        .call(Method::POST, &format!("{path}/unarchive"), &s.owner, None)
        .await?;
    assert_eq!(st, 200, "{active}");
    let (st, body) = app
        .call(Method::POST, &bookings, &s.owner, Some(book))
        .await?;
    assert_eq!(st, 201, "{body}");
    let seen = record(&app, &s, &s.owner, active["version"].as_u64().unwrap_or(0)).await?;
    assert!(seen["archived_at"].is_null(), "{seen}");
    assert_eq!(seen["profile"]["goals"], "Feel strong");
    Ok(())
}

/// A local server speaking chat completions that answers each request with the next
/// scripted reply (status, `Retry-After`, content, delay), then the last one forever.
#[derive(Clone)]
struct Reply {
    status: u16,
    retry_after: Option<&'static str>,
    content: String,
    delay: Duration,
}

async fn scripted_model(
    script: Vec<Reply>,
) -> anyhow::Result<(u16, std::sync::Arc<std::sync::Mutex<usize>>)> {
    use std::sync::{Arc, Mutex};
    let calls = Arc::new(Mutex::new(0usize));
    let counter = calls.clone();
    let server = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move || {
            let (counter, script) = (counter.clone(), script.clone());
            async move {
                let n = counter
                    .lock()
                    .map(|mut c| {
                        *c += 1;
                        *c
                    })
                    .unwrap_or(1);
                let reply = script[(n - 1).min(script.len() - 1)].clone();
                tokio::time::sleep(reply.delay).await;
                let mut response = axum::response::IntoResponse::into_response((
                    axum::http::StatusCode::from_u16(reply.status)
                        .unwrap_or(axum::http::StatusCode::OK),
                    axum::Json(json!({
                        "model": "local-model",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}}],
                        "error": {"message": "scripted"}
                    })),
                ));
                if let Some(wait) = reply.retry_after {
                    response.headers_mut().insert(
                        "retry-after",
                        axum::http::HeaderValue::from_static(wait),
                    );
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, server).await });
    Ok((port, calls))
}

fn model(port: u16, timeout: Duration) -> anyhow::Result<workers::openai::OpenAiProvider> {
    workers::openai::OpenAiProvider::new(workers::openai::OpenAiConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "local-model".to_owned(),
        api_key: None,
        timeout,
    })
}

/// The OpenAI-compatible client's failure modes, one request each: `429` defers by its
/// `Retry-After`, `5xx`, malformed JSON and a timeout fail the attempt; then, end to
/// end, a schema-invalid answer and a `5xx` are retried until a valid answer is recorded.
#[tokio::test]
async fn the_model_client_defers_on_429_fails_on_5xx_bad_json_and_timeouts_and_is_retried(
) -> anyhow::Result<()> {
    use workers::ai::RecommendationProvider as _;
    let consent = domain::health::ConsentText::standard().given_at(chrono::Utc::now());
    let intake = domain::health::HealthSubmission::new(consent);
    let valid = serde_json::to_string(&domain::health::rules::recommend(&intake))?;
    let mut invalid = domain::health::rules::recommend(&intake);
    invalid.intensity.rpe_min = 9;
    invalid.intensity.rpe_max = 2;
    let invalid = serde_json::to_string(&invalid)?;
    let reply = |status, retry_after, content: &str, delay| Reply {
        status,
        retry_after,
        content: content.to_owned(),
        delay,
    };
    let fast = Duration::ZERO;
    let (port, calls) = scripted_model(vec![
        reply(429, Some("7"), "", fast),
        reply(503, None, "", fast),
        reply(200, None, "{not json", fast),
        reply(200, None, &valid, Duration::from_secs(3)),
        reply(200, None, &valid, fast),
    ])
    .await?;
    let client = model(port, Duration::from_secs(1))?;
    let limited = client
        .recommend(&intake)
        .await
        .err()
        .context("429 is an error")?;
    let deferred = limited
        .downcast_ref::<infra::consumer::RetryAfter>()
        .map(|r| r.0);
    assert_eq!(deferred, Some(Duration::from_secs(7)), "{limited:#}");
    let down = client.recommend(&intake).await.err().context("503")?;
    assert!(format!("{down:#}").contains("503"), "{down:#}");
    let garbled = client.recommend(&intake).await.err().context("bad json")?;
    assert!(
        format!("{garbled:#}").contains("not a recommendation"),
        "{garbled:#}"
    );
    let slow = client.recommend(&intake).await.err().context("timeout")?;
    assert!(
        format!("{slow:#}").contains("calling the model"),
        "{slow:#}"
    );
    assert!(client.recommend(&intake).await.is_ok());
    assert_eq!(calls.lock().map(|c| *c).unwrap_or(0), 5);

    // End to end: a schema-invalid answer, then a 5xx, then a valid one.
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    let (port, calls) = scripted_model(vec![
        reply(200, None, &invalid, fast),
        reply(500, None, "", fast),
        reply(200, None, &valid, fast),
    ])
    .await?;
    env.spawn_ai_worker_with(
        env.ai_worker_with(std::sync::Arc::new(model(port, Duration::from_secs(5))?)),
    );
    let s = setup(&app).await?;
    let (st, answer) = submit(&app, &s, &s.cleo, &intake_body("retry me")).await?;
    assert_eq!(st, 200, "{answer}");
    let submitted = answer["version"].as_u64().unwrap_or(0);
    let items = recommendations(&app, &s, s.client, &s.owner, (submitted, 1)).await?;
    assert_eq!(items[0]["provider"], "openai");
    assert_eq!(
        calls.lock().map(|c| *c).unwrap_or(0),
        3,
        "two rejected, one taken"
    );
    Ok(())
}

/// A trainer not assigned to the client reads none of it and asks nothing; a withdrawal
/// before the worker got to the job stops the pipeline (nothing is computed or stored).
#[tokio::test]
async fn an_unassigned_trainer_sees_nothing_and_a_withdrawal_stops_the_pipeline(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // No AI worker running: the job waits on the queue, as if the worker were busy.
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    let s = setup(&app).await?;
    let stranger = app.user("Unassigned Ursula").await?;
    app.add_member(&s.owner, s.studio, &stranger, "trainer")
        .await?;
    let (st, answer) = submit(&app, &s, &s.cleo, &intake_body("private")).await?;
    assert_eq!(st, 200, "{answer}");
    let version = answer["version"].as_u64().unwrap_or(0);
    let base = format!("/api/v1/studios/{}/clients/{}", s.studio, s.client);
    let seen = record(&app, &s, &s.owner, version).await?;
    assert_eq!(seen["intake_version"], 1);
    // The record itself, without any health field.
    let (st, body) = app
        .call(
            Method::GET,
            &format!("{base}?min_version={version}"),
            &stranger,
            None,
        )
        .await?;
    assert_eq!(
        (st, &body["health_visible"]),
        (200, &json!(false)),
        "{body}"
    );
    assert!(body.get("intake").is_none(), "{body}");
    for (method, path, body) in [
        (Method::GET, format!("{base}/recommendations"), None),
        (Method::GET, format!("{base}/questions"), None),
        (
            Method::POST,
            format!("{base}/questions"),
            Some(json!({"question": "Can she squat?"})),
        ),
        (
            Method::PUT,
            format!("{base}/health"),
            Some(intake_body("mine now")),
        ),
    ] {
        let (st, body) = app.call(method.clone(), &path, &stranger, body).await?;
        assert!(st == 403 || st == 404, "{method} {path}: {st} {body}");
        assert!(
            !body.to_string().contains("private"),
            "{method} {path} leaked: {body}"
        );
    }
    // Cleo withdraws; the job is handled afterwards: skipped, nothing stored.
    let (st, body) = app
        .call(
            Method::POST,
            &format!("{base}/health/withdraw-consent"),
            &s.cleo,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{body}");
    let outcome = env
        .ai_worker()
        .recommend(s.studio, s.client, 1, None)
        .await?;
    assert_eq!(outcome, workers::ai::Outcome::Skipped);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'RecommendationRecorded'",
    )
    .bind(s.client.to_string())
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(recorded, 0);
    let listed = env
        .s3
        .list_objects_v2()
        .bucket(repstream_tests::AI_ARTIFACTS_BUCKET)
        .prefix(format!("{}/", s.studio))
        .send()
        .await?;
    assert_eq!(listed.key_count().unwrap_or(0), 0, "no artifact stored");
    Ok(())
}

/// With a model configured, a trainer's question is answered by it, held to the rules:
/// the model says "yes" to box jumps for a recovering knee, the answer says "not yet"
/// (the rules' reason first, the model's words kept, both sources listed).
#[tokio::test]
async fn a_model_answers_questions_but_never_less_carefully_than_the_rules() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    let consent = domain::health::ConsentText::standard().given_at(chrono::Utc::now());
    let recommendation = serde_json::to_string(&domain::health::rules::recommend(
        &domain::health::HealthSubmission::new(consent),
    ))?;
    let answer = json!({"verdict": "yes", "text": "Box jumps are fine in moderation.",
        "sources": ["the model"]})
    .to_string();
    let server = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let content = if body["response_format"]["json_schema"]["name"] == "answer" {
                answer.clone()
            } else {
                recommendation.clone()
            };
            async move {
                axum::Json(json!({"model": "local-model",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, server).await });
    env.spawn_ai_worker_with(
        env.ai_worker_with(std::sync::Arc::new(model(port, Duration::from_secs(5))?)),
    );
    let s = setup(&app).await?;
    let mut intake = intake_body("knee");
    intake["intake"]["injuries"] =
        json!([{"area": "knee", "side": "left", "status": "recovering"}]);
    let (st, answer) = submit(&app, &s, &s.cleo, &intake).await?;
    assert_eq!(st, 200, "{answer}");
    let path = format!(
        "/api/v1/studios/{}/clients/{}/questions",
        s.studio, s.client
    );
    let (st, asked) = app
        .call(
            Method::POST,
            &path,
            &s.owner,
            Some(json!({"question": "Can she do box jumps?"})),
        )
        .await?;
    assert_eq!(st, 202, "{asked}");
    let version = asked["version"].as_u64().unwrap_or(0);
    let answered = eventually(Duration::from_secs(30), "the answer", || async {
        let (st, list) = app
            .call(
                Method::GET,
                &format!("{path}?min_version={version}"),
                &s.owner,
                None,
            )
            .await?;
        anyhow::ensure!(st == 200, "{st} {list}");
        Ok(list
            .as_array()
            .and_then(|l| l.first().cloned())
            .filter(|q| q["answer"].is_object()))
    })
    .await?;
    assert_eq!(answered["answered_by"], "openai", "{answered}");
    assert_eq!(answered["answer"]["verdict"], "not_yet", "{answered}");
    let text = answered["answer"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("Box jumps are fine in moderation."), "{text}");
    let sources = answered["answer"]["sources"].to_string();
    assert!(
        sources.contains("the model") && sources.len() > "[\"the model\"]".len(),
        "{sources}"
    );
    Ok(())
}

/// Who sees a client's record and health data follows the assignments as committed,
/// not the view: with the projector stopped (the view still lists him), a trainer
/// removed from the client sees nothing more of them the moment the removal answered,
/// and a trainer assigned meanwhile sees the record at once. Each step is sent the
/// moment the previous one answered.
#[tokio::test]
async fn who_sees_a_client_follows_committed_assignments_not_a_lagging_view() -> anyhow::Result<()>
{
    let env = TestEnv::new().await?;
    let app = env.spawn_api().await?;
    env.spawn_relay();
    let projecting = env.spawn_projector();
    let s = setup(&app).await?;
    let theo = assigned_trainer(&app, &s, "Theo Removed").await?;
    let (st, body) = submit(&app, &s, &s.cleo, &intake_body("no overhead presses")).await?;
    assert_eq!(st, 200, "{body}");
    let version = body["version"].as_u64().unwrap_or_default();
    let seen = record(&app, &s, &theo, version).await?;
    assert_eq!(seen["intake"]["limitations"], "no overhead presses");

    // From here on the views stand still.
    projecting.cancel();
    let path = format!("/api/v1/studios/{}/clients/{}", s.studio, s.client);
    let (st, body) = app
        .call(
            Method::DELETE,
            &format!("{path}/trainers/{}", theo.id),
            &s.owner,
            None,
        )
        .await?;
    assert_eq!(st, 200, "{body}");
    // Trainers may see client records, but health data only of their own clients.
    let (st, body) = app.call(Method::GET, &path, &theo, None).await?;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["health_visible"], false, "{body}");
    assert!(body.get("intake").is_none(), "no health data: {body}");
    for read in [
        format!("{path}/recommendations"),
        format!("{path}/questions"),
    ] {
        let (st, body) = app.call(Method::GET, &read, &theo, None).await?;
        assert_eq!(st, 403, "{read} for the removed trainer: {body}");
    }
    let (st, body) = app
        .call(
            Method::POST,
            &format!("{path}/questions"),
            &theo,
            Some(json!({"question": "Can she deadlift?"})),
        )
        .await?;
    assert_eq!(st, 403, "a removed trainer asks nothing: {body}");

    let tara = assigned_trainer(&app, &s, "Tara Assigned").await?;
    let (st, body) = app.call(Method::GET, &path, &tara, None).await?;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["health_visible"], true, "{body}");
    assert_eq!(
        body["intake"]["limitations"], "no overhead presses",
        "{body}"
    );

    // The view is indeed behind: it still has Theo and not Tara.
    let trainers: Value =
        sqlx::query_scalar("SELECT doc->'assigned_trainers' FROM client_view WHERE id = $1")
            .bind(s.client)
            .fetch_one(&env.pool)
            .await?;
    let trainers = trainers.to_string();
    assert!(trainers.contains(&theo.id.to_string()), "{trainers}");
    assert!(!trainers.contains(&tara.id.to_string()), "{trainers}");
    Ok(())
}
