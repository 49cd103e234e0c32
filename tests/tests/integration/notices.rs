//! Notices people get without asking for them (issue 12): the invitee gets the invitation
//! by mail, an account's owner hears that its password changed, a client hears that a
//! strike paused their booking and until when. Each once, through the whole pipeline,
//! each step sent the moment the previous one answered.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use repstream_tests::{eventually, TestApp, TestEnv, TestUser};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// The mails to `to` whose subject contains `subject`, once there are at least `n`.
async fn mails(
    env: &TestEnv,
    to: &str,
    subject: &str,
    n: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    eventually(Duration::from_secs(30), subject, || async {
        let found: Vec<_> = env
            .mails_to(to)
            .into_iter()
            .filter(|(s, _)| s.contains(subject))
            .collect();
        Ok((found.len() >= n).then_some(found))
    })
    .await
}

/// The token of the first link to `/{path}?token=` in `body`.
fn token_in(body: &str, path: &str) -> Option<String> {
    let marker = format!("/{path}?token=");
    let start = body.find(&marker)? + marker.len();
    Some(
        body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// Waits until the notification worker settled every job of `tenant` it was given (so
/// a duplicate would have shown by now).
async fn settled(env: &TestEnv, tenant: Uuid, at_least: i64) -> anyhow::Result<()> {
    eventually(Duration::from_secs(30), "the jobs settled", || async {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM side_effect WHERE consumer = 'notifications' AND tenant_id = $1 \
             AND state <> 'claimed'",
        )
        .bind(tenant)
        .fetch_one(&env.pool)
        .await?;
        Ok((done >= at_least).then_some(()))
    })
    .await
}

#[tokio::test]
async fn an_invitee_gets_the_invitation_by_mail_and_joins_with_its_link() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Inviting Owner").await?;
    let studio = app.create_studio(&owner, "Invite Studio").await?;
    let trainer = app.user("Invited Trainer").await?;
    let answered = app
        .invite(&owner, studio, &trainer.email, "trainer")
        .await?;
    // An address without an account is invited the same way.
    app.invite(&owner, studio, "newcomer@invitees.example", "client")
        .await?;

    let mail = mails(&env, &trainer.email, "invites you to join", 1).await?;
    assert_eq!(mail[0].0, "Invite Studio invites you to join as trainer");
    let mailed = token_in(&mail[0].1, "accept-invitation").unwrap_or_default();
    assert_eq!(mailed, answered, "the mail carries the invitation's token");
    let (s, body) = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            &trainer,
            Some(json!({ "token": mailed })),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            &trainer,
            Some(json!({ "token": mailed })),
        )
        .await?;
    assert_eq!(s, 422, "{body}");
    let newcomer = mails(&env, "newcomer@invitees.example", "invites you", 1).await?;
    assert_eq!(newcomer[0].0, "Invite Studio invites you to join as client");

    settled(&env, studio, 2).await?;
    assert_eq!(
        mails(&env, &trainer.email, "invites you", 1).await?.len(),
        1,
        "once"
    );
    Ok(())
}

/// The mails telling `user` their password was changed, once there are `n`.
async fn changed_notices(
    env: &TestEnv,
    user: &TestUser,
    n: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    mails(env, &user.email, "Your repstream password was changed", n).await
}

async fn change_password(app: &TestApp, user: &TestUser, new: &str) -> anyhow::Result<()> {
    let r = app
        .req(Method::POST, "/api/v1/auth/password", user)
        .json(&json!({"current_password": user.password, "new_password": new}))
        .send()
        .await?;
    anyhow::ensure!(
        r.status().as_u16() == 204,
        "change password: {}",
        r.status()
    );
    Ok(())
}

