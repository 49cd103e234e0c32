//! Authentication: Argon2id password hashes, short-lived signed access tokens (HS256,
//! pinned; `exp`, `iat`, `iss`, `aud` required and checked) bound to a session, and
//! opaque rotating refresh tokens stored as SHA-256 hashes.
//!
//! Every authenticated request also checks that its session is still open, so logout,
//! refresh-token reuse and password changes take effect at once, not at token expiry.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

/// Token settings.
#[derive(Clone)]
pub struct AuthConfig {
    /// HMAC key for access tokens (at least 32 bytes).
    pub jwt_secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Longest a session lasts however often it is refreshed.
    pub session_max_age: Duration,
    /// Password hashes computed at once (see [`Passwords`]).
    pub password_hash_concurrency: usize,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"***")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("session_max_age", &self.session_max_age)
            .field("password_hash_concurrency", &self.password_hash_concurrency)
            .finish()
    }
}

impl AuthConfig {
    pub fn new(jwt_secret: Vec<u8>) -> Self {
        Self {
            jwt_secret,
            issuer: "repstream".to_owned(),
            audience: "repstream-api".to_owned(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            session_max_age: Duration::from_secs(30 * 24 * 3600),
            password_hash_concurrency: std::thread::available_parallelism()
                .map_or(2, std::num::NonZeroUsize::get),
        }
    }
}

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The account.
    pub sub: Uuid,
    /// The session (refresh-token family) the token belongs to.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: Uuid,
}

#[derive(Clone)]
pub struct TokenService {
    config: Arc<AuthConfig>,
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

impl TokenService {
    pub fn new(config: AuthConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.jwt_secret.len() >= 32,
            "JWT_SECRET must be at least 32 bytes"
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: Arc::new(EncodingKey::from_secret(&config.jwt_secret)),
            decoding: Arc::new(DecodingKey::from_secret(&config.jwt_secret)),
            validation: Arc::new(validation),
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// A signed access token for `account` in `session`, and its lifetime in seconds.
    pub fn issue(&self, account: Uuid, session: Uuid) -> Result<(String, u64), ApiError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = self.config.access_ttl.as_secs();
        let claims = Claims {
            sub: account,
            sid: session,
            iat: now,
            exp: now + ttl as i64,
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            jti: Uuid::new_v4(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing a token: {e}")))?;
        Ok((token, ttl))
    }

    /// Verifies signature, algorithm, expiry, issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                let message = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        "the access token has expired"
                    }
                    _ => "the access token is not valid",
                };
                ApiError::Unauthorized {
                    code: "invalid_token",
                    message: message.to_owned(),
                }
            })
    }
}

/// A fresh opaque token (256 random bits, base64url) and its SHA-256 hash.
pub fn new_opaque_token() -> Result<(String, String), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = sha256_hex(&token);
    Ok((token, hash))
}

pub fn sha256_hex(value: &str) -> String {
    let digest = sha2::Sha256::digest(value.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Argon2id hashing and verification (default parameters: 19 MiB, 2 passes), off the
/// async threads and bounded: at most `concurrency` at once, so a burst of sign-ins
/// cannot take the blocking pool or the memory (each costs 19 MiB while it runs). A
/// request that cannot start within [`PASSWORD_QUEUE_WAIT`] gets `503 busy` with
/// `Retry-After`.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<tokio::sync::Semaphore>,
}

/// Longest a password hash waits for its turn.
pub const PASSWORD_QUEUE_WAIT: Duration = Duration::from_secs(2);

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit =
            tokio::time::timeout(PASSWORD_QUEUE_WAIT, self.permits.clone().acquire_owned())
                .await
                .map_err(|_| ApiError::Busy)?
                .map_err(|_| ApiError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))
    }

    /// The PHC string of `password`'s Argon2id hash.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
        })
        .await?
        .map_err(ApiError::Internal)
    }

    /// Whether `password` matches `stored`. With no stored hash, a dummy hash is verified
    /// anyway so unknown emails take as long as wrong passwords.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$mL2Kr0Y4Mk0Lh1YxO1JjL9rlp5m7vHk9j1cO0m0yJ3k";
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY.to_owned());
        let matches = self
            .run(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| {
                        Argon2::default()
                            .verify_password(password.as_bytes(), &parsed)
                            .is_ok()
                    })
                    .unwrap_or(false)
            })
            .await?;
        Ok(matches && known)
    }
}

