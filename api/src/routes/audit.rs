//! The audit log: who did what, when, from where — read from the event store's
//! metadata (the store is the audit log). Payloads are not included (they may hold
//! health data); follow the aggregate to see what changed.

use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::policy::Action;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::studios::StudioPath;
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only this actor (e.g. `user:<account id>`).
    pub actor: Option<String>,
    /// Only this aggregate type (`studio`, `client`).
    pub aggregate_type: Option<String>,
    /// Only this aggregate.
    pub aggregate_id: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<u32>,
    /// Continue with entries older than this position (`next_before` of the previous page).
    pub before: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the event store (newest first).
    pub position: i64,
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub correlation_id: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_before: Option<i64>,
}

/// Who did what and when in this studio.
#[utoipa::path(get, path = "/studios/{studio_id}/audit", tag = "audit", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), AuditParams),
    responses(
        (status = 200, description = "Newest first", body = AuditPage),
        (status = 403, description = "`forbidden` (owners and admins only)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn audit_log(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    AppQuery(params): AppQuery<AuditParams>,
) -> Result<AppJson<AuditPage>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ViewAudit)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::InvalidQuery(
            "limit must be between 1 and 200".to_owned(),
        ));
    }
    let mut tx = member.tx(&state.pool).await?;
    let rows = sqlx::query(
        "SELECT position, event_id, occurred_at, aggregate_type, aggregate_id, sequence, event_type, \
         metadata->>'actor', metadata->>'ip', metadata->>'user_agent', metadata->>'correlation_id', \
         metadata->>'request_id' FROM events \
         WHERE tenant_id = $1 \
           AND ($2::text IS NULL OR metadata->>'actor' = $2) \
           AND ($3::text IS NULL OR aggregate_type = $3) \
           AND ($4::text IS NULL OR aggregate_id = $4) \
           AND ($5::timestamptz IS NULL OR occurred_at >= $5) \
           AND ($6::timestamptz IS NULL OR occurred_at < $6) \
           AND ($7::int8 IS NULL OR position < $7) \
         ORDER BY position DESC LIMIT $8",
    )
    .bind(path.studio_id)
    .bind(&params.actor)
    .bind(&params.aggregate_type)
    .bind(&params.aggregate_id)
    .bind(params.from)
    .bind(params.to)
    .bind(params.before)
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut items = rows
        .into_iter()
        .map(|r| {
            Ok(AuditEntry {
                position: r.try_get(0)?,
                event_id: r.try_get(1)?,
                occurred_at: r.try_get(2)?,
                aggregate_type: r.try_get(3)?,
                aggregate_id: r.try_get(4)?,
                sequence: r.try_get(5)?,
                event_type: r.try_get(6)?,
                actor: r.try_get(7)?,
                ip: r.try_get(8)?,
                user_agent: r.try_get(9)?,
                correlation_id: r.try_get(10)?,
                request_id: r.try_get(11)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_before = if more {
        items.last().map(|e| e.position)
    } else {
        None
    };
    Ok(AppJson(AuditPage { items, next_before }))
}
