//! The event store: [`PgEventRepository`] (a cqrs-es `PersistedEventRepository`) and
//! [`CommandBus`], which runs one command against one aggregate.
//!
//! Why our own repository instead of postgres-es's (see `docs/adr/0001`): postgres-es
//! commits events in a transaction we cannot join, so the outbox rows could not be
//! written atomically without a trigger; it also maps *any* unique violation to a
//! concurrency conflict. Ours writes events and outbox rows with two `UNNEST` inserts in
//! one transaction, stamps each event with an id, its tenant and its commit time, and
//! maps only the stream's primary key to a conflict.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    PersistedEventRepository, PersistedEventStore, PersistenceError, ReplayStream, SerializedEvent,
    SerializedSnapshot,
};
use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventStore};
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::envelope::{EnvelopeMetadata, EventEnvelope};

/// Work done inside the event store's transaction, after the events and outbox rows
/// are written and before the commit: state that must change atomically with the events
/// (memberships used for authorization, unique claims such as account emails,
/// credentials that must never enter the event stream).
#[async_trait::async_trait]
pub trait TxHook: Send + Sync {
    async fn run(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant_id: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error>;
}

/// A unique constraint other than the stream's own key was violated inside the
/// transaction (e.g. an email already claimed). Nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("unique constraint `{0}` violated")]
pub struct UniqueViolation(pub String);

/// Events and outbox rows in Postgres.
#[derive(Clone)]
pub struct PgEventRepository {
    pool: PgPool,
    /// Bound on every transaction (`app.tenant_id`), so row-level security applies to
    /// reads and writes of the event store alike.
    tenant: Option<Uuid>,
    hooks: Vec<Arc<dyn TxHook>>,
}

impl PgEventRepository {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            tenant: None,
            hooks: Vec::new(),
        }
    }

    pub fn for_tenant(mut self, tenant: Uuid) -> Self {
        self.tenant = Some(tenant);
        self
    }

    pub fn with_hooks(mut self, hooks: Vec<Arc<dyn TxHook>>) -> Self {
        self.hooks = hooks;
        self
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, PersistenceError> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        if let Some(tenant) = self.tenant {
            bind_tenant(&mut tx, tenant).await.map_err(map_sqlx)?;
        }
        Ok(tx)
    }
}

/// Binds the current transaction to `tenant` for row-level security.
pub async fn bind_tenant(conn: &mut sqlx::PgConnection, tenant: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(conn)
        .await
        .map(|_| ())
}

type Row = (String, String, i64, String, String, Value, Value);

const SELECT_EVENTS: &str = "SELECT aggregate_type, aggregate_id, sequence, event_type, \
     event_version, payload, metadata FROM events";

fn to_serialized(row: Row) -> SerializedEvent {
    let (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) =
        row;
    SerializedEvent {
        aggregate_id,
        sequence: usize::try_from(sequence).unwrap_or_default(),
        aggregate_type,
        event_type,
        event_version,
        payload,
        metadata,
    }
}

/// Maps a database error onto cqrs-es's persistence errors. Only a collision on the
/// stream's primary key is a concurrency conflict; any other unique violation is a bug
/// and must not make callers retry.
fn map_sqlx(err: sqlx::Error) -> PersistenceError {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("events_pkey") => {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            PersistenceError::UnknownError(Box::new(UniqueViolation(
                db.constraint().unwrap_or_default().to_owned(),
            )))
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_) => PersistenceError::ConnectionError(Box::new(err)),
        _ => PersistenceError::UnknownError(Box::new(err)),
    }
}

fn unknown(message: &str) -> PersistenceError {
    PersistenceError::UnknownError(message.into())
}

