//! Outgoing webhooks, the parts the API and the delivery worker share: the endpoints'
//! signing secrets, the Standard Webhooks signature, and the SSRF guard on URLs.
//!
//! ```text
//! secret(endpoint, v) = HMAC-SHA256(WEBHOOK_SECRET_KEY, "repstream-webhook-secret:" ‖ endpoint id ‖ v)
//! shown once as        whsec_<base64 of those 32 bytes>   (on register and on rotate)
//! webhook-signature    v1,<base64 HMAC-SHA256(secret, "{webhook-id}.{webhook-timestamp}.{body}")>
//! ```
//!
//! Secrets are derived, not stored: events carry only the secret's version, so neither
//! the event store, the outbox, SQS nor a view holds anything that signs a delivery,
//! and every process with the key derives the same secret (like `links::LinkKey`).
//!
//! The guard ([`UrlPolicy`]) runs twice: when an endpoint is registered or changed
//! ([`UrlPolicy::check`], resolving the host) and again for every delivery, where the
//! worker connects only to addresses [`UrlPolicy::allowed_addrs`] returned, so a name
//! that resolved to a public address at registration and to `127.0.0.1` later (DNS
//! rebinding) is refused at delivery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::{Host, Url};
use uuid::Uuid;

/// The shortest key [`WebhookKey::new`] accepts.
pub const MIN_KEY_BYTES: usize = 32;

/// The key endpoint secrets are derived with (`WEBHOOK_SECRET_KEY`, at least 32 bytes).
/// Whoever holds it can sign deliveries for every endpoint: keep it secret, and never
/// change it (every endpoint's secret would change with it).
#[derive(Clone)]
pub struct WebhookKey(Vec<u8>);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(..)")
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length: this never fails.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes any key length"),
    }
}

impl WebhookKey {
    pub fn new(key: impl Into<Vec<u8>>) -> anyhow::Result<Self> {
        let key = key.into();
        anyhow::ensure!(
            key.len() >= MIN_KEY_BYTES,
            "the webhook secret key must be at least {MIN_KEY_BYTES} bytes"
        );
        Ok(Self(key))
    }

    /// Version `version` of `endpoint`'s signing secret.
    pub fn secret(&self, endpoint: Uuid, version: u32) -> WebhookSecret {
        let mut mac = mac(&self.0);
        mac.update(b"repstream-webhook-secret:");
        mac.update(endpoint.as_bytes());
        mac.update(&version.to_be_bytes());
        WebhookSecret(mac.finalize().into_bytes().into())
    }
}

/// One endpoint's signing secret (32 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret([u8; 32]);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// The secret as receivers configure it: `whsec_` + base64.
    pub fn reveal(&self) -> String {
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(self.0)
        )
    }

    /// `v1,<signature>` of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = mac(&self.0);
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }
}

/// The `webhook-signature` header: the current secret's signature, then (during a
/// rotation's overlap) the previous one's, space-separated, so a receiver configured
/// with either secret verifies the message.
pub fn signature_header(
    current: &WebhookSecret,
    previous: Option<&WebhookSecret>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let mut header = current.sign(id, timestamp, body);
    if let Some(previous) = previous {
        header.push(' ');
        header.push_str(&previous.sign(id, timestamp, body));
    }
    header
}

/// The body receivers get: `{ "type", "timestamp", "data" }` (Standard Webhooks'
/// payload shape), serialised once and stored, so every attempt signs the same bytes.
pub fn payload(
    event_type: &str,
    timestamp: chrono::DateTime<chrono::Utc>,
    data: serde_json::Value,
) -> String {
    serde_json::json!({ "type": event_type, "timestamp": timestamp, "data": data }).to_string()
}

