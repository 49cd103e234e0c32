use std::collections::HashMap;

use anyhow::Context;
use infra::envelope::{EventEnvelope, StoredEvent, STORED_EVENT_COLUMNS};
use sqlx::PgPool;
use tracing::info;
use uuid::Uuid;

use crate::projection::Projection;

/// Events per page of a rebuild's replay.
const REBUILD_PAGE: usize = 5000;

/// Rebuilds `projection` (its table and its side tables, e.g. `booking_view` with
/// `class_view`) from the events table into fresh `_rebuild` copies and swaps them in.
///
/// Live projection keeps writing the old tables meanwhile. The replay reads the events
/// in pages by position (short statements: no statement timeout stops a rebuild of any
/// size). The swap transaction locks this projection's tables and checkpoints only (so
/// only this projection pauses; others keep projecting), applies whatever live
/// projection applied since the replay read its streams, renames the tables and
/// replaces the checkpoints; the projector then resumes on the new tables.
/// The rebuild never runs ahead of live projection: events live projection has not
/// applied yet (in flight in the outbox or SQS) are applied by it after the swap, with
/// their jobs, exactly as they would have been without a rebuild. Readers are never
/// without a table. `progress` is called with (events replayed, events in total).
pub async fn rebuild(
    pool: &PgPool,
    projection: &dyn Projection,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<u64> {
    rebuild_paged(pool, projection, REBUILD_PAGE, progress).await
}

/// [`rebuild`] with `page` events per page.
pub async fn rebuild_paged(
    pool: &PgPool,
    projection: &dyn Projection,
    page_size: usize,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<u64> {
    let page_size = page_size.max(1);
    let live = projection.table().with_context(|| {
        format!(
            "{} keeps no table: it only causes jobs, and a rebuild never re-sends them",
            projection.name()
        )
    })?;
    let fresh = format!("{live}_rebuild");
    // The document table and its side tables, each rebuilt into a `_rebuild` copy.
    let tables: Vec<&str> = std::iter::once(live)
        .chain(projection.side_tables().iter().copied())
        .collect();
    for table in &tables {
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}_rebuild"))
            .execute(pool)
            .await?;
        sqlx::query(&format!(
            "CREATE TABLE {table}_rebuild (LIKE {table} INCLUDING ALL)"
        ))
        .execute(pool)
        .await
        .with_context(|| format!("creating the rebuild table of {table}"))?;
    }

    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = $1")
        .bind(projection.aggregate_type())
        .fetch_one(pool)
        .await?;
    let total = total as u64;
    // stream id → (tenant, last applied sequence)
    let mut streams: HashMap<String, (Uuid, i64)> = HashMap::new();
    let mut replayed = 0u64;
    // Paged by position: every page is a short statement (no statement timeout can end
    // a rebuild of any size) and a short transaction.
    let sql = format!(
        "SELECT {STORED_EVENT_COLUMNS} FROM events WHERE aggregate_type = $1 AND position > $2 \
         ORDER BY position LIMIT {page_size}"
    );
    let mut after = 0i64;
    loop {
        let rows: Vec<StoredEvent> = sqlx::query_as(&sql)
            .bind(projection.aggregate_type())
            .bind(after)
            .fetch_all(pool)
            .await
            .context("reading events")?;
        let Some(last) = rows.last() else { break };
        after = last.position;
        let page = rows.len();
        // The page's events by stream, each stream's in order: one document read and
        // one write per stream and page.
        let mut runs: Vec<Vec<EventEnvelope>> = Vec::new();
        let mut run_of: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let envelope = EventEnvelope::from(row);
            let slot = *run_of
                .entry(envelope.aggregate_id.clone())
                .or_insert_with(|| {
                    runs.push(Vec::new());
                    runs.len() - 1
                });
            runs[slot].push(envelope);
        }
        let mut writer = pool.begin().await?;
        let live_at = live_checkpoints(&mut writer, projection, run_of.keys()).await?;
        let mut contiguous_runs: Vec<&[EventEnvelope]> = Vec::with_capacity(runs.len());
        for run in &runs {
            let Some(first) = run.first() else { continue };
            let last = streams.get(&first.aggregate_id).map_or(0, |(_, s)| *s);
            let live_last = live_at.get(&first.aggregate_id).copied().unwrap_or(0);
            // Only the part that continues the stream (an event committed after one of
            // a higher position was read is applied by the swap's catch-up, in order),
            // and never past live projection: events it has not applied yet are still
            // on their way to it, and it applies them, jobs and all, after the swap.
            let contiguous = run
                .iter()
                .enumerate()
                .take_while(|(i, e)| {
                    let sequence = e.sequence as i64;
                    sequence == last + 1 + *i as i64 && sequence <= live_last
                })
                .count();
            if contiguous > 0 {
                contiguous_runs.push(&run[..contiguous]);
            }
        }
        // The page's streams in one read and one write of their documents.
        projection
            .apply_runs(&mut writer, &fresh, &contiguous_runs)
            .await?;
        for run in contiguous_runs {
            if let Some(end) = run.last() {
                streams.insert(
                    end.aggregate_id.clone(),
                    (end.tenant_id, end.sequence as i64),
                );
            }
            replayed += run.len() as u64;
        }
        writer.commit().await?;
        progress(replayed, total);
        if page < page_size {
            break;
        }
    }

    // The swap.
    let mut tx = pool.begin().await?;
    // The catch-up may be long on a busy system: no statement timeout for it.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    // Pause this projection only: its table (writers wait) and its checkpoints (their
    // row locks); every other projection keeps projecting.
    sqlx::query(&format!(
        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
        tables.join(", ")
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT 1 FROM projection_checkpoint WHERE projection = $1 FOR UPDATE")
        .bind(projection.name())
        .execute(&mut *tx)
        .await?;
    // Caught up to where live projection is (its checkpoints, now locked), not to the
    // streams' heads: what live projection has not applied yet it applies after the
    // swap, through its own path, so no job of an event in flight is lost.
    let heads: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_id, last_sequence FROM projection_checkpoint \
         WHERE projection = $1 AND last_sequence > 0",
    )
    .bind(projection.name())
    .fetch_all(&mut *tx)
    .await?;
    let mut caught_up = 0u64;
    for (aggregate_id, head) in heads {
        let last = streams.get(&aggregate_id).map_or(0, |(_, s)| *s);
        if head <= last {
            continue;
        }
        let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
            "SELECT {STORED_EVENT_COLUMNS} FROM events WHERE aggregate_type = $1 \
             AND aggregate_id = $2 AND sequence > $3 AND sequence <= $4 ORDER BY sequence"
        ))
        .bind(projection.aggregate_type())
        .bind(&aggregate_id)
        .bind(last)
        .bind(head)
        .fetch_all(&mut *tx)
        .await?;
        let run: Vec<EventEnvelope> = rows.into_iter().map(EventEnvelope::from).collect();
        projection.apply_run(&mut tx, &fresh, &run).await?;
        if let Some(end) = run.last() {
            streams.insert(aggregate_id.clone(), (end.tenant_id, end.sequence as i64));
        }
        caught_up += run.len() as u64;
    }
    for table in &tables {
        sqlx::query(&format!("ALTER TABLE {table} RENAME TO {table}_old"))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("ALTER TABLE {table}_rebuild RENAME TO {table}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("DROP TABLE {table}_old"))
            .execute(&mut *tx)
            .await?;
        // Re-apply grants and row-level security, which LIKE does not copy.
        sqlx::query("SELECT repstream_secure_table($1)")
            .bind(table)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("securing the rebuilt {table}"))?;
    }
    sqlx::query("DELETE FROM projection_checkpoint WHERE projection = $1")
        .bind(projection.name())
        .execute(&mut *tx)
        .await?;
    let (ids, (tenants, seqs)): (Vec<String>, (Vec<Uuid>, Vec<i64>)) = streams.into_iter().unzip();
    sqlx::query(
        "INSERT INTO projection_checkpoint (projection, aggregate_type, aggregate_id, tenant_id, last_sequence) \
         SELECT $1, $2, t.id, t.tenant, t.seq FROM UNNEST($3::text[], $4::uuid[], $5::int8[]) AS t(id, tenant, seq)",
    )
    .bind(projection.name())
    .bind(projection.aggregate_type())
    .bind(&ids)
    .bind(&tenants)
    .bind(&seqs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.context("swapping the rebuilt table in")?;
    info!(
        projection = projection.name(),
        replayed, caught_up, "rebuild swapped in"
    );
    Ok(replayed + caught_up)
}

/// Live projection's checkpoints of `streams` (absent: it has applied nothing of them).
async fn live_checkpoints(
    conn: &mut sqlx::PgConnection,
    projection: &dyn Projection,
    streams: impl Iterator<Item = &String>,
) -> anyhow::Result<HashMap<String, i64>> {
    let ids: Vec<&str> = streams.map(String::as_str).collect();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_id, last_sequence FROM projection_checkpoint \
         WHERE projection = $1 AND aggregate_type = $2 AND aggregate_id = ANY($3)",
    )
    .bind(projection.name())
    .bind(projection.aggregate_type())
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .context("reading live checkpoints")?;
    Ok(rows.into_iter().collect())
}
