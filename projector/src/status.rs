//! How far each projection is behind the event store (`repstream-projector status`).

use anyhow::Context;
use serde::Serialize;
use sqlx::PgPool;

use crate::Projection;

#[derive(Debug, Serialize)]
pub struct ProjectionStatus {
    pub projection: &'static str,
    /// Streams of the projection's aggregate type.
    pub streams: i64,
    /// Streams whose checkpoint is behind their last event.
    pub streams_behind: i64,
    /// Events committed but not yet applied, over all streams.
    pub events_behind: i64,
}

/// The lag of every projection, from the events table and the checkpoints (read as the
/// schema owner or the projector; a full scan of the type's streams: an ops command, not
/// a probe).
pub async fn status(
    pool: &PgPool,
    projections: &[Box<dyn Projection>],
) -> anyhow::Result<Vec<ProjectionStatus>> {
    let mut out = Vec::with_capacity(projections.len());
    for p in projections {
        let (streams, streams_behind, events_behind): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE s.head > COALESCE(c.last_sequence, 0)), \
               COALESCE(sum(s.head - COALESCE(c.last_sequence, 0)), 0)::int8 \
             FROM (SELECT aggregate_id, max(sequence) AS head FROM events \
                   WHERE aggregate_type = $1 GROUP BY aggregate_id) s \
             LEFT JOIN projection_checkpoint c ON c.projection = $2 \
               AND c.aggregate_type = $1 AND c.aggregate_id = s.aggregate_id",
        )
        .bind(p.aggregate_type())
        .bind(p.name())
        .fetch_one(pool)
        .await
        .with_context(|| format!("reading the lag of {}", p.name()))?;
        out.push(ProjectionStatus {
            projection: p.name(),
            streams,
            streams_behind,
            events_behind,
        });
    }
    Ok(out)
}
