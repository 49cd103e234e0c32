//! # repstream-tests
//!
//! Test harness for integration and end-to-end tests against **real** Postgres and the
//! real AWS emulator (LocalStack). `make test` starts both and exports `DATABASE_URL`
//! (an admin URL) and `AWS_ENDPOINT_URL`; every test gets a fresh database and its own
//! uniquely-named queues, so tests run in parallel without seeing each other.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let env = repstream_tests::TestEnv::new().await?;
//! let app = env.spawn_api().await?;          // HTTP on 127.0.0.1:<port 0>
//! env.spawn_relay();                          // outbox → SQS
//! env.spawn_projector();                      // SQS → views
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use common::config::{AwsArgs, DatabaseArgs};
use common::shutdown::CancellationToken;
use common::sqs::SqsClient;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};
use uuid::Uuid;

pub use api::{ApiConfig, AppState};

/// One test's private world: a database, queues, and the tasks it started.
pub struct TestEnv {
    pub pool: PgPool,
    pub database_url: String,
    pub sqs: SqsClient,
    pub events_queue: String,
    pub events_dlq: String,
    pub notifications_queue: String,
    pub notifications_dlq: String,
    pub mailbox: PathBuf,
    pub shutdown: CancellationToken,
}

fn required_env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| {
        format!(
            "{name} is not set: integration tests need real Postgres and LocalStack. \
             Run them with `make test`, which starts both."
        )
    })
}

