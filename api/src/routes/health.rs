use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::AppJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `not_ready`.
    pub status: &'static str,
    /// Per dependency: `ok` or what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Checks>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    pub postgres: String,
    pub sqs: String,
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> AppJson<Health> {
    AppJson(Health {
        status: "ok",
        checks: None,
    })
}

/// Readiness: Postgres and SQS answer within two seconds.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "A dependency is unreachable", body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let limit = Duration::from_secs(2);
    let postgres =
        match tokio::time::timeout(limit, sqlx::query("SELECT 1").execute(&state.pool)).await {
            Ok(Ok(_)) => "ok".to_owned(),
            Ok(Err(e)) => {
                // The reason goes to the log; the probe's caller gets the state only.
                tracing::warn!(error = %e, "readiness: postgres unavailable");
                "unavailable".to_owned()
            }
            Err(_) => "timed_out".to_owned(),
        };
    let sqs = match tokio::time::timeout(
        limit,
        infra::sqs::queue_url(&state.sqs, &state.config.events_queue),
    )
    .await
    {
        Ok(Ok(_)) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = format!("{e:#}"), "readiness: sqs unavailable");
            "unavailable".to_owned()
        }
        Err(_) => "timed_out".to_owned(),
    };
    let ready = postgres == "ok" && sqs == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        AppJson(Health {
            status: if ready { "ready" } else { "not_ready" },
            checks: Some(Checks { postgres, sqs }),
        }),
    )
}
