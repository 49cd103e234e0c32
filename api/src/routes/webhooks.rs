//! Webhook endpoints (Standard Webhooks): register where the studio's public events are
//! POSTed, rotate the signing secret, disable and enable, read the delivery log,
//! redeliver, send a test event. Owners and admins only (`Action::ManageWebhooks`).
//!
//! A URL is checked against the SSRF rules (`infra::webhooks::UrlPolicy`, DNS included)
//! before its command runs, and again by the worker at every delivery. The signing
//! secret is answered on register and rotate only; it is derived, never stored.
//!
//! Endpoint commands go through the endpoint aggregate; `test` and `redeliver` only
//! queue a delivery (bookkeeping of the side effect, not a domain fact), in the same
//! [`CommandTx`] so they get `Idempotency-Key` like every command.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::policy::Action;
use domain::studio::StudioId;
use domain::webhook_endpoint::view::WebhookEndpointView;
use domain::webhook_endpoint::{
    DisableReason, EndpointChanges, EndpointDetails, WebhookEndpoint, WebhookEndpointCommand,
    WebhookEndpointId, TEST_EVENT,
};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::command::{CommandTx, Reply};
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{Accepted, Page, PageParams, ReadParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(enable_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(send_test_event))
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "webhook_not_found",
        what: "webhook endpoint",
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPath {
    pub studio_id: Uuid,
    pub webhook_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPath {
    pub studio_id: Uuid,
    pub webhook_id: Uuid,
    pub delivery_id: Uuid,
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterWebhookBody {
    /// Client-chosen id (makes retries safe); minted when absent.
    pub id: Option<Uuid>,
    /// `https://…`, at most 2048 characters, no userinfo, resolving to public addresses
    /// only.
    #[schema(example = "https://hooks.example.com/repstream", max_length = 2048)]
    pub url: String,
    /// Types from the catalogue (see the README), or `["*"]` for all.
    #[schema(example = json!(["booking.created", "booking.cancelled"]))]
    pub event_types: Vec<String>,
    /// Up to 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// A change (`PATCH`): what is given changes, the rest stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookBody {
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// An empty string clears it.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `false` disables the endpoint (no deliveries until enabled), `true` enables it.
    pub enabled: Option<bool>,
}

/// A registered endpoint, or a rotated secret: the only answers that show the secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookSecretReply {
    pub id: Uuid,
    pub version: u64,
    /// `whsec_` + base64 of 32 bytes: configure the receiver with it. Shown only here.
    pub secret: String,
    /// After a rotation: until when deliveries are also signed with the previous secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

/// A delivery queued by `test` or `redeliver`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryQueued {
    /// The delivery (its `webhook-id`).
    pub delivery_id: Uuid,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryAttempt {
    /// 1, 2, …
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// The receiver's status (absent when no answer came: refused, timed out, …).
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    pub error: Option<String>,
    /// The first KiB of the receiver's answer.
    pub response_body: Option<String>,
}

/// One delivery (one event to one endpoint) and its attempts, oldest attempt first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// Sent as `webhook-id`, the same on every attempt.
    pub id: Uuid,
    /// The domain event it announces (absent for `webhook.test`).
    pub event_id: Option<Uuid>,
    pub event_type: String,
    /// `pending`, `delivered`, `failed` (after the last attempt, or a `410`), `cancelled`
    /// (the endpoint was disabled or deleted first).
    pub state: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// The exact body that is signed and sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempt_log: Vec<DeliveryAttempt>,
}

/// The key secrets derive from: configured wherever the API serves.
fn key(state: &AppState) -> Result<&infra::webhooks::WebhookKey, ApiError> {
    state
        .config
        .webhook_key
        .as_ref()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("WEBHOOK_SECRET_KEY is not configured")))
}

/// The SSRF rules, with DNS: `422` with the rule's code when the URL is refused.
async fn check_url(state: &AppState, url: &str) -> Result<String, ApiError> {
    state
        .config
        .webhook_policy
        .check(url)
        .await
        .map(|u| u.to_string())
        .map_err(|e| ApiError::Rule {
            code: e.code(),
            message: format!("url: {e}"),
        })
}

/// The caller may manage webhooks here (checked before any DNS is done for them).
async fn manager(state: &AppState, user: &Caller, studio: Uuid) -> Result<(), ApiError> {
    let member = Membership::load(&state.pool, user, studio).await?;
    member.require(Action::ManageWebhooks)
}

/// Whether the endpoint exists in this studio and is active, from the committed
/// directory (`None`: no such endpoint).
async fn directory_state(cmd: &mut CommandTx, endpoint: Uuid) -> Result<Option<bool>, ApiError> {
    let studio = cmd.studio_id;
    Ok(sqlx::query_scalar(
        "SELECT active FROM webhook_endpoint WHERE tenant_id = $1 AND endpoint_id = $2",
    )
    .bind(studio)
    .bind(endpoint)
    .fetch_optional(cmd.conn())
    .await?)
}

