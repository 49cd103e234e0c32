use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::FromRef;
use infra::event_store::{AggregateCache, CommandBus};
use infra::sqs::SqsClient;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{AuthConfig, Passwords, TokenService};
use crate::check_in_code::CheckInCodes;
use crate::ratelimit::{Limiters, RateLimits};
use crate::waiter::ViewWaiter;

/// Streams whose committed state the API keeps in memory (per process).
const AGGREGATE_CACHE_ENTRIES: usize = 20_000;

/// Settings of the HTTP service.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Longest a GET with `min_version` waits for the view to catch up.
    pub read_wait_max: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// SQS queue checked by `/readyz`.
    pub events_queue: String,
    pub auth: AuthConfig,
    pub rate_limits: RateLimits,
    /// Origins allowed by CORS (empty: no cross-origin access).
    pub cors_allowed_origins: Vec<String>,
    /// The local mailbox served at `/dev/mailbox` (`DEV_MAILBOX_DIR`, development only,
    /// see [`crate::dev_mailbox`]).
    pub dev_mailbox: Option<std::path::PathBuf>,
    /// Webhook endpoint secrets derive from it; shown on register and rotate. `None`
    /// only where nothing is served (`migrate`, `seed`): webhook commands then fail.
    pub webhook_key: Option<infra::webhooks::WebhookKey>,
    /// The SSRF rules endpoint URLs are checked against.
    pub webhook_policy: infra::webhooks::UrlPolicy,
    /// Invitation tokens derive from it (`ACCOUNT_LINK_KEY`, shared with the worker
    /// that mails them). `None` only where nothing is served (`migrate`, `seed`):
    /// invitations then fail.
    pub link_key: Option<infra::links::LinkKey>,
}

impl ApiConfig {
    pub fn new(auth: AuthConfig) -> Self {
        Self {
            read_wait_max: Duration::from_secs(3),
            max_body_bytes: 64 * 1024,
            events_queue: "repstream-events.fifo".to_owned(),
            auth,
            rate_limits: RateLimits::default(),
            cors_allowed_origins: Vec::new(),
            dev_mailbox: None,
            webhook_key: None,
            webhook_policy: infra::webhooks::UrlPolicy::default(),
            link_key: None,
        }
    }
}

/// The composition root: everything the handlers share, built once. Extractors and
/// middleware take the part they need (`FromRef`), so only handlers depend on it.
/// Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub sqs: SqsClient,
    pub tokens: TokenService,
    pub passwords: Passwords,
    /// Derived from the token signing secret (see [`crate::check_in_code`]).
    pub check_in_codes: CheckInCodes,
    pub waiter: ViewWaiter,
    /// Committed aggregate states the command buses start from.
    pub aggregates: Arc<AggregateCache>,
    pub limiters: Arc<Limiters>,
    /// Live inbox streams open per account in this process.
    pub open_streams: Arc<OpenStreams>,
    pub config: Arc<ApiConfig>,
}

impl AppState {
    pub fn new(
        pool: PgPool,
        sqs: SqsClient,
        waiter: ViewWaiter,
        config: ApiConfig,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            tokens: TokenService::new(config.auth.clone())?,
            passwords: Passwords::new(config.auth.password_hash_concurrency),
            check_in_codes: CheckInCodes::new(&config.auth.jwt_secret)?,
            limiters: Arc::new(Limiters::new(&config.rate_limits)),
            open_streams: Arc::default(),
            aggregates: Arc::new(AggregateCache::new(AGGREGATE_CACHE_ENTRIES)),
            pool,
            sqs,
            waiter,
            config: Arc::new(config),
        })
    }
}

/// Counts the live streams each account holds open in this process.
#[derive(Debug, Default)]
pub struct OpenStreams(Mutex<HashMap<Uuid, usize>>);

impl OpenStreams {
    /// A slot for one more stream of `account`, unless it already holds `max`.
    pub fn take(self: &Arc<Self>, account: Uuid, max: usize) -> Option<StreamSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(account).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            streams: Arc::clone(self),
            account,
        })
    }
}

/// One open stream, counted until it is dropped.
#[derive(Debug)]
pub struct StreamSlot {
    streams: Arc<OpenStreams>,
    account: Uuid,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.account);
            }
        }
    }
}

impl AppState {
    /// The command bus of aggregate `A`, with `A`'s transaction hooks
    /// ([`infra::inline::hooks_for`], chosen in `CommandBus::new`, the one place every
    /// caller goes through). Cheap: a pool handle and the hook list.
    pub fn bus<A>(&self) -> CommandBus<A>
    where
        A: cqrs_es::Aggregate<Services = ()> + Clone + Sync + 'static,
        A::Command: Send + 'static,
        A::Error: Send + 'static,
    {
        CommandBus::new(self.pool.clone(), ()).with_cache(self.aggregates.clone())
    }
}
