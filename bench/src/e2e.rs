//! (e2e) From command accepted to view updated, through relay, SQS and projector.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::commands::{empty_outbox, LOCATION_CAP};
use crate::cpu::Census;
use crate::http::{transport_error, Http, Reply};
use crate::services::{self, Binaries};
use crate::stats::{ms, E2e, Latencies, Summary};
use crate::{Args, World};

/// A command whose view is not updated within this long counts as "never caught up".
pub(crate) const CATCH_UP_LIMIT: Duration = Duration::from_secs(30);

/// A command the API accepted.
struct Registered {
    studio: Uuid,
    version: u64,
    accepted: Instant,
}

pub(crate) async fn section(
    args: &Args,
    world: &World,
    bins: &Binaries,
    http: &Http,
    observer: &PgPool,
    summary: &mut Summary,
) -> anyhow::Result<Vec<Uuid>> {
    println!(
        "\n(e2e) end-to-end latency: {} commands/s for {} s over {} studios (relay and projector as processes)",
        args.e2e_rate, args.e2e_secs, args.studios
    );
    // Earlier sections' rows were never relayed; they must not delay this one.
    empty_outbox(observer).await?;
    let pipeline = services::start_pipeline(bins, world).await?;

    let outcome = async {
        let warmup = Instant::now();
        let studios = http.create_studios(args.studios, "e2e").await?;
        wait_for_views(observer, &studios, warmup + CATCH_UP_LIMIT).await?;
        println!(
            "    warm-up: {} studios created and projected in {:.2} s",
            studios.len(),
            warmup.elapsed().as_secs_f64()
        );
        let e2e = load_at(
            http,
            observer,
            &studios,
            args.e2e_rate,
            args.e2e_secs,
            "e2e",
        )
        .await?;
        anyhow::Ok((studios, e2e))
    }
    .await;

    services::stop_all(pipeline).await;

    let (studios, e2e) = outcome?;
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
    summary.row(
        format!("(e2e) accepted->view p50 @ {} cmd/s", args.e2e_rate),
        ms(e2e.latency.pct(50.0)),
        format!(
            "{} commands accepted of {} offered",
            e2e.accepted, e2e.offered
        ),
    );
    summary.row("(e2e) accepted->view p99", ms(e2e.latency.pct(99.0)), "");
    summary.row("(e2e) accepted->view max", ms(e2e.latency.max()), "");
    summary.row(
        "(e2e) not caught up within 30 s",
        e2e.not_caught_up.to_string(),
        "",
    );
    Ok(studios)
}

