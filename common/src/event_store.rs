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
    PersistedEventRepository, PersistedEventStore, PersistenceError, ReplayStream,
    SerializedEvent, SerializedSnapshot,
};
use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventStore};
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::envelope::{EnvelopeMetadata, EventEnvelope};

/// Events and outbox rows in Postgres.
#[derive(Clone)]
pub struct PgEventRepository {
    pool: PgPool,
}

impl PgEventRepository {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
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
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT_EVENTS} WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
        ))
        .bind(A::TYPE)
        .bind(aggregate_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
        Ok(rows.into_iter().map(to_serialized).collect())
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT_EVENTS} WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 \
             ORDER BY sequence"
        ))
        .bind(A::TYPE)
        .bind(aggregate_id)
        .bind(i64::try_from(last_sequence).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
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
            sequences.push(i64::try_from(event.sequence).map_err(|_| unknown("sequence overflow"))?);
            event_types.push(event.event_type.clone());
            event_versions.push(event.event_version.clone());
            payloads.push(event.payload.clone());
            metadatas.push(event.metadata.clone());
            event_ids.push(event_id);
        }

        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        // Row-level security reads the tenant from this transaction-local setting.
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
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
}

impl CommandMetadata {
    fn into_map(self) -> HashMap<String, String> {
        use domain::metadata::{ACTOR, CAUSATION_ID, CORRELATION_ID, REQUEST_ID, TENANT_ID};
        let mut map = HashMap::from([
            (TENANT_ID.to_owned(), self.tenant_id.to_string()),
            (CORRELATION_ID.to_owned(), self.correlation_id),
            (ACTOR.to_owned(), self.actor),
        ]);
        if let Some(c) = self.causation_id {
            map.insert(CAUSATION_ID.to_owned(), c);
        }
        if let Some(r) = self.request_id {
            map.insert(REQUEST_ID.to_owned(), r);
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
    /// The store failed (connection, serialization, ...). Details are for logs only.
    #[error("event store failure: {0}")]
    Store(String),
}

/// How often a command without `expected_version` is re-run after losing a race. Such
/// a caller asked for "apply to the latest state", so re-deciding is correct.
const CONFLICT_RETRIES: usize = 3;

/// Runs commands against aggregates of type `A`, persisting through
/// [`PgEventRepository`].
pub struct CommandBus<A: Aggregate> {
    pool: PgPool,
    services: Arc<A::Services>,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> Clone for CommandBus<A> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            services: self.services.clone(),
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
            _aggregate: PhantomData,
        }
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
        let bus = self.clone();
        let aggregate_id = aggregate_id.to_owned();
        let metadata = metadata.into_map();
        tokio::spawn(async move {
            let mut attempt = 0;
            loop {
                let result = bus
                    .execute_once(&aggregate_id, command.clone(), expected_version, metadata.clone())
                    .await;
                match result {
                    Err(CommandError::Conflict)
                        if expected_version.is_none() && attempt < CONFLICT_RETRIES =>
                    {
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        })
        .await
        .map_err(|e| CommandError::Store(format!("command task failed: {e}")))?
    }

    async fn execute_once(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: HashMap<String, String>,
    ) -> Result<CommandOutcome, CommandError<A::Error>> {
        let store = PersistedEventStore::<_, A>::new_event_store(PgEventRepository::new(
            self.pool.clone(),
        ));
        let mut context = store.load_aggregate(aggregate_id).await.map_err(from_aggregate)?;
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
            return Ok(CommandOutcome {
                version: current,
                events: 0,
            });
        }
        let committed = store
            .commit(events, context, metadata)
            .await
            .map_err(from_aggregate)?;
        Ok(CommandOutcome {
            version: committed.last().map_or(current, |e| e.sequence as u64),
            events: committed.len(),
        })
    }
}

fn from_aggregate<E: std::error::Error>(err: AggregateError<E>) -> CommandError<E> {
    match err {
        AggregateError::UserError(e) => CommandError::Rejected(e),
        AggregateError::AggregateConflict => CommandError::Conflict,
        AggregateError::DatabaseConnectionError(e)
        | AggregateError::DeserializationError(e)
        | AggregateError::UnexpectedError(e) => CommandError::Store(e.to_string()),
    }
}
