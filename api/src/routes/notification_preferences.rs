//! Notification preferences: a person turns notification types off per channel and
//! sets quiet hours (an account command, so every change is an event); anyone holding an
//! optional mail's unsubscribe token stops that kind of mail from that studio to that
//! address (RFC 8058 one-click: the mail client posts to the `List-Unsubscribe` URL).

use axum::extract::State;
use domain::account::{AccountCommand, NotificationPreferences};
use infra::inline::AccountState;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::application::accounts;
use crate::auth::{session_revoked, AuthUser, Caller};
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppQuery};
use crate::state::AppState;
use crate::tenancy::me;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(unsubscribe))
}

/// The caller's notification preferences (everything on, no quiet hours, until set).
#[utoipa::path(get, path = "/me/notification-preferences", tag = "inbox", security(("bearer" = [])),
    responses((status = 200, description = "The preferences", body = NotificationPreferences)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<AppJson<NotificationPreferences>, ApiError> {
    let row = sqlx::query(&format!(
        "SELECT me.open, (SELECT p.preferences FROM notification_preference p \
           WHERE me.open AND p.account_id = me.account) FROM {me}",
        me = me!()
    ))
    .bind(caller.account_id)
    .bind(caller.session_id)
    .fetch_one(&state.pool)
    .await?;
    if !row.try_get::<bool, _>(0)? {
        return Err(session_revoked());
    }
    let stored: Option<serde_json::Value> = row.try_get(1)?;
    let preferences = stored
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored preferences do not parse: {e}")))?
        .unwrap_or_default();
    Ok(AppJson(preferences))
}

/// Replaces the caller's notification preferences.
///
/// `muted` lists the types turned off per channel (`email`, `in_app`); only optional
/// types can be (security mail always goes). During `quiet_hours` optional emails wait
/// until they end (a class reminder that would arrive after its class started is
/// dropped).
#[utoipa::path(put, path = "/me/notification-preferences", tag = "inbox", security(("bearer" = [])),
    request_body = NotificationPreferences,
    responses(
        (status = 200, description = "The preferences now", body = NotificationPreferences),
        (status = 409, description = "`version_conflict`: the account changed at the same moment; retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_preferences`", body = Problem, content_type = "application/problem+json")))]
pub async fn put_preferences(
    State(state): State<AppState>,
    user: AuthUser,
    ctx: RequestContext,
    AppJson(preferences): AppJson<NotificationPreferences>,
) -> Result<AppJson<NotificationPreferences>, ApiError> {
    accounts::execute(
        &state,
        &ctx,
        user.account_id,
        AccountCommand::SetNotificationPreferences {
            preferences: preferences.clone(),
        },
        AccountState::without_credentials(),
    )
    .await?;
    Ok(AppJson(preferences))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeParams {
    /// The token of the mail's unsubscribe link.
    pub token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Unsubscribed {
    /// The type of mail the address no longer gets from this studio.
    pub kind: String,
}

/// One-click unsubscribe (RFC 8058): stops the kind of mail the link came with, from
/// that studio, to that address. Idempotent. No sign-in: the token is the proof.
#[utoipa::path(post, path = "/unsubscribe", tag = "inbox", params(UnsubscribeParams),
    responses(
        (status = 200, description = "Unsubscribed", body = Unsubscribed),
        (status = 404, description = "`link_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    AppQuery(params): AppQuery<UnsubscribeParams>,
) -> Result<AppJson<Unsubscribed>, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "link_not_found",
        what: "link",
    };
    if params.token.len() > 128 {
        return Err(not_found());
    }
    let mut tx = state.pool.begin().await?;
    let link = infra::links::find_unsubscribe(&mut tx, &params.token)
        .await?
        .ok_or_else(not_found)?;
    sqlx::query(
        "INSERT INTO email_suppression (tenant_id, email, kind) VALUES ($1, lower($2), $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(link.tenant_id)
    .bind(&link.email)
    .bind(&link.kind)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(AppJson(Unsubscribed { kind: link.kind }))
}
