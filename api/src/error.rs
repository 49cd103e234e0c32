//! The one API error type and the one place it becomes an HTTP response: an RFC 9457
//! `application/problem+json` body with a stable `code`. Handlers return `ApiError`;
//! extractors reject with it; nothing else writes error responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::error::{DomainError, Refusal};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid input field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `timezone`.
    pub field: String,
    /// Stable reason, e.g. `unknown_time_zone`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON at all.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// 400: JSON of the wrong shape (missing or unknown field, wrong type).
    #[error("the request body does not match the expected shape: {0}")]
    InvalidBody(String),
    /// 415: no `Content-Type: application/json`.
    #[error("expected `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// 413: body over the configured limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 413: the event the command would record exceeds what the pipeline carries.
    #[error("the change would record an event of {bytes} bytes; the limit is {limit}")]
    EventTooLarge { bytes: usize, limit: usize },
    /// 400: a path segment did not parse (e.g. not a UUID).
    #[error("invalid path parameter: {0}")]
    InvalidPath(String),
    /// 400: a query parameter did not parse.
    #[error("invalid query parameter: {0}")]
    InvalidQuery(String),
    /// 400: a header did not parse.
    #[error("invalid header `{header}`: {message}")]
    InvalidHeader {
        header: &'static str,
        message: String,
    },
    /// 422: well-formed input with invalid values.
    #[error("some fields are invalid")]
    Validation(Vec<FieldError>),
    /// 401: missing, invalid or expired credentials.
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// 400: an OAuth2 refusal of a grant (`invalid_grant`, ...). The token endpoint
    /// answers it in RFC 6749's shape ([`TokenError`]); elsewhere (a wrong current password
    /// on `/auth/password`) it is problem+json like every other error.
    #[error("{message}")]
    OAuth {
        code: OAuthErrorCode,
        message: String,
    },
    /// 403: authenticated, but the role does not allow this.
    #[error("your role in this studio does not allow this")]
    Forbidden,
    /// 409: a unique value is taken (e.g. `email_taken`).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 429: slow down.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// 404.
    #[error("{what} not found")]
    NotFound {
        code: &'static str,
        what: &'static str,
    },
    /// 404: no such route.
    #[error("no route for this path")]
    RouteNotFound,
    /// 405.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// 409: the client's expected version is stale (or a concurrent writer won).
    #[error("{0}")]
    VersionConflict(String),
    /// 412: `If-Match` names another version than the resource's current one (strong
    /// comparison: a weak tag never matches). Nothing was written.
    #[error("If-Match names version {expected}, but the current version is {actual}")]
    PreconditionFailed { expected: String, actual: u64 },
    /// Not an error: the stored first response to a retried `Idempotency-Key`, returned
    /// as it was.
    #[error("replayed response")]
    Replay(Box<crate::reply::Reply>),
    /// 422: a business rule refused the command.
    #[error("{message}")]
    Rule { code: &'static str, message: String },
    /// 503: the read model has not reached `min_version` within the wait bound.
    #[error("the view is at version {current}, not yet at {wanted}; retry shortly")]
    NotCaughtUp { current: u64, wanted: u64 },
    /// 503: a dependency is unavailable.
    #[error("service temporarily unavailable")]
    Unavailable,
    /// 503: too many password checks are running; retry shortly.
    #[error("too many sign-ins at once; retry shortly")]
    Busy,
    /// 500: details go to the log only.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The problem document, as declared in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:repstream:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable error code.
    pub code: String,
    /// Per-field errors (validation failures only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The `error` of an OAuth2 token-endpoint error (RFC 6749 §5.2) this API answers. No
/// client authenticates (the clients are public), so never `invalid_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// Malformed: a missing parameter, another media type than a form or JSON, a body that
    /// does not parse, a value out of bounds, a malformed header.
    InvalidRequest,
    /// Wrong email or password; an unknown, used, expired or ended refresh token.
    InvalidGrant,
    /// A `grant_type` other than `password` and `refresh_token`.
    UnsupportedGrantType,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
        }
    }
}

/// The body of a token-endpoint error (RFC 6749 §5.2), as declared in the OpenAPI
/// document.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    pub error: OAuthErrorCode,
    /// What was wrong, for the client's developer.
    pub error_description: String,
}

/// The token endpoint's errors, in the shape OAuth2 clients parse (RFC 6749 §5.2): every
/// refusal of the request itself is `400` with an `application/json` [`OAuthError`] and
/// `Cache-Control: no-store`. The endpoint's own refusals keep their code; malformed input
/// of any kind (what other endpoints answer `400`, `415` or `422` for) is
/// `invalid_request`. What is not about the request's content stays problem+json, as on
/// every endpoint: `413` (the body limit), `429` (rate limit, lock-out) and `5xx`.
#[derive(Debug)]
pub struct TokenError(pub ApiError);

