//! (commands), (booking), (streams): commands through the API next to the raw baseline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context};
use chrono::{SubsecRound, Utc};
use infra::envelope::{EnvelopeMetadata, EventEnvelope};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::cpu::Meter;
use crate::http::{transport_error, Http, Reply};
use crate::stats::{ratio, Latencies, Summary, Throughput};
use crate::trips::Counter;
use crate::{Args, World, API_ROLE};

/// A location is added only while a studio has fewer than this many (the aggregate
/// refuses more than 200); renames take over after that.
pub(crate) const LOCATION_CAP: u32 = 190;
/// Sequential requests per kind whose statements are counted.
pub(crate) const COUNTED: usize = 50;
/// (booking) Classes per studio, spots per class, client records per studio.
const CLASSES: usize = 10;
const SPOTS: u32 = 100;
const BOOKERS: usize = 100;

/// The outcome of one request of a closed-loop client: `None` when the client has
/// nothing left to send, else success or the kind of failure.
pub(crate) type Step = Option<Result<(), String>>;
pub(crate) type StepFn =
    Arc<dyn Fn(usize, u64) -> Pin<Box<dyn Future<Output = Step> + Send>> + Send + Sync>;

/// Maps a command reply to a step.
pub(crate) fn step(reply: anyhow::Result<Reply>) -> Step {
    Some(match reply {
        Ok(Reply::Accepted(_)) => Ok(()),
        Ok(Reply::Refused(status, code)) => Err(format!("HTTP {status} {code}")),
        Err(e) => Err(transport_error(&e)),
    })
}

/// `clients` closed-loop clients, each sending request `k = 0, 1, …` (built by
/// `request(client, k)`) the moment the previous one answered, for `duration`.
pub(crate) async fn closed_loop(
    clients: usize,
    duration: Duration,
    request: StepFn,
) -> anyhow::Result<Throughput> {
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let deadline = start + duration;
    for c in 0..clients {
        let request = request.clone();
        tasks.spawn(async move {
            let mut t = Throughput::default();
            let mut latencies = Vec::new();
            let mut k = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                match request(c, k).await {
                    None => break,
                    Some(Ok(())) => {
                        latencies.push(started.elapsed());
                        t.ok += 1;
                    }
                    Some(Err(kind)) => *t.errors.entry(kind).or_default() += 1,
                }
                k += 1;
            }
            t.latency = Latencies(latencies);
            t
        });
    }
    let mut total = Throughput::default();
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        total.merge(joined.context("client task panicked")?, &mut latencies);
    }
    total.elapsed = start.elapsed();
    total.latency = Latencies::new(latencies);
    Ok(total)
}

/// Prints a phase's rate and its CPU per request, and adds the rate to the summary.
fn record(summary: &mut Summary, label: &str, unit: &str, name: String, t: &Throughput, cpu: &str) {
    println!(
        "    {label:<9} {:>9.1} {unit:<12} errors {}   {}   ({} in {:.2} s)",
        t.per_sec(),
        t.errors_text(),
        t.latency.describe(),
        t.ok,
        t.elapsed.as_secs_f64()
    );
    println!("    {cpu}");
    summary.row(
        name,
        format!("{:.1}", t.per_sec()),
        format!("errors {}, {}", t.error_count(), t.latency.describe()),
    );
}

/// `--clients` closed-loop clients send `request` for `--duration-secs` through the API;
/// the rate and the CPU per request are printed and the rate goes in the summary as
/// `name`.
pub(crate) async fn measure(
    args: &Args,
    counter: &Counter,
    summary: &mut Summary,
    name: String,
    unit: &str,
    request: StepFn,
) -> anyhow::Result<Throughput> {
    let before = counter.cpu.sample();
    let t = closed_loop(
        args.clients,
        Duration::from_secs(args.duration_secs),
        request,
    )
    .await?;
    let cpu = Meter::describe(before, counter.cpu.sample(), t.ok);
    record(summary, "API", unit, name, &t, &cpu);
    Ok(t)
}