fn trimmed(description: Option<String>) -> Option<String> {
    description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
}

/// Register an endpoint. The answer carries its signing secret, shown only here and on
/// rotation.
#[utoipa::path(post, path = "/studios/{studio_id}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = RegisterWebhookBody,
    responses(
        (status = 201, description = "Registered; `secret` signs its deliveries", body = WebhookSecretReply),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `webhook_already_exists`, `webhook_url_invalid`, `webhook_url_not_https`, `webhook_url_private`, `webhook_url_unresolvable`", body = Problem, content_type = "application/problem+json")))]
pub async fn register_webhook(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<RegisterWebhookBody>,
) -> Result<Response, ApiError> {
    manager(&state, &user, path.studio_id).await?;
    let url = check_url(&state, &body.url).await?;
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageWebhooks)?;
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let command = WebhookEndpointCommand::Register {
        id: WebhookEndpointId(id),
        studio_id: StudioId(path.studio_id),
        details: EndpointDetails {
            url,
            event_types: body.event_types,
            description: trimmed(body.description),
        },
    };
    let executed = cmd
        .run(&state.bus::<WebhookEndpoint>(), id, command)
        .await?;
    let secret = key(&state)?.secret(id, executed.aggregate.secret_version().max(1));
    let version = executed.outcome.version;
    let reply = WebhookSecretReply {
        id,
        version,
        secret: secret.reveal(),
        previous_secret_valid_until: None,
    };
    let reply = Reply::json(StatusCode::CREATED, &reply)
        .map_err(|e| ApiError::Internal(e.into()))?
        .with_etag(version)
        .with_location(format!("/api/v1/studios/{}/webhooks/{id}", path.studio_id));
    cmd.commit(reply).await
}

/// Change an endpoint's URL, event types or description; `enabled: false` disables it.
#[utoipa::path(patch, path = "/studios/{studio_id}/webhooks/{webhook_id}", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id")),
    request_body = UpdateWebhookBody,
    responses(
        (status = 200, description = "Changed", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `webhook_url_invalid`, `webhook_url_not_https`, `webhook_url_private`, `webhook_url_unresolvable`", body = Problem, content_type = "application/problem+json")))]
pub async fn update_webhook(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<WebhookPath>,
    AppJson(body): AppJson<UpdateWebhookBody>,
) -> Result<Response, ApiError> {
    manager(&state, &user, path.studio_id).await?;
    let url = match &body.url {
        Some(url) => Some(check_url(&state, url).await?),
        None => None,
    };
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageWebhooks)?;
    if directory_state(&mut cmd, path.webhook_id).await?.is_none() {
        return Err(not_found());
    }
    let bus = state.bus::<WebhookEndpoint>();
    let changes = EndpointChanges {
        url,
        event_types: body.event_types,
        description: body.description.map(|d| trimmed(Some(d))),
    };
    let toggle = body.enabled.map(|enabled| match enabled {
        true => WebhookEndpointCommand::Enable,
        false => WebhookEndpointCommand::Disable {
            reason: DisableReason::Staff,
        },
    });
    let mut version = cmd
        .run(
            &bus,
            path.webhook_id,
            WebhookEndpointCommand::Update { changes },
        )
        .await?
        .outcome
        .version;
    if let Some(toggle) = toggle {
        version = cmd
            .run_also(&bus, path.webhook_id, toggle)
            .await?
            .outcome
            .version;
    }
    cmd.commit_accepted(StatusCode::OK, path.webhook_id, version)
        .await
}

/// Runs one endpoint command on the addressed endpoint and answers [`Accepted`].
async fn endpoint_command(
    state: &AppState,
    user: &Caller,
    ctx: &RequestContext,
    path: &WebhookPath,
    command: WebhookEndpointCommand,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(state, user, ctx, path.studio_id).await?;
    cmd.require(Action::ManageWebhooks)?;
    if directory_state(&mut cmd, path.webhook_id).await?.is_none() {
        return Err(not_found());
    }
    let version = cmd
        .run(&state.bus::<WebhookEndpoint>(), path.webhook_id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.webhook_id, version)
        .await
}

/// Delete an endpoint: no more deliveries; its log stays readable to no one.
#[utoipa::path(delete, path = "/studios/{studio_id}/webhooks/{webhook_id}", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "Deleted", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<WebhookPath>,
) -> Result<Response, ApiError> {
    endpoint_command(&state, &user, &ctx, &path, WebhookEndpointCommand::Delete).await
}

