//! Verified identities (issue 11, finding 1), written as the attacks: an address squatted
//! before its owner signs up, member-add-by-email as an account oracle, mailed links
//! replayed, expired or used for the other purpose, and mail as a weapon (the studio's
//! contact confirmation and link requests are bounded). The mails are read from the
//! local mailbox the notification worker writes, through the whole pipeline.

use std::time::Duration;

use repstream_tests::{eventually, TestEnv};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// The token of the newest mail to `to` whose link opens `path`, once it has arrived.
async fn mailed_token(env: &TestEnv, to: &str, path: &str, after: usize) -> anyhow::Result<String> {
    let marker = format!("/{path}?token=");
    eventually(Duration::from_secs(30), "the mailed link", || async {
        let mails = env.mails_to(to);
        let token = mails.iter().skip(after).rev().find_map(|(_, body)| {
            let start = body.find(&marker)? + marker.len();
            Some(
                body[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>(),
            )
        });
        Ok(token)
    })
    .await
}

#[tokio::test]
async fn a_squatted_address_gets_nobody_into_a_studio_and_its_owner_takes_it_back(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Studio Owner").await?;
    let studio = app.create_studio(&owner, "Squat Gym").await?;
    // The attack: sign up with the coach's address before the coach does.
    let coach = format!(
        "coach-{}@partner.example",
        &Uuid::new_v4().simple().to_string()[..8]
    );
    let squatter = {
        let id = app
            .signup(&coach, "Squatters-Password-1", "Not The Coach")
            .await?;
        let mut user = app.sign_in(&coach, "Squatters-Password-1").await?;
        user.id = id;
        user
    };
    // The owner adds the coach as admin: an invitation, answered exactly as for an
    // address nobody has signed up with (no oracle, no name).
    let shape = |body: &serde_json::Value| {
        let mut keys: Vec<String> = body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        (body["outcome"].clone(), keys)
    };
    let members = format!("/api/v1/studios/{studio}/members");
    let (s, squatted) = app
        .call(
            Method::POST,
            &members,
            &owner,
            Some(json!({"email": coach, "role": "admin"})),
        )
        .await?;
    assert_eq!(s, 201, "{squatted}");
    let (s, unknown) = app
        .call(
            Method::POST,
            &members,
            &owner,
            Some(json!({"email": "nobody-here@partner.example", "role": "admin"})),
        )
        .await?;
    assert_eq!(s, 201, "{unknown}");
    assert_eq!(shape(&squatted), shape(&unknown));
    assert_eq!(squatted["outcome"], "invited");
    let (_, list) = app.call(Method::GET, &members, &owner, None).await?;
    assert!(!list.to_string().contains("Not The Coach"), "{list}");
    // Even holding the invitation token, the unverified squatter cannot join.
    let token = squatted["invitation"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (s, body) = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            &squatter,
            Some(json!({"token": token})),
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("email_not_verified")),
        "{body}"
    );
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/studios/{studio}/clients"),
            &squatter,
            None,
        )
        .await?;
    assert_eq!(s, 404);

    // The coach cannot sign up (taken), so resets the password by mail: the squatter's
    // sessions end, the address counts as verified, and the invitation can be accepted.
    let mails_before = env.mails_to(&coach).len();
    let (s, body) = app
        .post_json(
            "/api/v1/auth/password-reset/request",
            &json!({"email": coach}),
        )
        .await?;
    assert_eq!(s, 202, "{body}");
    let reset = mailed_token(&env, &coach, "reset-password", mails_before).await?;
    let (s, body) = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"token": reset, "new_password": "The-Real-Coach-42"}),
        )
        .await?;
    assert_eq!(s, 204, "{body}");
    let (s, body) = app.call(Method::GET, "/api/v1/me", &squatter, None).await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (401, Some("session_revoked")),
        "{body}"
    );
    let (s, _) = app.login(&coach, "Squatters-Password-1").await?;
    assert_eq!(s, 400);
    let real = app.sign_in(&coach, "The-Real-Coach-42").await?;
    let (s, body) = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            &real,
            Some(json!({"token": token})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let (s, me) = app.call(Method::GET, "/api/v1/me", &real, None).await?;
    assert_eq!(s, 200);
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["memberships"][0]["role"], "admin", "{me}");
    Ok(())
}