/// The raw-Postgres baseline: the event store's write transaction straight through
/// sqlx, as many tasks as there are clients. Returns its rate.
pub(crate) async fn baseline_section(
    label: &str,
    args: &Args,
    world: &World,
    counter: &Counter,
    summary: &mut Summary,
) -> anyhow::Result<f64> {
    println!(
        "\n(baseline{label}) raw Postgres event+outbox transactions: {} tasks, {} s",
        args.clients, args.duration_secs
    );
    let pool = world
        .role_pool(API_ROLE, "repstream-bench-baseline", args.clients as u32)
        .await?;
    let before = counter.cpu.sample();
    let t = baseline(&pool, args.clients, Duration::from_secs(args.duration_secs)).await?;
    let cpu = Meter::describe(before, counter.cpu.sample(), t.ok);
    pool.close().await;
    let name = format!("(baseline{label}) raw Postgres event+outbox tx/s");
    record(summary, "baseline", "tx/s", name, &t, &cpu);
    Ok(t.per_sec())
}

/// (commands) Locations and renames, each client on studios of its own.
pub(crate) async fn section(
    args: &Args,
    http: &Http,
    counter: &Counter,
    baseline: f64,
    summary: &mut Summary,
) -> anyhow::Result<f64> {
    println!(
        "\n(commands) add location / rename: {} clients, {} studios, {} s",
        args.clients, args.studios, args.duration_secs
    );
    let studios = Arc::new(http.create_studios(args.studios, "throughput").await?);
    if studios.len() < args.clients {
        println!("    note: fewer studios than clients; clients share studios and may conflict");
    }
    let clients = args.clients;
    let (h, s) = (http.clone(), studios.clone());
    // Client c owns studios c, c + clients, c + 2·clients, … (or shares one).
    let request: StepFn = Arc::new(move |c, k| {
        let (http, studios) = (h.clone(), s.clone());
        Box::pin(async move {
            let mine: Vec<Uuid> = if studios.len() >= clients {
                studios.iter().skip(c).step_by(clients).copied().collect()
            } else {
                vec![studios[c % studios.len()]]
            };
            let slot = (k as usize) % mine.len();
            let round = k / mine.len() as u64;
            let add = (round & 1) == 0 && round / 2 < u64::from(LOCATION_CAP);
            step(http.command(mine[slot], add, &format!("{c}-{k}")).await)
        })
    });
    let name = format!("(commands) API commands/s ({} clients)", args.clients);
    let t = measure(args, counter, summary, name, "commands/s", request).await?;
    println!("    ratio API/baseline {}", ratio(t.per_sec(), baseline));

    let studio = http.create_studio("counted locations").await?;
    let trips = counter
        .per_request(COUNTED, |i| async move {
            let tag = format!("counted-{i}");
            ensure!(matches!(
                http.command(studio, true, &tag).await?,
                Reply::Accepted(_)
            ));
            Ok(())
        })
        .await?;
    counter.report(summary, "(commands) round trips / add location", trips);
    Ok(t.per_sec())
}

/// (booking) Staff book client records into classes, each client on a studio of its own.
pub(crate) async fn booking_section(
    args: &Args,
    http: &Http,
    counter: &Counter,
    baseline: f64,
    summary: &mut Summary,
) -> anyhow::Result<f64> {
    println!(
        "\n(booking) book a class: {} clients, each a studio with {CLASSES} classes x {SPOTS} spots and {BOOKERS} client records, {} s",
        args.clients, args.duration_secs
    );
    let setup = Instant::now();
    let mut studios = Vec::with_capacity(args.clients);
    for c in 0..args.clients {
        let studio = http.create_studio(&format!("booking studio {c}")).await?;
        let classes = http.create_classes(studio, CLASSES, SPOTS).await?;
        let bookers = http.create_clients(studio, BOOKERS).await?;
        studios.push((studio, classes, bookers));
    }
    println!("    set up in {:.2} s", setup.elapsed().as_secs_f64());
    let studios = Arc::new(studios);
    let (h, s) = (http.clone(), studios.clone());
    // Booking k of client c: class k mod CLASSES, client record k / CLASSES, so every
    // pair is booked once and every class fills evenly.
    let request: StepFn = Arc::new(move |c, k| {
        let (http, studios) = (h.clone(), s.clone());
        Box::pin(async move {
            let (studio, classes, bookers) = &studios[c];
            let booker = bookers.get((k as usize) / CLASSES)?;
            let class = classes[(k as usize) % CLASSES];
            step(http.book(*studio, class, *booker).await)
        })
    });
    let name = format!("(booking) API bookings/s ({} clients)", args.clients);
    let t = measure(args, counter, summary, name, "bookings/s", request).await?;
    println!("    ratio API/baseline {}", ratio(t.per_sec(), baseline));

    let (studio, _, bookers) = &studios[0];
    let class = http.create_classes(*studio, 1, SPOTS).await?[0];
    let trips = counter
        .per_request(COUNTED, |i| async move {
            ensure!(matches!(
                http.book(*studio, class, bookers[i]).await?,
                Reply::Accepted(_)
            ));
            Ok(())
        })
        .await?;
    counter.report(summary, "(booking) round trips / booking", trips);
    Ok(t.per_sec())
}

