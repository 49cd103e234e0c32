//! Sign-up, sign-in (OAuth2 token endpoint), refresh, logout, password change, `/me`.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::account::{AccountCommand, AccountId, PLATFORM_TENANT};
use domain::values::{DisplayName, Email, Password};
use infra::event_store::CommandError;
use infra::inline::AccountState;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{new_opaque_token, sha256_hex, AuthUser};
use crate::context::RequestContext;
use crate::error::{ApiError, OAuthError, OAuthErrorCode, Problem, TokenError, Validator};
use crate::extract::AppJson;
use crate::state::AppState;
use crate::tenancy::tenant_tx;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(token))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Signup {
    pub email: String,
    /// 10..=128 characters, not trivially repetitive, not containing the email.
    pub password: String,
    pub full_name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountInfo {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
}

/// Create an account.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = Signup,
    responses(
        (status = 201, description = "Account created; sign in with /auth/token", body = AccountInfo),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (email, password policy, name)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: too many passwords are being checked at once (see `Retry-After`)", body = Problem, content_type = "application/problem+json")))]
pub async fn signup(
    State(state): State<AppState>,
    ctx: RequestContext,
    AppJson(body): AppJson<Signup>,
) -> Result<Response, ApiError> {
    let mut v = Validator::new();
    let email = v.check("email", Email::parse(&body.email));
    let password = v.check("password", Password::parse(&body.password, email.as_ref()));
    let full_name = v.check("full_name", DisplayName::parse(&body.full_name));
    let (email, password, full_name) = v.finish(|| Some((email?, password?, full_name?)))?;
    let hash = state.passwords.hash(password.expose().to_owned()).await?;
    let account_id = Uuid::now_v7();
    let command = AccountCommand::Register {
        account_id: AccountId(account_id),
        email: email.clone(),
        full_name: full_name.clone(),
    };
    let hook = Arc::new(AccountState {
        password_hash: Some(hash),
        keep_session: None,
    });
    let mut meta = ctx.metadata(PLATFORM_TENANT);
    meta.actor = format!("user:{account_id}");
    state
        .bus::<domain::account::Account>()
        .execute_with_hook(&account_id.to_string(), command, None, meta, hook)
        .await
        .map_err(|e| match e {
            CommandError::Unique(c) if c == "account_email_key" => ApiError::Conflict {
                code: "email_taken",
                message: "an account with this email already exists".to_owned(),
            },
            other => crate::error::from_command(other),
        })?;
    Ok((
        StatusCode::CREATED,
        AppJson(AccountInfo {
            id: account_id,
            email: email.to_string(),
            full_name: full_name.to_string(),
        }),
    )
        .into_response())
}

/// OAuth2 token request (RFC 6749 §4.3 and §6), as a form or JSON.
// The bounds are MAX_USERNAME_CHARS and MAX_FIELD_CHARS (`schema` takes only literals).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `password` or `refresh_token`.
    #[schema(max_length = 1024)]
    pub grant_type: String,
    /// The email (password grant).
    #[schema(max_length = 254)]
    pub username: Option<String>,
    #[schema(max_length = 1024)]
    pub password: Option<String>,
    /// The refresh token (refresh grant).
    #[schema(max_length = 1024)]
    pub refresh_token: Option<String>,
    /// Accepted and ignored.
    #[schema(max_length = 1024)]
    pub scope: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Lifetime of the access token, in seconds.
    pub expires_in: u64,
    /// Single use: each refresh returns a new one. Presenting a used one again ends the
    /// session.
    pub refresh_token: String,
}

/// The longest `username` the token endpoint reads: the longest email address (RFC 5321).
const MAX_USERNAME_CHARS: usize = 254;
/// The longest `password`, `refresh_token` or `scope` it reads.
const MAX_FIELD_CHARS: usize = 1024;

/// Accepts `application/x-www-form-urlencoded` (OAuth2 clients) or JSON; anything else,
/// and any field out of bounds, is `invalid_request` ([`TokenError`]).
pub struct TokenForm(TokenRequest);

impl<S: Send + Sync> FromRequest<S> for TokenForm {
    type Rejection = TokenError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let request = if is_form {
            axum::Form::<TokenRequest>::from_request(req, state)
                .await
                .map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::PayloadTooLarge
                    } else {
                        ApiError::InvalidBody(e.body_text())
                    }
                })?
                .0
        } else {
            AppJson::<TokenRequest>::from_request(req, state).await?.0
        };
        check_token_request(&request)?;
        Ok(Self(request))
    }
}