impl From<ApiError> for TokenError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let error = match &self.0 {
            ApiError::OAuth { code, .. } => *code,
            ApiError::MalformedJson(_)
            | ApiError::InvalidBody(_)
            | ApiError::UnsupportedMediaType
            | ApiError::InvalidPath(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidHeader { .. }
            | ApiError::Validation(_) => OAuthErrorCode::InvalidRequest,
            _ => return self.0.into_response(),
        };
        let body = OAuthError {
            error,
            error_description: self.0.to_string(),
        };
        (
            StatusCode::BAD_REQUEST,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            axum::Json(body),
        )
            .into_response()
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_)
            | Self::InvalidBody(_)
            | Self::InvalidPath(_)
            | Self::InvalidQuery(_)
            | Self::InvalidHeader { .. }
            | Self::OAuth { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge | Self::EventTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_) | Self::Rule { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound { .. } | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::VersionConflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::Replay(reply) => StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK),
            Self::NotCaughtUp { .. } | Self::Unavailable | Self::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidBody(_) => "invalid_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::EventTooLarge { .. } => "event_too_large",
            Self::InvalidPath(_) => "invalid_path_parameter",
            Self::InvalidQuery(_) => "invalid_query_parameter",
            Self::InvalidHeader { .. } => "invalid_header",
            Self::OAuth { code, .. } => code.as_str(),
            Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::TooManyRequests { code, .. } => code,
            Self::Forbidden => "forbidden",
            Self::Validation(_) => "validation_failed",
            Self::NotFound { code, .. } => code,
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::VersionConflict(_) => "version_conflict",
            Self::PreconditionFailed { .. } => "precondition_failed",
            Self::Replay(_) => "replayed",
            Self::Rule { code, .. } => code,
            Self::NotCaughtUp { .. } => "view_not_caught_up",
            Self::Unavailable => "service_unavailable",
            Self::Busy => "busy",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            kind: format!("urn:repstream:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code().to_owned(),
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// `422 validation_failed` for one invalid field: the single-field form of
    /// [`Validator`]. `reason` is a message (code `invalid`: the value breaks a rule) or a
    /// value type's refusal ([`domain::values::InvalidValue`], with its own code).
    pub fn invalid_field(field: &str, reason: impl Into<Reason>) -> ApiError {
        let mut v = Validator::new();
        v.invalid(field, reason);
        ApiError::Validation(v.0)
    }
}

/// Why a field is invalid: a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
}

impl From<&str> for Reason {
    fn from(message: &str) -> Self {
        Self::from(message.to_owned())
    }
}

impl From<String> for Reason {
    /// A rule the value breaks (code `invalid`).
    fn from(message: String) -> Self {
        Self {
            code: "invalid",
            message,
        }
    }
}

impl From<domain::values::InvalidValue> for Reason {
    fn from(err: domain::values::InvalidValue) -> Self {
        Self {
            code: err.code,
            message: err.message,
        }
    }
}

/// The one way handlers report invalid input values (`422 validation_failed`): collect
/// every field's error, so a client learns about all of them at once, then
/// [`finish`](Self::finish). One field alone: [`ApiError::invalid_field`].
///
/// ```ignore
/// let mut v = Validator::new();
/// let name = v.check("name", DisplayName::parse(&body.name));
/// let zone = v.check("timezone", TimeZone::parse(&body.timezone));
/// let (name, zone) = v.finish(|| Some((name?, zone?)))?;
/// ```
#[derive(Debug, Default)]
#[must_use = "a validator reports nothing until `finish`"]
pub struct Validator(Vec<FieldError>);

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// `result`'s value; `None` with its error recorded for `field`.
    pub fn check<T, E: Into<Reason>>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.invalid(field, e)).ok()
    }

    /// Records that `field` is invalid.
    pub fn invalid(&mut self, field: &str, reason: impl Into<Reason>) {
        let reason = reason.into();
        self.0.push(FieldError {
            field: field.to_owned(),
            code: reason.code.to_owned(),
            message: reason.message,
        });
    }

    /// `422` with every recorded error, else the checked values as `values` assembles
    /// them (from the `Option`s [`check`](Self::check) returned).
    pub fn finish<R>(self, values: impl FnOnce() -> Option<R>) -> Result<R, ApiError> {
        if !self.0.is_empty() {
            return Err(ApiError::Validation(self.0));
        }
        values()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("validator let an error through")))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        if infra::db::is_transient_chain(&err) {
            tracing::error!(error = format!("{err:#}"), "database unavailable");
            return Self::Unavailable;
        }
        Self::Internal(err)
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(err: serde_json::Error) -> Self {
        ApiError::Internal(err.into())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if infra::db::is_transient(&err) {
            tracing::error!(error = %err, "database unavailable");
            Self::Unavailable
        } else {
            Self::Internal(err.into())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Replay(reply) => reply.into_response(),
            other => other.render(),
        }
    }
}