impl PersistedEventRepository for PgEventRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.get_last_events::<A>(aggregate_id, 0).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let mut tx = self.begin().await?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT_EVENTS} WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 \
             ORDER BY sequence"
        ))
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(i64::try_from(last_sequence).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(rows.into_iter().map(to_serialized).collect())
    }

    /// Snapshots are not used: cqrs-es 0.5's snapshot mode applies new events twice.
    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Ok(None)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            return Err(unknown("snapshots are not supported by this event store"));
        }
        let Some(first) = events.first() else {
            return Ok(());
        };
        let tenant_id = first
            .metadata
            .get(domain::metadata::TENANT_ID)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| unknown("refusing to store events without a tenant_id"))?;
        // Postgres keeps microseconds: stamp at that precision so the envelope on the
        // wire and the stored event agree to the digit.
        let occurred_at = Utc::now().trunc_subsecs(6);

        let n = events.len();
        let mut aggregate_types = Vec::with_capacity(n);
        let mut aggregate_ids = Vec::with_capacity(n);
        let mut sequences = Vec::with_capacity(n);
        let mut event_types = Vec::with_capacity(n);
        let mut event_versions = Vec::with_capacity(n);
        let mut payloads = Vec::with_capacity(n);
        let mut metadatas = Vec::with_capacity(n);
        let mut event_ids = Vec::with_capacity(n);
        let mut messages = Vec::with_capacity(n);
        for event in events {
            let event_id = Uuid::now_v7();
            let map: HashMap<String, String> =
                serde_json::from_value(event.metadata.clone()).unwrap_or_default();
            let envelope = EventEnvelope {
                event_id,
                tenant_id,
                aggregate_type: event.aggregate_type.clone(),
                aggregate_id: event.aggregate_id.clone(),
                sequence: event.sequence as u64,
                event_type: event.event_type.clone(),
                event_version: event.event_version.clone(),
                occurred_at,
                payload: event.payload.clone(),
                metadata: EnvelopeMetadata::from_map(&map),
            };
            messages.push(serde_json::to_value(&envelope)?);
            aggregate_types.push(event.aggregate_type.clone());
            aggregate_ids.push(event.aggregate_id.clone());
            sequences
                .push(i64::try_from(event.sequence).map_err(|_| unknown("sequence overflow"))?);
            event_types.push(event.event_type.clone());
            event_versions.push(event.event_version.clone());
            payloads.push(event.payload.clone());
            metadatas.push(event.metadata.clone());
            event_ids.push(event_id);
        }

        if self.tenant.is_some_and(|t| t != tenant_id) {
            return Err(unknown("events for another tenant than the repository's"));
        }
        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        // Row-level security reads the tenant from this transaction-local setting.
        bind_tenant(&mut tx, tenant_id).await.map_err(map_sqlx)?;
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata, event_id, tenant_id, occurred_at) \
             SELECT t.*, $9, $10 FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], \
             $5::text[], $6::jsonb[], $7::jsonb[], $8::uuid[]) AS t",
        )
        .bind(&aggregate_types)
        .bind(&aggregate_ids)
        .bind(&sequences)
        .bind(&event_types)
        .bind(&event_versions)
        .bind(&payloads)
        .bind(&metadatas)
        .bind(&event_ids)
        .bind(tenant_id)
        .bind(occurred_at)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        sqlx::query(
            "INSERT INTO outbox (event_id, tenant_id, aggregate_id, message) \
             SELECT t.event_id, $2, t.aggregate_id, t.message \
             FROM UNNEST($1::uuid[], $3::text[], $4::jsonb[]) AS t(event_id, aggregate_id, message)",
        )
        .bind(&event_ids)
        .bind(tenant_id)
        .bind(&aggregate_ids)
        .bind(&messages)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        for hook in &self.hooks {
            hook.run(&mut tx, tenant_id, events)
                .await
                .map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        Ok(self.stream(A::TYPE, Some(aggregate_id.to_owned())))
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Ok(self.stream(A::TYPE, None))
    }
}

impl PgEventRepository {
    fn stream(&self, aggregate_type: &'static str, aggregate_id: Option<String>) -> ReplayStream {
        let (mut feed, stream) = ReplayStream::new(256);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let sql = format!(
                "{SELECT_EVENTS} WHERE aggregate_type = $1 AND ($2::text IS NULL OR aggregate_id = $2) \
                 ORDER BY position"
            );
            let mut rows = sqlx::query_as::<_, Row>(&sql)
                .bind(aggregate_type)
                .bind(aggregate_id)
                .fetch(&pool);
            loop {
                let next = rows.try_next().await;
                let item = match next {
                    Ok(Some(row)) => Ok(to_serialized(row)),
                    Ok(None) => break,
                    Err(err) => Err(map_sqlx(err)),
                };
                let failed = item.is_err();
                if feed.push(item).await.is_err() || failed {
                    break;
                }
            }
        });
        stream
    }
}

/// Who and why, attached to every event a command produces.
#[derive(Debug, Clone)]
pub struct CommandMetadata {
    pub tenant_id: Uuid,
    pub correlation_id: String,
    pub causation_id: Option<String>,
    pub actor: String,
    pub request_id: Option<String>,
    /// Client IP and user agent, for the audit log.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl CommandMetadata {
    /// Metadata for work a component does on its own (`system:<component>`).
    pub fn system(tenant_id: Uuid, component: &str, correlation_id: Option<String>) -> Self {
        Self {
            tenant_id,
            correlation_id: correlation_id.unwrap_or_else(|| Uuid::new_v4().to_string()),
            causation_id: None,
            actor: format!("system:{component}"),
            request_id: None,
            ip: None,
            user_agent: None,
        }
    }

