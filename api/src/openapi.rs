//! The OpenAPI document served at `/openapi.json`: what the handlers declare, plus the
//! answers an operation gives because of the layers it passes through, which
//! [`declare_layer_answers`] adds to every operation they apply to.
//!
//! ```text
//! every operation     rate limiter 429 · panic guard 500
//! /api/v1/*           database 503 (and 503 view_not_caught_up with `min_version`)
//! bearer security     401 (token, session)
//! path / query        400 (AppPath, AppQuery, PageParams)
//! JSON body           400 · 413 · 415 · 422 (AppJson, Validator)
//! not GET             413 (Idempotency-Key reads the body) · 400 invalid_header (RequestContext)
//! /studios/{id}/*     403 (policy) · 404 studio_not_found (non-members)
//! tenant commands     CommandTx: If-Match 412 · Idempotency-Key 422 · 409 · 413 event_too_large
//! ```
//!
//! A status the handler declares keeps its description; the layer's codes it does not
//! mention are appended. A status declared with another media type than problem+json is
//! the operation's own (the token endpoint's RFC 6749 errors, `/readyz`'s 503): left
//! alone, and an operation whose `400` is its own also answers its malformed input there
//! (no `415`/`422`).

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required};

use crate::error::{FieldError, OAuthError, Problem};

/// The media type of every error but the token endpoint's.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "repstream API",
        description = "Event-sourced backend for fitness studios. Commands answer the \
            aggregate id and its new version; reads accept `min_version` to read your own \
            writes. Errors are RFC 9457 problem+json documents with a stable `code` (the \
            token endpoint's are RFC 6749 §5.2 documents). Every operation declares every \
            status it can answer."
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
        (name = "inbox", description = "The caller's in-app notifications and their live stream"),
        (name = "webhooks", description = "Outgoing webhooks (Standard Webhooks): endpoints, secrets, the delivery log"),
        (name = "audit", description = "Who did what"),
        (name = "operations", description = "Health and readiness")
    ),
    // `Recommendation`: what the AI pipeline (or its rules engine) answers a health
    // intake with; published before its endpoints so integrators can build on it.
    components(schemas(Problem, FieldError, OAuthError, domain::health::Recommendation)),
    modifiers(&BearerScheme, &WebhookCatalogue)
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the protected operations reference.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApi) {
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

/// The fields of each webhook event type's `data` (what the projector's
/// `public_event` sends; never anything medical).
const WEBHOOK_DATA: [(&str, &str); 10] = [
    ("booking.created", "`class_id`, `booking_id`, `client_id`: a spot was booked."),
    ("booking.waitlisted", "`class_id`, `booking_id`, `client_id`, `position`: the class was full."),
    ("booking.cancelled", "`class_id`, `booking_id`, `client_id`, `late` (bool): a booking or a waitlist place was given up."),
    ("booking.promoted", "`class_id`, `booking_id`, `client_id`: a waitlisted client got a freed spot."),
    ("class.scheduled", "`class_id`, `title`, `starts_at`, `ends_at`, `capacity`, `location_id`, `instructor_id`, `class_type_id` (the last three may be null)."),
    ("class.cancelled", "`class_id`, `reason`: every booking and waitlist place of it ends."),
    ("client.created", "`client_id`, `full_name`, `email`, `account_id` (may be null)."),
    ("appointment.booked", "`appointment_id`, `client_id`, `starts_at`, `ends_at`."),
    ("appointment.rescheduled", "`appointment_id`, `starts_at`, `ends_at`: the new time."),
    ("appointment.cancelled", "`appointment_id`."),
];

/// The body of every webhook delivery (Standard Webhooks).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the body the projector builds (`infra::webhooks::payload`)
struct WebhookPayload {
    /// The event type, one of the `webhooks` of this document (or `webhook.test`).
    #[schema(example = "booking.created")]
    r#type: String,
    /// When the event happened.
    timestamp: chrono::DateTime<chrono::Utc>,
    /// The event's fields (see its type).
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

/// Declares what the studio's endpoints receive: one OpenAPI `webhooks` entry per event
/// type, with the Standard Webhooks headers receivers verify.
struct WebhookCatalogue;

impl utoipa::Modify for WebhookCatalogue {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathsBuilder};
        use utoipa::openapi::request_body::RequestBodyBuilder;
        use utoipa::PartialSchema as _;
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(
            "WebhookPayload".to_owned(),
            <WebhookPayload as utoipa::PartialSchema>::schema(),
        );
        let header = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(String::schema()))
                .build()
        };
        let mut paths = PathsBuilder::new();
        for (event_type, data) in WEBHOOK_DATA {
            let operation = OperationBuilder::new()
                .summary(Some(format!(
                    "`{event_type}` delivered to a studio's endpoint"
                )))
                .description(Some(format!(
                    "`data`: {data}\n\nVerify `webhook-signature` (`v1,<base64 HMAC-SHA256 of \
                     \"{{webhook-id}}.{{webhook-timestamp}}.{{body}}\">`, several during a secret \
                     rotation) with the endpoint's `whsec_` secret, e.g. with an off-the-shelf \
                     Standard Webhooks library, and deduplicate on `webhook-id`, which stays \
                     the same across retries."
                )))
                .tag("webhooks")
                .parameter(header(
                    "webhook-id",
                    "The delivery's id: the same on every retry",
                ))
                .parameter(header("webhook-timestamp", "Unix seconds of this attempt"))
                .parameter(header(
                    "webhook-signature",
                    "Space-separated `v1,<base64>` signatures",
                ))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("WebhookPayload")))
                                .build(),
                        )
                        .required(Some(Required::True))
                        .build(),
                ))
                .response(
                    "2XX",
                    ResponseBuilder::new().description("Received; not sent again"),
                )
                .response(
                    "410",
                    ResponseBuilder::new()
                        .description("Gone: the endpoint is disabled, nothing more is sent"),
                )
                .response(
                    "default",
                    ResponseBuilder::new()
                        .description("Retried with exponential backoff and jitter for up to 24 h"),
                )
                .build();
            paths = paths.path(event_type, PathItem::new(HttpMethod::Post, operation));
        }
        openapi.webhooks = Some(paths.build());
    }
}

