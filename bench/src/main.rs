//! # repstream-bench
//!
//! Measures repstream against **real** Postgres and the real SQS emulator (LocalStack)
//! and prints a plain-text report. Run it with `make bench` (which starts both, exports
//! `DATABASE_URL` and `AWS_ENDPOINT_URL`, and builds the services and this binary in one
//! release build), or by hand:
//!
//! ```text
//! cargo build --release -p repstream-api -p repstream-outbox-relay -p repstream-projector -p repstream-bench
//! target/release/repstream-bench [--duration-secs 10] [--clients 16] [--skip e2e,relay]
//! ```
//!
//! The run sets up as the tests do (`repstream_tests::TestEnv`: a fresh migrated database
//! in the cluster named by `DATABASE_URL`, the service roles' pools, fresh queues) and
//! drops the database at the end; queues are left behind.
//!
//! ## What runs where
//!
//! The API, the outbox relay and the projector are the **release binaries** `make run`
//! starts, each its own process, configured through the environment as in production and
//! connecting with their production service roles (`repstream_api`, `repstream_relay`,
//! `repstream_projector`), so grants and row-level security are part of every figure.
//! This process is only the load generator and the observer (the admin role sets up and
//! observes). Everything shares the machine's CPUs with Postgres and LocalStack. The API
//! runs its real authentication (one signed-up account owns every studio and sends a
//! bearer token) with rate limits lifted: all traffic comes from 127.0.0.1 and one
//! account, so production budgets would measure the limiter.
//!
//! ## The figures
//!
//! **(commands)** `--clients` closed-loop clients (one keep-alive connection each) send
//! `POST /studios/{id}/locations` and `/rename` over `--studios` studios for
//! `--duration-secs`; each client owns its studios, so the figure measures work, not
//! conflicts. Next to it, the **raw baseline**: as many tasks, as `repstream_api`, each
//! looping the event store's own write transaction (`BEGIN`, tenant binding, the store's
//! `APPEND_SQL` for one event + its outbox row, `COMMIT`) straight through sqlx. The
//! ratio API/raw is the share of the database's bare commit rate that survives HTTP,
//! JSON, authentication, the membership check, validation, the stream load and the
//! aggregate.
//!
//! **(booking)** The same clients book client records into classes (one studio per
//! client, 10 classes of 100 spots, 100 client records each), against the same baseline:
//! a booking also resolves the client record and its strikes and writes the class slot.
//!
//! **(streams)** One client renames a studio whose stream is ~10 events long and one
//! whose stream holds `--long-stream` events (built through the API), alternating, and
//! prints the latency of each: snapshots keep a command's load independent of its
//! stream's length.
//!
//! **(reads)** `--clients` closed-loop clients `GET /studios/{id}` (the projected view,
//! with its membership check) for `--duration-secs`.
//!
//! **Round trips** per request are counted by `pg_stat_statements` (statements the API's
//! role ran, `BEGIN`/`COMMIT` included, authentication included) over a sequential run of
//! each request kind, and printed with the sections.
//!
//! **(e2e)** The relay and the projector run (as processes). Commands are offered
//! open-loop at `--e2e-rate` per second for `--e2e-secs`. For each accepted command the
//! clock starts when its HTTP response arrived and stops when `studio_view.version` of
//! its studio is seen at or beyond the version the command returned (`LISTEN
//! projection_updated`, then a read of the view; a 1 s poll is only a fallback): the
//! staleness a reader sees without `min_version`.
//!
//! **(sustained)** The same open-loop load, searched for the highest rate the whole
//! pipeline keeps up with: steps of 15 s from `--sustained-from` commands/s, ×1.25 each
//! step, each on fresh studios; a step holds when every command is accepted and reaches
//! its view with p99 under 1 s. The best rate is then held for `--sustained-secs`
//! (default 60) to count, and printed next to the API's own maximum (commands).
//!
//! **(relay)** `--relay-messages` outbox rows with real envelopes, spread over
//! `--relay-groups` aggregates (= SQS message groups), are published by `Relay::drain`
//! (in this process: it is the relay's own loop, measured without the pipeline) to a
//! fresh FIFO queue; the *raw* rate sends the same bodies straight from the aws-sdk-sqs
//! client, 10 per batch, 4 batches in flight. The ratio relay/raw is the share of
//! LocalStack's own ingest rate the relay achieves.
//!
//! **(rebuild)** `studio_view` is rebuilt (the projector's own `rebuild`, in this
//! process, as the schema owner) from `--rebuild-events` events of synthetic studio
//! streams written straight into the events table: events/s replayed and swapped in.
//!
//! Durability settings, server version, CPU count and build profile are printed first:
//! a run with `fsync=off` or a debug build is not comparable with one without.

