//! Rate limiting per client IP and per signed-in account (the subject of a verified
//! access token; GCRA via `governor`), with a stricter budget on the authentication
//! endpoints. Over budget: `429 rate_limited` with `Retry-After`.
//!
//! Clients are budgeted per network (an IPv4 address, an IPv6 /64), and every studio
//! has a budget of its own. Idle keys are pruned, so memory stays bounded.
//!
//! Limits are per API process: with N replicas the effective budget is N times larger.
//! Put a shared limiter (at the load balancer, or in Postgres) in front when that
//! matters.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Requests addressed to one studio (`/api/v1/studios/{id}/…`), whoever sends them:
    /// one tenant's traffic cannot take the whole service.
    pub per_tenant_per_minute: u32,
    pub burst: u32,
    /// Reverse proxies of our own in front of the API. With `n > 0` the client IP is the
    /// `n`-th `X-Forwarded-For` entry from the right (the one our outermost proxy saw);
    /// entries further left are the client's to write and are never trusted.
    pub trusted_proxy_hops: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 1200,
            per_account_per_minute: 600,
            auth_per_ip_per_minute: 30,
            per_tenant_per_minute: 12_000,
            burst: 60,
            trusted_proxy_hops: 0,
        }
    }
}

/// Keys idle this long are as good as fresh and are dropped, which bounds the limiters'
/// memory by the number of distinct networks seen within a prune interval.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

pub struct Limiters {
    ip: DefaultKeyedRateLimiter<IpAddr>,
    account: DefaultKeyedRateLimiter<uuid::Uuid>,
    auth: DefaultKeyedRateLimiter<IpAddr>,
    tenant: DefaultKeyedRateLimiter<uuid::Uuid>,
    trusted_proxy_hops: usize,
    started: Instant,
    /// Milliseconds after `started` of the last prune.
    pruned_at: AtomicU64,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(rate).allow_burst(burst)
}

impl Limiters {
    pub fn new(limits: &RateLimits) -> Self {
        let auth_burst = limits.burst.min(limits.auth_per_ip_per_minute).max(1);
        // A studio's staff and clients share its budget: allow a tenth of a minute at once.
        let tenant_burst = (limits.per_tenant_per_minute / 10).max(limits.burst);
        Self {
            ip: DefaultKeyedRateLimiter::keyed(quota(limits.per_ip_per_minute, limits.burst)),
            account: DefaultKeyedRateLimiter::keyed(quota(
                limits.per_account_per_minute,
                limits.burst,
            )),
            auth: DefaultKeyedRateLimiter::keyed(quota(limits.auth_per_ip_per_minute, auth_burst)),
            tenant: DefaultKeyedRateLimiter::keyed(quota(
                limits.per_tenant_per_minute,
                tenant_burst,
            )),
            trusted_proxy_hops: limits.trusted_proxy_hops,
            started: Instant::now(),
            pruned_at: AtomicU64::new(0),
        }
    }

    /// Distinct keys held (networks, accounts and tenants).
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.ip.len() + self.account.len() + self.auth.len() + self.tenant.len()
    }

    /// Drops the keys whose budget is back to full, at most once per [`PRUNE_EVERY`] (the
    /// request that finds the interval over does it; the others go on).
    fn prune_if_due(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.pruned_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PRUNE_EVERY.as_millis() as u64
            || self
                .pruned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.prune();
    }

    /// Drops every key whose budget is back to full.
    pub fn prune(&self) {
        self.ip.retain_recent();
        self.account.retain_recent();
        self.auth.retain_recent();
        self.tenant.retain_recent();
        self.ip.shrink_to_fit();
        self.account.shrink_to_fit();
        self.auth.shrink_to_fit();
        self.tenant.shrink_to_fit();
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

/// The client's IP: the socket peer, or, behind `trusted_proxy_hops` proxies of our own,
/// the `X-Forwarded-For` entry that many hops from the right (all `X-Forwarded-For`
/// headers read as one list, RFC 7230 §3.2.2). With fewer entries than hops the leftmost
/// is taken; an entry that is not an IP address leaves the peer.
pub fn client_ip(request: &Request, trusted_proxy_hops: usize) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if trusted_proxy_hops == 0 {
        return peer;
    }
    let hops: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if hops.is_empty() {
        return peer;
    }
    let chosen = hops[hops.len() - trusted_proxy_hops.min(hops.len())];
    chosen.parse().ok().or(peer)
}

/// The network an address is budgeted as: an IPv4 address itself, an IPv6 address's /64
/// (one subscriber's allocation; rotating within it gains nothing). IPv4-mapped IPv6
/// addresses count as their IPv4 address.
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// The studio a request addresses, from its path (`/api/v1/studios/{id}/…`).
fn tenant_of(path: &str) -> Option<uuid::Uuid> {
    let rest = path.strip_prefix("/api/v1/studios/")?;
    let id = rest.split('/').next()?;
    uuid::Uuid::parse_str(id).ok()
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
    limiters.prune_if_due();
    let ip = client_ip(&request, limiters.trusted_proxy_hops);
    if let Some(ip) = ip {
        request.extensions_mut().insert(ClientIp(ip));
        let path = request.uri().path();
        let auth_endpoint = path.starts_with("/api/v1/auth/");
        let result = if auth_endpoint {
            check(&limiters.auth, &network(ip))
        } else {
            check(&limiters.ip, &network(ip))
        };
        if let Err(e) = result {
            return e.into_response();
        }
    }
    if let Some(tenant) = tenant_of(request.uri().path()) {
        if let Err(e) = check(&limiters.tenant, &tenant) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(forwarded: &[&str]) -> Request {
        let mut builder = Request::builder().uri("/api/v1/me");
        for value in forwarded {
            builder = builder.header("x-forwarded-for", *value);
        }
        let mut request = builder.body(axum::body::Body::empty()).expect("request");
        let peer: SocketAddr = "10.0.0.1:4000".parse().expect("peer");
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_client_ip_is_counted_from_the_right() {
        let forged = request(&["6.6.6.6, 203.0.113.5, 192.0.2.1"]);
        assert_eq!(client_ip(&forged, 0), Some(ip("10.0.0.1")));
        assert_eq!(client_ip(&forged, 1), Some(ip("192.0.2.1")));
        assert_eq!(client_ip(&forged, 2), Some(ip("203.0.113.5")));
        // Several headers are one list; fewer entries than hops: the leftmost.
        let split = request(&["6.6.6.6", "192.0.2.1"]);
        assert_eq!(client_ip(&split, 1), Some(ip("192.0.2.1")));
        assert_eq!(client_ip(&split, 5), Some(ip("6.6.6.6")));
        assert_eq!(client_ip(&request(&[]), 1), Some(ip("10.0.0.1")));
        assert_eq!(client_ip(&request(&["not-an-ip"]), 1), Some(ip("10.0.0.1")));
    }

    #[test]
    fn ipv6_is_budgeted_per_64() {
        assert_eq!(network(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(network(ip("2001:db8:1:2::ffff")), ip("2001:db8:1:2::"));
        assert_eq!(network(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(network(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn idle_keys_are_pruned() {
        let limiters = Limiters::new(&RateLimits {
            per_ip_per_minute: 600_000,
            burst: 1,
            ..RateLimits::default()
        });
        for n in 0..1000u32 {
            let _ = check(&limiters.ip, &IpAddr::from(n.to_be_bytes()));
        }
        assert!(limiters.keys() >= 1000);
        std::thread::sleep(Duration::from_millis(20));
        limiters.prune();
        assert_eq!(limiters.keys(), 0);
    }
}
