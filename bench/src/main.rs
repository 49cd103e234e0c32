//! # repstream-bench
//!
//! Measures the write path of repstream end to end against **real** Postgres and the real
//! SQS emulator (LocalStack), everything in one process and one run, and prints a
//! plain-text report. Run it with `make bench` (which starts both and exports
//! `DATABASE_URL`, an admin URL, and `AWS_ENDPOINT_URL`), or by hand:
//!
//! ```text
//! cargo run --release -p repstream-bench -- [--duration-secs 10] [--clients 16]
//!     [--e2e-rate 50] [--e2e-secs 10] [--relay-messages 5000] [--skip a,b,c]
//! ```
//!
//! The run creates a fresh database `bench_<uuid>` (migrated) in the cluster named by
//! `DATABASE_URL` and drops it at the end; queues get a unique prefix and are left behind.
//! The API, the outbox relay and the projector run in-process, on the same machine as
//! Postgres and LocalStack: every figure includes their competition for the same CPUs.
//!
//! ## The figures
//!
//! Every component connects with its production service role (`repstream_api`,
//! `repstream_relay`, `repstream_projector`), so grants and row-level security are part
//! of every figure; the admin role only sets up and observes. The API runs with its real
//! authentication (one signed-up bench account owns every studio and sends a bearer token
//! with each request) but with rate limits raised out of reach: all traffic comes from
//! 127.0.0.1 and one account, so production budgets would measure the limiter.
//!
//! **(a) Command throughput.** The API is served on `127.0.0.1:0`; `--studios` studios
//! are created over HTTP, then `--clients` closed-loop clients (one keep-alive connection
//! each) send `POST /api/v1/studios/{id}/locations` and `POST /api/v1/studios/{id}/rename`
//! for `--duration-secs`. Each client owns its own studios, so the figure measures work,
//! not optimistic-concurrency conflicts. Reported: accepted commands/s, errors, and
//! p50/p99 of the HTTP round trip. The relay and projector are *not* running here.
//! Per command the API verifies the token, reads the session and the caller's membership,
//! replays the studio's stream and commits the write transaction.
//!
//! *Raw-Postgres baseline.* The same number of tasks each run (as `repstream_api`, so
//! RLS `WITH CHECK` applies), per iteration, exactly the write transaction the event
//! store issues (`set_config('app.tenant_id')`, the `UNNEST` insert of one `events` row,
//! the `UNNEST` insert of one `outbox` row with a real envelope, commit) straight through
//! sqlx. **Ratio API/baseline** is the fraction of the database's bare commit rate that
//! survives HTTP, JSON, authentication and membership lookups, validation, the aggregate
//! and the *stream replay* every command does (no snapshots: each command first reads
//! all earlier events of its studio, so the cost grows with stream length; the report
//! prints the mean stream length reached). 1.0 would mean the API adds nothing; 0.3 means
//! the API sustains 30 % of what the write transaction alone could commit.
//!
//! **(b) End-to-end latency.** Relay (poll 1 s, woken by `NOTIFY outbox`) and projector
//! (long poll 1 s, 4 receive loops) run in-process. Commands are offered open-loop at
//! `--e2e-rate` per second for `--e2e-secs` (a slow response does not slow the offered
//! load). For each accepted command the clock starts when its HTTP response arrived and
//! stops when `studio_view.version` of its studio is seen at or beyond the version the
//! command returned (detected by `LISTEN projection_updated`, which the projector
//! notifies on commit, followed by a read of the view; a 1 s poll is only a fallback).
//! Reported: p50, p99, max, and commands not caught up within 30 s. This is the
//! staleness a reader sees without `min_version`.
//!
//! **(c) Relay throughput.** `--relay-messages` outbox rows with real envelopes, spread
//! over `--relay-groups` aggregates (= SQS message groups), are published by
//! `Relay::drain` (claim `FOR UPDATE SKIP LOCKED`, 4 lanes of `SendMessageBatch` × 10,
//! mark published, commit) to a fresh FIFO queue. The *raw* rate sends the same bodies
//! and attributes to another fresh FIFO queue straight from the aws-sdk-sqs client, in
//! batches of 10 with 4 batches in flight and the same groups. **Ratio relay/raw** is the
//! share of LocalStack's own ingest rate the relay achieves; the rest is its Postgres
//! round trips and its per-lane ordering (a lane sends its batches one after another).
//!
//! Durability settings, server version, CPU count and build profile are printed first:
//! a run with `fsync=off` or a debug build is not comparable with one without.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry};
use chrono::{SubsecRound, Utc};
use clap::{Parser, ValueEnum};
use common::config::{AwsArgs, DatabaseArgs};
use common::envelope::{EnvelopeMetadata, EventEnvelope};
use common::shutdown::CancellationToken;
use common::sqs::SqsClient;
use futures::StreamExt;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgListener};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

/// A location is added only while a studio has fewer than this many (the aggregate
/// refuses more than 200); renames take over after that.
const LOCATION_CAP: u32 = 190;
/// A command whose view is not updated within this long counts as "never caught up".
const CATCH_UP_LIMIT: Duration = Duration::from_secs(30);
/// Rate-limit budget that no run reaches (per minute, and burst).
const UNLIMITED: u32 = 100_000_000;
/// Upper bound of any single HTTP request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
#[command(about = "Benchmarks repstream's write path (API, relay, projector) in one run")]
struct Args {
    /// (a) How long the clients (and then the baseline) run, in seconds.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// (a) Concurrent HTTP clients, and concurrent baseline tasks.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// (a), (b) Studios created up front; clients spread their commands over them.
    #[arg(long, default_value_t = 64)]
    studios: usize,
    /// (b) Offered load in commands per second.
    #[arg(long, default_value_t = 50.0)]
    e2e_rate: f64,
    /// (b) How long the offered load lasts, in seconds.
    #[arg(long, default_value_t = 10)]
    e2e_secs: u64,
    /// (c) Outbox rows published by the relay (and messages sent raw).
    #[arg(long, default_value_t = 5000)]
    relay_messages: usize,
    /// (c) Distinct aggregates, i.e. SQS message groups, of those messages.
    #[arg(long, default_value_t = 64)]
    relay_groups: usize,
    /// Sections to skip (repeat, or comma-separate: `--skip a,c`).
    #[arg(long, value_enum, value_delimiter = ',')]
    skip: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    A,
    B,
    C,
}