mod commands;
mod cpu;
mod e2e;
mod http;
mod reads;
mod rebuild;
mod relay;
mod services;
mod stats;
mod trips;

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{bail, ensure, Context};
use clap::{Parser, ValueEnum};
use infra::config::DatabaseArgs;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use uuid::Uuid;

use repstream_tests::TestEnv;

use crate::http::Http;
use crate::services::Binaries;
use crate::stats::Summary;

#[derive(Debug, Parser)]
#[command(about = "Benchmarks repstream (API, relay, projector as release binaries) in one run")]
pub(crate) struct Args {
    /// (commands, booking, reads) How long the clients (and then the baseline) run, in seconds.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// (commands, booking, reads) Concurrent HTTP clients, and concurrent baseline tasks.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// (commands, e2e, reads) Studios created up front; clients spread their commands over them.
    #[arg(long, default_value_t = 64)]
    studios: usize,
    /// (streams) Events in the long stream.
    #[arg(long, default_value_t = 10_000)]
    long_stream: u64,
    /// (streams) Commands sent to each stream.
    #[arg(long, default_value_t = 200)]
    stream_commands: u64,
    /// (e2e) Offered load in commands per second.
    #[arg(long, default_value_t = 50.0)]
    e2e_rate: f64,
    /// (e2e) How long the offered load lasts, in seconds.
    #[arg(long, default_value_t = 10)]
    e2e_secs: u64,
    /// (sustained) The first offered rate of the search, in commands per second.
    #[arg(long, default_value_t = 100.0)]
    sustained_from: f64,
    /// (sustained) How long the best rate must hold to count, in seconds.
    #[arg(long, default_value_t = 60)]
    sustained_secs: u64,
    /// (relay) Outbox rows published by the relay (and messages sent raw).
    #[arg(long, default_value_t = 5000)]
    relay_messages: usize,
    /// (relay) Distinct aggregates, i.e. SQS message groups, of those messages.
    #[arg(long, default_value_t = 64)]
    relay_groups: usize,
    /// (rebuild) Events in the synthetic streams `studio_view` is rebuilt from.
    #[arg(long, default_value_t = 100_000)]
    rebuild_events: u64,
    /// Sections to skip (repeat, or comma-separate: `--skip e2e,relay`).
    #[arg(long, value_enum, value_delimiter = ',')]
    skip: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    Commands,
    Booking,
    Streams,
    Reads,
    E2e,
    Sustained,
    Relay,
    Rebuild,
}

impl Args {
    fn runs(&self, section: Section) -> bool {
        !self.skip.contains(&section)
    }
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
        args.sustained_from > 0.0 && args.sustained_from <= 10_000.0,
        "--sustained-from must be in (0, 10000]"
    );
    ensure!(
        args.sustained_secs > 0,
        "--sustained-secs must be at least 1"
    );
    ensure!(
        args.relay_messages > 0,
        "--relay-messages must be at least 1"
    );
    ensure!(args.relay_groups > 0, "--relay-groups must be at least 1");
    ensure!(
        args.long_stream >= 100,
        "--long-stream must be at least 100 events"
    );
    ensure!(
        args.stream_commands > 0,
        "--stream-commands must be at least 1"
    );

    required_env("DATABASE_URL")?;
    required_env("AWS_ENDPOINT_URL")?;
    required_env("AWS_ACCESS_KEY_ID")?;
    required_env("AWS_SECRET_ACCESS_KEY")?;
    // The test harness's environment: a fresh migrated database, its role pools, fresh
    // queues. The bench drops the database at the end.
    let env = TestEnv::new()
        .await
        .context("setting up (is `make bench` running Postgres and LocalStack?)")?;
    let world = World {
        prefix: format!("bench{}-", &Uuid::new_v4().simple().to_string()[..12]),
        env,
    };
    let result = tokio::select! {
        r = run(&args, &world) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let db_name = world.env.database_name();
    let dropped = world.env.drop_database().await;
    match (&result, dropped) {
        (_, Ok(())) => println!("\ndropped database {db_name}"),
        (Ok(()), Err(e)) => return Err(e),
        (Err(_), Err(e)) => eprintln!("also failed to drop database {db_name}: {e:#}"),
    }
    result
}