#[tokio::test]
async fn the_mailed_verification_link_verifies_once() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let user = app.unverified_user("Fresh Signup").await?;
    let (_, me) = app.call(Method::GET, "/api/v1/me", &user, None).await?;
    assert_eq!(me["email_verified"], false);
    let token = mailed_token(&env, &user.email, "verify-email", 0).await?;
    let (subject, body) = env.mails_to(&user.email).remove(0);
    assert_eq!(subject, "Confirm your email address for repstream");
    assert!(body.contains(repstream_tests::TEST_APP_URL), "{body}");
    let verify = |token: String| {
        let app = &app;
        async move {
            app.post_json("/api/v1/auth/verify-email", &json!({"token": token}))
                .await
        }
    };
    let (s, body) = verify(token.clone()).await?;
    assert_eq!(
        (s, body["email_verified"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let (s, body) = verify(token.clone()).await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("link_used")),
        "{body}"
    );
    let (_, me) = app.call(Method::GET, "/api/v1/me", &user, None).await?;
    assert_eq!(me["email_verified"], true);
    let (s, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/verify-email/resend",
            &user,
            None,
        )
        .await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("email_already_verified"))
    );
    // A verification token is no reset token, and made-up or huge tokens find nothing.
    for token in [token, "A".repeat(43), "x".repeat(5000)] {
        let (s, body) = app
            .post_json(
                "/api/v1/auth/password-reset",
                &json!({"token": token, "new_password": "Some-New-Password-1"}),
            )
            .await?;
        assert_eq!(
            (s, body["code"].as_str()),
            (404, Some("link_not_found")),
            "{body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_reset_link_works_once_within_its_hour_and_ends_every_session() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let user = app.user("Forgetful Member").await?;
    let phone = app.sign_in(&user.email, &user.password).await?;
    // The same answer for an address without an account.
    let (s, unknown) = app
        .post_json(
            "/api/v1/auth/password-reset/request",
            &json!({"email": "no-account@example.com"}),
        )
        .await?;
    let (s2, known) = app
        .post_json(
            "/api/v1/auth/password-reset/request",
            &json!({"email": user.email}),
        )
        .await?;
    assert_eq!((s, &unknown), (s2, &known));
    assert_eq!(s, 202);
    let first = mailed_token(&env, &user.email, "reset-password", 0).await?;
    // A second request before the first link is used: using either voids the other.
    let mails = env.mails_to(&user.email).len();
    app.post_json(
        "/api/v1/auth/password-reset/request",
        &json!({"email": user.email}),
    )
    .await?;
    let second = mailed_token(&env, &user.email, "reset-password", mails).await?;
    assert_ne!(first, second);
    let reset = |token: &str, password: &str| {
        let body = json!({"token": token, "new_password": password});
        let app = &app;
        async move { app.post_json("/api/v1/auth/password-reset", &body).await }
    };
    let (s, body) = reset(&second, "short").await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("validation_failed")),
        "{body}"
    );
    let (s, body) = reset(&second, "Brand-New-Password-7").await?;
    assert_eq!(s, 204, "{body}");
    for token in [&second, &first] {
        let (s, body) = reset(token, "Another-Password-8").await?;
        assert_eq!(
            (s, body["code"].as_str()),
            (422, Some("link_used")),
            "{body}"
        );
    }
    // Every session ended: access tokens and refresh tokens alike.
    for session in [&user, &phone] {
        let (s, body) = app.call(Method::GET, "/api/v1/me", session, None).await?;
        assert_eq!(
            (s, body["code"].as_str()),
            (401, Some("session_revoked")),
            "{body}"
        );
        let r = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", session.refresh_token.as_str()),
            ])
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 400);
    }
    assert_eq!(app.login(&user.email, &user.password).await?.0, 400);
    assert_eq!(app.login(&user.email, "Brand-New-Password-7").await?.0, 200);

    // An expired link, recorded as the worker records it.
    let link = infra::links::NewLink {
        id: Uuid::now_v7(),
        account_id: user.id,
        purpose: infra::links::Purpose::ResetPassword,
        email: user.email.clone(),
        expires_at: chrono::Utc::now() - chrono::Duration::seconds(1),
    };
    let expired = infra::links::issue(
        &env.worker_pool,
        &repstream_tests::link_settings().key,
        &link,
    )
    .await?;
    let (s, body) = reset(&expired, "Too-Late-Password-9").await?;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("link_expired")),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn mail_cannot_be_used_to_flood_an_address() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Mail Bomber").await?;
    let studio = app.create_studio(&owner, "Spam Studio").await?;
    // Every contact change mails a confirmation: eight in a row, no waiting.
    let victim = "victim@mail.example";
    for i in 0..8 {
        let address = if i % 2 == 0 {
            victim.to_owned()
        } else {
            format!("other{i}@mail.example")
        };
        let (s, body) = app
            .call(
                Method::PUT,
                &format!("/api/v1/studios/{studio}/settings"),
                &owner,
                Some(json!({"settings": {"contact_email": address}})),
            )
            .await?;
        assert_eq!(s, 200, "{body}");
    }
    // And a reset request after another for one account.
    for _ in 0..6 {
        let (s, _) = app
            .post_json(
                "/api/v1/auth/password-reset/request",
                &json!({"email": owner.email}),
            )
            .await?;
        assert_eq!(s, 202);
    }
    let settled = |key: String, jobs: i64| {
        let pool = env.pool.clone();
        async move {
            eventually(Duration::from_secs(30), "every mail job settled", || {
                let (pool, key) = (pool.clone(), key.clone());
                async move {
                    let (all, sent): (i64, i64) = sqlx::query_as(
                        "SELECT count(*), count(*) FILTER (WHERE state = 'done') FROM side_effect \
                         WHERE budget_key = $1 AND state IN ('done', 'suppressed')",
                    )
                    .bind(&key)
                    .fetch_one(&pool)
                    .await?;
                    Ok((all == jobs).then_some(sent))
                }
            })
            .await
        }
    };
    assert_eq!(settled(format!("studio:{studio}:contact"), 8).await?, 3);
    assert_eq!(settled(format!("account:{}:reset", owner.id), 6).await?, 3);
    let contact_mails: usize = std::iter::once(victim.to_owned())
        .chain((1..8).step_by(2).map(|i| format!("other{i}@mail.example")))
        .map(|to| env.mails_to(&to).len())
        .sum();
    assert_eq!(contact_mails, 3);
    assert_eq!(
        env.mails_to(&owner.email)
            .iter()
            .filter(|(subject, _)| subject.contains("Reset"))
            .count(),
        3
    );
    Ok(())
}

#[tokio::test]
async fn an_address_verified_before_its_mail_went_out_gets_no_verification_mail(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    // Signed up and verified (as the demo seed does) before the pipeline runs.
    let app = env.spawn_api().await?;
    let verified = app.user("Verified Early").await?;
    let pending = app.unverified_user("Not Yet").await?;
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    // The unverified one's mail arrives; by then the verified one's job was handled too
    // (one queue, handled in order per tenant: both are platform jobs).
    mailed_token(&env, &pending.email, "verify-email", 0).await?;
    let pool = env.pool.clone();
    eventually(
        Duration::from_secs(30),
        "the notifications queue drained",
        || {
            let env = &env;
            async move { Ok((env.queue_depth(&env.notifications_queue).await? == 0).then_some(())) }
        },
    )
    .await?;
    assert_eq!(env.mails_to(&verified.email).len(), 0);
    let claimed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM side_effect WHERE consumer = 'notifications'")
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        claimed, 1,
        "only the unverified address's mail was claimed and sent"
    );
    Ok(())
}