fn required_env(name: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => bail!(
            "{name} is not set: the benchmark needs real Postgres and LocalStack. \
             Run it with `make bench`, which starts both and exports DATABASE_URL, \
             AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
        ),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run_main(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("repstream-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_main(args: Args) -> anyhow::Result<()> {
    ensure!(args.clients > 0, "--clients must be at least 1");
    ensure!(args.studios > 0, "--studios must be at least 1");
    ensure!(args.duration_secs > 0, "--duration-secs must be at least 1");
    ensure!(
        args.e2e_rate > 0.0 && args.e2e_rate <= 10_000.0,
        "--e2e-rate must be in (0, 10000]"
    );
    ensure!(args.e2e_secs > 0, "--e2e-secs must be at least 1");
    ensure!(
        args.relay_messages > 0,
        "--relay-messages must be at least 1"
    );
    ensure!(args.relay_groups > 0, "--relay-groups must be at least 1");

    let admin_url = required_env("DATABASE_URL")?;
    let endpoint = required_env("AWS_ENDPOINT_URL")?;
    required_env("AWS_ACCESS_KEY_ID")?;
    required_env("AWS_SECRET_ACCESS_KEY")?;
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());

    let admin: PgConnectOptions = admin_url
        .parse()
        .context("DATABASE_URL is not a valid Postgres URL")?;
    let db_name = format!("bench_{}", Uuid::new_v4().simple());
    let mut conn = admin
        .clone()
        .connect()
        .await
        .context("connecting to DATABASE_URL (is `make bench` running Postgres?)")?;
    sqlx::query(&format!("CREATE DATABASE {db_name}"))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {db_name}"))?;
    conn.close().await.ok();

    let shutdown = CancellationToken::new();
    let result = tokio::select! {
        r = run(&args, &admin, &db_name, &endpoint, &region, &shutdown) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    shutdown.cancel();
    // Give in-process tasks a moment to close their connections; FORCE handles the rest.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dropped = drop_database(&admin, &db_name).await;
    match (&result, dropped) {
        (_, Ok(())) => println!("\ndropped database {db_name}"),
        (Ok(()), Err(e)) => return Err(e),
        (Err(_), Err(e)) => eprintln!("also failed to drop database {db_name}: {e:#}"),
    }
    result
}

async fn drop_database(admin: &PgConnectOptions, db_name: &str) -> anyhow::Result<()> {
    let mut conn = admin
        .clone()
        .connect()
        .await
        .context("reconnecting to drop")?;
    let forced = sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    if forced.is_err() {
        // Postgres < 13 has no FORCE.
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name}"))
            .execute(&mut conn)
            .await
            .with_context(|| format!("dropping database {db_name}"))?;
    }
    conn.close().await.ok();
    Ok(())
}

/// Service roles created by the migrations; each component connects with its own, as in
/// production, so grants and row-level security apply to every figure.
const API_ROLE: &str = "repstream_api";
const PROJECTOR_ROLE: &str = "repstream_projector";
const RELAY_ROLE: &str = "repstream_relay";

/// Everything the sections share.
struct World {
    /// The admin (superuser) URL on the bench database: setup and measurement only.
    database_url: String,
    host: String,
    port: u16,
    db_name: String,
    sqs: SqsClient,
    events_queue: String,
    notifications_queue: String,
    prefix: String,
    shutdown: CancellationToken,
}

impl World {
    /// The bench database as a service role (trust auth, as `make run` and the tests).
    fn role_url(&self, role: &str) -> String {
        format!(
            "postgres://{role}@{}:{}/{}",
            self.host, self.port, self.db_name
        )
    }

    async fn pool_at(&self, url: &str, application: &str, max: u32) -> anyhow::Result<PgPool> {
        let db = DatabaseArgs {
            database_url: url.parse().context("database url")?,
            database_max_connections: max,
        };
        common::db::connect(&db, application)
            .await
            .with_context(|| format!("connecting as {application}"))
    }

    /// A pool of the admin role (bypasses row-level security).
    async fn admin_pool(&self, application: &str, max: u32) -> anyhow::Result<PgPool> {
        self.pool_at(&self.database_url, application, max).await
    }

    /// A pool of a service role.
    async fn role_pool(&self, role: &str, application: &str, max: u32) -> anyhow::Result<PgPool> {
        self.pool_at(&self.role_url(role), application, max).await
    }
}

async fn run(
    args: &Args,
    admin: &PgConnectOptions,
    db_name: &str,
    endpoint: &str,
    region: &str,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let database_url = format!(
        "postgres://{}@{}:{}/{db_name}",
        admin.get_username(),
        admin.get_host(),
        admin.get_port()
    );
    let database_url = match std::env::var("DATABASE_URL")
        .ok()
        .and_then(|u| with_database(&u, db_name))
    {
        Some(u) => u,
        None => database_url,
    };
    let setup = World {
        database_url,
        host: admin.get_host().to_owned(),
        port: admin.get_port(),
        db_name: db_name.to_owned(),
        sqs: common::sqs::client(&AwsArgs {
            aws_endpoint_url: Some(endpoint.to_owned()),
            aws_region: region.to_owned(),
        })
        .await,
        events_queue: String::new(),
        notifications_queue: String::new(),
        prefix: format!("bench{}-", &Uuid::new_v4().simple().to_string()[..12]),
        shutdown: shutdown.clone(),
    };
    let observer = setup.admin_pool("repstream-bench", 8).await?;
    common::db::migrate(&observer).await?;
    let urls = common::sqs::create_queues(&setup.sqs, &setup.prefix)
        .await
        .context("creating queues (is LocalStack up at AWS_ENDPOINT_URL?)")?;
    let url = |n: &str| {
        urls.get(n)
            .cloned()
            .with_context(|| format!("queue {n} not declared in localstack/resources.json"))
    };
    let world = World {
        events_queue: url("repstream-events.fifo")?,
        notifications_queue: url("repstream-notifications.fifo")?,
        ..setup
    };

    print_environment(&observer, admin, db_name, endpoint, &world.prefix).await?;

    let mut summary = Summary::default();
    let api_token = shutdown.child_token();
    let api_pool = world.role_pool(API_ROLE, "repstream-api", 16).await?;
    let base = spawn_api(&world, api_pool.clone(), api_token.clone()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients.max(64))
        .timeout(HTTP_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let mut http = Http {
        client,
        base,
        token: String::new(),
    };
    if !(args.skip.contains(&Section::A) && args.skip.contains(&Section::B)) {
        http.token = http.sign_in().await?;
    }

    if !args.skip.contains(&Section::A) {
        section_a(args, &world, &http, &observer, &mut summary).await?;
    }
    if !args.skip.contains(&Section::B) {
        section_b(args, &world, &http, &observer, &mut summary).await?;
    }
    api_token.cancel();
    api_pool.close().await;
    if !args.skip.contains(&Section::C) {
        section_c(args, &world, &observer, &mut summary).await?;
    }

    summary.print(args);
    observer.close().await;
    Ok(())
}

/// `url` with its path (the database name) replaced, keeping credentials and parameters.
fn with_database(url: &str, db_name: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    Some(format!("{scheme}://{authority}/{db_name}{query}"))
}

async fn print_environment(
    pool: &PgPool,
    admin: &PgConnectOptions,
    db_name: &str,
    endpoint: &str,
    prefix: &str,
) -> anyhow::Result<()> {
    let mut out = String::new();
    let _ = writeln!(out, "repstream-bench");
    let _ = writeln!(out, "===============");
    let profile = if cfg!(debug_assertions) {
        "DEBUG (figures are not representative; use --release)"
    } else {
        "release"
    };
    let _ = writeln!(out, "build                {profile}");
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(out, "cpus                 {cpus}");
    let _ = writeln!(
        out,
        "postgres             {}:{} database {db_name}",
        admin.get_host(),
        admin.get_port()
    );
    let _ = writeln!(
        out,
        "sqs endpoint         {endpoint} (queue prefix {prefix})"
    );
    for setting in [
        "server_version",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_level",
        "shared_buffers",
        "max_connections",
    ] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(pool)
            .await
            .with_context(|| format!("SHOW {setting}"))?;
        let _ = writeln!(out, "pg {setting:<19}{value}");
    }
    print!("{out}");
    Ok(())
}

async fn spawn_api(
    world: &World,
    pool: PgPool,
    token: CancellationToken,
) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    // A random signing key; access tokens outlive the run.
    let secret = [
        Uuid::new_v4().as_bytes().as_slice(),
        Uuid::new_v4().as_bytes(),
        Uuid::new_v4().as_bytes(),
    ]
    .concat();
    let mut auth = api::auth::AuthConfig::new(secret);
    auth.access_ttl = Duration::from_secs(3600);
    let mut config = api::ApiConfig::new(auth);
    config.events_queue = queue_name(&world.events_queue);
    // Every request comes from 127.0.0.1 and one account: production's per-IP and
    // per-account budgets would measure the limiter, not the write path.
    config.rate_limits.per_ip_per_minute = UNLIMITED;
    config.rate_limits.per_account_per_minute = UNLIMITED;
    config.rate_limits.auth_per_ip_per_minute = UNLIMITED;
    config.rate_limits.burst = UNLIMITED;
    let waiter = api::waiter::ViewWaiter::start(pool.clone(), token.clone());
    let state = api::AppState::new(pool, world.sqs.clone(), waiter, config)
        .context("configuring the API")?;
    tokio::spawn(async move {
        if let Err(e) = api::serve(listener, state, token).await {
            eprintln!("API server failed: {e:#}");
        }
    });
    Ok(format!("http://{addr}"))
}

