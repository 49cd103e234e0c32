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
