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
        (name = "classes", description = "Class types, classes, the calendar, rosters"),
        (name = "schedules", description = "Weekly series of classes"),
        (name = "bookings", description = "Bookings and waitlists, a client's bookings"),
        (name = "attendance", description = "Check-in and check-in codes"),
        (name = "appointments", description = "Trainer availability, slots and 1:1 appointments"),
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
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi.clone()))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(
            ServiceBuilder::new()
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

/// The crate's modules form a layered graph: `crate::x` references (outside comments)
/// between top-level modules never close a cycle. `routes/mod.rs` has its own test for
/// the route modules among themselves.
#[cfg(test)]
mod module_graph {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Top-level module → the top-level modules its files name through `crate::`.
    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let relative = path.strip_prefix(&src).expect("under src");
                let first = relative
                    .components()
                    .next()
                    .and_then(|c| c.as_os_str().to_str())
                    .unwrap_or_default();
                let module = first.trim_end_matches(".rs").to_owned();
                if path.extension().is_none_or(|e| e != "rs") || module == "lib" || module == "main"
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("source is readable");
                let code: String = text
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n");
                let edges = graph.entry(module.clone()).or_default();
                for (i, _) in code.match_indices("crate::") {
                    let name: String = code[i + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        edges.insert(name);
                    }
                }
            }
        }
        graph
    }

    fn cycle_from(
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        let here = path.last().cloned().unwrap_or_default();
        for next in graph.get(&here).into_iter().flatten() {
            if let Some(i) = path.iter().position(|m| m == next) {
                let mut cycle = path[i..].to_vec();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if done.contains(next) {
                continue;
            }
            path.push(next.clone());
            if let Some(c) = cycle_from(graph, path, done) {
                return Some(c);
            }
            path.pop();
        }
        done.insert(here);
        None
    }

    #[test]
    fn top_level_modules_import_each_other_without_cycles() {
        let graph = graph();
        assert!(graph.contains_key("routes") && graph.contains_key("command"));
        let mut done = BTreeSet::new();
        for module in graph.keys() {
            if let Some(cycle) = cycle_from(&graph, &mut vec![module.clone()], &mut done) {
                panic!("import cycle: {}", cycle.join(" -> "));
            }
        }
    }

    #[test]
    fn the_cycle_check_finds_a_cycle() {
        let graph: BTreeMap<String, BTreeSet<String>> = [
            ("a".to_owned(), ["b".to_owned()].into()),
            ("b".to_owned(), ["c".to_owned()].into()),
            ("c".to_owned(), ["a".to_owned()].into()),
        ]
        .into();
        let cycle = cycle_from(&graph, &mut vec!["a".to_owned()], &mut BTreeSet::new());
        assert_eq!(cycle.map(|c| c.join(">")).as_deref(), Some("a>b>c>a"));
    }
}
