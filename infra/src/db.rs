//! The Postgres pool and the embedded migrations (`migrations/` is the only source of
//! schema).

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseArgs;

/// The schema, compiled into every binary that may need to apply it.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens a pool. Connections get a statement timeout and an
/// `idle_in_transaction_session_timeout`, the backstop against a cancelled request
/// leaving a transaction open on a pooled connection.
pub async fn connect(args: &DatabaseArgs, application_name: &str) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = args
        .database_url
        .expose()
        .parse()
        .context("parsing DATABASE_URL")?;
    let options = options.application_name(application_name).options([
        ("statement_timeout", "30s"),
        ("idle_in_transaction_session_timeout", "60s"),
    ]);
    PgPoolOptions::new()
        .max_connections(args.database_max_connections)
        // No ping before every acquire (a round trip per command): a dead connection
        // fails its first statement and is discarded; the pool reconnects.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("connecting to Postgres")
}

/// Applies pending migrations.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying migrations")
}

/// Is `err` an outage rather than a fault of the work itself: the database unreachable
/// or restarting, the pool exhausted, a transaction that lost a race it may retry
/// (serialization failure, deadlock)? Such work is retried later, never dead-lettered,
/// and the API answers `503`, not `500`.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-03: shutdown, crash, starting up;
            // 53: insufficient resources; 40001 / 40P01: retryable races.
            code.starts_with("08")
                || code.starts_with("53")
                || matches!(&*code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
        }),
        _ => false,
    }
}

/// [`is_transient`] for any error whose chain holds a `sqlx::Error`.
pub fn is_transient_chain(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<sqlx::Error>())
        .any(is_transient)
}
