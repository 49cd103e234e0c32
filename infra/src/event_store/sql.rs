//! The statements the event store runs, and how their errors map.

use sqlx::PgConnection;
use uuid::Uuid;

use super::CommandError;

/// A snapshot is written when a commit crosses a multiple of this many events, in the
/// same statement as the events: loading a stream reads at most this many events.
pub const SNAPSHOT_EVERY: u64 = 100;

/// Binds the current transaction to `tenant` for row-level security.
pub async fn bind_tenant(conn: &mut PgConnection, tenant: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(conn)
        .await
        .map(|_| ())
}

/// The one statement that appends a commit: events, outbox rows, the stream's claim on
/// its first event, and the snapshot when one is due. Public so the benchmark's raw
/// baseline runs exactly what the store runs.
pub const APPEND_SQL: &str = "WITH ev AS ( \
       INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata, event_id, tenant_id, occurred_at) \
       SELECT $1, $2, t.seq, t.et, t.ev, t.p, t.m, t.id, $9, $10 \
       FROM UNNEST($3::int8[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::uuid[]) \
         AS t(seq, et, ev, p, m, id)), \
     ob AS ( \
       INSERT INTO outbox (event_id, tenant_id, aggregate_id, message) \
       SELECT t.id, $9, $2, t.msg FROM UNNEST($8::uuid[], $11::jsonb[]) AS t(id, msg)), \
     cl AS ( \
       INSERT INTO stream_claim (aggregate_type, aggregate_id, tenant_id) \
       SELECT $1, $2, $9 WHERE $12), \
     sn AS ( \
       INSERT INTO snapshots (tenant_id, aggregate_type, aggregate_id, sequence, format, state) \
       SELECT $9, $1, $2, $13, $14, $15 WHERE $13::int8 IS NOT NULL \
       ON CONFLICT (tenant_id, aggregate_type, aggregate_id) DO UPDATE \
         SET sequence = EXCLUDED.sequence, format = EXCLUDED.format, state = EXCLUDED.state, \
             taken_at = now()) \
     SELECT 1";

/// Loads a stream (see `repstream_load_stream` in the migrations).
pub const LOAD_SQL: &str = "SELECT sequence, event_type, event_version, payload, is_snapshot \
     FROM repstream_load_stream($1, $2, $3, $4, $5)";

/// The events after a cached state (see `repstream_load_tail` in the migrations).
pub const TAIL_SQL: &str = "SELECT sequence, event_type, event_version, payload, is_snapshot \
     FROM repstream_load_tail($1, $2, $3, $4, $5)";

/// Maps a database error. Only a collision on the stream's primary key is a concurrency
/// conflict; a taken claim is its own answer; any other unique violation is state
/// written with the events (e.g. an email already claimed).
pub(super) fn map_sqlx<E: std::error::Error>(err: sqlx::Error) -> CommandError<E> {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("events_pkey") => {
            CommandError::Conflict
        }
        sqlx::Error::Database(db) if db.constraint() == Some("stream_claim_pkey") => {
            CommandError::IdTaken
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            CommandError::Unique(db.constraint().unwrap_or_default().to_owned())
        }
        _ if crate::db::is_transient(&err) => CommandError::Unavailable(err.to_string()),
        _ => CommandError::Store(err.to_string()),
    }
}