/// Enable a disabled endpoint (disabled by staff, or by a `410 Gone`).
#[utoipa::path(post, path = "/studios/{studio_id}/webhooks/{webhook_id}/enable", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "Enabled", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn enable_webhook(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<WebhookPath>,
) -> Result<Response, ApiError> {
    endpoint_command(&state, &user, &ctx, &path, WebhookEndpointCommand::Enable).await
}

/// Rotate the signing secret. The answer carries the new secret; for 24 hours
/// deliveries carry both signatures, so receivers can switch without losing any.
#[utoipa::path(post, path = "/studios/{studio_id}/webhooks/{webhook_id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "Rotated; `secret` is the new one", body = WebhookSecretReply),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<WebhookPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageWebhooks)?;
    if directory_state(&mut cmd, path.webhook_id).await?.is_none() {
        return Err(not_found());
    }
    let now = Utc::now();
    let executed = cmd
        .run(
            &state.bus::<WebhookEndpoint>(),
            path.webhook_id,
            WebhookEndpointCommand::RotateSecret { now },
        )
        .await?;
    let secret = key(&state)?.secret(path.webhook_id, executed.aggregate.secret_version());
    let version = executed.outcome.version;
    let reply = WebhookSecretReply {
        id: path.webhook_id,
        version,
        secret: secret.reveal(),
        previous_secret_valid_until: Some(
            now + chrono::Duration::hours(domain::webhook_endpoint::ROTATION_OVERLAP_HOURS),
        ),
    };
    let reply = Reply::json(StatusCode::OK, &reply)
        .map_err(|e| ApiError::Internal(e.into()))?
        .with_etag(version);
    cmd.commit(reply).await
}

/// Queue a `webhook.test` event to the endpoint (whatever it subscribed to).
#[utoipa::path(post, path = "/studios/{studio_id}/webhooks/{webhook_id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 202, description = "Queued; see the delivery log", body = DeliveryQueued),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`webhook_disabled`", body = Problem, content_type = "application/problem+json")))]
pub async fn send_test_event(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<WebhookPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageWebhooks)?;
    active(&mut cmd, path.webhook_id).await?;
    let id = Uuid::now_v7();
    let body = infra::webhooks::payload(
        TEST_EVENT,
        Utc::now(),
        serde_json::json!({ "webhook_id": path.webhook_id, "studio_id": path.studio_id }),
    );
    let studio = cmd.studio_id;
    sqlx::query(
        "INSERT INTO webhook_delivery (id, tenant_id, endpoint_id, event_type, body) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(studio)
    .bind(path.webhook_id)
    .bind(TEST_EVENT)
    .bind(body)
    .execute(cmd.conn())
    .await?;
    queued(cmd, id).await
}

/// Attempt a delivery again now (delivered, failed or waiting for its next retry), with
/// the same `webhook-id` and a fresh retry budget.
#[utoipa::path(post, path = "/studios/{studio_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued", body = DeliveryQueued),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`, `delivery_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`webhook_disabled`", body = Problem, content_type = "application/problem+json")))]
pub async fn redeliver(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<DeliveryPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageWebhooks)?;
    active(&mut cmd, path.webhook_id).await?;
    let studio = cmd.studio_id;
    let found: Option<Uuid> = sqlx::query_scalar(
        "UPDATE webhook_delivery SET state = 'pending', next_attempt_at = now(), \
           attempts_before = attempts, lease_until = NULL \
         WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3 RETURNING id",
    )
    .bind(studio)
    .bind(path.webhook_id)
    .bind(path.delivery_id)
    .fetch_optional(cmd.conn())
    .await?;
    let Some(id) = found else {
        return Err(ApiError::NotFound {
            code: "delivery_not_found",
            what: "delivery",
        });
    };
    queued(cmd, id).await
}

/// `404` for no such endpoint, `422 webhook_disabled` for a disabled one.
async fn active(cmd: &mut CommandTx, endpoint: Uuid) -> Result<(), ApiError> {
    match directory_state(cmd, endpoint).await? {
        None => Err(not_found()),
        Some(false) => Err(ApiError::Rule {
            code: "webhook_disabled",
            message: "the endpoint is disabled; enable it first".to_owned(),
        }),
        Some(true) => Ok(()),
    }
}

async fn queued(cmd: CommandTx, delivery_id: Uuid) -> Result<Response, ApiError> {
    let reply = Reply::json(StatusCode::ACCEPTED, &DeliveryQueued { delivery_id })
        .map_err(|e| ApiError::Internal(e.into()))?;
    cmd.commit(reply).await
}

