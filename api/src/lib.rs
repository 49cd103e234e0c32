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
//! `/openapi.json` is generated from the handlers; `/docs` serves Swagger UI from
//! assets compiled into the binary (works offline).
//!
//! Run: `repstream-api serve` (also `migrate`, `seed`).

pub mod application;
pub mod auth;
pub mod check_in_code;
pub mod command;
pub mod context;
pub mod error;
pub mod extract;
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
use crate::error::{ApiError, FieldError, Problem};
pub use crate::state::{ApiConfig, AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "repstream API",
        description = "Event-sourced backend for fitness studios. Commands answer the \
            aggregate id and its new version; reads accept `min_version` to read your own \
            writes. Errors are RFC 9457 problem+json documents with a stable `code`."
    ),
    tags(
        (name = "auth", description = "Accounts, sign-in, tokens"),
        (name = "studios", description = "Studios (tenants) and their locations"),
        (name = "members", description = "Studio members, roles and invitations"),
        (name = "clients", description = "Client records and health intake"),
        (name = "class types", description = "The studio's catalogue of class types"),
        (name = "classes", description = "Classes, the calendar, rosters"),
        (name = "schedules", description = "Weekly series of classes"),
        (name = "bookings", description = "Bookings and waitlists, a client's bookings"),
        (name = "attendance", description = "Check-in and check-in codes"),
        (name = "trainer calendars", description = "Trainer availability, time off, free slots and schedules"),
        (name = "appointments", description = "1:1 appointments on a trainer's calendar"),
        (name = "audit", description = "Who did what"),
        (name = "operations", description = "Health and readiness")
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the protected operations reference.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from POST /api/v1/auth/token"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document and the router it describes.
pub fn app(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let max_body = state.config.max_body_bytes;
    let cors = security::cors(&state.config.cors_allowed_origins);
    let v1 = routes::v1();
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .merge(routes::health::router())
        .split_for_parts();
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
                            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), %request_id, %correlation_id)
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
