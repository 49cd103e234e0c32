//! Verified identities: email verification and password reset by mailed links.
//!
//! ```text
//! sign-up / resend ─► AccountRegistered / EmailVerificationRequested ─► (projector, worker)
//!   ─► mail with a single-use link ─► POST /auth/verify-email {token} ─► EmailVerified
//! POST /auth/password-reset/request {email} ─► 202 whether or not the address has an
//!   account ─► mail ─► POST /auth/password-reset {token, new_password} ─► PasswordReset:
//!   every session ends, the other reset links with them
//! ```
//!
//! Only a verified account can join a studio (accept an invitation). Tokens are found by
//! their hash ([`infra::links`]); the account aggregate refuses a spent or expired one.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use domain::account::{AccountCommand, MailedLink};
use domain::values::{Email, Password};
use infra::inline::AccountState;
use infra::links::{FoundLink, Purpose};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::accounts;
use crate::auth::AuthUser;
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::AppJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
}

/// The longest token looked up (tokens are 43 characters).
const MAX_TOKEN_CHARS: usize = 128;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmail {
    /// The token of the mailed link.
    #[schema(max_length = 128)]
    pub token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmailVerified {
    pub account_id: Uuid,
    pub email: String,
    pub email_verified: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MailRequested {
    /// Always `requested`: the mail goes out in the background.
    pub status: String,
}

fn requested() -> (StatusCode, AppJson<MailRequested>) {
    (
        StatusCode::ACCEPTED,
        AppJson(MailRequested {
            status: "requested".to_owned(),
        }),
    )
}

fn link_not_found() -> ApiError {
    ApiError::NotFound {
        code: "link_not_found",
        what: "link",
    }
}

/// The unspent link of `purpose` whose token is `token`, and its account.
async fn find_link(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<(Uuid, MailedLink), ApiError> {
    if token.chars().count() > MAX_TOKEN_CHARS {
        return Err(link_not_found());
    }
    let mut conn = state.pool.acquire().await?;
    let link = infra::links::find(&mut conn, token)
        .await?
        .filter(|l| l.purpose == purpose)
        .ok_or_else(link_not_found)?;
    if link.used {
        return Err(ApiError::refused(&domain::account::AccountError::LinkUsed));
    }
    let FoundLink {
        id,
        account_id,
        email,
        expires_at,
        ..
    } = link;
    let link = MailedLink {
        id,
        email: Email::parse(&email).map_err(|_| link_not_found())?,
        expires_at,
        now: Utc::now(),
    };
    Ok((account_id, link))
}

/// Verify the account's email address with the token of the mailed link.
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth", request_body = VerifyEmail,
    responses(
        (status = 200, description = "Verified", body = EmailVerified),
        (status = 404, description = "`link_not_found`: no such link (or not a verification link)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_conflict`: the account changed at the same moment; retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`link_used`, `link_expired`", body = Problem, content_type = "application/problem+json")))]
pub async fn verify_email(
    State(state): State<AppState>,
    ctx: RequestContext,
    AppJson(body): AppJson<VerifyEmail>,
) -> Result<AppJson<EmailVerified>, ApiError> {
    let (account, link) = find_link(&state, &body.token, Purpose::VerifyEmail).await?;
    let email = link.email.as_str().to_owned();
    let hook = AccountState::without_credentials();
    accounts::execute(
        &state,
        &ctx,
        account,
        AccountCommand::VerifyEmail { link },
        hook,
    )
    .await?;
    Ok(AppJson(EmailVerified {
        account_id: account,
        email,
        email_verified: true,
    }))
}

/// Mail a new verification link to the signed-in account's address (a few per hour at
/// most; more are not sent).
#[utoipa::path(post, path = "/auth/verify-email/resend", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 202, description = "A link is on its way", body = MailRequested),
        (status = 409, description = "`version_conflict`: the account changed at the same moment; retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`email_already_verified`", body = Problem, content_type = "application/problem+json")))]
pub async fn resend_verification(
    State(state): State<AppState>,
    user: AuthUser,
    ctx: RequestContext,
) -> Result<(StatusCode, AppJson<MailRequested>), ApiError> {
    let hook = AccountState::without_credentials();
    let command = AccountCommand::RequestEmailVerification;
    accounts::execute(&state, &ctx, user.account_id, command, hook).await?;
    Ok(requested())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestPasswordReset {
    pub email: String,
}

/// Ask for a password-reset link. The answer is the same whether or not the address has
/// an account; if it has, a link valid for an hour is mailed to it (a few per hour at
/// most).
#[utoipa::path(post, path = "/auth/password-reset/request", tag = "auth", request_body = RequestPasswordReset,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way", body = MailRequested),
        (status = 422, description = "`validation_failed`: not an email address", body = Problem, content_type = "application/problem+json")))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ctx: RequestContext,
    AppJson(body): AppJson<RequestPasswordReset>,
) -> Result<(StatusCode, AppJson<MailRequested>), ApiError> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid_field("email", e))?;
    let account: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM account WHERE lower(email) = $1")
            .bind(email.as_str())
            .fetch_optional(&state.pool)
            .await?;
    if let Some(account) = account {
        let hook = AccountState::without_credentials();
        match accounts::execute(
            &state,
            &ctx,
            account,
            AccountCommand::RequestPasswordReset,
            hook,
        )
        .await
        {
            // A concurrent change of the account: the answer must not differ, and the
            // person asks again if no mail comes.
            Ok(()) | Err(ApiError::VersionConflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(requested())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The token of the mailed link.
    #[schema(max_length = 128)]
    pub token: String,
    /// 10..=128 characters, not trivially repetitive, not containing the email.
    pub new_password: String,
}

/// Set a new password with the token of a mailed reset link. Every session of the
/// account ends (sign in again), every other reset link stops working, and an unverified
/// address counts as verified (the link proved it).
#[utoipa::path(post, path = "/auth/password-reset", tag = "auth", request_body = ResetPassword,
    responses(
        (status = 204, description = "Password set; sign in with it"),
        (status = 404, description = "`link_not_found`: no such link (or not a reset link)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_conflict`: the account changed at the same moment; retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`link_used`, `link_expired`, `validation_failed` (password policy)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: too many passwords are being checked at once (see `Retry-After`)", body = Problem, content_type = "application/problem+json")))]
pub async fn reset_password(
    State(state): State<AppState>,
    ctx: RequestContext,
    AppJson(body): AppJson<ResetPassword>,
) -> Result<StatusCode, ApiError> {
    let (account, link) = find_link(&state, &body.token, Purpose::ResetPassword).await?;
    let password = Password::parse(&body.new_password, Some(&link.email))
        .map_err(|e| ApiError::invalid_field("new_password", e))?;
    let hash = state.passwords.hash(password.expose().to_owned()).await?;
    let hook = AccountState {
        password_hash: Some(hash),
        keep_session: None,
    };
    accounts::execute(
        &state,
        &ctx,
        account,
        AccountCommand::ResetPassword { link },
        hook,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
