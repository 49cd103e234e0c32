use std::time::Duration;

use common::event_store::CommandBus;
use common::sqs::SqsClient;
use domain::studio::Studio;
use sqlx::PgPool;

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
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            read_wait_max: Duration::from_secs(3),
            max_body_bytes: 64 * 1024,
            events_queue: "repstream-events.fifo".to_owned(),
        }
    }
}

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub sqs: SqsClient,
    pub studios: CommandBus<Studio>,
    pub waiter: ViewWaiter,
    pub config: ApiConfig,
}

impl AppState {
    pub fn new(pool: PgPool, sqs: SqsClient, waiter: ViewWaiter, config: ApiConfig) -> Self {
        Self {
            studios: CommandBus::new(pool.clone(), ()),
            pool,
            sqs,
            waiter,
            config,
        }
    }
}