fn queue_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
    /// The bench account's access token (it owns every studio the bench creates).
    token: String,
}

/// How a command request ended.
enum Reply {
    /// Accepted, with the studio's new version.
    Accepted(u64),
    /// An HTTP error status with the problem `code`, if any.
    Refused(u16, String),
}

impl Http {
    /// Signs up the bench account and signs it in; returns its access token.
    async fn sign_in(&self) -> anyhow::Result<String> {
        let email = format!("bench-{}@example.com", Uuid::new_v4().simple());
        let password = "Bench-Horse-Battery-Staple-9";
        let response = self
            .client
            .post(format!("{}/api/v1/auth/signup", self.base))
            .json(&json!({"email": email, "password": password, "full_name": "Bench Owner"}))
            .send()
            .await
            .context("signing up")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("signing up the bench account: HTTP {status} {body}");
        }
        let response = self
            .client
            .post(format!("{}/api/v1/auth/token", self.base))
            .form(&[
                ("grant_type", "password"),
                ("username", email.as_str()),
                ("password", password),
            ])
            .send()
            .await
            .context("signing in")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(
            status.is_success(),
            "signing in the bench account: HTTP {status} {body}"
        );
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no access_token in {body}"))
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Reply> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            let version = body["version"]
                .as_u64()
                .with_context(|| format!("no version in {body}"))?;
            Ok(Reply::Accepted(version))
        } else {
            let code = body["code"].as_str().unwrap_or("").to_owned();
            Ok(Reply::Refused(status.as_u16(), code))
        }
    }

    async fn create_studio(&self, name: &str) -> anyhow::Result<Uuid> {
        let id = Uuid::now_v7();
        let body = json!({"id": id, "name": name, "timezone": "Europe/Berlin", "currency": "EUR"});
        match self.post("/api/v1/studios", &body).await? {
            Reply::Accepted(_) => Ok(id),
            Reply::Refused(status, code) => bail!("creating a studio: HTTP {status} {code}"),
        }
    }

    async fn create_studios(&self, n: usize, label: &str) -> anyhow::Result<Vec<Uuid>> {
        let results: Vec<anyhow::Result<Uuid>> = futures::stream::iter(0..n)
            .map(|i| async move { self.create_studio(&format!("{label} studio {i}")).await })
            .buffered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Adds a location (`add`) or renames the studio; `tag` makes the name unique.
    async fn command(&self, studio: Uuid, add: bool, tag: &str) -> anyhow::Result<Reply> {
        if add {
            self.post(
                &format!("/api/v1/studios/{studio}/locations"),
                &json!({
                    "name": format!("Location {tag}"),
                    "address": format!("Hafenstrasse {tag}, 20457 Hamburg"),
                }),
            )
            .await
        } else {
            self.post(
                &format!("/api/v1/studios/{studio}/rename"),
                &json!({"name": format!("Studio {tag}")}),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------

/// Latencies, sorted on construction.
#[derive(Debug, Default, Clone)]
struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut v: Vec<Duration>) -> Self {
        v.sort_unstable();
        Self(v)
    }
    /// Nearest-rank percentile.
    fn pct(&self, p: f64) -> Option<Duration> {
        let n = self.0.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.0.get(rank.clamp(1, n) - 1).copied()
    }
    fn max(&self) -> Option<Duration> {
        self.0.last().copied()
    }
    fn describe(&self) -> String {
        format!(
            "p50 {}  p99 {}  max {}",
            ms(self.pct(50.0)),
            ms(self.pct(99.0)),
            ms(self.max())
        )
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "n/a".to_owned(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0),
    )
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "n/a".to_owned()
    }
}

#[derive(Debug, Default)]
struct Summary {
    api: Option<Throughput>,
    baseline: Option<Throughput>,
    mean_stream_len: Option<f64>,
    e2e: Option<E2e>,
    relay: Option<Publish>,
    raw: Option<Publish>,
}

#[derive(Debug, Default)]
struct Throughput {
    ok: u64,
    errors: BTreeMap<String, u64>,
    elapsed: Duration,
    latency: Latencies,
}

impl Throughput {
    fn per_sec(&self) -> f64 {
        rate(self.ok, self.elapsed)
    }
    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
    fn merge(&mut self, other: Throughput, latencies: &mut Vec<Duration>) {
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        latencies.extend(other.latency.0);
    }
    fn errors_text(&self) -> String {
        if self.errors.is_empty() {
            return "0".to_owned();
        }
        let kinds: Vec<String> = self
            .errors
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!("{} ({})", self.error_count(), kinds.join(", "))
    }
}

#[derive(Debug)]
struct E2e {
    offered: u64,
    accepted: u64,
    errors: BTreeMap<String, u64>,
    achieved_rate: f64,
    command_latency: Latencies,
    latency: Latencies,
    not_caught_up: u64,
    via_poll: u64,
}

#[derive(Debug)]
struct Publish {
    messages: u64,
    failed: u64,
    elapsed: Duration,
    queue_depth: Option<u64>,
}

impl Publish {
    fn per_sec(&self) -> f64 {
        rate(self.messages, self.elapsed)
    }
}

impl Summary {
    fn print(&self, args: &Args) {
        let mut out = String::new();
        let _ = writeln!(out, "\nSummary");
        let _ = writeln!(out, "=======");
        let _ = writeln!(out, "{:<52} {:>14}  notes", "figure", "value");
        let row = |out: &mut String, name: &str, value: String, note: String| {
            let line = format!("{name:<52} {value:>14}  {note}");
            let _ = writeln!(out, "{}", line.trim_end());
        };
        if let Some(a) = &self.api {
            row(
                &mut out,
                &format!("(a) API commands/s ({} clients)", args.clients),
                format!("{:.1}", a.per_sec()),
                format!("errors {}, {}", a.error_count(), a.latency.describe()),
            );
        }
        if let Some(b) = &self.baseline {
            row(
                &mut out,
                "(a) raw Postgres event+outbox tx/s",
                format!("{:.1}", b.per_sec()),
                format!("errors {}, {}", b.error_count(), b.latency.describe()),
            );
        }
        if let (Some(a), Some(b)) = (&self.api, &self.baseline) {
            row(
                &mut out,
                "(a) ratio API / baseline",
                ratio(a.per_sec(), b.per_sec()),
                self.mean_stream_len.map_or(String::new(), |l| {
                    format!("mean stream length {l:.1} events")
                }),
            );
        }
        if let Some(e) = &self.e2e {
            row(
                &mut out,
                &format!("(b) e2e accepted->view p50 @ {} cmd/s", args.e2e_rate),
                ms(e.latency.pct(50.0)),
                format!("{} commands accepted of {} offered", e.accepted, e.offered),
            );
            row(
                &mut out,
                "(b) e2e accepted->view p99",
                ms(e.latency.pct(99.0)),
                String::new(),
            );
            row(
                &mut out,
                "(b) e2e accepted->view max",
                ms(e.latency.max()),
                String::new(),
            );
            row(
                &mut out,
                "(b) not caught up within 30 s",
                e.not_caught_up.to_string(),
                String::new(),
            );
        }
        if let Some(r) = &self.relay {
            row(
                &mut out,
                "(c) relay messages/s",
                format!("{:.1}", r.per_sec()),
                format!("{} messages, {} failed", r.messages, r.failed),
            );
        }
        if let Some(r) = &self.raw {
            row(
                &mut out,
                "(c) raw SendMessageBatch messages/s",
                format!("{:.1}", r.per_sec()),
                format!("{} messages, {} failed", r.messages, r.failed),
            );
        }
        if let (Some(r), Some(w)) = (&self.relay, &self.raw) {
            row(
                &mut out,
                "(c) ratio relay / raw",
                ratio(r.per_sec(), w.per_sec()),
                String::new(),
            );
        }
        print!("{out}");
    }
}

// ---------------------------------------------------------------------------------------
// (a) command throughput and the raw-Postgres baseline
// ---------------------------------------------------------------------------------------

async fn section_a(
    args: &Args,
    world: &World,
    http: &Http,
    observer: &PgPool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.duration_secs);
    println!(
        "\n(a) command throughput: {} clients, {} studios, {} s",
        args.clients, args.studios, args.duration_secs
    );
    let studios = http.create_studios(args.studios, "throughput").await?;
    if studios.len() < args.clients {
        println!("    note: fewer studios than clients; clients share studios and may conflict");
    }
    // Client i owns studios i, i + clients, i + 2·clients, ... (or shares one).
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let deadline = start + duration;
    for c in 0..args.clients {
        let mine: Vec<Uuid> = if studios.len() >= args.clients {
            studios
                .iter()
                .skip(c)
                .step_by(args.clients)
                .copied()
                .collect()
        } else {
            vec![studios[c % studios.len()]]
        };
        let http = http.clone();
        tasks.spawn(api_client(http, c, mine, deadline));
    }
    let mut api = Throughput::default();
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let t = joined.context("client task panicked")?;
        api.merge(t, &mut latencies);
    }
    api.elapsed = start.elapsed();
    api.latency = Latencies::new(latencies);
    let (events, streams): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'studio'",
    )
    .fetch_one(observer)
    .await
    .context("counting events")?;
    let mean_len = if streams > 0 {
        events as f64 / streams as f64
    } else {
        0.0
    };
    println!(
        "    API       {:>9.1} commands/s   errors {}   {}   ({} commands in {:.2} s, mean stream length {:.1})",
        api.per_sec(),
        api.errors_text(),
        api.latency.describe(),
        api.ok,
        api.elapsed.as_secs_f64(),
        mean_len
    );

    let pool = world
        .role_pool(API_ROLE, "repstream-bench-baseline", args.clients as u32)
        .await?;
    let baseline = baseline(&pool, args.clients, duration).await?;
    pool.close().await;
    println!(
        "    baseline  {:>9.1} tx/s         errors {}   {}   ({} transactions in {:.2} s)",
        baseline.per_sec(),
        baseline.errors_text(),
        baseline.latency.describe(),
        baseline.ok,
        baseline.elapsed.as_secs_f64()
    );
    println!(
        "    ratio API/baseline {}",
        ratio(api.per_sec(), baseline.per_sec())
    );
    summary.api = Some(api);
    summary.baseline = Some(baseline);
    summary.mean_stream_len = Some(mean_len);
    Ok(())
}

