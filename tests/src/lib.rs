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

pub mod proxy;
pub mod smtp;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use infra::config::{AwsArgs, DatabaseArgs};
use infra::shutdown::CancellationToken;
use infra::sqs::SqsClient;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

pub use proxy::Proxy;

/// The pipeline's components, for crash tests ([`TestEnv::spawn_crashable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Relay,
    Projector,
    Worker,
}
use uuid::Uuid;

pub use api::{ApiConfig, AppState};

/// One test's private world: a database, queues, and the tasks it started.
pub struct TestEnv {
    /// Superuser pool: migrations, setup and assertions only.
    pub pool: PgPool,
    /// The service roles' pools, as in production: RLS and grants apply.
    pub api_pool: PgPool,
    pub projector_pool: PgPool,
    pub relay_pool: PgPool,
    pub worker_pool: PgPool,
    pub database_url: String,
    /// `database_url` with the relay's role.
    pub relay_url: String,
    pub sqs: SqsClient,
    pub events_queue: String,
    pub events_dlq: String,
    pub notifications_queue: String,
    pub ai_queue: String,
    pub ai_dlq: String,
    /// S3 (LocalStack): the declared buckets exist; tests keep apart by tenant prefix.
    pub s3: infra::s3::S3Client,
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
        init_tracing();
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
        let url_for = |user: &str| {
            format!(
                "postgres://{user}@{}:{}/{name}",
                admin.get_host(),
                admin.get_port()
            )
        };
        let database_url = url_for(admin.get_username());
        let connect = |url: String, max: u32| async move {
            let db = DatabaseArgs {
                database_url: url.parse().context("url")?,
                database_max_connections: max,
                dev_mode: false,
            };
            infra::db::connect(&db, "repstream-tests").await
        };
        let pool = connect(database_url.clone(), 10).await?;
        infra::db::migrate(&pool).await?;
        let api_pool = connect(url_for("repstream_api"), 20).await?;
        let projector_pool = connect(url_for("repstream_projector"), 8).await?;
        let relay_url = url_for("repstream_relay");
        let relay_pool = connect(relay_url.clone(), 4).await?;
        let worker_pool = connect(url_for("repstream_worker"), 4).await?;

