//! Per-request context: correlation id (accepted from `X-Correlation-Id` or minted),
//! request id, actor and the `If-Match` precondition. The correlation id travels into
//! event metadata, from there into the outbox envelope, SQS message attributes, the
//! projector's and workers' log spans.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use infra::event_store::CommandMetadata;
use uuid::Uuid;

use crate::error::ApiError;

pub const CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's correlation id, set by [`correlation`].
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Middleware, outermost: an incoming `X-Request-Id` that is not as bounded and plain
/// as a correlation id (it is logged, echoed and stored in event metadata) is dropped,
/// so the next layer mints a fresh one.
pub async fn plain_request_id(mut request: Request, next: Next) -> Response {
    let plain = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(acceptable);
    if !plain {
        request.headers_mut().remove(&REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// Middleware: adopt a well-formed incoming correlation id or mint one, and echo it.
pub async fn correlation(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    request.extensions_mut().insert(CorrelationId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// What a command handler needs to know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub correlation_id: String,
    pub request_id: Option<String>,
    /// `user:<account id>` for a signed-in caller, otherwise `anonymous`.
    pub actor: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The precondition of `If-Match`, if any.
    pub if_match: Option<IfMatch>,
    /// `Idempotency-Key` and the fingerprint of the request it came with.
    pub idempotency: Option<Idempotency>,
    /// The request's W3C `traceparent`, if well formed (else ignored).
    pub traceparent: Option<String>,
}

/// `If-Match`, compared strongly (RFC 9110 §13.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// `"3"`: apply only at version 3.
    Version(u64),
    /// `W/"3"`: a weak tag never matches strongly, so the precondition fails.
    Weak,
}

/// An `Idempotency-Key` with the SHA-256 of the request (method, path, body) it was sent
/// with; see [`idempotency`].
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

pub const IDEMPOTENCY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");

/// The fingerprint of a request that carries an `Idempotency-Key`, set by [`idempotency`].
#[derive(Debug, Clone)]
struct Fingerprint(String);

/// Middleware: for a command (not `GET`, `HEAD` or `OPTIONS`: reads are idempotent
/// anyway) with an `Idempotency-Key`, fingerprints method, path and body (the body is
/// read within the configured limit, else `413`, and handed on unchanged), so a retry can
/// be told from a different request reusing the key.
pub async fn idempotency(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: Request,
    next: Next,
) -> Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    use sha2::Digest;
    let read = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if read || !request.headers().contains_key(&IDEMPOTENCY_HEADER) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::PayloadTooLarge.into_response(),
    };
    let mut hasher = sha2::Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let fingerprint: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    parts.extensions.insert(Fingerprint(fingerprint));
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Middleware: commands run on their own task, so a client that hangs up cannot cancel a
/// handler halfway through its transaction (it finishes or rolls back, and its
/// connection goes back to the pool clean).
pub async fn detach_commands(request: Request, next: Next) -> Response {
    use axum::http::Method;
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => {
            use axum::response::IntoResponse;
            ApiError::Internal(anyhow::anyhow!("handler task failed: {e}")).into_response()
        }
    }
}

fn idempotency_key(raw: &HeaderValue) -> Result<String, ApiError> {
    let key = raw.to_str().unwrap_or("\u{0}").trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::InvalidHeader {
            header: "Idempotency-Key",
            message: "1 to 255 visible ASCII characters (a UUID is a good key)".to_owned(),
        });
    }
    Ok(key.to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let correlation_id = parts
            .extensions
            .get::<CorrelationId>()
            .map_or_else(|| Uuid::new_v4().to_string(), |c| c.0.clone());
        // Copied into every event's metadata: bounded and plain like the correlation id,
        // or left out.
        let request_id = parts
            .headers
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| acceptable(v))
            .map(str::to_owned);
        let if_match = match parts.headers.get(axum::http::header::IF_MATCH) {
            None => None,
            Some(raw) => parse_if_match(raw.to_str().unwrap_or("\u{0}"))?,
        };
        let idempotency = match parts.headers.get(&IDEMPOTENCY_HEADER) {
            None => None,
            Some(raw) => Some(Idempotency {
                key: idempotency_key(raw)?,
                fingerprint: parts
                    .extensions
                    .get::<Fingerprint>()
                    .map(|f| f.0.clone())
                    .unwrap_or_default(),
            }),
        };
        // The Caller / AuthUser extractors (listed before this one in handlers) leave the
        // caller in the extensions.
        let actor = parts.extensions.get::<crate::auth::Caller>().map_or_else(
            || "anonymous".to_owned(),
            |u| format!("user:{}", u.account_id),
        );
        let ip = parts
            .extensions
            .get::<crate::ratelimit::ClientIp>()
            .map(|ip| ip.0.to_string());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        let traceparent = parts
            .headers
            .get(infra::telemetry::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| infra::telemetry::valid_traceparent(v))
            .map(str::to_owned);
        Ok(Self {
            correlation_id,
            request_id,
            actor,
            ip,
            user_agent,
            if_match,
            idempotency,
            traceparent,
        })
    }
}