    fn into_map(self) -> HashMap<String, String> {
        use domain::metadata::{
            ACTOR, CAUSATION_ID, CORRELATION_ID, IP, REQUEST_ID, TENANT_ID, USER_AGENT,
        };
        let mut map = HashMap::from([
            (TENANT_ID.to_owned(), self.tenant_id.to_string()),
            (CORRELATION_ID.to_owned(), self.correlation_id),
            (ACTOR.to_owned(), self.actor),
        ]);
        if let Some(c) = self.causation_id {
            map.insert(CAUSATION_ID.to_owned(), c);
        }
        for (key, value) in [
            (REQUEST_ID, self.request_id),
            (IP, self.ip),
            (USER_AGENT, self.user_agent),
        ] {
            if let Some(v) = value {
                map.insert(key.to_owned(), v);
            }
        }
        map
    }
}

/// The result of a command that was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The stream's version after the command: the sequence of its last event.
    pub version: u64,
    /// How many events the command appended (0 for an idempotent no-op).
    pub events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused the command: a business rule.
    #[error(transparent)]
    Rejected(E),
    /// The caller's `expected_version` is not the stream's current version.
    #[error("expected version {expected}, but the current version is {actual}")]
    VersionMismatch { expected: u64, actual: u64 },
    /// Another writer appended to the stream between our read and our write.
    #[error("the stream was modified concurrently")]
    Conflict,
    /// A unique constraint of state written with the events was violated (e.g. an
    /// email already taken). Nothing was written.
    #[error("unique constraint `{0}` violated")]
    Unique(String),
    /// The store failed (connection, serialization, ...). Details are for logs only.
    #[error("event store failure: {0}")]
    Store(String),
}

/// How often a command without `expected_version` is re-run after losing a race. Such
/// a caller asked for "apply to the latest state", so re-deciding is correct. Within one
/// process writers of a stream are serialised (see [`StreamLocks`]), so races only come
/// from other processes.
const CONFLICT_RETRIES: usize = 8;

/// Striped in-process locks: one writer per stream at a time inside this process, so a
/// burst of commands on one hot stream (50 bookings for one class) queues instead of
/// failing optimistic-concurrency checks. Across processes the stream's primary key
/// still decides. Striping bounds memory; two streams sharing a stripe merely queue.
struct StreamLocks {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl StreamLocks {
    fn new(n: usize) -> Self {
        Self {
            stripes: (0..n).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    fn for_stream(&self, aggregate_type: &str, aggregate_id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (aggregate_type, aggregate_id).hash(&mut h);
        &self.stripes[(h.finish() % self.stripes.len() as u64) as usize]
    }
}

fn stream_locks() -> &'static StreamLocks {
    static LOCKS: std::sync::OnceLock<StreamLocks> = std::sync::OnceLock::new();
    LOCKS.get_or_init(|| StreamLocks::new(1024))
}

/// Runs commands against aggregates of type `A`, persisting through
/// [`PgEventRepository`].
pub struct CommandBus<A: Aggregate> {
    pool: PgPool,
    services: Arc<A::Services>,
    /// Run in every commit of this aggregate type (inline projections).
    hooks: Vec<Arc<dyn TxHook>>,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> Clone for CommandBus<A> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            services: self.services.clone(),
            hooks: self.hooks.clone(),
            _aggregate: PhantomData,
        }
    }
}