/// Bounds every field (an email longer than any address must not reach the sign-in
/// bookkeeping) and, as for JSON bodies (see `AppJson`), keeps NUL out of Postgres.
fn check_token_request(r: &TokenRequest) -> Result<(), ApiError> {
    let invalid = |message: String| ApiError::OAuth {
        code: OAuthErrorCode::InvalidRequest,
        message,
    };
    let fields = [
        ("grant_type", Some(&r.grant_type), MAX_FIELD_CHARS),
        ("username", r.username.as_ref(), MAX_USERNAME_CHARS),
        ("password", r.password.as_ref(), MAX_FIELD_CHARS),
        ("refresh_token", r.refresh_token.as_ref(), MAX_FIELD_CHARS),
        ("scope", r.scope.as_ref(), MAX_FIELD_CHARS),
    ];
    for (name, value, max) in fields {
        let Some(value) = value else { continue };
        if value.contains('\0') {
            return Err(invalid(format!(
                "`{name}` may not contain the NUL character"
            )));
        }
        if value.chars().count() > max {
            return Err(invalid(format!("`{name}` is longer than {max} characters")));
        }
    }
    Ok(())
}

fn invalid_grant(message: &str) -> ApiError {
    ApiError::OAuth {
        code: OAuthErrorCode::InvalidGrant,
        message: message.to_owned(),
    }
}

/// Failed sign-ins from one source before it is locked out of an account, and the first
/// lock's length (doubling with each further failure, up to [`MAX_LOCK_MINUTES`]).
const FREE_FAILURES: i32 = 5;
const MAX_LOCK_MINUTES: i32 = 60;

/// Sign in (password grant) or refresh (refresh_token grant).
///
/// Errors are RFC 6749 §5.2 documents (`{"error", "error_description"}`), which OAuth2
/// clients parse, not problem+json; only `413`, `429` and `5xx` are problem+json, as on
/// every endpoint.
#[utoipa::path(post, path = "/auth/token", tag = "auth",
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"))),
    responses(
        (status = 200, description = "Tokens", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "RFC 6749 §5.2: `invalid_request` (a missing parameter, \
            another media type than a form or JSON, a body that does not parse, a field out of \
            bounds: `username` up to 254 characters, the others up to 1024), `invalid_grant` \
            (wrong email or password; an unknown, used, expired or ended refresh token), \
            `unsupported_grant_type`", body = OAuthError,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 429, description = "`account_locked` after repeated failures, or `rate_limited`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: too many passwords are being checked at once (see `Retry-After`)", body = Problem, content_type = "application/problem+json")))]
pub async fn token(
    State(state): State<AppState>,
    ctx: Result<RequestContext, ApiError>,
    TokenForm(body): TokenForm,
) -> Result<Response, TokenError> {
    let ctx = ctx?;
    let invalid_request = |message: &str| ApiError::OAuth {
        code: OAuthErrorCode::InvalidRequest,
        message: message.to_owned(),
    };
    let response = match body.grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (body.username, body.password) else {
                return Err(
                    invalid_request("the password grant needs `username` and `password`").into(),
                );
            };
            password_grant(&state, &ctx, &username, password).await?
        }
        "refresh_token" => {
            let Some(refresh) = body.refresh_token else {
                return Err(
                    invalid_request("the refresh_token grant needs `refresh_token`").into(),
                );
            };
            refresh_grant(&state, &refresh).await?
        }
        _ => {
            return Err(ApiError::OAuth {
                code: OAuthErrorCode::UnsupportedGrantType,
                message: "grant_type must be `password` or `refresh_token`".to_owned(),
            }
            .into())
        }
    };
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        AppJson(response),
    )
        .into_response())
}