#[tokio::test]
async fn a_changed_or_reset_password_is_told_to_the_account_once_each() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let user = app.user("Careful Member").await?;
    change_password(&app, &user, "Brand-New-Secret-77").await?;
    let notice = changed_notices(&env, &user, 1).await?;
    assert!(
        notice[0]
            .1
            .contains("If it was not you, reset your password"),
        "{}",
        notice[0].1
    );

    // A reset by mail is told the same way.
    let (s, _) = app
        .post_json(
            "/api/v1/auth/password-reset/request",
            &json!({"email": user.email}),
        )
        .await?;
    assert_eq!(s, 202);
    let reset = mails(&env, &user.email, "Reset your repstream password", 1).await?;
    let token = token_in(&reset[0].1, "reset-password").unwrap_or_default();
    let (s, body) = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"token": token, "new_password": "Another-Secret-88"}),
        )
        .await?;
    assert_eq!(s, 204, "{body}");
    changed_notices(&env, &user, 2).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(changed_notices(&env, &user, 2).await?.len(), 2, "once each");
    Ok(())
}

#[tokio::test]
async fn the_strike_that_reaches_the_limit_tells_the_client_until_when_booking_is_paused(
) -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let app = env.spawn_all().await?;
    let owner = app.user("Strict Owner").await?;
    let studio = app.create_studio(&owner, "Strict Studio").await?;
    let (s, body) = app
        .call(
            Method::PUT,
            &format!("/api/v1/studios/{studio}/settings"),
            &owner,
            Some(json!({"settings": {"strike_limit": 2, "strike_block_days": 7, "cancellation_cutoff_hours": 12}})),
        )
        .await?;
    assert_eq!(s, 200, "{body}");
    let to = "late.larry@clients.example";
    let (s, client) = app
        .call(
            Method::POST,
            &format!("/api/v1/studios/{studio}/clients"),
            &owner,
            Some(json!({"full_name": "Larry", "email": to})),
        )
        .await?;
    assert_eq!(s, 201, "{client}");
    let client = client["id"].as_str().unwrap_or_default().to_owned();
    // Two classes within the free-cancel cutoff, each booked and cancelled at once: two
    // late cancels, the second reaches the limit.
    for hours in [3, 4] {
        let (s, class) = app
            .call(
                Method::POST,
                &format!("/api/v1/studios/{studio}/classes"),
                &owner,
                Some(json!({"title": format!("Late Flow {hours}"), "starts_at": Utc::now() + Span::hours(hours), "duration_minutes": 50, "capacity": 5})),
            )
            .await?;
        assert_eq!(s, 201, "{class}");
        let class = class["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/api/v1/studios/{studio}/classes/{class}/bookings");
        let (s, booking) = app
            .call(
                Method::POST,
                &path,
                &owner,
                Some(json!({ "client_id": client })),
            )
            .await?;
        assert_eq!(s, 201, "{booking}");
        let booking = booking["booking_id"].as_str().unwrap_or_default();
        let (s, cancelled) = app
            .call(Method::DELETE, &format!("{path}/{booking}"), &owner, None)
            .await?;
        assert_eq!(
            (s, cancelled["strike"].as_bool()),
            (200, Some(true)),
            "{cancelled}"
        );
    }

    let notice = mails(&env, to, "booking is paused until", 1).await?;
    let last: DateTime<Utc> =
        sqlx::query_scalar("SELECT max(at) FROM client_strike WHERE tenant_id = $1")
            .bind(studio)
            .fetch_one(&env.pool)
            .await?;
    let until = (last + Span::days(7)).with_timezone(&chrono_tz::Europe::Berlin);
    let when = format!("{} (Europe/Berlin)", until.format("%a %-d %b %Y, %H:%M"));
    assert_eq!(
        notice[0].0,
        format!("Strict Studio: booking is paused until {when}")
    );
    assert!(
        notice[0].1.contains("strike number 2 within 30 days"),
        "{}",
        notice[0].1
    );
    assert!(notice[0].1.contains("Late Flow 4"), "{}", notice[0].1);
    // Two booking confirmations, two cancellations and one notice (the first strike
    // paused nothing).
    mails(&env, to, "cancelled", 2).await?;
    settled(&env, studio, 5).await?;
    assert_eq!(mails(&env, to, "booking is paused", 1).await?.len(), 1);
    Ok(())
}