        let aws = AwsArgs {
            aws_endpoint_url: Some(endpoint),
            aws_region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        };
        let sqs = infra::sqs::client(&aws).await;
        let s3 = infra::s3::client(&aws).await;
        infra::s3::ensure_buckets(&s3)
            .await
            .context("creating the buckets (is LocalStack up?)")?;
        let prefix = format!("t{}-", &Uuid::new_v4().simple().to_string()[..12]);
        let urls: HashMap<String, String> = infra::sqs::create_queues(&sqs, &prefix)
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
            api_pool,
            projector_pool,
            relay_pool,
            worker_pool,
            database_url,
            relay_url,
            sqs,
            events_queue: url("repstream-events.fifo")?,
            events_dlq: url("repstream-events-dlq.fifo")?,
            notifications_queue: url("repstream-notifications.fifo")?,
            notifications_dlq: url("repstream-notifications-dlq.fifo")?,
            ai_queue: url("repstream-ai.fifo")?,
            ai_dlq: url("repstream-ai-dlq.fifo")?,
            s3,
            mailbox,
            shutdown: CancellationToken::new(),
        })
    }

    /// This environment's database name.
    pub fn database_name(&self) -> String {
        self.database_url
            .parse::<PgConnectOptions>()
            .ok()
            .and_then(|o| o.get_database().map(str::to_owned))
            .unwrap_or_default()
    }

    /// A pool of `role` whose connections go through `proxy` (see [`Proxy`]).
    pub async fn pool_via(&self, proxy: &Proxy, role: &str, max: u32) -> anyhow::Result<PgPool> {
        let options: PgConnectOptions = self.role_url(role).parse().context("url")?;
        let url = format!(
            "postgres://{role}@{}/{}",
            proxy.addr(),
            options.get_database().unwrap_or_default()
        );
        let db = DatabaseArgs {
            database_url: url.parse().context("url")?,
            database_max_connections: max,
            dev_mode: false,
        };
        infra::db::connect(&db, "repstream-tests-proxied").await
    }

    /// Where Postgres listens (for a [`Proxy`] in front of it).
    pub fn database_addr(&self) -> anyhow::Result<std::net::SocketAddr> {
        let options: PgConnectOptions = self.database_url.parse().context("url")?;
        let host = match options.get_host() {
            "localhost" => "127.0.0.1",
            h => h,
        };
        format!("{host}:{}", options.get_port())
            .parse()
            .context("Postgres host is not an IP address")
    }

    /// The database as one of the service roles (trust auth, as `make run`).
    pub fn role_url(&self, role: &str) -> String {
        let (scheme, rest) = self
            .database_url
            .split_once("://")
            .unwrap_or(("postgres", &self.database_url));
        let host = rest.split_once('@').map_or(rest, |(_, h)| h);
        format!("{scheme}://{role}@{host}")
    }

    /// Drops this environment's database (the benchmark does; tests leave theirs to
    /// the throwaway cluster).
    pub async fn drop_database(&self) -> anyhow::Result<()> {
        for pool in [
            &self.pool,
            &self.api_pool,
            &self.projector_pool,
            &self.relay_pool,
            &self.worker_pool,
        ] {
            pool.close().await;
        }
        let admin: PgConnectOptions = required_env("DATABASE_URL")?.parse()?;
        let mut conn = admin.connect().await.context("reconnecting to drop")?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database_name()
        ))
        .execute(&mut conn)
        .await
        .context("dropping the database")?;
        conn.close().await.ok();
        Ok(())
    }

    pub fn state(&self, config: ApiConfig) -> AppState {
        let waiter = api::waiter::ViewWaiter::start(self.api_pool.clone(), self.shutdown.clone());
        AppState::new(self.api_pool.clone(), self.sqs.clone(), waiter, config)
            .expect("valid API configuration")
    }

    /// The API's configuration in tests: a random signing key, generous rate limits
    /// (tests that exercise limits set their own).
    pub fn api_config(&self) -> ApiConfig {
        let mut config = ApiConfig::new(api::auth::AuthConfig::new(test_secret()));
        config.events_queue = queue_name(&self.events_queue);
        config.rate_limits.per_ip_per_minute = 100_000;
        config.rate_limits.per_account_per_minute = 100_000;
        config.rate_limits.auth_per_ip_per_minute = 100_000;
        config.rate_limits.burst = 10_000;
        config.webhook_key = Some(webhook_key());
        // The workers' key: an invitation mailed by a test worker carries the token the
        // API answered with.
        config.link_key = Some(link_settings().key);
        // Test receivers listen on 127.0.0.1 over http; SSRF tests turn the guard on.
        config.webhook_policy = infra::webhooks::UrlPolicy::new(true);
        config
    }

    /// Serves the API on an ephemeral port.
    pub async fn spawn_api(&self) -> anyhow::Result<TestApp> {
        self.spawn_api_with(self.api_config()).await
    }

    pub async fn spawn_api_with(&self, config: ApiConfig) -> anyhow::Result<TestApp> {
        self.spawn_api_on(config, self.api_pool.clone()).await
    }

    /// Serves the API with its own pool (e.g. one whose connections pass a [`Proxy`]).
    pub async fn spawn_api_on(&self, config: ApiConfig, pool: PgPool) -> anyhow::Result<TestApp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let waiter = api::waiter::ViewWaiter::start(pool.clone(), self.shutdown.clone());
        let state = AppState::new(pool, self.sqs.clone(), waiter, config)?;
        let token = self.shutdown.clone();
        tokio::spawn(async move { api::serve(listener, state, token).await });
        Ok(TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            worker_pool: self.worker_pool.clone(),
        })
    }

    pub fn relay_config(&self) -> outbox_relay::RelayConfig {
        let mut config = outbox_relay::RelayConfig::new(self.events_queue.clone());
        config.poll_interval = Duration::from_millis(100);
        config.standby_interval = Duration::from_millis(200);
        config
    }

    pub fn relay(&self) -> outbox_relay::Relay {
        outbox_relay::Relay::new(
            self.relay_pool.clone(),
            self.sqs.clone(),
            self.relay_config(),
        )
    }

    /// Runs a relay (leader election included) until the returned token is cancelled.
    pub fn spawn_relay(&self) -> CancellationToken {
        self.spawn_relay_with(self.sqs.clone())
    }

    /// Like [`Self::spawn_relay`], publishing through `sqs` (e.g. a client of an
    /// endpoint that never answers).
    pub fn spawn_relay_with(&self, sqs: SqsClient) -> CancellationToken {
        let token = self.shutdown.child_token();
        let (pool, config, t) = (self.relay_pool.clone(), self.relay_config(), token.clone());
        let connect = outbox_relay::connect_options(&self.relay_url).expect("valid url");
        tokio::spawn(async move { outbox_relay::run(pool, connect, sqs, config, t).await });
        token
    }

    /// Where this environment's projectors send jobs.
    pub fn job_queues(&self) -> projector::JobQueues {
        projector::JobQueues {
            notifications: self.notifications_queue.clone(),
            ai: self.ai_queue.clone(),
        }
    }

    pub fn projector(&self) -> projector::Projector {
        projector::Projector::new(
            self.projector_pool.clone(),
            projector::all_projections(),
            self.sqs.clone(),
            self.job_queues(),
        )
    }

    pub fn consumer_config(&self, queue: &str) -> infra::consumer::ConsumerConfig {
        let mut config = infra::consumer::ConsumerConfig::new(queue.to_owned());
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

    /// The notification worker of tests: the mailbox notifier in `self.mailbox`, links
    /// opening [`TEST_APP_URL`], a 3 s lease.
    pub fn notification_worker(&self) -> workers::NotificationWorker {
        let notifier = Arc::new(
            workers::MailboxNotifier::new(
                infra::mailbox::Mailbox::new(&self.mailbox),
                TEST_MAIL_FROM,
            )
            .expect("the test sender is an address"),
        );
        self.notification_worker_with(notifier)
    }

    /// [`Self::notification_worker`] delivering through `notifier`.
    pub fn notification_worker_with(
        &self,
        notifier: Arc<dyn workers::Notifier>,
    ) -> workers::NotificationWorker {
        workers::NotificationWorker::new(self.worker_pool.clone(), notifier, link_settings())
            .with_lease(Duration::from_secs(3))
    }

    /// The messages in `self.mailbox` sent to `to`, oldest first: (subject, body), the
    /// body being the decoded text part followed by the HTML part.
    pub fn mails_to(&self, to: &str) -> Vec<(String, String)> {
        infra::mailbox::Mailbox::new(&self.mailbox)
            .to(to)
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let body = format!("{}\n{}", m.text, m.html.unwrap_or_default());
                (m.subject, body)
            })
            .collect()
    }

    /// Runs the notification worker (mailbox notifier in `self.mailbox`).
    pub fn spawn_worker(&self) -> CancellationToken {
        self.spawn_worker_with(self.notification_worker())
    }

    /// Runs `worker` on the notifications queue.
    pub fn spawn_worker_with(&self, worker: workers::NotificationWorker) -> CancellationToken {
        let token = self.shutdown.child_token();
        let (sqs, config, t) = (
            self.sqs.clone(),
            self.consumer_config(&self.notifications_queue),
            token.clone(),
        );
        tokio::spawn(async move { infra::consumer::run(worker, sqs, config, t).await });
        token
    }

    /// Runs `component` as a task that can be killed at any await point, as a crash
    /// would (`JoinHandle::abort`: open transactions are dropped uncommitted, leases and
    /// locks are left to expire or fall with their connections).
    pub fn spawn_crashable(&self, component: Component) -> tokio::task::JoinHandle<()> {
        let never = CancellationToken::new();
        match component {
            Component::Relay => {
                let (pool, sqs, config) = (
                    self.relay_pool.clone(),
                    self.sqs.clone(),
                    self.relay_config(),
                );
                let connect = outbox_relay::connect_options(&self.relay_url).expect("valid url");
                tokio::spawn(async move {
                    let _ = outbox_relay::run(pool, connect, sqs, config, never).await;
                })
            }
            Component::Projector => {
                let (p, sqs, config) = (
                    self.projector(),
                    self.sqs.clone(),
                    self.consumer_config(&self.events_queue),
                );
                tokio::spawn(async move {
                    let _ = projector::run(p, sqs, config, never).await;
                })
            }
            Component::Worker => {
                let worker = self.notification_worker();
                let (sqs, config) = (
                    self.sqs.clone(),
                    self.consumer_config(&self.notifications_queue),
                );
                tokio::spawn(async move {
                    let _ = infra::consumer::run(worker, sqs, config, never).await;
                })
            }
        }
    }

    /// How many messages the local notifier has written into `self.mailbox`.
    pub fn mailbox_messages(&self) -> usize {
        std::fs::read_dir(&self.mailbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Everything: api, relay, projector, notification worker and webhook deliveries.
    pub async fn spawn_all(&self) -> anyhow::Result<TestApp> {
        let app = self.spawn_api().await?;
        self.spawn_relay();
        self.spawn_projector();
        self.spawn_worker();
        self.spawn_ai_worker();
        self.spawn_webhooks(self.webhook_config())?;
        Ok(app)
    }

    /// The AI worker of tests: the rules engine, artifacts in the declared bucket (tests
    /// keep apart by their studios' key prefixes).
    pub fn ai_worker(&self) -> workers::ai::AiWorker {
        self.ai_worker_with(Arc::new(workers::ai::RulesEngine))
    }

    /// The AI worker of tests with another provider (a model client, a failing one).
    pub fn ai_worker_with(
        &self,
        provider: Arc<dyn workers::ai::RecommendationProvider>,
    ) -> workers::ai::AiWorker {
        workers::ai::AiWorker::new(
            self.worker_pool.clone(),
            self.s3.clone(),
            AI_ARTIFACTS_BUCKET.to_owned(),
            provider,
        )
    }

    /// Runs the AI worker on this environment's AI queue until the token is cancelled.
    pub fn spawn_ai_worker(&self) -> CancellationToken {
        self.spawn_ai_worker_with(self.ai_worker())
    }

    /// Runs `worker` on this environment's AI queue until the token is cancelled.
    pub fn spawn_ai_worker_with(&self, worker: workers::ai::AiWorker) -> CancellationToken {
        let token = self.shutdown.child_token();
        let (worker, sqs, config, t) = (
            worker,
            self.sqs.clone(),
            self.consumer_config(&self.ai_queue),
            token.clone(),
        );
        tokio::spawn(async move { infra::consumer::run(worker, sqs, config, t).await });
        token
    }

    /// The webhook delivery worker's settings in tests: the test key, private addresses
    /// allowed (receivers listen on 127.0.0.1), quick sweeps and retries (100 ms, ×5).
    pub fn webhook_config(&self) -> workers::webhooks::DeliveryConfig {
        let mut config = workers::webhooks::DeliveryConfig::new(
            webhook_key(),
            infra::webhooks::UrlPolicy::new(true),
        );
        config.poll_interval = Duration::from_millis(100);
        config.retry_base = Duration::from_millis(100);
        config.max_attempts = 4;
        config.timeout = Duration::from_secs(5);
        config
    }

    /// Runs a webhook delivery worker with `config` until the returned token is cancelled.
    pub fn spawn_webhooks(
        &self,
        config: workers::webhooks::DeliveryConfig,
    ) -> anyhow::Result<CancellationToken> {
        let token = self.shutdown.child_token();
        let worker = workers::webhooks::DeliveryWorker::new(self.worker_pool.clone(), config)?;
        tokio::spawn(workers::webhooks::run(worker, token.clone()));
        Ok(token)
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
        let n = |k: &A| {
            attrs
                .get(k)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
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
    /// The notification worker's pool: [`TestApp::verify_email`] records a link as the
    /// worker would before mailing it.
    worker_pool: PgPool,
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

    /// A request with the user's bearer token.
    pub fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        user: &TestUser,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&user.access_token)
    }

    /// Sends an authenticated request; returns status and JSON body (Null if none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        user: &TestUser,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let mut r = self.req(method, path, user);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or_default()))
    }

    pub async fn signup(&self, email: &str, password: &str, name: &str) -> anyhow::Result<Uuid> {
        let (status, body) = self
            .post_json(
                "/api/v1/auth/signup",
                &serde_json::json!({"email": email, "password": password, "full_name": name}),
            )
            .await?;
        anyhow::ensure!(status == 201, "signup: {status} {body}");
        body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .context("no id")
    }

    /// Password grant, as an OAuth2 client sends it (form-encoded).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        self.login_via(email, password, None).await
    }

    /// [`Self::login`] through a proxy that appends `forwarded_for` to `X-Forwarded-For`
    /// (for an API configured with trusted proxy hops).
    pub async fn login_via(
        &self,
        email: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let mut r = self.client.post(self.url("/api/v1/auth/token"));
        if let Some(ip) = forwarded_for {
            r = r.header("x-forwarded-for", ip);
        }
        let r = r
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or_default()))
    }

    /// Verifies `email` of `account` the way its owner would: a link is recorded as the
    /// notification worker records it when mailing it (same key, same table), and its
    /// token is posted to `/auth/verify-email`. (End-to-end tests read it from the
    /// mailbox instead.)
    pub async fn verify_email(&self, account: Uuid, email: &str) -> anyhow::Result<()> {
        let link = infra::links::NewLink {
            id: Uuid::now_v7(),
            account_id: account,
            purpose: infra::links::Purpose::VerifyEmail,
            email: email.to_owned(),
            expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        };
        let token = infra::links::issue(&self.worker_pool, &link_settings().key, &link).await?;
        let (status, body) = self
            .post_json(
                "/api/v1/auth/verify-email",
                &serde_json::json!({ "token": token }),
            )
            .await?;
        anyhow::ensure!(status == 200, "verify email: {status} {body}");
        Ok(())
    }

    /// Signs up a fresh user with a verified address and signs them in.
    pub async fn user(&self, name: &str) -> anyhow::Result<TestUser> {
        let user = self.unverified_user(name).await?;
        self.verify_email(user.id, &user.email).await?;
        Ok(user)
    }

    /// Signs up a fresh user and signs them in, leaving the address unverified.
    pub async fn unverified_user(&self, name: &str) -> anyhow::Result<TestUser> {
        let email = format!(
            "{}-{}@example.com",
            name.to_lowercase().replace(' ', "."),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let password = "Correct-Horse-Battery-9";
        let id = self.signup(&email, password, name).await?;
        let mut user = self.sign_in(&email, password).await?;
        user.id = id;
        Ok(user)
    }

    /// Signs in with the password grant (`id` is left nil: the caller knows it, if
    /// anyone does).
    pub async fn sign_in(&self, email: &str, password: &str) -> anyhow::Result<TestUser> {
        let (status, tokens) = self.login(email, password).await?;
        anyhow::ensure!(status == 200, "login: {status} {tokens}");
        let token = |name: &str| tokens[name].as_str().unwrap_or_default().to_owned();
        Ok(TestUser {
            id: Uuid::nil(),
            email: email.to_owned(),
            password: password.to_owned(),
            access_token: token("access_token"),
            refresh_token: token("refresh_token"),
        })
    }

    /// Creates a studio owned by `owner` and returns its id.
    pub async fn create_studio(&self, owner: &TestUser, name: &str) -> anyhow::Result<Uuid> {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/studios",
                owner,
                Some(serde_json::json!({"name": name, "timezone": "Europe/Berlin", "currency": "EUR"})),
            )
            .await?;
        anyhow::ensure!(status == 201, "create studio: {status} {body}");
        body["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .context("no id in response")
    }

    /// Invites `user` to `studio` with `role` (as `owner`); returns the invitation's
    /// token.
    pub async fn invite(
        &self,
        owner: &TestUser,
        studio: Uuid,
        email: &str,
        role: &str,
    ) -> anyhow::Result<String> {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/studios/{studio}/members"),
                owner,
                Some(serde_json::json!({"email": email, "role": role})),
            )
            .await?;
        anyhow::ensure!(
            status == 201 && body["outcome"] == "invited",
            "invite member: {status} {body}"
        );
        body["invitation"]["token"]
            .as_str()
            .map(str::to_owned)
            .context("no invitation token")
    }

    /// Makes `user` a member of `studio` with `role`: `owner` invites, `user` accepts at
    /// once (each step the moment the previous one answered).
    pub async fn add_member(
        &self,
        owner: &TestUser,
        studio: Uuid,
        user: &TestUser,
        role: &str,
    ) -> anyhow::Result<()> {
        let token = self.invite(owner, studio, &user.email, role).await?;
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/invitations/accept",
                user,
                Some(serde_json::json!({ "token": token })),
            )
            .await?;
        anyhow::ensure!(status == 200, "accept invitation: {status} {body}");
        Ok(())
    }
}