async fn api_client(
    http: Http,
    client: usize,
    studios: Vec<Uuid>,
    deadline: Instant,
) -> Throughput {
    let mut t = Throughput::default();
    let mut latencies = Vec::new();
    let mut locations = vec![0u32; studios.len()];
    let mut k: u64 = 0;
    while Instant::now() < deadline && !studios.is_empty() {
        let slot = (k as usize) % studios.len();
        let round = k / studios.len() as u64;
        let add = (round & 1) == 0 && locations[slot] < LOCATION_CAP;
        let tag = format!("{client}-{k}");
        let started = Instant::now();
        match http.command(studios[slot], add, &tag).await {
            Ok(Reply::Accepted(_)) => {
                latencies.push(started.elapsed());
                t.ok += 1;
                if add {
                    locations[slot] += 1;
                }
            }
            Ok(Reply::Refused(status, code)) => {
                *t.errors.entry(format!("HTTP {status} {code}")).or_default() += 1;
            }
            Err(e) => {
                *t.errors.entry(transport_error(&e)).or_default() += 1;
            }
        }
        k += 1;
    }
    t.latency = Latencies(latencies);
    t
}

fn transport_error(e: &anyhow::Error) -> String {
    match e.downcast_ref::<reqwest::Error>() {
        Some(r) if r.is_timeout() => "timeout".to_owned(),
        Some(r) if r.is_connect() => "connect".to_owned(),
        Some(_) => "transport".to_owned(),
        None => "bad response".to_owned(),
    }
}

