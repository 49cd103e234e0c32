//! # repstream-api
//!
//! The REST service. Commands go through `infra::event_store::CommandBus` into the
//! aggregates (events + outbox rows, one transaction); queries read `*_view` tables only.
//!
//! ```text
//! request ─► request id ─► correlation id ─► trace span ─► handler
//!   handler (command) ─► CommandBus ─► Postgres (events + outbox) ─► {id, version}
//!   handler (query)   ─► *_view (optionally waiting for min_version) ─► JSON
//! any error ─► ApiError ─► application/problem+json with a stable `code`
//! ```
//!
//! `/openapi.json` is generated from the handlers and the layers they sit behind
//! ([`openapi`]); `/docs` serves Swagger UI from assets compiled into the binary (works
//! offline).
//!
//! Run: `repstream-api serve` (also `migrate`, `seed`).

pub mod application;
pub mod auth;
pub mod check_in_code;
pub mod command;
pub mod context;
pub mod dev_mailbox;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod ratelimit;
pub mod reply;
pub mod routes;
pub mod security;
pub mod seed;
pub mod state;
pub mod tenancy;
pub mod waiter;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use infra::shutdown::CancellationToken;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::context::CorrelationId;
use crate::error::ApiError;
pub use crate::state::{ApiConfig, AppState};

/// The routes and the OpenAPI document that describes them (with the answers of the
/// layers every request passes, see [`openapi`]).
fn routes_and_document() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", routes::v1())
        .merge(routes::health::router())
        .split_for_parts();
    openapi::declare_layer_answers(&mut document);
    (router, document)
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes_and_document().1
}

/// The OpenAPI document and the router it describes.
pub fn app(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let max_body = state.config.max_body_bytes;
    let cors = security::cors(&state.config.cors_allowed_origins);
    let (mut router, openapi) = routes_and_document();
    if let Some(dir) = &state.config.dev_mailbox {
        router = router.merge(dev_mailbox::router(infra::mailbox::Mailbox::new(dir)));
    }
    let router = router
        .route_layer(axum::middleware::from_fn(track_http))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi.clone()))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(context::plain_request_id))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(axum::middleware::from_fn(context::correlation))
                .layer(axum::middleware::from_fn(security::headers))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let correlation_id = req
                                .extensions()
                                .get::<CorrelationId>()
                                .map_or("", |c| c.0.as_str());
                            let request_id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("");
                            let span = tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), %request_id, %correlation_id);
                            // A child of the caller's trace (W3C `traceparent`).
                            infra::telemetry::set_parent(
                                &span,
                                req.headers()
                                    .get(infra::telemetry::TRACEPARENT)
                                    .and_then(|v| v.to_str().ok()),
                            );
                            span
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                // Below the trace layer: CORS needs a body type with a default.
                .layer(cors)
                .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
                .layer(axum::middleware::from_fn_with_state(state.clone(), ratelimit::limit))
                .layer(axum::middleware::from_fn(context::detach_commands))
                .layer(axum::middleware::from_fn_with_state(max_body, context::idempotency))
                .layer(DefaultBodyLimit::max(max_body)),
        )
        .with_state(state);
    (router, openapi)
}

/// Request count and latency per route template (never the raw path), method and
/// status.
async fn track_http(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("repstream_http_requests_total", &labels).increment(1);
    metrics::histogram!("repstream_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
}

/// Serves until `shutdown`, finishing in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (router, _) = app(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await?;
    Ok(())
}
