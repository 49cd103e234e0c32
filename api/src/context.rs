//! Per-request context: correlation id (accepted from `X-Correlation-Id` or minted),
//! request id, actor and the `If-Match` precondition. The correlation id travels into
//! event metadata, from there into the outbox envelope, SQS message attributes, the
//! projector's and workers' log spans.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use common::event_store::CommandMetadata;
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
    /// The version named by `If-Match`, if any (`*` means any version).
    pub if_match: Option<u64>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let correlation_id = parts
            .extensions
            .get::<CorrelationId>()
            .map_or_else(|| Uuid::new_v4().to_string(), |c| c.0.clone());
        let request_id = parts
            .headers
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let if_match = match parts.headers.get(axum::http::header::IF_MATCH) {
            None => None,
            Some(raw) => parse_if_match(raw.to_str().unwrap_or("\u{0}"))?,
        };
        // The AuthUser extractor (listed before this one in handlers) leaves the caller
        // in the extensions.
        let actor = parts.extensions.get::<crate::auth::AuthUser>().map_or_else(
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
        Ok(Self {
            correlation_id,
            request_id,
            actor,
            ip,
            user_agent,
            if_match,
        })
    }
}

/// `"3"`, `W/"3"`, `3` → Some(3); `*` → None.
fn parse_if_match(raw: &str) -> Result<Option<u64>, ApiError> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(None);
    }
    let tag = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
    tag.parse().map(Some).map_err(|_| ApiError::InvalidHeader {
        header: "If-Match",
        message: "expected the entity version as an ETag, e.g. \"3\"".to_owned(),
    })
}

impl RequestContext {
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
        }
    }

    /// The version the client expects, from `If-Match` or the body's
    /// `expected_version`. Both given and different is a malformed request.
    pub fn expected_version(&self, body: Option<u64>) -> Result<Option<u64>, ApiError> {
        match (self.if_match, body) {
            (Some(h), Some(b)) if h != b => Err(ApiError::InvalidBody(format!(
                "If-Match names version {h} but expected_version is {b}"
            ))),
            (h, b) => Ok(h.or(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_etags_and_star() {
        assert_eq!(parse_if_match("\"3\"").ok(), Some(Some(3)));
        assert_eq!(parse_if_match("W/\"3\"").ok(), Some(Some(3)));
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