/// What an operation's declaration tells about the layers its request passes.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Under `/api/v1`: every handler there uses the database.
    v1: bool,
    read: bool,
    secured: bool,
    /// Under `/api/v1/studios/{studio_id}`: the caller's membership is checked.
    tenant: bool,
    /// A write of the studio API (`/api/v1/studios…`, `/api/v1/invitations…`): every such
    /// handler runs through `CommandTx`.
    tenant_command: bool,
    path_params: bool,
    query_params: bool,
    min_version: bool,
    json_body: bool,
    /// The operation declares its own `400` (not problem+json).
    own_client_errors: bool,
}

impl Shape {
    fn of(path: &str, method: &str, op: &Operation) -> Self {
        let params: Vec<&Parameter> = op
            .parameters
            .iter()
            .flatten()
            .filter_map(|p| match p {
                RefOr::T(p) => Some(p),
                RefOr::Ref(_) => None,
            })
            .collect();
        let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
        let json_body = match &op.request_body {
            Some(RefOr::T(body)) => accepts_json(body),
            _ => false,
        };
        let own_client_errors = op.responses.responses.get("400").is_some_and(|r| match r {
            RefOr::T(r) => !r.content.contains_key(PROBLEM_JSON),
            RefOr::Ref(_) => false,
        });
        let read = method == "get";
        Self {
            v1: path.starts_with("/api/v1/"),
            read,
            secured: op.security.as_ref().is_some_and(|s| !s.is_empty()),
            tenant: path.starts_with("/api/v1/studios/{studio_id}"),
            tenant_command: !read
                && (path.starts_with("/api/v1/studios") || path.starts_with("/api/v1/invitations")),
            path_params: has(ParameterIn::Path),
            query_params: has(ParameterIn::Query),
            min_version: params.iter().any(|p| p.name == "min_version"),
            json_body,
            own_client_errors,
        }
    }