/// The studio's endpoints, oldest first (never their secrets).
#[utoipa::path(get, path = "/studios/{studio_id}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), PageParams<Uuid>),
    responses(
        (status = 200, description = "Endpoints", body = Page<WebhookEndpointView>),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    page: PageParams<Uuid>,
) -> Result<AppJson<Page<WebhookEndpointView>>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageWebhooks)?;
    let mut tx = member.tx(&state.pool).await?;
    let docs: Vec<Json<WebhookEndpointView>> = sqlx::query_scalar(
        "SELECT doc FROM webhook_endpoint_view WHERE tenant_id = $1 AND NOT deleted \
         AND ($2::uuid IS NULL OR (created_at, id) > \
           (SELECT a.created_at, a.id FROM webhook_endpoint_view a WHERE a.tenant_id = $1 AND a.id = $2)) \
         ORDER BY created_at, id LIMIT $3",
    )
    .bind(path.studio_id)
    .bind(page.after)
    .bind(page.fetch())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let page = Page::from_rows(docs, page.limit, |d| d.0.id.0)
        .map_items(|docs| docs.into_iter().map(|d| d.0).collect());
    Ok(AppJson(page))
}

/// One endpoint (`min_version` waits for a write to show).
#[utoipa::path(get, path = "/studios/{studio_id}/webhooks/{webhook_id}", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id"), ReadParams),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpointView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`view_not_caught_up`", body = Problem, content_type = "application/problem+json")))]
pub async fn get_webhook(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<WebhookPath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<AppJson<WebhookEndpointView>, ApiError> {
    let (_, view) = state
        .waiter
        .read_member_view::<WebhookEndpointView>(
            &state.pool,
            &user,
            path.studio_id,
            path.webhook_id,
            state.config.read_wait_max,
            params.min_version,
            |member| member.require(Action::ManageWebhooks),
        )
        .await?;
    view.filter(|v| !v.deleted)
        .map(AppJson)
        .ok_or_else(not_found)
}

type DeliveryRow = (
    Uuid,
    Option<Uuid>,
    String,
    String,
    i32,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    Option<i32>,
    Option<String>,
    String,
    Json<Vec<DeliveryAttempt>>,
);

/// The endpoint's delivery log, newest first, each delivery with its attempts.
#[utoipa::path(get, path = "/studios/{studio_id}/webhooks/{webhook_id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("webhook_id" = Uuid, Path, description = "Endpoint id"), PageParams<Uuid>),
    responses(
        (status = 200, description = "Deliveries, newest first", body = Page<WebhookDelivery>),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`webhook_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<WebhookPath>,
    page: PageParams<Uuid>,
) -> Result<AppJson<Page<WebhookDelivery>>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageWebhooks)?;
    let mut tx = member.tx(&state.pool).await?;
    let exists: Option<bool> = sqlx::query_scalar(
        "SELECT true FROM webhook_endpoint WHERE tenant_id = $1 AND endpoint_id = $2",
    )
    .bind(path.studio_id)
    .bind(path.webhook_id)
    .fetch_optional(&mut *tx)
    .await?;
    if exists.is_none() {
        return Err(not_found());
    }
    let rows: Vec<DeliveryRow> = sqlx::query_as(
        "SELECT d.id, d.event_id, d.event_type, d.state, d.attempts, d.created_at, d.delivered_at, \
           d.next_attempt_at, d.last_status, d.last_error, d.body, \
           COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at, \
               'status_code', a.status_code, 'duration_ms', a.duration_ms, 'error', a.error, \
               'response_body', a.response_body) ORDER BY a.attempt) \
             FROM webhook_attempt a WHERE a.delivery_id = d.id), '[]'::jsonb) \
         FROM webhook_delivery d WHERE d.tenant_id = $1 AND d.endpoint_id = $2 \
         AND ($3::uuid IS NULL OR (d.created_at, d.id) < \
           (SELECT b.created_at, b.id FROM webhook_delivery b WHERE b.tenant_id = $1 AND b.id = $3)) \
         ORDER BY d.created_at DESC, d.id DESC LIMIT $4",
    )
    .bind(path.studio_id)
    .bind(path.webhook_id)
    .bind(page.after)
    .bind(page.fetch())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let page = Page::from_rows(rows, page.limit, |r| r.0).map_items(|rows| {
        rows.into_iter()
            .map(
                |(
                    id,
                    event_id,
                    event_type,
                    state,
                    attempts,
                    created_at,
                    delivered_at,
                    next_attempt_at,
                    last_status,
                    last_error,
                    body,
                    attempt_log,
                )| WebhookDelivery {
                    id,
                    event_id,
                    event_type,
                    next_attempt_at: (state == "pending").then_some(next_attempt_at),
                    state,
                    attempts,
                    created_at,
                    delivered_at,
                    last_status,
                    last_error,
                    payload: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
                    attempt_log: attempt_log.0,
                },
            )
            .collect()
    });
    Ok(AppJson(page))
}