impl TestEnv {
    /// A fresh database (migrated) and fresh queues.
    pub async fn new() -> anyhow::Result<Self> {
        let admin_url = required_env("DATABASE_URL")?;
        let endpoint = required_env("AWS_ENDPOINT_URL")?;
        let name = format!("t_{}", Uuid::new_v4().simple());
        let admin: PgConnectOptions = admin_url.parse().context("DATABASE_URL")?;
        let mut conn = admin
            .clone()
            .connect()
            .await
            .context("connecting to the test cluster (is `make test` running it?)")?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let database_url = format!(
            "postgres://{}@{}:{}/{name}",
            admin.get_username(),
            admin.get_host(),
            admin.get_port()
        );
        let db = DatabaseArgs {
            database_url: database_url.parse().context("url")?,
            database_max_connections: 20,
        };
        let pool = common::db::connect(&db, "repstream-tests").await?;
        common::db::migrate(&pool).await?;

        let sqs = common::sqs::client(&AwsArgs {
            aws_endpoint_url: Some(endpoint),
            aws_region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        })
        .await;
        let prefix = format!("t{}-", &Uuid::new_v4().simple().to_string()[..12]);
        let urls: HashMap<String, String> = common::sqs::create_queues(&sqs, &prefix)
            .await
            .context("creating test queues (is LocalStack up?)")?;
        let url = |n: &str| {
            urls.get(n)
                .cloned()
                .with_context(|| format!("queue {n} not declared in localstack/resources.json"))
        };
        let mailbox = std::env::temp_dir().join(format!("repstream-mailbox-{name}"));
        Ok(Self {
            pool,
            database_url,
            sqs,
            events_queue: url("repstream-events.fifo")?,
            events_dlq: url("repstream-events-dlq.fifo")?,
            notifications_queue: url("repstream-notifications.fifo")?,
            notifications_dlq: url("repstream-notifications-dlq.fifo")?,
            mailbox,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn state(&self, config: ApiConfig) -> AppState {
        let waiter = api::waiter::ViewWaiter::start(self.pool.clone(), self.shutdown.clone());
        AppState::new(self.pool.clone(), self.sqs.clone(), waiter, config)
    }

    fn api_config(&self) -> ApiConfig {
        ApiConfig {
            events_queue: queue_name(&self.events_queue),
            ..ApiConfig::default()
        }
    }

    /// Serves the API on an ephemeral port.
    pub async fn spawn_api(&self) -> anyhow::Result<TestApp> {
        self.spawn_api_with(self.api_config()).await
    }

    pub async fn spawn_api_with(&self, config: ApiConfig) -> anyhow::Result<TestApp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = self.state(config);
        let token = self.shutdown.clone();
        tokio::spawn(async move { api::serve(listener, state, token).await });
        Ok(TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
        })
    }

    pub fn relay_config(&self) -> outbox_relay::RelayConfig {
        let mut config = outbox_relay::RelayConfig::new(self.events_queue.clone());
        config.poll_interval = Duration::from_millis(100);
        config.standby_interval = Duration::from_millis(200);
        config
    }

    pub fn relay(&self) -> outbox_relay::Relay {
        outbox_relay::Relay::new(self.pool.clone(), self.sqs.clone(), self.relay_config())
    }

    /// Runs a relay (leader election included) until the returned token is cancelled.
    pub fn spawn_relay(&self) -> CancellationToken {
        let token = self.shutdown.child_token();
        let (pool, sqs, config, t) = (
            self.pool.clone(),
            self.sqs.clone(),
            self.relay_config(),
            token.clone(),
        );
        let connect = outbox_relay::connect_options(&self.database_url).expect("valid url");
        tokio::spawn(async move { outbox_relay::run(pool, connect, sqs, config, t).await });
        token
    }

    pub fn projector(&self) -> projector::Projector {
        projector::Projector::new(
            self.pool.clone(),
            projector::all_projections(),
            self.sqs.clone(),
            self.notifications_queue.clone(),
        )
    }

    fn consumer_config(&self, queue: &str) -> common::consumer::ConsumerConfig {
        let mut config = common::consumer::ConsumerConfig::new(queue.to_owned());
        config.wait_seconds = 1;
        config.retry_base = Duration::ZERO;
        config.concurrency = 2;
        config
    }

    /// Runs the projector until the returned token is cancelled.
    pub fn spawn_projector(&self) -> CancellationToken {
        let token = self.shutdown.child_token();
        let (p, sqs, config, t) = (
            self.projector(),
            self.sqs.clone(),
            self.consumer_config(&self.events_queue),
            token.clone(),
        );
        tokio::spawn(async move { projector::run(p, sqs, config, t).await });
        token
    }

    /// Runs the notification worker (mailbox notifier in `self.mailbox`).
    pub fn spawn_worker(&self) -> CancellationToken {
        let token = self.shutdown.child_token();
        let notifier = Arc::new(workers::MailboxNotifier::new(
            self.mailbox.clone(),
            "repstream <test@repstream.local>".into(),
        ));
        let worker = workers::NotificationWorker::new(self.pool.clone(), notifier);
        let (sqs, config, t) = (
            self.sqs.clone(),
            self.consumer_config(&self.notifications_queue),
            token.clone(),
        );
        tokio::spawn(async move { common::consumer::run(worker, sqs, config, t).await });
        token
    }

    /// Everything: api, relay, projector and worker.
    pub async fn spawn_all(&self) -> anyhow::Result<TestApp> {
        let app = self.spawn_api().await?;
        self.spawn_relay();
        self.spawn_projector();
        self.spawn_worker();
        Ok(app)
    }

    /// Approximate number of messages in a queue (visible + in flight).
    pub async fn queue_depth(&self, queue_url: &str) -> anyhow::Result<u64> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await?
            .attributes
            .unwrap_or_default();
        let n = |k: &A| attrs.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Ok(n(&A::ApproximateNumberOfMessages) + n(&A::ApproximateNumberOfMessagesNotVisible))
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn queue_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}

/// An API served for a test.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let r = self.client.post(self.url(path)).json(body).send().await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or_default()))
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        let r = self.client.get(self.url(path)).send().await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or_default()))
    }

    /// Creates a studio and returns its id.
    pub async fn create_studio(&self, name: &str) -> anyhow::Result<Uuid> {
        let (status, body) = self
            .post_json(
                "/api/v1/studios",
                &serde_json::json!({"name": name, "timezone": "Europe/Berlin", "currency": "EUR"}),
            )
            .await?;
        anyhow::ensure!(status == 201, "create studio: {status} {body}");
        body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .context("no id in response")
    }
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