/// `tasks` loops of the event store's write transaction, for `duration`.
async fn baseline(pool: &PgPool, tasks: usize, duration: Duration) -> anyhow::Result<Throughput> {
    let mut set = JoinSet::new();
    let start = Instant::now();
    let deadline = start + duration;
    for task in 0..tasks {
        let pool = pool.clone();
        set.spawn(async move {
            let mut t = Throughput::default();
            let mut latencies = Vec::new();
            let aggregate = Uuid::now_v7();
            let mut sequence: i64 = 0;
            while Instant::now() < deadline {
                sequence += 1;
                let started = Instant::now();
                match write_event(&pool, aggregate, sequence, task).await {
                    Ok(()) => {
                        latencies.push(started.elapsed());
                        t.ok += 1;
                    }
                    Err(e) => {
                        let kind = e
                            .as_database_error()
                            .and_then(|d| d.code().map(|c| format!("SQLSTATE {c}")))
                            .unwrap_or_else(|| "connection".to_owned());
                        *t.errors.entry(kind).or_default() += 1;
                        if !matches!(e, sqlx::Error::Database(_)) {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }
            t.latency = Latencies(latencies);
            t
        });
    }
    let mut total = Throughput::default();
    let mut latencies = Vec::new();
    while let Some(joined) = set.join_next().await {
        total.merge(joined.context("baseline task panicked")?, &mut latencies);
    }
    total.elapsed = start.elapsed();
    total.latency = Latencies::new(latencies);
    Ok(total)
}

/// A `LocationAdded` event as the event store would write it: payload, metadata map and
/// the wire envelope for the outbox.
fn location_added(aggregate: Uuid, sequence: i64, tag: &str) -> (Value, Value, EventEnvelope) {
    let payload = json!({
        "type": "LocationAdded",
        "location_id": Uuid::now_v7(),
        "name": format!("Location {tag}"),
        "address": format!("Hafenstrasse {tag}, 20457 Hamburg"),
        "timezone": null,
    });
    let correlation = Uuid::new_v4().to_string();
    let request = Uuid::new_v4().to_string();
    let actor = format!("user:{}", Uuid::now_v7());
    let metadata = json!({
        "tenant_id": aggregate.to_string(),
        "correlation_id": correlation,
        "causation_id": request,
        "request_id": request,
        "actor": actor,
        "ip": "127.0.0.1",
        "user_agent": "repstream-bench",
    });
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        tenant_id: aggregate,
        aggregate_type: "studio".to_owned(),
        aggregate_id: aggregate.to_string(),
        sequence: u64::try_from(sequence).unwrap_or_default(),
        event_type: "LocationAdded".to_owned(),
        event_version: "1.0".to_owned(),
        occurred_at: Utc::now().trunc_subsecs(6),
        payload: payload.clone(),
        metadata: EnvelopeMetadata {
            correlation_id: Some(correlation),
            causation_id: Some(request.clone()),
            actor: Some(actor),
            request_id: Some(request),
        },
    };
    (payload, metadata, envelope)
}

/// What the event store runs to append one event: `BEGIN`, tenant binding, the store's
/// own append statement (`common::event_store::APPEND_SQL`, so the baseline cannot drift
/// from the store), `COMMIT`.
async fn write_event(
    pool: &PgPool,
    aggregate: Uuid,
    sequence: i64,
    task: usize,
) -> Result<(), sqlx::Error> {
    let (payload, metadata, envelope) =
        location_added(aggregate, sequence, &format!("{task}-{sequence}"));
    let message = serde_json::to_value(&envelope).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let aggregate_id = aggregate.to_string();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(aggregate.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query(common::event_store::APPEND_SQL)
        .bind(envelope.aggregate_type.clone())
        .bind(aggregate_id)
        .bind(vec![sequence])
        .bind(vec![envelope.event_type.clone()])
        .bind(vec![envelope.event_version.clone()])
        .bind(vec![payload])
        .bind(vec![metadata])
        .bind(vec![envelope.event_id])
        .bind(aggregate)
        .bind(envelope.occurred_at)
        .bind(vec![message])
        .bind(sequence == 1)
        .bind(None::<i64>)
        .bind("")
        .bind(None::<serde_json::Value>)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Removes every outbox row so the next section's relay starts from an empty outbox.
async fn empty_outbox(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM outbox")
        .execute(pool)
        .await
        .context("emptying the outbox")?;
    sqlx::query("VACUUM ANALYZE outbox")
        .execute(pool)
        .await
        .context("vacuuming the outbox")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// (b) end-to-end latency
// ---------------------------------------------------------------------------------------

/// A command the API accepted.
struct Registered {
    studio: Uuid,
    version: u64,
    accepted: Instant,
}

async fn section_b(
    args: &Args,
    world: &World,
    http: &Http,
    observer: &PgPool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    println!(
        "\n(b) end-to-end latency: {} commands/s for {} s over {} studios (relay + projector in-process)",
        args.e2e_rate, args.e2e_secs, args.studios
    );
    // Section (a)'s rows were never relayed; they must not delay this section.
    empty_outbox(observer).await?;

    let token = world.shutdown.child_token();
    let relay_pool = world
        .role_pool(RELAY_ROLE, "repstream-outbox-relay", 4)
        .await?;
    let projector_pool = world
        .role_pool(PROJECTOR_ROLE, "repstream-projector", 8)
        .await?;
    let relay_config = outbox_relay::RelayConfig::new(world.events_queue.clone());
    let connect = outbox_relay::connect_options(&world.role_url(RELAY_ROLE))?;
    let relay_task = tokio::spawn(outbox_relay::run(
        relay_pool.clone(),
        connect,
        world.sqs.clone(),
        relay_config,
        token.clone(),
    ));
    let projector = projector::Projector::new(
        projector_pool.clone(),
        projector::all_projections(),
        world.sqs.clone(),
        world.notifications_queue.clone(),
    );
    let mut consumer = projector::ConsumerConfig::new(world.events_queue.clone());
    consumer.wait_seconds = 1;
    consumer.concurrency = 4;
    let projector_task = tokio::spawn(projector::run(
        projector,
        world.sqs.clone(),
        consumer,
        token.clone(),
    ));

    // Notifications go through a task of their own, so no receive is ever cancelled.
    let (note_tx, note_rx) = mpsc::unbounded_channel::<Uuid>();
    let mut listener = PgListener::connect_with(observer)
        .await
        .context("LISTEN connection")?;
    listener
        .listen("projection_updated")
        .await
        .context("LISTEN projection_updated")?;
    let listen_token = token.clone();
    let listen_task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = listen_token.cancelled() => return,
                n = listener.recv() => match n {
                    Ok(n) => {
                        if let Ok(id) = n.payload().parse::<Uuid>() {
                            if note_tx.send(id).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("    LISTEN failed ({e}); falling back to polling");
                        return;
                    }
                }
            }
        }
    });

    let outcome = async {
        let warmup = Instant::now();
        let studios = http.create_studios(args.studios, "e2e").await?;
        wait_for_views(observer, &studios, warmup + CATCH_UP_LIMIT).await?;
        println!(
            "    warm-up: {} studios created and projected in {:.2} s",
            studios.len(),
            warmup.elapsed().as_secs_f64()
        );
        offered_load(args, http, observer, &studios, note_rx).await
    }
    .await;

    token.cancel();
    listen_task.await.ok();
    for (name, task) in [("relay", relay_task), ("projector", projector_task)] {
        match tokio::time::timeout(Duration::from_secs(15), task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => eprintln!("    {name} ended with an error: {e:#}"),
            Ok(Err(e)) => eprintln!("    {name} panicked: {e}"),
            Err(_) => eprintln!("    {name} did not stop within 15 s"),
        }
    }
    relay_pool.close().await;
    projector_pool.close().await;

    let e2e = outcome?;
    let errors = if e2e.errors.is_empty() {
        String::new()
    } else {
        format!(" errors {:?}", e2e.errors)
    };
    println!(
        "    offered {} commands, accepted {} at {:.1}/s{errors}; command round trip {}",
        e2e.offered,
        e2e.accepted,
        e2e.achieved_rate,
        e2e.command_latency.describe()
    );
    println!(
        "    accepted -> view updated: {}   not caught up within 30 s: {}   (seen by poll fallback: {})",
        e2e.latency.describe(),
        e2e.not_caught_up,
        e2e.via_poll
    );
    summary.e2e = Some(e2e);
    Ok(())
}

async fn wait_for_views(pool: &PgPool, studios: &[Uuid], deadline: Instant) -> anyhow::Result<()> {
    loop {
        let ready: i64 = sqlx::query_scalar("SELECT count(*) FROM studio_view WHERE id = ANY($1)")
            .bind(studios)
            .fetch_one(pool)
            .await
            .context("reading studio_view")?;
        if ready as usize >= studios.len() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "only {ready} of {} studios reached studio_view within {} s: is the \
                 relay/projector pipeline working?",
                studios.len(),
                CATCH_UP_LIMIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn offered_load(
    args: &Args,
    http: &Http,
    observer: &PgPool,
    studios: &[Uuid],
    notes: mpsc::UnboundedReceiver<Uuid>,
) -> anyhow::Result<E2e> {
    let total = ((args.e2e_rate * args.e2e_secs as f64).round() as u64).max(1);
    let (reg_tx, reg_rx) = mpsc::unbounded_channel::<Registered>();
    let watched: HashSet<Uuid> = studios.iter().copied().collect();
    let tracker = tokio::spawn(track(observer.clone(), watched, reg_rx, notes));

    let mut set = JoinSet::new();
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.e2e_rate);
    let n = studios.len() as u64;
    for i in 0..total {
        tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
        let studio = studios[(i % n) as usize];
        let round = i / n;
        let add = (round & 1) == 0 && round / 2 < u64::from(LOCATION_CAP);
        let (http, reg_tx) = (http.clone(), reg_tx.clone());
        set.spawn(async move {
            let started = Instant::now();
            let reply = http.command(studio, add, &format!("e2e-{i}")).await;
            let accepted = Instant::now();
            match reply {
                Ok(Reply::Accepted(version)) => {
                    let _ = reg_tx.send(Registered {
                        studio,
                        version,
                        accepted,
                    });
                    Ok(accepted - started)
                }
                Ok(Reply::Refused(status, code)) => Err(format!("HTTP {status} {code}")),
                Err(e) => Err(transport_error(&e)),
            }
        });
    }
    let sent_in = start.elapsed();
    drop(reg_tx);
    let mut command_latency = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        match joined.context("command task panicked")? {
            Ok(d) => command_latency.push(d),
            Err(kind) => *errors.entry(kind).or_default() += 1,
        }
    }
    let tracked = tracker.await.context("tracker panicked")??;
    let accepted = command_latency.len() as u64;
    Ok(E2e {
        offered: total,
        accepted,
        errors,
        achieved_rate: rate(total, sent_in.max(interval)),
        command_latency: Latencies::new(command_latency),
        latency: Latencies::new(tracked.latencies),
        not_caught_up: tracked.not_caught_up,
        via_poll: tracked.via_poll,
    })
}

struct Tracked {
    latencies: Vec<Duration>,
    not_caught_up: u64,
    via_poll: u64,
}

/// Matches accepted commands with view updates until every command caught up, or
/// [`CATCH_UP_LIMIT`] after the last one was accepted.
async fn track(
    pool: PgPool,
    watched: HashSet<Uuid>,
    mut registered: mpsc::UnboundedReceiver<Registered>,
    mut notes: mpsc::UnboundedReceiver<Uuid>,
) -> anyhow::Result<Tracked> {
    // Latest view version seen per studio, and when it was seen.
    let mut known: HashMap<Uuid, (u64, Instant)> = HashMap::new();
    let mut pending: HashMap<Uuid, Vec<(u64, Instant)>> = HashMap::new();
    let mut out = Tracked {
        latencies: Vec::new(),
        not_caught_up: 0,
        via_poll: 0,
    };
    let mut open = true;
    let mut notes_open = true;
    let mut deadline: Option<Instant> = None;
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        let waiting: usize = pending.values().map(Vec::len).sum();
        if !open && waiting == 0 {
            break;
        }
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => futures::future::pending::<()>().await,
            }
        };
        tokio::select! {
            r = registered.recv(), if open => match r {
                Some(reg) => {
                    match known.get(&reg.studio) {
                        Some((v, seen)) if *v >= reg.version => {
                            out.latencies.push(seen.saturating_duration_since(reg.accepted));
                        }
                        _ => pending.entry(reg.studio).or_default().push((reg.version, reg.accepted)),
                    }
                }
                None => {
                    open = false;
                    deadline = Some(Instant::now() + CATCH_UP_LIMIT);
                }
            },
            n = notes.recv(), if notes_open => match n {
                Some(id) if watched.contains(&id) => {
                    let version: Option<i64> =
                        sqlx::query_scalar("SELECT version FROM studio_view WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&pool)
                            .await
                            .context("reading studio_view")?;
                    let seen = Instant::now();
                    if let Some(v) = version.and_then(|v| u64::try_from(v).ok()) {
                        note(&mut known, id, v, seen);
                        resolve(&mut pending, &mut out, id, v, seen, false);
                    }
                }
                Some(_) => {}
                None => notes_open = false,
            },
            _ = poll.tick() => {
                let ids: Vec<Uuid> = pending
                    .iter()
                    .filter(|(_, l)| !l.is_empty())
                    .map(|(id, _)| *id)
                    .collect();
                if !ids.is_empty() {
                    let rows: Vec<(Uuid, i64)> =
                        sqlx::query_as("SELECT id, version FROM studio_view WHERE id = ANY($1)")
                            .bind(&ids)
                            .fetch_all(&pool)
                            .await
                            .context("polling studio_view")?;
                    let seen = Instant::now();
                    for (id, v) in rows {
                        let v = u64::try_from(v).unwrap_or_default();
                        note(&mut known, id, v, seen);
                        resolve(&mut pending, &mut out, id, v, seen, true);
                    }
                }
            }
            _ = until_deadline => break,
        }
    }
    out.not_caught_up = pending.values().map(Vec::len).sum::<usize>() as u64
        + out
            .latencies
            .iter()
            .filter(|d| **d > CATCH_UP_LIMIT)
            .count() as u64;
    Ok(out)
}