/// Since when every delivery to an endpoint has failed: the creation of the oldest
/// delivery after its last successful one (`None` while nothing failed since). The
/// delivery worker disables an endpoint failing for longer than its limit; the notice
/// to the studio says since when.
pub async fn failing_since(
    conn: &mut sqlx::PgConnection,
    tenant: Uuid,
    endpoint: Uuid,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT min(d.created_at) FROM webhook_delivery d \
         WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.state IN ('pending', 'failed') \
           AND d.created_at > COALESCE((SELECT max(ok.delivered_at) FROM webhook_delivery ok \
             WHERE ok.tenant_id = $1 AND ok.endpoint_id = $2 AND ok.state = 'delivered'), '-infinity')",
    )
    .bind(tenant)
    .bind(endpoint)
    .fetch_one(conn)
    .await
}

/// Why a URL is refused. Each has a stable code the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    #[error("not a valid absolute URL")]
    Malformed,
    #[error("at most {} characters", domain::webhook_endpoint::MAX_URL_CHARS)]
    TooLong,
    #[error("must use https")]
    NotHttps,
    #[error("must not contain a user name or password")]
    Userinfo,
    #[error("resolves to a loopback, private, link-local or otherwise non-public address ({0})")]
    PrivateAddress(IpAddr),
    #[error("the host name does not resolve")]
    Unresolvable,
}

impl UrlRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed | Self::TooLong | Self::Userinfo => "webhook_url_invalid",
            Self::NotHttps => "webhook_url_not_https",
            Self::PrivateAddress(_) => "webhook_url_private",
            Self::Unresolvable => "webhook_url_unresolvable",
        }
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918),
/// link-local (the cloud metadata service at 169.254.169.254 among them), CGNAT
/// (100.64/10), multicast, broadcast, unspecified, documentation, benchmarking or
/// reserved; for IPv6 also not a unique-local (fc00::/7) or link-local (fe80::/10)
/// address, and an IPv4-mapped or NAT64 address is judged by the IPv4 address inside.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64 (64:ff9b::/96) reaches the IPv4 address in its low 32 bits.
        let [.., hi, lo] = s;
        return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated) and ::/96
}

/// How long resolving an endpoint's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The SSRF rules. `allow_private` (`WEBHOOK_ALLOW_PRIVATE`, development and tests
/// only) allows `http` and any address; otherwise only `https` to public addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    pub allow_private: bool,
}

impl UrlPolicy {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// May deliveries connect to `ip`?
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }

    /// The rules that need no DNS: an absolute `https` URL (http with `allow_private`),
    /// at most 2048 characters, with a host and no userinfo, and (for an IP-literal
    /// host) an allowed address.
    pub fn parse(&self, raw: &str) -> Result<Url, UrlRefusal> {
        if raw.chars().count() > domain::webhook_endpoint::MAX_URL_CHARS {
            return Err(UrlRefusal::TooLong);
        }
        let url = Url::parse(raw.trim()).map_err(|_| UrlRefusal::Malformed)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(UrlRefusal::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefusal::Userinfo);
        }
        match url.host() {
            None => Err(UrlRefusal::Malformed),
            Some(Host::Ipv4(ip)) => self.literal(IpAddr::V4(ip)).map(|()| url),
            Some(Host::Ipv6(ip)) => self.literal(IpAddr::V6(ip)).map(|()| url),
            Some(Host::Domain(_)) => Ok(url),
        }
    }

    fn literal(&self, ip: IpAddr) -> Result<(), UrlRefusal> {
        if self.allows(ip) {
            Ok(())
        } else {
            Err(UrlRefusal::PrivateAddress(ip))
        }
    }

    /// At registration: [`Self::parse`], then every address the host resolves to must
    /// be allowed (one private answer among public ones is refused as well).
    pub async fn check(&self, raw: &str) -> Result<Url, UrlRefusal> {
        let url = self.parse(raw)?;
        if let Some(Host::Domain(host)) = url.host() {
            if !self.allow_private {
                let addrs = resolve(host).await?;
                if let Some(bad) = addrs.iter().find(|a| !self.allows(a.ip())) {
                    return Err(UrlRefusal::PrivateAddress(bad.ip()));
                }
            }
        }
        Ok(url)
    }

    /// At delivery: the addresses of `host` deliveries may connect to (the others
    /// dropped); refused when none is left. The worker connects only to these.
    pub async fn allowed_addrs(&self, host: &str) -> Result<Vec<SocketAddr>, UrlRefusal> {
        let addrs = resolve(host).await?;
        let first_refused = addrs.iter().find(|a| !self.allows(a.ip())).map(|a| a.ip());
        let allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| self.allows(a.ip())).collect();
        match (allowed.is_empty(), first_refused) {
            (false, _) => Ok(allowed),
            (true, Some(ip)) => Err(UrlRefusal::PrivateAddress(ip)),
            (true, None) => Err(UrlRefusal::Unresolvable),
        }
    }
}