impl<A> CommandBus<A>
where
    A: Aggregate + 'static,
    A::Command: Clone + Send + 'static,
    A::Error: Send + 'static,
    A::Services: 'static,
{
    pub fn new(pool: PgPool, services: A::Services) -> Self {
        Self {
            pool,
            services: Arc::new(services),
            hooks: Vec::new(),
            _aggregate: PhantomData,
        }
    }

    /// Adds a hook run inside every commit of this bus.
    pub fn with_hook(mut self, hook: Arc<dyn TxHook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Like [`Self::execute`], with one more hook for this command only (e.g. the
    /// credentials of a sign-up).
    pub async fn execute_with_hook(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: CommandMetadata,
        hook: Arc<dyn TxHook>,
    ) -> Result<CommandOutcome, CommandError<A::Error>> {
        let mut bus = self.clone();
        bus.hooks.push(hook);
        bus.execute(aggregate_id, command, expected_version, metadata)
            .await
    }

    /// Loads the aggregate, runs `command`, and commits its events with their outbox
    /// rows. With `expected_version`, the command applies only to that version of the
    /// stream.
    ///
    /// The work runs on its own task: if the caller is cancelled (an HTTP client hangs
    /// up), the command still finishes or rolls back cleanly instead of leaving a
    /// half-used connection behind.
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: CommandMetadata,
    ) -> Result<CommandOutcome, CommandError<A::Error>> {
        self.execute_returning_events(aggregate_id, command, expected_version, metadata)
            .await
            .map(|(outcome, _)| outcome)
    }

    /// Like [`Self::execute`], also returning the events the command appended.
    pub async fn execute_returning_events(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: CommandMetadata,
    ) -> Result<(CommandOutcome, Vec<A::Event>), CommandError<A::Error>> {
        let bus = self.clone();
        let aggregate_id = aggregate_id.to_owned();
        let tenant = metadata.tenant_id;
        let metadata = metadata.into_map();
        tokio::spawn(async move {
            let _writer = stream_locks()
                .for_stream(A::TYPE, &aggregate_id)
                .lock()
                .await;
            let mut attempt = 0;
            loop {
                let result = bus
                    .execute_once(
                        &aggregate_id,
                        command.clone(),
                        expected_version,
                        tenant,
                        metadata.clone(),
                    )
                    .await;
                match result {
                    Err(CommandError::Conflict)
                        if expected_version.is_none() && attempt < CONFLICT_RETRIES =>
                    {
                        attempt += 1;
                        // Another process won: back off a little, with jitter.
                        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 16);
                        tokio::time::sleep(std::time::Duration::from_millis(
                            (1 << attempt.min(6)) + jitter,
                        ))
                        .await;
                    }
                    other => return other,
                }
            }
        })
        .await
        .map_err(|e| CommandError::Store(format!("command task failed: {e}")))?
    }

    /// The current state and version of one stream, read from the event store (not a
    /// view): for commands whose input must not lag, like a class scheduled from a class
    /// type defined a moment ago.
    pub async fn load(
        &self,
        tenant: Uuid,
        aggregate_id: &str,
    ) -> Result<(A, u64), CommandError<A::Error>> {
        let repository = PgEventRepository::new(self.pool.clone()).for_tenant(tenant);
        let store = PersistedEventStore::<_, A>::new_event_store(repository);
        let context = store
            .load_aggregate(aggregate_id)
            .await
            .map_err(from_aggregate)?;
        let version = context.current_sequence as u64;
        Ok((context.aggregate, version))
    }

    async fn execute_once(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        tenant: Uuid,
        metadata: HashMap<String, String>,
    ) -> Result<(CommandOutcome, Vec<A::Event>), CommandError<A::Error>> {
        let repository = PgEventRepository::new(self.pool.clone())
            .for_tenant(tenant)
            .with_hooks(self.hooks.clone());
        let store = PersistedEventStore::<_, A>::new_event_store(repository);
        let mut context = store
            .load_aggregate(aggregate_id)
            .await
            .map_err(from_aggregate)?;
        let current = context.current_sequence as u64;
        if let Some(expected) = expected_version {
            if expected != current {
                return Err(CommandError::VersionMismatch {
                    expected,
                    actual: current,
                });
            }
        }
        let sink = EventSink::default();
        context
            .aggregate()
            .handle(command, &self.services, &sink)
            .await
            .map_err(CommandError::Rejected)?;
        let events = sink.collect().await;
        if events.is_empty() {
            return Ok((
                CommandOutcome {
                    version: current,
                    events: 0,
                },
                Vec::new(),
            ));
        }
        let committed = store
            .commit(events, context, metadata)
            .await
            .map_err(from_aggregate)?;
        let outcome = CommandOutcome {
            version: committed.last().map_or(current, |e| e.sequence as u64),
            events: committed.len(),
        };
        Ok((outcome, committed.into_iter().map(|e| e.payload).collect()))
    }
}

fn from_aggregate<E: std::error::Error>(err: AggregateError<E>) -> CommandError<E> {
    match err {
        AggregateError::UserError(e) => CommandError::Rejected(e),
        AggregateError::AggregateConflict => CommandError::Conflict,
        AggregateError::UnexpectedError(e) => match e.downcast_ref::<UniqueViolation>() {
            Some(UniqueViolation(constraint)) => CommandError::Unique(constraint.clone()),
            None => CommandError::Store(e.to_string()),
        },
        AggregateError::DatabaseConnectionError(e) | AggregateError::DeserializationError(e) => {
            CommandError::Store(e.to_string())
        }
    }
}