/// (streams) The same command on a short and on a long stream, alternating.
pub(crate) async fn streams_section(
    args: &Args,
    http: &Http,
    counter: &Counter,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    println!(
        "\n(streams) rename on a ~10-event stream vs a {}-event stream, {} commands each",
        args.long_stream, args.stream_commands
    );
    let short = http.create_studio("short stream").await?;
    for i in 1..10 {
        ensure!(matches!(
            http.command(short, false, &format!("short-{i}")).await?,
            Reply::Accepted(_)
        ));
    }
    let long = http.create_studio("long stream").await?;
    let built = Instant::now();
    // Build the long stream through the API: 8 writers on the one stream (they queue
    // on its lock; no retries are needed without an expected version).
    let target = args.long_stream;
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let mut writers = JoinSet::new();
    for _ in 0..8 {
        let (http, next) = (http.clone(), next.clone());
        writers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= target {
                    return anyhow::Ok(());
                }
                match http.command(long, false, &format!("long-{i}")).await? {
                    Reply::Accepted(_) => {}
                    Reply::Refused(status, code) => {
                        anyhow::bail!("building the long stream: HTTP {status} {code}")
                    }
                }
            }
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.context("writer panicked")??;
    }
    println!(
        "    built the {target}-event stream through the API in {:.2} s",
        built.elapsed().as_secs_f64()
    );
    let (mut on_short, mut on_long) = (Vec::new(), Vec::new());
    for i in 0..args.stream_commands {
        for (studio, into) in [(short, &mut on_short), (long, &mut on_long)] {
            let started = Instant::now();
            ensure!(matches!(
                http.command(studio, false, &format!("timed-{i}")).await?,
                Reply::Accepted(_)
            ));
            into.push(started.elapsed());
        }
    }
    let (on_short, on_long) = (Latencies::new(on_short), Latencies::new(on_long));
    println!("    ~10 events      {}", on_short.describe());
    println!(
        "    {:<15} {}",
        format!("{target} events"),
        on_long.describe()
    );
    let p50 = |l: &Latencies| l.pct(50.0).map_or(0.0, |d| d.as_secs_f64());
    summary.row(
        "(streams) rename p50, ~10-event stream",
        crate::stats::ms(on_short.pct(50.0)),
        on_short.describe(),
    );
    summary.row(
        format!("(streams) rename p50, {target}-event stream"),
        crate::stats::ms(on_long.pct(50.0)),
        on_long.describe(),
    );
    summary.row(
        "(streams) ratio long / short p50",
        ratio(p50(&on_long), p50(&on_short)),
        "",
    );
    let trips = counter
        .per_request(COUNTED, |i| async move {
            ensure!(matches!(
                http.command(long, false, &format!("counted-{i}")).await?,
                Reply::Accepted(_)
            ));
            Ok(())
        })
        .await?;
    counter.report(
        summary,
        "(streams) round trips / rename, long stream",
        trips,
    );
    Ok(())
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
pub(crate) fn location_added(
    aggregate: Uuid,
    sequence: i64,
    tag: &str,
) -> (Value, Value, EventEnvelope) {
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
            traceparent: None,
        },
    };
    (payload, metadata, envelope)
}

/// What the event store runs to append one event: `BEGIN`, tenant binding, the store's
/// own append statement (`infra::event_store::APPEND_SQL`, so the baseline cannot drift
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
    sqlx::query(infra::event_store::APPEND_SQL)
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
pub(crate) async fn empty_outbox(pool: &PgPool) -> anyhow::Result<()> {
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