    /// The handler takes `RequestContext` (every command handler does), which parses
    /// `If-Match` and `Idempotency-Key`.
    fn parses_command_headers(&self) -> bool {
        !self.read && (self.path_params || self.json_body)
    }
}

fn accepts_json(body: &RequestBody) -> bool {
    body.content.keys().any(|media| media == "application/json")
}

/// One status a layer can answer, with the codes it answers it with.
struct Answer {
    status: &'static str,
    /// `(code, when)`.
    codes: Vec<(&'static str, &'static str)>,
    /// A header the layer always sets on it: `(name, description)`.
    header: Option<(&'static str, &'static str)>,
}

fn answer(status: &'static str, codes: Vec<(&'static str, &'static str)>) -> Answer {
    Answer {
        status,
        codes,
        header: None,
    }
}

/// Every answer the layers give an operation of this shape, by status. Each line names the
/// code path that answers it (see `ApiError::status` for the status of each code).
fn layer_answers(s: &Shape) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut bad_request = Vec::new();
    if s.path_params {
        bad_request.push((
            "invalid_path_parameter",
            "a path segment does not parse (AppPath)",
        ));
    }
    if s.query_params {
        bad_request.push((
            "invalid_query_parameter",
            "a query parameter is unknown, does not parse or is out of range",
        ));
    }
    if s.json_body {
        bad_request.push(("malformed_json", "the body is not JSON"));
        bad_request.push((
            "invalid_body",
            "the body has a missing, unknown or mistyped field, or a NUL character",
        ));
    }
    if s.parses_command_headers() {
        bad_request.push((
            "invalid_header",
            "a malformed `If-Match` or `Idempotency-Key`",
        ));
    }
    if !bad_request.is_empty() && !s.own_client_errors {
        answers.push(answer("400", bad_request));
    }
    if s.secured {
        answers.push(Answer {
            status: "401",
            codes: vec![
                ("unauthorized", "no bearer token"),
                (
                    "invalid_token",
                    "the access token is not valid or has expired",
                ),
                ("session_revoked", "the session has ended"),
            ],
            header: Some(("WWW-Authenticate", "`Bearer realm=\"repstream\"`")),
        });
    }
    if s.tenant {
        answers.push(answer(
            "403",
            vec![(
                "forbidden",
                "the caller's role in the studio does not allow this",
            )],
        ));
        answers.push(answer(
            "404",
            vec![(
                "studio_not_found",
                "no such studio, or the caller is not a member",
            )],
        ));
    }
    if s.tenant_command {
        answers.push(answer(
            "409",
            vec![
                (
                    "version_conflict",
                    "the body's `expected_version` is stale, or a concurrent writer won",
                ),
                ("id_taken", "a client-chosen id is another studio's"),
            ],
        ));
        answers.push(answer(
            "412",
            vec![(
                "precondition_failed",
                "`If-Match` names another version, or is a weak tag",
            )],
        ));
    }
    let mut too_large = Vec::new();
    if s.json_body || !s.read {
        too_large.push(("payload_too_large", "the body is over the size limit"));
    }
    if s.tenant_command {
        too_large.push((
            "event_too_large",
            "the change would record an event over the pipeline's limit",
        ));
    }
    if !too_large.is_empty() {
        answers.push(answer("413", too_large));
    }
    if s.json_body && !s.own_client_errors {
        answers.push(answer(
            "415",
            vec![(
                "unsupported_media_type",
                "the body is not `application/json`",
            )],
        ));
    }
    let mut unprocessable = Vec::new();
    if (s.json_body || s.tenant_command) && !s.own_client_errors {
        unprocessable.push(("validation_failed", "a value is invalid (see `errors`)"));
    }
    if s.tenant_command {
        unprocessable.push((
            "idempotency_key_reused",
            "the `Idempotency-Key` came with another request",
        ));
    }
    if !unprocessable.is_empty() {
        answers.push(answer("422", unprocessable));
    }
    answers.push(Answer {
        status: "429",
        codes: vec![("rate_limited", "over the request budget")],
        header: Some(("Retry-After", "Seconds to wait")),
    });
    answers.push(answer(
        "500",
        vec![(
            "internal_error",
            "a bug; the details are in the server's log",
        )],
    ));
    if s.v1 {
        let mut unavailable = vec![("service_unavailable", "the database is unreachable")];
        if s.min_version {
            unavailable.push((
                "view_not_caught_up",
                "the view has not reached `min_version` in time",
            ));
        }
        answers.push(Answer {
            status: "503",
            codes: unavailable,
            header: Some(("Retry-After", "Seconds to wait")),
        });
    }
    answers
}