/// `"3"`, `3` → version 3; `W/"3"` → weak (never matches); `*` → no precondition.
fn parse_if_match(raw: &str) -> Result<Option<IfMatch>, ApiError> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    let (weak, tag) = match raw.strip_prefix("W/") {
        Some(t) => (true, t),
        None => (false, raw),
    };
    let version: u64 = tag
        .trim_matches('"')
        .parse()
        .map_err(|_| ApiError::InvalidHeader {
            header: "If-Match",
            message: "expected the entity version as an ETag, e.g. \"3\"".to_owned(),
        })?;
    Ok(Some(if weak {
        IfMatch::Weak
    } else {
        IfMatch::Version(version)
    }))
}

impl RequestContext {
    /// The client's network as the limiters budget it (an IPv4 address, an IPv6 /64;
    /// `unknown` without a peer address), e.g. to key sign-in failures.
    pub fn source_network(&self) -> String {
        self.ip
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .map(crate::ratelimit::network)
            .map_or_else(|| "unknown".to_owned(), |n| n.to_string())
    }

    /// Event metadata for a command on `tenant_id`'s data.
    pub fn metadata(&self, tenant_id: Uuid) -> CommandMetadata {
        CommandMetadata {
            tenant_id,
            correlation_id: self.correlation_id.clone(),
            causation_id: self.request_id.clone(),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            // The command's own span when traces are on, else the caller's context.
            traceparent: infra::telemetry::current_traceparent(self.traceparent.as_deref()),
        }
    }

    /// The version the client expects, from `If-Match` or the body's
    /// `expected_version`, and whether it came from `If-Match` (a mismatch is then `412`,
    /// not `409`). Both given and different is a malformed request.
    pub fn expected_version(&self, body: Option<u64>) -> Result<Expected, ApiError> {
        match (self.if_match, body) {
            (Some(IfMatch::Version(h)), Some(b)) if h != b => Err(ApiError::InvalidBody(format!(
                "If-Match names version {h} but expected_version is {b}"
            ))),
            (Some(IfMatch::Weak), _) => Ok(Expected::Weak),
            (Some(IfMatch::Version(h)), _) => Ok(Expected::IfMatch(h)),
            (None, Some(b)) => Ok(Expected::Body(b)),
            (None, None) => Ok(Expected::Any),
        }
    }
}

/// Which version a command may apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Any,
    /// `If-Match: "n"`.
    IfMatch(u64),
    /// `If-Match: W/"n"`: fails.
    Weak,
    /// The body's `expected_version`.
    Body(u64),
}

impl Expected {
    pub fn version(self) -> Option<u64> {
        match self {
            Self::Any | Self::Weak => None,
            Self::IfMatch(v) | Self::Body(v) => Some(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_etags_and_star() {
        assert_eq!(
            parse_if_match("\"3\"").ok(),
            Some(Some(IfMatch::Version(3)))
        );
        assert_eq!(parse_if_match("W/\"3\"").ok(), Some(Some(IfMatch::Weak)));
        assert_eq!(parse_if_match("*").ok(), Some(None));
        assert!(parse_if_match("\"x\"").is_err());
    }

    #[test]
    fn correlation_ids_are_bounded_and_plain() {
        assert!(acceptable("abc-123_x.y:z"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(129)));
        assert!(!acceptable("a b"));
    }
}