impl ApiError {
    fn render(self) -> Response {
        if let Self::Internal(err) = &self {
            // The only place internals are logged; the client gets a fixed message.
            tracing::error!(error = format!("{err:#}"), "internal error");
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.problem())).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::NotCaughtUp { .. } | Self::Unavailable | Self::Busy => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(&1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Self::Unauthorized { .. } => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"repstream\""),
                );
            }
            _ => {}
        }
        response
    }
}

/// Maps a command failure to the API error.
pub fn from_command<E: DomainError>(err: infra::event_store::CommandError<E>) -> ApiError {
    use infra::event_store::CommandError;
    match err {
        CommandError::Rejected(e) => ApiError::refused(&e),
        e @ (CommandError::VersionMismatch { .. } | CommandError::Conflict) => {
            ApiError::VersionConflict(e.to_string())
        }
        CommandError::IdTaken => ApiError::Conflict {
            code: "id_taken",
            message: "this id is already in use; choose another (or leave it out)".to_owned(),
        },
        CommandError::Unique(constraint) => ApiError::Internal(anyhow::anyhow!(
            "unexpected unique violation on {constraint}"
        )),
        CommandError::TooLarge { bytes, limit } => ApiError::EventTooLarge { bytes, limit },
        CommandError::Unavailable(msg) => {
            tracing::error!(error = %msg, "event store unavailable");
            ApiError::Unavailable
        }
        CommandError::Store(msg) => ApiError::Internal(anyhow::anyhow!(msg)),
    }
}

impl ApiError {
    /// Any aggregate's refusal, answered by its kind and code.
    pub fn refused<E: DomainError>(err: &E) -> Self {
        match err.refusal() {
            Refusal::NotFound { what } => ApiError::NotFound {
                code: err.code(),
                what,
            },
            Refusal::Forbidden => ApiError::Forbidden,
            Refusal::Conflict => ApiError::Conflict {
                code: err.code(),
                message: err.to_string(),
            },
            Refusal::InvalidField {
                field,
                code,
                message,
            } => ApiError::invalid_field(&field, Reason { code, message }),
            Refusal::Rule => ApiError::Rule {
                code: err.code(),
                message: err.to_string(),
            },
        }
    }
}

/// `From` for every aggregate's error, through [`ApiError::refused`] (a blanket impl
/// over `DomainError` would overlap the `From` impls above).
macro_rules! from_domain_errors {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for ApiError {
            fn from(err: $error) -> Self {
                ApiError::refused(&err)
            }
        })*
    };
}

from_domain_errors!(
    domain::account::AccountError,
    domain::class::ClassError,
    domain::class_type::ClassTypeError,
    domain::client::ClientError,
    domain::studio::StudioError,
    domain::trainer_calendar::TrainerCalendarError,
    domain::webhook_endpoint::WebhookEndpointError,
);

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(err: ApiError) -> (StatusCode, String, serde_json::Value) {
        let response = TokenError::from(err).into_response();
        let status = response.status();
        let media = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body = serde_json::from_slice(&body).expect("JSON");
        (status, media, body)
    }

    #[tokio::test]
    async fn token_errors_are_oauth2_documents_for_the_request_and_problems_otherwise() {
        let (status, media, body) = answer(ApiError::UnsupportedMediaType).await;
        assert_eq!((status.as_u16(), media.as_str()), (400, "application/json"));
        assert_eq!(body["error"], "invalid_request");
        let (_, _, body) = answer(ApiError::OAuth {
            code: OAuthErrorCode::InvalidGrant,
            message: "wrong email or password".to_owned(),
        })
        .await;
        assert_eq!(
            body,
            serde_json::json!({"error": "invalid_grant", "error_description": "wrong email or password"})
        );
        let (status, media, body) = answer(ApiError::TooManyRequests {
            code: "account_locked",
            message: "later".to_owned(),
            retry_after_secs: 60,
        })
        .await;
        assert_eq!(
            (status.as_u16(), media.as_str()),
            (429, "application/problem+json")
        );
        assert_eq!(body["code"], "account_locked");
    }
}