/// Settles the pending commands of `id` up to `version`, seen at `seen`.
fn resolve(
    pending: &mut HashMap<Uuid, Vec<(u64, Instant)>>,
    out: &mut Tracked,
    id: Uuid,
    version: u64,
    seen: Instant,
    polled: bool,
) {
    if let Some(list) = pending.get_mut(&id) {
        list.retain(|(v, accepted)| {
            if *v <= version {
                out.latencies
                    .push(seen.saturating_duration_since(*accepted));
                if polled {
                    out.via_poll += 1;
                }
                false
            } else {
                true
            }
        });
    }
}

fn note(known: &mut HashMap<Uuid, (u64, Instant)>, id: Uuid, version: u64, seen: Instant) {
    let entry = known.entry(id).or_insert((0, seen));
    if version > entry.0 {
        *entry = (version, seen);
    }
}

// ---------------------------------------------------------------------------------------
// (c) relay throughput vs LocalStack's raw rate
// ---------------------------------------------------------------------------------------

async fn section_c(
    args: &Args,
    world: &World,
    observer: &PgPool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let config = outbox_relay::RelayConfig::new(String::new());
    let (lanes, batch) = (config.lanes.max(1), config.batch_size.clamp(1, 10));
    println!(
        "\n(c) relay throughput: {} messages over {} message groups, {} lanes x batches of {}",
        args.relay_messages, args.relay_groups, lanes, batch
    );
    empty_outbox(observer).await?;
    let relay_queue = create_fifo_queue(&world.sqs, &format!("{}relay.fifo", world.prefix)).await?;
    let raw_queue = create_fifo_queue(&world.sqs, &format!("{}raw.fifo", world.prefix)).await?;

    // Outbox rows with real envelopes, spread round-robin over the groups.
    let groups: Vec<Uuid> = (0..args.relay_groups).map(|_| Uuid::now_v7()).collect();
    let envelopes: Vec<EventEnvelope> = (0..args.relay_messages)
        .map(|i| {
            let g = groups[i % groups.len()];
            let sequence = (i / groups.len() + 1) as i64;
            location_added(g, sequence, &format!("relay-{i}")).2
        })
        .collect();
    let insert_started = Instant::now();
    for chunk in envelopes.chunks(1000) {
        let mut event_ids = Vec::with_capacity(chunk.len());
        let mut tenants = Vec::with_capacity(chunk.len());
        let mut aggregates = Vec::with_capacity(chunk.len());
        let mut messages = Vec::with_capacity(chunk.len());
        for e in chunk {
            event_ids.push(e.event_id);
            tenants.push(e.tenant_id);
            aggregates.push(e.aggregate_id.clone());
            messages.push(serde_json::to_value(e)?);
        }
        sqlx::query(
            "INSERT INTO outbox (event_id, tenant_id, aggregate_id, message) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[])",
        )
        .bind(&event_ids)
        .bind(&tenants)
        .bind(&aggregates)
        .bind(&messages)
        .execute(observer)
        .await
        .context("inserting outbox rows")?;
    }
    sqlx::query("ANALYZE outbox").execute(observer).await.ok();
    println!(
        "    inserted {} outbox rows in {:.2} s",
        envelopes.len(),
        insert_started.elapsed().as_secs_f64()
    );

    // The relay, with the production settings, on a pool of its own.
    let relay_pool = world
        .role_pool(RELAY_ROLE, "repstream-outbox-relay", 4)
        .await?;
    let relay = outbox_relay::Relay::new(
        relay_pool.clone(),
        world.sqs.clone(),
        outbox_relay::RelayConfig::new(relay_queue.clone()),
    );
    let target = args.relay_messages as u64;
    let limit = Duration::from_secs(120) + Duration::from_millis(20 * target);
    let started = Instant::now();
    let mut published: u64 = 0;
    while published < target && started.elapsed() < limit {
        match relay.drain().await? {
            outbox_relay::DrainOutcome::Drained { published: 0 } => break,
            outbox_relay::DrainOutcome::Drained { published: n } => published += n as u64,
            outbox_relay::DrainOutcome::Failing { published: n } => {
                published += n as u64;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let elapsed = started.elapsed();
    relay_pool.close().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(observer)
        .await
        .context("counting unpublished rows")?;
    let relay_result = Publish {
        messages: published,
        failed: u64::try_from(left).unwrap_or_default(),
        elapsed,
        queue_depth: queue_depth(&world.sqs, &relay_queue).await.ok(),
    };
    println!(
        "    relay     {:>9.1} messages/s   ({} published in {:.2} s, {} left unpublished, queue depth {})",
        relay_result.per_sec(),
        relay_result.messages,
        elapsed.as_secs_f64(),
        left,
        relay_result.queue_depth.map_or("?".to_owned(), |d| d.to_string())
    );

    // LocalStack's own rate: the same bodies and attributes, straight from the SDK.
    let raw_result = raw_send(&world.sqs, &raw_queue, &envelopes, lanes, batch).await?;
    println!(
        "    raw SQS   {:>9.1} messages/s   ({} sent in {:.2} s, {} failed, queue depth {})",
        raw_result.per_sec(),
        raw_result.messages,
        raw_result.elapsed.as_secs_f64(),
        raw_result.failed,
        raw_result
            .queue_depth
            .map_or("?".to_owned(), |d| d.to_string())
    );
    println!(
        "    ratio relay/raw {}",
        ratio(relay_result.per_sec(), raw_result.per_sec())
    );
    summary.relay = Some(relay_result);
    summary.raw = Some(raw_result);
    Ok(())
}

async fn create_fifo_queue(sqs: &SqsClient, name: &str) -> anyhow::Result<String> {
    sqs.create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .with_context(|| format!("creating SQS queue {name}"))?
        .queue_url
        .context("SQS returned no queue URL")
}

async fn queue_depth(sqs: &SqsClient, queue_url: &str) -> anyhow::Result<u64> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await?
        .attributes
        .unwrap_or_default();
    let n = |k: &QueueAttributeName| {
        attrs
            .get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(n(&QueueAttributeName::ApproximateNumberOfMessages)
        + n(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
}

fn string_attr(value: &str) -> anyhow::Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .context("building a message attribute")
}

/// `concurrency` workers take batches of `batch` messages off a shared list and send each
/// with one SendMessageBatch.
async fn raw_send(
    sqs: &SqsClient,
    queue_url: &str,
    envelopes: &[EventEnvelope],
    concurrency: usize,
    batch: usize,
) -> anyhow::Result<Publish> {
    let mut batches: Vec<Vec<SendMessageBatchRequestEntry>> = Vec::new();
    for chunk in envelopes.chunks(batch) {
        let mut entries = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            let correlation = e.metadata.correlation_id.as_deref().unwrap_or("none");
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(serde_json::to_string(e)?)
                    .message_group_id(&e.aggregate_id)
                    .message_deduplication_id(e.event_id.to_string())
                    .message_attributes(
                        common::sqs::attributes::CORRELATION_ID,
                        string_attr(correlation)?,
                    )
                    .message_attributes(
                        common::sqs::attributes::EVENT_TYPE,
                        string_attr(&e.event_type)?,
                    )
                    .message_attributes(
                        common::sqs::attributes::TENANT_ID,
                        string_attr(&e.tenant_id.to_string())?,
                    )
                    .build()
                    .context("building a batch entry")?,
            );
        }
        batches.push(entries);
    }
    let queue = Arc::new(tokio::sync::Mutex::new(batches.into_iter()));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (sqs, queue_url, queue) = (sqs.clone(), queue_url.to_owned(), queue.clone());
        set.spawn(async move {
            let (mut sent, mut failed) = (0u64, 0u64);
            loop {
                let next = queue.lock().await.next();
                let Some(entries) = next else { break };
                let n = entries.len() as u64;
                match sqs
                    .send_message_batch()
                    .queue_url(&queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) => {
                        let f = out.failed.len() as u64;
                        sent += n - f.min(n);
                        failed += f;
                    }
                    Err(_) => failed += n,
                }
            }
            (sent, failed)
        });
    }
    let (mut sent, mut failed) = (0, 0);
    while let Some(joined) = set.join_next().await {
        let (s, f) = joined.context("sender task panicked")?;
        sent += s;
        failed += f;
    }
    let elapsed = started.elapsed();
    Ok(Publish {
        messages: sent,
        failed,
        elapsed,
        queue_depth: queue_depth(sqs, queue_url).await.ok(),
    })
}
