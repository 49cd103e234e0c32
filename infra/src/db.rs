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
        // Every statement is prepared once per connection and runs with key parameters
        // (ids, a tenant) whose best plan never depends on their values. Postgres would
        // otherwise plan many of them afresh on every execution ("custom plans"): a
        // quarter of the database's CPU per command, measured with `perf` under
        // `make bench`'s booking load.
        ("plan_cache_mode", "force_generic_plan"),
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

/// Refuses to serve through a role that row-level security does not bind: a superuser,
/// a role with `BYPASSRLS`, or the owner of the tenant tables (owners bypass their
/// tables' policies). Services call this before serving; `migrate` runs as the owner and
/// does not. With `dev_mode` the refusal is a loud warning instead.
pub async fn refuse_privileged(pool: &PgPool, dev_mode: bool) -> anyhow::Result<()> {
    let (role, superuser, bypass, owner): (String, bool, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper, r.rolbypassrls, \
           EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                   WHERE n.nspname = 'public' AND c.relname IN ('events', 'outbox') \
                     AND pg_has_role(current_user, c.relowner, 'USAGE')) \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(pool)
    .await
    .context("checking the database role")?;
    let why = match (superuser, bypass, owner) {
        (true, _, _) => "a superuser",
        (_, true, _) => "a BYPASSRLS role",
        (_, _, true) => "the owner of the event store's tables",
        _ => return Ok(()),
    };
    if dev_mode {
        tracing::warn!(
            %role,
            "connected as {why}: row-level security does not apply (allowed in dev mode only)"
        );
        return Ok(());
    }
    anyhow::bail!(
        "refusing to start: DATABASE_URL connects as `{role}`, {why}, which row-level security \
         does not bind. Connect as the service's own role (repstream_api, repstream_relay, \
         repstream_projector, repstream_worker; see the README), or set REPSTREAM_DEV_MODE=true \
         for local development."
    )
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