/// The addresses `host` resolves to (port 0), within [`RESOLVE_TIMEOUT`].
async fn resolve(host: &str) -> Result<Vec<SocketAddr>, UrlRefusal> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(UrlRefusal::Unresolvable)
            } else {
                Ok(addrs)
            }
        }
        Ok(Err(_)) | Err(_) => Err(UrlRefusal::Unresolvable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_derived_per_endpoint_version_and_key() {
        let key = WebhookKey::new([7u8; 32]).expect("key");
        let other = WebhookKey::new([8u8; 32]).expect("key");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(key.secret(a, 1), key.secret(a, 1));
        assert_ne!(key.secret(a, 1), key.secret(a, 2));
        assert_ne!(key.secret(a, 1), key.secret(b, 1));
        assert_ne!(key.secret(a, 1), other.secret(a, 1));
        let shown = key.secret(a, 1).reveal();
        assert!(
            shown.starts_with("whsec_") && shown.len() == 6 + 44,
            "{shown}"
        );
        assert!(WebhookKey::new([0u8; 31]).is_err());
        assert_eq!(format!("{:?}", key.secret(a, 1)), "WebhookSecret(..)");
    }

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The specification's test vector.
        let secret = WebhookSecret(
            base64::engine::general_purpose::STANDARD
                .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .ok()
                .and_then(|v| {
                    let mut padded = [0u8; 32];
                    (v.len() <= 32).then(|| {
                        padded[..v.len()].copy_from_slice(&v);
                        padded
                    })
                })
                .expect("24 bytes"),
        );
        // HMAC pads a short key with zeros, so the zero-padded 24-byte key signs alike.
        let sig = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let header = signature_header(&secret, Some(&secret), "id", 1, b"{}");
        assert_eq!(header.split(' ').count(), 2);
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = private.parse().expect("ip");
            assert!(!is_public(ip), "{private} is not public");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = public.parse().expect("ip");
            assert!(is_public(ip), "{public} is public");
        }
    }

    #[test]
    fn urls_are_parsed_strictly_before_any_lookup() {
        let guard = UrlPolicy::new(false);
        let code = |raw: &str| guard.parse(raw).map(|_| "ok").unwrap_or_else(|e| e.code());
        assert_eq!(code("https://hooks.example.com/x"), "ok");
        assert_eq!(code("http://hooks.example.com/x"), "webhook_url_not_https");
        assert_eq!(code("ftp://hooks.example.com/x"), "webhook_url_not_https");
        assert_eq!(
            code("https://user:pw@hooks.example.com/"),
            "webhook_url_invalid"
        );
        assert_eq!(code("not a url"), "webhook_url_invalid");
        assert_eq!(code("https://127.0.0.1/"), "webhook_url_private");
        assert_eq!(code("https://2130706433/"), "webhook_url_private");
        assert_eq!(code("https://[::1]/"), "webhook_url_private");
        assert_eq!(
            code("https://169.254.169.254/latest/meta-data"),
            "webhook_url_private"
        );
        assert_eq!(
            code(&format!("https://a.example/{}", "x".repeat(2048))),
            "webhook_url_invalid"
        );
        let dev = UrlPolicy::new(true);
        assert!(dev.parse("http://127.0.0.1:9/hook").is_ok());
    }
}
