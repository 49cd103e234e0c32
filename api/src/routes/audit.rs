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
use crate::extract::{AppJson, AppPath};
use crate::routes::{Page, PageParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
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

/// Who did what and when in this studio.
///
/// Newest first: `after` (an entry's `position`, as `next_after` gives it) continues
/// with the entries older than that one.
#[utoipa::path(get, path = "/studios/{studio_id}/audit", tag = "audit", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), PageParams<i64, AuditFilter>),
    responses(
        (status = 200, description = "Newest first", body = Page<AuditEntry, i64>),
        (status = 403, description = "`forbidden` (owners and admins only)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn audit_log(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    page: PageParams<i64, AuditFilter>,
) -> Result<AppJson<Page<AuditEntry, i64>>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ViewAudit)?;
    let params = &page.filter;
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
    .bind(page.after)
    .bind(page.fetch())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let items = rows
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
    Ok(AppJson(Page::from_rows(items, page.limit, |e| e.position)))
}