pub(crate) async fn wait_for_views(
    pool: &PgPool,
    studios: &[Uuid],
    deadline: Instant,
) -> anyhow::Result<()> {
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

/// Offers `rate` commands/s for `secs` seconds over `studios` and tracks each accepted
/// command until its view shows it (the relay and projector must be running).
async fn load_at(
    http: &Http,
    observer: &PgPool,
    studios: &[Uuid],
    rate: f64,
    secs: u64,
    label: &str,
) -> anyhow::Result<E2e> {
    // Notifications go through a task of their own, so no receive is ever cancelled.
    let (note_tx, note_rx) = mpsc::unbounded_channel::<Uuid>();
    let mut listener = PgListener::connect_with(observer)
        .await
        .context("LISTEN connection")?;
    listener
        .listen("projection_updated")
        .await
        .context("LISTEN projection_updated")?;
    let listen_task = tokio::spawn(async move {
        loop {
            match listener.recv().await {
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
    });
    let e2e = offered_load(http, observer, studios, rate, secs, label, note_rx).await;
    listen_task.abort();
    e2e
}

async fn offered_load(
    http: &Http,
    observer: &PgPool,
    studios: &[Uuid],
    rate: f64,
    secs: u64,
    label: &str,
    notes: mpsc::UnboundedReceiver<Uuid>,
) -> anyhow::Result<E2e> {
    let total = ((rate * secs as f64).round() as u64).max(1);
    let (reg_tx, reg_rx) = mpsc::unbounded_channel::<Registered>();
    let watched: HashSet<Uuid> = studios.iter().copied().collect();
    let tracker = tokio::spawn(track(observer.clone(), watched, reg_rx, notes));

    let mut set = JoinSet::new();
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let n = studios.len() as u64;
    for i in 0..total {
        tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
        let studio = studios[(i % n) as usize];
        let round = i / n;
        let add = (round & 1) == 0 && round / 2 < u64::from(LOCATION_CAP);
        let (http, reg_tx, name) = (http.clone(), reg_tx.clone(), format!("{label}-{i}"));
        set.spawn(async move {
            let started = Instant::now();
            let reply = http.command(studio, add, &name).await;
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
        achieved_rate: crate::stats::rate(total, sent_in.max(interval)),
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

/// How long each step of the sustained search offers its rate.
const STEP_SECS: u64 = 15;
/// Each step offers this much more than the last one that held.
const STEP_FACTOR: f64 = 1.25;
/// Steps before the search gives up climbing.
const MAX_STEPS: usize = 10;
/// The bar a rate must hold: accepted -> view p99 under this.
const SUSTAINED_P99: Duration = Duration::from_secs(1);

/// Did the pipeline keep up with this load? (Every command accepted, every one in its
/// view, p99 under [`SUSTAINED_P99`], and the load generator kept the offered rate.)
fn held(e2e: &E2e, rate: f64) -> bool {
    e2e.errors.is_empty()
        && e2e.accepted == e2e.offered
        && e2e.not_caught_up == 0
        && e2e.achieved_rate >= rate * 0.95
        && e2e.latency.pct(99.0).is_some_and(|p| p < SUSTAINED_P99)
}

/// (sustained) The highest offered command rate at which accepted -> view p99 stays
/// under 1 s, with the API, relay and projector as processes: climbs in steps of
/// [`STEP_SECS`] from `--sustained-from`, then holds the best rate for
/// `--sustained-secs` to confirm it. Each step gets fresh studios (their streams, and
/// the location cap, start empty).
pub(crate) async fn sustained_section(
    args: &Args,
    world: &World,
    bins: &Binaries,
    http: &Http,
    observer: &PgPool,
    api: (Option<u32>, Option<f64>),
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let (api_pid, api_max) = api;
    println!(
        "\n(sustained) highest command rate with accepted->view p99 < 1 s: steps of {STEP_SECS} s \
         from {} commands/s (x{STEP_FACTOR}), then {} s at the best",
        args.sustained_from, args.sustained_secs
    );
    empty_outbox(observer).await?;
    let pipeline = services::start_pipeline(bins, world).await?;
    let census = Census::new(
        vec![
            ("api", api_pid),
            ("relay", pipeline.first().and_then(|s| s.pid())),
            ("projector", pipeline.get(1).and_then(|s| s.pid())),
        ],
        &world.env.database_name(),
    );
    let census = &census;
    let outcome = async {
        let mut best: Option<f64> = None;
        let mut rate = args.sustained_from;
        for step in 0..MAX_STEPS {
            let (e2e, cpu) = step_at(
                args,
                http,
                observer,
                census,
                rate,
                STEP_SECS,
                &format!("s{step}"),
            )
            .await?;
            let ok = held(&e2e, rate);
            report_step(rate, STEP_SECS, &e2e, ok, &cpu);
            if !ok {
                break;
            }
            best = Some(rate);
            rate *= STEP_FACTOR;
        }
        let Some(mut best) = best else {
            return anyhow::Ok(None);
        };
        // Confirm for the full duration; one step down if it does not hold.
        for attempt in 0..3 {
            let (e2e, cpu) = step_at(
                args,
                http,
                observer,
                census,
                best,
                args.sustained_secs,
                &format!("c{attempt}"),
            )
            .await?;
            let ok = held(&e2e, best);
            report_step(best, args.sustained_secs, &e2e, ok, &cpu);
            if ok {
                return Ok(Some((best, e2e)));
            }
            best /= STEP_FACTOR;
        }
        Ok(None)
    }
    .await;
    // The API flat out with the pipeline beside it, and how long the views take to
    // catch up once it stops: the pipeline keeps up if they are there at once.
    let saturated = match &outcome {
        Ok(_) => Some(saturate(args, http, observer, census).await),
        Err(_) => None,
    };
    services::stop_all(pipeline).await;
    let note = api_max.map_or(
        "API maximum not measured (commands skipped)".to_owned(),
        |m| format!("API alone: {m:.1} commands/s"),
    );
    let saturated = saturated.transpose()?;
    if let Some((max, caught_up)) = &saturated {
        summary.row(
            "(sustained) API maximum with relay and projector running",
            format!("{max:.1}"),
            format!(
                "{} clients flat out; every view at its stream's head {} after they stopped",
                args.clients,
                caught_up.map_or("not within 120 s".to_owned(), |d| format!(
                    "{:.2} s",
                    d.as_secs_f64()
                ))
            ),
        );
    }
    match outcome? {
        Some((rate, e2e)) => {
            if let Some((max, _)) = &saturated {
                summary.row(
                    "(sustained) ratio sustained / API maximum with the pipeline running",
                    crate::stats::ratio(rate, *max),
                    "",
                );
            }
            summary.row(
                format!(
                    "(sustained) commands/s with accepted->view p99 < 1 s for {} s",
                    args.sustained_secs
                ),
                format!("{rate:.1}"),
                format!("p99 {}, {note}", ms(e2e.latency.pct(99.0))),
            );
            if let Some(max) = api_max {
                summary.row(
                    "(sustained) ratio sustained / API maximum",
                    crate::stats::ratio(rate, max),
                    "",
                );
            }
        }
        None => summary.row(
            "(sustained) commands/s with accepted->view p99 < 1 s",
            "none held",
            format!("from {} commands/s; {note}", args.sustained_from),
        ),
    }
    Ok(())
}

/// How long [`saturate`] waits for the views to catch up.
const SATURATION_CATCH_UP: Duration = Duration::from_secs(120);

/// `--clients` closed-loop clients rename fresh studios as fast as the API answers for
/// `--duration-secs` while the relay and projector run; returns the accepted rate and
/// how long after the load stopped every studio's view reached its stream's head.
async fn saturate(
    args: &Args,
    http: &Http,
    observer: &PgPool,
    census: &Census,
) -> anyhow::Result<(f64, Option<Duration>)> {
    let warmup = Instant::now();
    let studios = http.create_studios(args.studios, "saturate").await?;
    wait_for_views(observer, &studios, warmup + CATCH_UP_LIMIT).await?;
    let shared = std::sync::Arc::new(studios.clone());
    let (h, s) = (http.clone(), shared.clone());
    let request: crate::commands::StepFn = std::sync::Arc::new(move |c, k| {
        let (http, studios) = (h.clone(), s.clone());
        Box::pin(async move {
            let studio = studios[(c + k as usize * 7) % studios.len()];
            crate::commands::step(http.command(studio, false, &format!("sat-{c}-{k}")).await)
        })
    });
    let before = census.sample();
    let t = crate::commands::closed_loop(
        args.clients,
        Duration::from_secs(args.duration_secs),
        request,
    )
    .await?;
    let stopped = Instant::now();
    let behind_sql =
        "SELECT count(*) FROM (SELECT aggregate_id, max(sequence) AS head FROM events \
         WHERE aggregate_type = 'studio' AND aggregate_id = ANY($1) GROUP BY aggregate_id) e \
         LEFT JOIN studio_view v ON v.id::text = e.aggregate_id \
         WHERE v.version IS NULL OR v.version < e.head";
    let ids: Vec<String> = studios.iter().map(Uuid::to_string).collect();
    let caught_up = loop {
        let behind: i64 = sqlx::query_scalar(behind_sql)
            .bind(&ids)
            .fetch_one(observer)
            .await
            .context("comparing views with their streams")?;
        if behind == 0 {
            break Some(stopped.elapsed());
        }
        if stopped.elapsed() >= SATURATION_CATCH_UP {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let cpu = census.describe(&before, &census.sample(), t.ok);
    println!(
        "      flat out ({} clients, {} s): accepted {} at {:.1}/s, errors {}; views at their \
         streams' heads {} after the load stopped",
        args.clients,
        args.duration_secs,
        t.ok,
        t.per_sec(),
        t.errors_text(),
        caught_up.map_or("not within 120 s".to_owned(), |d| format!(
            "{:.2} s",
            d.as_secs_f64()
        ))
    );
    println!("             {cpu}");
    Ok((t.per_sec(), caught_up))
}

/// One step: fresh studios, projected, then the offered load; with where its CPU went.
async fn step_at(
    args: &Args,
    http: &Http,
    observer: &PgPool,
    census: &Census,
    rate: f64,
    secs: u64,
    label: &str,
) -> anyhow::Result<(E2e, String)> {
    let warmup = Instant::now();
    let studios = http.create_studios(args.studios, label).await?;
    wait_for_views(observer, &studios, warmup + CATCH_UP_LIMIT).await?;
    let before = census.sample();
    let e2e = load_at(http, observer, &studios, rate, secs, label).await?;
    let cpu = census.describe(&before, &census.sample(), e2e.accepted);
    Ok((e2e, cpu))
}

fn report_step(rate: f64, secs: u64, e2e: &E2e, ok: bool, cpu: &str) {
    let errors = if e2e.errors.is_empty() {
        String::new()
    } else {
        format!(" errors {:?}", e2e.errors)
    };
    println!(
        "    {rate:7.1}/s for {secs:>2} s: accepted {} of {} at {:.1}/s{errors}; accepted->view {}; \
         not caught up {} -> {}",
        e2e.accepted,
        e2e.offered,
        e2e.achieved_rate,
        e2e.latency.describe(),
        e2e.not_caught_up,
        if ok { "holds" } else { "does not hold" }
    );
    println!("             {cpu}");
}