/// The headers every tenant command honours, declared where the handler did not, with
/// the forms `RequestContext` accepts (anything else is `400 invalid_header`).
fn command_headers() -> [Parameter; 2] {
    let header = |name: &str, description: &str, pattern: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(pattern)),
            ))
            .build()
    };
    [
        header(
            "If-Match",
            "Apply only if the addressed resource is at this version, as an ETag \
             (`\"3\"`); a weak tag (`W/\"3\"`) never matches, `*` matches any. `412` \
             otherwise.",
            r#"^(\*|(W/)?"[0-9]{1,19}")$"#,
        ),
        header(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters (a UUID is a good key). A retry with the \
             same key and request answers the first response again; the same key with \
             another request is `422 idempotency_key_reused`. Kept for 24 hours.",
            "^[!-~]{1,255}$",
        ),
    ]
}

/// Adds to every operation the answers of the layers it passes through (see the module
/// documentation), and to tenant commands the headers they honour.
pub fn declare_layer_answers(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        for (method, op) in operations(item) {
            let shape = Shape::of(path, method, op);
            for a in layer_answers(&shape) {
                declare(op, &a);
            }
            if shape.tenant_command {
                let params = op.parameters.get_or_insert_with(Vec::new);
                for header in command_headers() {
                    let declared = params.iter().any(|p| match p {
                        RefOr::T(p) => p.name.eq_ignore_ascii_case(&header.name),
                        RefOr::Ref(_) => false,
                    });
                    if !declared {
                        params.push(RefOr::T(header));
                    }
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

/// Codes as a description: "`code` (when), …".
fn describe(codes: &[(&str, &str)]) -> String {
    codes
        .iter()
        .map(|(code, when)| format!("`{code}` ({when})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn declare(op: &mut Operation, a: &Answer) {
    let responses = &mut op.responses.responses;
    match responses.get_mut(a.status) {
        None => {
            let mut response = ResponseBuilder::new()
                .description(describe(&a.codes))
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build();
            add_header(&mut response, a);
            responses.insert(a.status.to_owned(), RefOr::T(response));
        }
        Some(RefOr::T(response)) if response.content.contains_key(PROBLEM_JSON) => {
            let missing: Vec<(&str, &str)> = a
                .codes
                .iter()
                .copied()
                .filter(|(code, _)| !response.description.contains(&format!("`{code}`")))
                .collect();
            if !missing.is_empty() {
                response.description = format!("{}; {}", response.description, describe(&missing));
            }
            add_header(response, a);
        }
        // Declared by the operation in its own shape.
        Some(_) => {}
    }
}

fn add_header(response: &mut Response, a: &Answer) {
    if let Some((name, description)) = a.header {
        response.headers.entry(name.to_owned()).or_insert_with(|| {
            let mut header = Header::default();
            header.description = Some(description.to_owned());
            RefOr::T(header)
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(crate::openapi_document()).expect("the document serialises")
    }

    #[test]
    fn the_health_intake_and_the_recommendation_schema_are_published() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let recommendation = &schemas["Recommendation"]["properties"];
        for field in [
            "summary",
            "medical_clearance",
            "contraindications",
            "focus_areas",
            "intensity",
            "first_week",
            "follow_up_questions",
        ] {
            assert!(recommendation[field].is_object(), "Recommendation.{field}");
        }
        assert!(schemas["HealthSubmission"]["properties"]["parq"].is_object());
        assert!(
            schemas["Contraindication"].is_object(),
            "nested schemas too"
        );
    }

    #[test]
    fn every_webhook_event_type_is_documented_with_its_signature_headers() {
        let doc = document();
        let hooks = doc["webhooks"].as_object().expect("a webhooks section");
        assert_eq!(
            hooks.len(),
            domain::webhook_endpoint::EVENT_TYPES.len(),
            "{hooks:?}"
        );
        for event_type in domain::webhook_endpoint::EVENT_TYPES {
            let op = &hooks[event_type]["post"];
            let headers: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(
                headers,
                ["webhook-id", "webhook-timestamp", "webhook-signature"],
                "{event_type}"
            );
            assert_eq!(
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/WebhookPayload"
            );
        }
        assert!(doc["components"]["schemas"]["WebhookPayload"]["properties"]["data"].is_object());
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                ops.push((method.clone(), path.clone(), op.clone()));
            }
        }
        ops
    }

    /// The media types of one response of `op`.
    fn media(op: &Value, status: &str) -> Vec<String> {
        op["responses"][status]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_error_is_a_problem_document_except_the_token_endpoints_and_readiness() {
        let doc = document();
        let ops = operations(&doc);
        assert!(ops.len() > 40, "{} operations", ops.len());
        for (method, path, op) in &ops {
            for status in ["429", "500"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} lacks {status}"
                );
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let own = (path == "/api/v1/auth/token" && status == "400")
                    || (path == "/readyz" && status == "503");
                if status.as_str() < "400" || own {
                    continue;
                }
                assert_eq!(
                    response["content"][super::PROBLEM_JSON]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
    }

    #[test]
    fn handler_declarations_are_kept_and_completed_with_the_layers_codes() {
        let doc = document();
        let get_class = &doc["paths"]["/api/v1/studios/{studio_id}/classes/{class_id}"]["get"];
        let not_found = get_class["responses"]["404"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(not_found.starts_with("`class_not_found`"), "{not_found}");
        assert!(not_found.contains("`studio_not_found`"), "{not_found}");
        let unavailable = get_class["responses"]["503"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            unavailable.contains("`view_not_caught_up`")
                && unavailable.contains("`service_unavailable`"),
            "{unavailable}"
        );
        for status in ["400", "401", "403", "429", "500"] {
            assert!(get_class["responses"].get(status).is_some(), "{status}");
        }
        assert!(
            get_class["responses"].get("415").is_none()
                && get_class["responses"].get("412").is_none(),
            "a read takes no body and no If-Match"
        );
    }

    #[test]
    fn tenant_commands_declare_if_match_and_idempotency_key_once() {
        let doc = document();
        let mut commands = 0;
        for (method, path, op) in operations(&doc) {
            if method == "get" || !path.starts_with("/api/v1/studios") {
                continue;
            }
            commands += 1;
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(names, ["If-Match", "Idempotency-Key"], "{method} {path}");
            for status in ["409", "412", "413", "422"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} lacks {status}"
                );
            }
        }
        assert!(commands > 25, "{commands} commands");
    }

    #[test]
    fn the_token_endpoint_declares_oauth2_errors_only_for_the_request() {
        let doc = document();
        let token = &doc["paths"]["/api/v1/auth/token"]["post"];
        assert_eq!(media(token, "400"), ["application/json"]);
        assert_eq!(
            token["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/OAuthError"
        );
        for status in ["401", "415", "422"] {
            assert!(token["responses"].get(status).is_none(), "{status}");
        }
        for status in ["413", "429", "503"] {
            assert_eq!(media(token, status), [super::PROBLEM_JSON], "{status}");
        }
        let codes = &doc["components"]["schemas"]["OAuthErrorCode"]["enum"];
        assert_eq!(
            codes,
            &serde_json::json!(["invalid_request", "invalid_grant", "unsupported_grant_type"])
        );
    }
}