/// The token of an `Authorization` header value: `Bearer <token>` (or `bearer`).
pub fn bearer_token(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
}

/// The signed-in caller.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub account_id: Uuid,
    pub session_id: Uuid,
}

/// Who a request's access token names, once it verified (signature, algorithm, expiry,
/// issuer, audience). Says nothing yet about the session. The rate limiter verifies the
/// token first and leaves this in the request's extensions (which only the server can
/// set), so a token is verified once per request.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedToken {
    pub account_id: Uuid,
    pub session_id: Uuid,
}

impl From<Claims> for VerifiedToken {
    fn from(claims: Claims) -> Self {
        Self {
            account_id: claims.sub,
            session_id: claims.sid,
        }
    }
}

/// The request's verified access token (see [`VerifiedToken`]).
fn token_claims(parts: &Parts, tokens: &TokenService) -> Result<VerifiedToken, ApiError> {
    if let Some(verified) = parts.extensions.get::<VerifiedToken>() {
        return Ok(*verified);
    }
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized {
            code: "unauthorized",
            message: "sign in: send `Authorization: Bearer <access token>`".to_owned(),
        })?;
    let token = bearer_token(header).ok_or(ApiError::Unauthorized {
        code: "invalid_token",
        message: "expected a Bearer token".to_owned(),
    })?;
    tokens.verify(token).map(VerifiedToken::from)
}

/// `401 session_revoked`.
pub fn session_revoked() -> ApiError {
    ApiError::Unauthorized {
        code: "session_revoked",
        message: "this session has ended; sign in again".to_owned(),
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    TokenService: FromRef<S>,
    PgPool: FromRef<S>,
{
    type Rejection = ApiError;

    /// Verifies the token and checks that its session is open (one query).
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(*user);
        }
        let claims = token_claims(parts, &TokenService::from_ref(state))?;
        let open: Option<bool> = sqlx::query_scalar(
            "SELECT revoked_at IS NULL AND expires_at > now() FROM auth_session \
             WHERE id = $1 AND account_id = $2",
        )
        .bind(claims.session_id)
        .bind(claims.account_id)
        .fetch_optional(&PgPool::from_ref(state))
        .await?;
        if open != Some(true) {
            return Err(session_revoked());
        }
        let user = AuthUser {
            account_id: claims.account_id,
            session_id: claims.session_id,
        };
        parts.extensions.insert(user);
        parts.extensions.insert(Caller::from(user));
        Ok(user)
    }
}

/// A caller whose access token verified, whose session is checked *in the database
/// statement that also reads their membership* ([`crate::tenancy::Membership::load`],
/// [`crate::command::CommandTx::begin`]): tenant-scoped handlers take this instead of
/// [`AuthUser`] and save a round trip. It grants nothing by itself: the only ways from a
/// `Caller` to tenant data check the session.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub account_id: Uuid,
    pub session_id: Uuid,
}

impl From<AuthUser> for Caller {
    fn from(user: AuthUser) -> Self {
        Self {
            account_id: user.account_id,
            session_id: user.session_id,
        }
    }
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    TokenService: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(*caller);
        }
        let claims = token_claims(parts, &TokenService::from_ref(state))?;
        let caller = Caller {
            account_id: claims.account_id,
            session_id: claims.session_id,
        };
        parts.extensions.insert(caller);
        Ok(caller)
    }
}
