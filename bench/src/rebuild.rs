//! (rebuild) `studio_view` rebuilt from `--rebuild-events` events (synthetic studio
//! streams written straight into the events table, as the store writes them, with
//! checkpoints as if live projection had applied them) by the
//! projector's own `rebuild`, in this process, as the schema owner (as the `rebuild`
//! subcommand runs).

use std::time::Instant;

use anyhow::Context;
use sqlx::PgPool;

use crate::stats::Summary;
use crate::Args;

/// Events per synthetic stream: a `StudioCreated`, then renames.
const STREAM_LENGTH: u64 = 100;

pub(crate) async fn section(
    args: &Args,
    observer: &PgPool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let streams = args.rebuild_events.div_ceil(STREAM_LENGTH).max(1);
    println!(
        "\n(rebuild) studio_view from {} events ({streams} streams of {STREAM_LENGTH})",
        streams * STREAM_LENGTH
    );
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
           payload, metadata, event_id, tenant_id, occurred_at) \
         SELECT 'studio', s.id::text, n, \
           CASE WHEN n = 1 THEN 'StudioCreated' ELSE 'StudioRenamed' END, '1.0', \
           CASE WHEN n = 1 THEN jsonb_build_object('type', 'StudioCreated', 'studio_id', s.id, \
               'name', 'Rebuilt ' || n, 'timezone', 'Europe/Berlin', 'currency', 'EUR', \
               'owner_id', s.id) \
             ELSE jsonb_build_object('type', 'StudioRenamed', 'name', 'Rebuilt ' || n) END, \
           jsonb_build_object('tenant_id', s.id::text, 'correlation_id', 'bench', 'actor', 'system:bench'), \
           gen_random_uuid(), s.id, now() \
         FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $1)) s, \
           generate_series(1, $2) n",
    )
    .bind(i64::try_from(streams).unwrap_or(i64::MAX))
    .bind(i64::try_from(STREAM_LENGTH).unwrap_or(i64::MAX))
    .execute(observer)
    .await
    .context("writing the synthetic streams")?;
    // As if live projection had applied them all: a rebuild never runs ahead of it.
    // (Only these: the baseline's raw appends are not streams a view can start from.)
    sqlx::query(
        "INSERT INTO projection_checkpoint (projection, aggregate_type, aggregate_id, tenant_id, last_sequence) \
         SELECT 'studio_view', 'studio', aggregate_id, min(tenant_id::text)::uuid, max(sequence) \
         FROM events WHERE aggregate_type = 'studio' AND metadata->>'correlation_id' = 'bench' \
         GROUP BY aggregate_id ON CONFLICT DO NOTHING",
    )
    .execute(observer)
    .await
    .context("writing their checkpoints")?;
    sqlx::query("ANALYZE events").execute(observer).await?;
    println!("    written in {:.1} s", started.elapsed().as_secs_f64());
    let projections = projector::all_projections();
    let studio = projections
        .iter()
        .find(|p| p.name() == "studio_view")
        .context("studio_view projection")?;
    let started = Instant::now();
    let mut last_print = Instant::now();
    let applied = projector::rebuild(observer, studio.as_ref(), |done, total| {
        if last_print.elapsed().as_secs() >= 5 {
            last_print = Instant::now();
            println!("    {done}/{total} events");
        }
    })
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let rate = applied as f64 / secs.max(1e-3);
    println!("    rebuilt {applied} events in {secs:.1} s: {rate:.0} events/s");
    summary.row(
        "(rebuild) studio_view events/s",
        format!("{rate:.0}"),
        format!("{applied} events, {streams} streams; goal 20000"),
    );
    Ok(())
}
