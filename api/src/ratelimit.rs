//! Rate limiting per client IP and per signed-in account (the subject of a verified
//! access token; GCRA via `governor`), with a stricter budget on the authentication
//! endpoints. Over budget: `429 rate_limited` with `Retry-After`.
//!
//! Limits are per API process: with N replicas the effective budget is N times larger.
//! Put a shared limiter (at the load balancer, or in Postgres) in front when that
//! matters.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::{bearer_token, TokenService, VerifiedToken};
use crate::error::ApiError;

/// Budgets: requests per minute, and the burst allowed above the steady rate.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub per_ip_per_minute: u32,
    pub per_account_per_minute: u32,
    /// Sign-up, token and password endpoints, per IP.
    pub auth_per_ip_per_minute: u32,
    pub burst: u32,
    /// Take the client IP from the first `X-Forwarded-For` entry (only behind a proxy
    /// you control).
    pub trust_forwarded_for: bool,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 1200,
            per_account_per_minute: 600,
            auth_per_ip_per_minute: 30,
            burst: 60,
            trust_forwarded_for: false,
        }
    }
}

pub struct Limiters {
    ip: DefaultKeyedRateLimiter<IpAddr>,
    account: DefaultKeyedRateLimiter<uuid::Uuid>,
    auth: DefaultKeyedRateLimiter<IpAddr>,
    trust_forwarded_for: bool,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(rate).allow_burst(burst)
}

impl Limiters {
    pub fn new(limits: &RateLimits) -> Self {
        let auth_burst = limits.burst.min(limits.auth_per_ip_per_minute).max(1);
        Self {
            ip: DefaultKeyedRateLimiter::keyed(quota(limits.per_ip_per_minute, limits.burst)),
            account: DefaultKeyedRateLimiter::keyed(quota(
                limits.per_account_per_minute,
                limits.burst,
            )),
            auth: DefaultKeyedRateLimiter::keyed(quota(limits.auth_per_ip_per_minute, auth_burst)),
            trust_forwarded_for: limits.trust_forwarded_for,
        }
    }
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), ApiError> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::TooManyRequests {
            code: "rate_limited",
            message: "too many requests; slow down".to_owned(),
            retry_after_secs: wait.as_secs() + 1,
        }
    })
}

/// The client's IP: the socket peer, or the first `X-Forwarded-For` hop when trusted.
pub fn client_ip(request: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        if let Some(ip) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return Some(ip);
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The client IP as seen by the rate limiter, stored for handlers (audit metadata).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// Middleware applying the budgets.
pub async fn limit(
    State(limiters): State<Arc<Limiters>>,
    State(tokens): State<TokenService>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(&request, limiters.trust_forwarded_for);
    if let Some(ip) = ip {
        request.extensions_mut().insert(ClientIp(ip));
        let path = request.uri().path();
        let auth_endpoint = path.starts_with("/api/v1/auth/");
        let result = if auth_endpoint {
            check(&limiters.auth, &ip)
        } else {
            check(&limiters.ip, &ip)
        };
        if let Err(e) = result {
            return e.into_response();
        }
    }
    // Per account: only the subject of a token that verifies (signature, algorithm,
    // expiry, issuer, audience: the check `AuthUser` makes; HS256 is cheap). A forged or
    // invalid token counts against its IP alone, so nobody can spend another account's
    // budget. The session is not looked up here: a revoked session's unexpired token still
    // counts against its own account, which only its holder can spend.
    let verified = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .and_then(|token| tokens.verify(token).ok())
        .map(VerifiedToken::from);
    if let Some(verified) = verified {
        if let Err(e) = check(&limiters.account, &verified.account_id) {
            return e.into_response();
        }
        // The extractors take it from here instead of verifying again.
        request.extensions_mut().insert(verified);
    }
    next.run(request).await
}