async fn password_grant(
    state: &AppState,
    ctx: &RequestContext,
    username: &str,
    password: String,
) -> Result<TokenResponse, ApiError> {
    let email = username.trim().to_lowercase();
    let source = ctx.source_network();
    // The attempt is counted before the password is checked, in one statement that also
    // tells whether a lock was already on: parallel guesses each take their own count, so
    // no more than FREE_FAILURES of them get past the lock (a correct password clears the
    // count below). Counts, exponent and lock are capped in SQL: no overflow. A day
    // without failures starts the count afresh.
    let (refused, retry_after): (bool, i64) = sqlx::query_as(
        "INSERT INTO login_attempt AS a (email, source, failures, last_failure) VALUES ($1, $2, 1, now()) \
         ON CONFLICT (email, source) DO UPDATE SET \
           refused = a.locked_until IS NOT NULL AND a.locked_until > now(), \
           failures = CASE WHEN a.locked_until > now() THEN a.failures \
                           WHEN a.last_failure < now() - interval '1 day' THEN 1 \
                           ELSE LEAST(a.failures + 1, 1000) END, \
           locked_until = CASE \
             WHEN a.locked_until > now() THEN a.locked_until \
             WHEN a.last_failure < now() - interval '1 day' THEN NULL \
             WHEN a.failures + 1 >= $3 THEN now() + make_interval(mins => \
               LEAST($4, power(2, LEAST(a.failures + 1 - $3, 16))::int)) \
             ELSE NULL END, \
           last_failure = CASE WHEN a.locked_until > now() THEN a.last_failure ELSE now() END \
         RETURNING refused, COALESCE(ceil(extract(epoch FROM locked_until - now()))::int8, 0)",
    )
    .bind(&email)
    .bind(&source)
    .bind(FREE_FAILURES)
    .bind(MAX_LOCK_MINUTES)
    .fetch_one(&state.pool)
    .await?;
    if refused {
        return Err(ApiError::TooManyRequests {
            code: "account_locked",
            message: "too many failed sign-ins from your network; try again later".to_owned(),
            retry_after_secs: retry_after.max(1) as u64,
        });
    }
    let row = sqlx::query(
        "SELECT a.id, c.password_hash FROM account a JOIN account_credential c ON c.account_id = a.id \
         WHERE lower(a.email) = $1",
    )
    .bind(&email)
    .fetch_optional(&state.pool)
    .await?;
    let (account, stored) = match row {
        Some(r) => (
            Some(r.try_get::<Uuid, _>(0)?),
            Some(r.try_get::<String, _>(1)?),
        ),
        None => (None, None),
    };
    let valid = state.passwords.verify(password, stored).await?;
    let Some(account) = account.filter(|_| valid) else {
        return Err(invalid_grant("wrong email or password"));
    };
    sqlx::query("DELETE FROM login_attempt WHERE email = $1 AND source = $2")
        .bind(&email)
        .bind(&source)
        .execute(&state.pool)
        .await?;
    let session = Uuid::now_v7();
    let (refresh, refresh_hash) = new_opaque_token()?;
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "INSERT INTO auth_session (id, account_id, ip, user_agent, expires_at) \
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(session)
    .bind(account)
    .bind(&ctx.ip)
    .bind(&ctx.user_agent)
    .bind(state.tokens.config().session_max_age.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    insert_refresh(&mut tx, state, &refresh_hash, session).await?;
    tx.commit().await?;
    let (access_token, expires_in) = state.tokens.issue(account, session)?;
    Ok(TokenResponse {
        access_token,
        token_type: "bearer".to_owned(),
        expires_in,
        refresh_token: refresh,
    })
}

async fn insert_refresh(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    hash: &str,
    session: Uuid,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO refresh_token (token_hash, session_id, expires_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(hash)
    .bind(session)
    .bind(state.tokens.config().refresh_ttl.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(())
}

async fn refresh_grant(state: &AppState, refresh: &str) -> Result<TokenResponse, ApiError> {
    let hash = sha256_hex(refresh.trim());
    let mut tx = state.pool.begin().await?;
    let row = sqlx::query(
        "SELECT t.session_id, t.used_at IS NOT NULL, t.expires_at < now() OR s.expires_at < now(), \
           s.revoked_at IS NOT NULL, s.account_id \
         FROM refresh_token t JOIN auth_session s ON s.id = t.session_id \
         WHERE t.token_hash = $1 FOR UPDATE OF t, s",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(invalid_grant("unknown refresh token"));
    };
    let session: Uuid = row.try_get(0)?;
    let used: bool = row.try_get(1)?;
    let expired: bool = row.try_get(2)?;
    let revoked: bool = row.try_get(3)?;
    let account: Uuid = row.try_get(4)?;
    if used {
        // Reuse: someone holds a copy. End the whole family.
        sqlx::query(
            "UPDATE auth_session SET revoked_at = COALESCE(revoked_at, now()), \
             revoke_reason = COALESCE(revoke_reason, 'refresh_token_reuse') WHERE id = $1",
        )
        .bind(session)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::warn!(%session, "refresh token reused; session revoked");
        return Err(invalid_grant(
            "this refresh token was already used; the session has been ended",
        ));
    }
    if revoked {
        return Err(invalid_grant("this session has ended"));
    }
    if expired {
        return Err(invalid_grant("the refresh token has expired"));
    }
    sqlx::query("UPDATE refresh_token SET used_at = now() WHERE token_hash = $1")
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    let (next, next_hash) = new_opaque_token()?;
    insert_refresh(&mut tx, state, &next_hash, session).await?;
    tx.commit().await?;
    let (access_token, expires_in) = state.tokens.issue(account, session)?;
    Ok(TokenResponse {
        access_token,
        token_type: "bearer".to_owned(),
        expires_in,
        refresh_token: next,
    })
}

/// End the current session (its access and refresh tokens stop working).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthorized`, `invalid_token`, `session_revoked`", body = Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, ApiError> {
    sqlx::query(
        "UPDATE auth_session SET revoked_at = now(), revoke_reason = 'logout' WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(user.session_id)
    .execute(&state.pool)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Change the password; every other session of the account ends.
#[utoipa::path(post, path = "/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "`invalid_grant`: the current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: password policy", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: too many passwords are being checked at once (see `Retry-After`)", body = Problem, content_type = "application/problem+json")))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    ctx: RequestContext,
    AppJson(body): AppJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let row = sqlx::query(
        "SELECT a.email, c.password_hash FROM account a JOIN account_credential c ON c.account_id = a.id WHERE a.id = $1",
    )
    .bind(user.account_id)
    .fetch_one(&state.pool)
    .await?;
    let email: String = row.try_get(0)?;
    let stored: String = row.try_get(1)?;
    if !state
        .passwords
        .verify(body.current_password, Some(stored))
        .await?
    {
        return Err(invalid_grant("the current password is wrong"));
    }
    let email = Email::parse(&email).ok();
    let password = Password::parse(&body.new_password, email.as_ref())
        .map_err(|e| ApiError::invalid_field("new_password", e))?;
    let hash = state.passwords.hash(password.expose().to_owned()).await?;
    let hook = Arc::new(AccountState {
        password_hash: Some(hash),
        keep_session: Some(user.session_id),
    });
    state
        .bus::<domain::account::Account>()
        .execute_with_hook(
            &user.account_id.to_string(),
            AccountCommand::ChangePassword,
            None,
            ctx.metadata(PLATFORM_TENANT),
            hook,
        )
        .await
        .map_err(crate::error::from_command)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MembershipInfo {
    pub studio_id: Uuid,
    /// Absent until the studio's view has been projected.
    pub studio_name: Option<String>,
    pub role: domain::policy::Role,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    /// Studios can invite only verified addresses (see `/auth/verify-email`).
    pub email_verified: bool,
    pub memberships: Vec<MembershipInfo>,
}

/// The signed-in account and its studio memberships.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "Who you are", body = Me),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json")))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<AppJson<Me>, ApiError> {
    let mut tx = tenant_tx(&state.pool, None, Some(user.account_id)).await?;
    let account = sqlx::query(
        "SELECT id, email, full_name, email_verified_at IS NOT NULL FROM account WHERE id = $1",
    )
    .bind(user.account_id)
    .fetch_one(&mut *tx)
    .await?;
    let rows = sqlx::query(
        "SELECT m.tenant_id, v.name, m.role FROM studio_membership m \
         LEFT JOIN studio_view v ON v.id = m.tenant_id WHERE m.account_id = $1 ORDER BY v.name, m.tenant_id",
    )
    .bind(user.account_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let memberships = rows
        .into_iter()
        .filter_map(|r| {
            let role: String = r.try_get(2).ok()?;
            Some(MembershipInfo {
                studio_id: r.try_get(0).ok()?,
                studio_name: r.try_get(1).ok()?,
                role: domain::policy::Role::parse(&role)?,
            })
        })
        .collect();
    Ok(AppJson(Me {
        id: account.try_get(0)?,
        email: account.try_get(1)?,
        full_name: account.try_get(2)?,
        email_verified: account.try_get(3)?,
        memberships,
    }))
}
