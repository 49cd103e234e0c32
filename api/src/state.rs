use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use common::event_store::CommandBus;
use common::sqs::SqsClient;
use domain::account::Account;
use domain::class::ClassSession;
use domain::class_type::ClassType;
use domain::client::Client;
use domain::studio::Studio;
use domain::trainer_calendar::TrainerCalendar;
use sqlx::PgPool;

use crate::auth::{AuthConfig, TokenService};
use crate::check_in_code::CheckInCodes;
use crate::ratelimit::{Limiters, RateLimits};
use crate::waiter::ViewWaiter;

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
    pub studios: CommandBus<Studio>,
    pub accounts: CommandBus<Account>,
    pub clients: CommandBus<Client>,
    pub classes: CommandBus<ClassSession>,
    pub class_types: CommandBus<ClassType>,
    pub trainer_calendars: CommandBus<TrainerCalendar>,
    pub tokens: TokenService,
    /// Derived from the token signing secret (see [`crate::check_in_code`]).
    pub check_in_codes: CheckInCodes,
    pub waiter: ViewWaiter,
    pub limiters: Arc<Limiters>,
    pub config: ApiConfig,
}

impl AppState {
    pub fn new(
        pool: PgPool,
        sqs: SqsClient,
        waiter: ViewWaiter,
        config: ApiConfig,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            // Each bus gets its aggregate type's transaction hooks (common::inline::hooks_for).
            studios: CommandBus::new(pool.clone(), ()),
            accounts: CommandBus::new(pool.clone(), ()),
            clients: CommandBus::new(pool.clone(), ()),
            classes: CommandBus::new(pool.clone(), ()),
            trainer_calendars: CommandBus::new(pool.clone(), ()),
            class_types: CommandBus::new(pool.clone(), ()),
            tokens: TokenService::new(config.auth.clone())?,
            check_in_codes: CheckInCodes::new(&config.auth.jwt_secret)?,
            limiters: Arc::new(Limiters::new(&config.rate_limits)),
            pool,
            sqs,
            waiter,
            config,
        })
    }
}