/// Service roles created by the migrations; each component connects with its own, as in
/// production, so grants and row-level security apply to every figure.
pub(crate) const API_ROLE: &str = "repstream_api";
pub(crate) const PROJECTOR_ROLE: &str = "repstream_projector";
pub(crate) const RELAY_ROLE: &str = "repstream_relay";

/// Everything the sections share: the harness's environment and a queue prefix of
/// the bench's own.
pub(crate) struct World {
    pub(crate) env: TestEnv,
    pub(crate) prefix: String,
}

impl World {
    pub(crate) fn role_url(&self, role: &str) -> String {
        self.env.role_url(role)
    }

    /// A pool of a service role (`max` connections).
    pub(crate) async fn role_pool(
        &self,
        role: &str,
        application: &str,
        max: u32,
    ) -> anyhow::Result<PgPool> {
        let db = DatabaseArgs {
            database_url: self.role_url(role).parse().context("database url")?,
            database_max_connections: max,
            dev_mode: false,
        };
        infra::db::connect(&db, application)
            .await
            .with_context(|| format!("connecting as {application}"))
    }
}

async fn run(args: &Args, world: &World) -> anyhow::Result<()> {
    let bins = Binaries::locate()?;
    let observer = world.env.pool.clone();
    let db_name = world.env.database_name();
    let admin: PgConnectOptions = world.env.database_url.parse().context("database url")?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    print_environment(&observer, &admin, &db_name, &endpoint, &world.prefix).await?;
    let mut summary = Summary::default();
    let (api, base) = services::start_api(&bins, world).await?;
    let counter = trips::Counter::new(&observer, cpu::Meter::new(api.pid(), &db_name)).await;
    let outcome = async {
        let mut http = Http::new(base, args.clients)?;
        http.sign_in().await?;
        // The baseline is fsync-bound and drifts with the disk: it runs before and after
        // the API's command phases, and the ratios are taken against the mean of both.
        let writes = args.runs(Section::Commands) || args.runs(Section::Booking);
        let before = if writes {
            commands::baseline_section("", args, world, &counter, &mut summary).await?
        } else {
            0.0
        };
        let locations = if args.runs(Section::Commands) {
            Some(commands::section(args, &http, &counter, before, &mut summary).await?)
        } else {
            None
        };
        let bookings = if args.runs(Section::Booking) {
            Some(commands::booking_section(args, &http, &counter, before, &mut summary).await?)
        } else {
            None
        };
        if writes {
            let after =
                commands::baseline_section(", again", args, world, &counter, &mut summary).await?;
            let mean = (before + after) / 2.0;
            let note = format!("baseline {before:.0} tx/s before, {after:.0} after");
            for (name, rate) in [("commands", locations), ("booking", bookings)] {
                if let Some(rate) = rate {
                    summary.row(
                        format!("({name}) ratio API / mean baseline"),
                        stats::ratio(rate, mean),
                        note.clone(),
                    );
                }
            }
        }
        if args.runs(Section::Streams) {
            commands::streams_section(args, &http, &counter, &mut summary).await?;
        }
        let projected = if args.runs(Section::E2e) {
            Some(e2e::section(args, world, &bins, &http, &observer, &mut summary).await?)
        } else {
            None
        };
        if args.runs(Section::Reads) {
            reads::section(
                args,
                world,
                &bins,
                &http,
                &observer,
                &counter,
                projected,
                &mut summary,
            )
            .await?;
        }
        if args.runs(Section::Sustained) {
            e2e::sustained_section(
                args,
                world,
                &bins,
                &http,
                &observer,
                (api.pid(), locations),
                &mut summary,
            )
            .await?;
        }
        anyhow::Ok(())
    }
    .await;
    api.stop().await;
    outcome?;
    if args.runs(Section::Relay) {
        relay::section(args, world, &observer, &mut summary).await?;
    }
    if args.runs(Section::Rebuild) {
        rebuild::section(args, &observer, &mut summary).await?;
    }

    summary.print();
    Ok(())
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