/// A valid `PUT …/clients/{id}/health` body: every PAR-Q+ answer "no", under the
/// studio's standard consent text (version 1), with `limitations`.
pub fn intake_body(limitations: &str) -> serde_json::Value {
    let consent = domain::health::ConsentText::standard().given_at(chrono::Utc::now());
    let mut intake = domain::health::HealthSubmission::new(consent);
    intake.limitations = Some(limitations.to_owned());
    serde_json::json!({ "intake": intake })
}

/// A signed-up, signed-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// The bucket AI artifacts go to (declared in `localstack/resources.json`).
pub const AI_ARTIFACTS_BUCKET: &str = "repstream-ai-artifacts";

/// Where the links of test mails point.
pub const TEST_APP_URL: &str = "http://app.repstream.test";

/// The link settings of test workers: a fixed key (tests record links with it too).
/// The sender of the tests' notification workers.
pub const TEST_MAIL_FROM: &str = "repstream <test@repstream.local>";

pub fn link_settings() -> workers::LinkSettings {
    workers::LinkSettings {
        key: infra::links::LinkKey::new(*b"repstream-tests-account-link-key").expect("32 bytes"),
        app_url: TEST_APP_URL.to_owned(),
        api_url: TEST_API_URL.to_owned(),
    }
}

/// Where the unsubscribe links of test mails post (tests post to their own API).
pub const TEST_API_URL: &str = "http://api.repstream.test";

/// The webhook secret key of tests (the API and the delivery worker share it).
pub fn webhook_key() -> infra::webhooks::WebhookKey {
    match infra::webhooks::WebhookKey::new(*b"repstream-tests-webhook-secret-key") {
        Ok(key) => key,
        Err(e) => panic!("{e}"),
    }
}

/// A fresh 48-byte signing key per process.
pub fn test_secret() -> Vec<u8> {
    static SECRET: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SECRET
        .get_or_init(|| {
            [
                Uuid::new_v4().as_bytes().as_slice(),
                Uuid::new_v4().as_bytes(),
                Uuid::new_v4().as_bytes(),
            ]
            .concat()
        })
        .clone()
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

/// Sends the services' warnings (or what `RUST_LOG` asks for) to the test's output, which
/// nextest shows for a failing test: a stalled message says why it was retried.
fn init_tracing() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
