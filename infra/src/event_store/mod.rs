//! The event store and the command path.
//!
//! [`CommandBus::execute_in`] runs one command against one aggregate *inside the
//! caller's transaction*: it loads the stream (newest snapshot + the events after it,
//! writers of the stream serialised by an advisory lock), lets the aggregate decide, and
//! appends the events, their outbox rows, the stream's claim (first event) and, every
//! [`SNAPSHOT_EVERY`] events, a new snapshot, all in **one statement**; then it runs the
//! aggregate type's transaction hooks (the inline state other commands read). Committing
//! is the caller's: one HTTP command is one transaction, however many aggregates it
//! touches. [`CommandBus::execute`] is the same in a transaction of its own (workers,
//! seeds, tests).
//!
//! Why our own store instead of postgres-es's (see `docs/adr/0001`): postgres-es commits
//! in a transaction we cannot join, maps *any* unique violation to a concurrency
//! conflict, and cqrs-es 0.5's snapshot mode applies new events twice. Streams are keyed
//! by tenant first (`events_pkey`), ids are unique across tenants (`stream_claim`).

use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, DomainEvent};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::envelope::{EnvelopeMetadata, EventEnvelope};

pub use crate::hooks::TxHook;

mod cache;
mod sql;
mod types;

use cache::CacheKey;
pub use cache::{AggregateCache, Remember};
use sql::map_sqlx;
pub use sql::{bind_tenant, APPEND_SQL, LOAD_SQL, SNAPSHOT_EVERY, TAIL_SQL};
pub use types::{CommandError, CommandMetadata, CommandOutcome, Executed};

/// Runs commands against aggregates of type `A`. Hooks come from
/// [`crate::inline::hooks_for`], so every construction site gets the same ones.
pub struct CommandBus<A: Aggregate> {
    pool: PgPool,
    services: Arc<A::Services>,
    hooks: Vec<Arc<dyn TxHook>>,
    /// Names the aggregate type and its snapshot version: snapshots of another format are
    /// ignored. Bump the version when the aggregate's state changes shape or meaning.
    snapshot_format: String,
    cache: Option<Arc<AggregateCache>>,
    _aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> Clone for CommandBus<A> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            services: self.services.clone(),
            hooks: self.hooks.clone(),
            snapshot_format: self.snapshot_format.clone(),
            cache: self.cache.clone(),
            _aggregate: PhantomData,
        }
    }
}

/// A loaded stream: the aggregate and its version.
struct Loaded<A> {
    aggregate: A,
    version: u64,
}

type LoadRow = (i64, Option<String>, Option<String>, Value, bool);
type TailRow = (
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<Value>,
    bool,
);

impl<A> CommandBus<A>
where
    A: Aggregate + Clone + Sync + 'static,
    A::Command: Send + 'static,
    A::Error: Send + 'static,
    A::Services: 'static,
{
    pub fn new(pool: PgPool, services: A::Services) -> Self {
        Self {
            pool,
            services: Arc::new(services),
            hooks: crate::inline::hooks_for(A::TYPE),
            snapshot_format: format!("{}/1", A::TYPE),
            cache: None,
            _aggregate: PhantomData,
        }
    }

    /// Starts loads from `cache` (see [`AggregateCache`]).
    pub fn with_cache(mut self, cache: Arc<AggregateCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    fn key(tenant: Uuid, aggregate_id: &str) -> CacheKey {
        (tenant, A::TYPE, aggregate_id.to_owned())
    }

    /// What to put in the cache once the transaction that produced `executed` commits.
    pub fn remember(
        &self,
        tenant: Uuid,
        aggregate_id: &str,
        executed: &Executed<A>,
    ) -> Option<Remember> {
        let cache = self.cache.clone()?;
        let key = Self::key(tenant, aggregate_id);
        let (version, state) = (executed.outcome.version, executed.aggregate.clone());
        Some(Remember(Box::new(move || cache.put(key, version, state))))
    }

    /// The cached state and the events after it, if the cache holds this stream.
    async fn read_cached(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        aggregate_id: &str,
        lock: bool,
    ) -> Result<Option<Loaded<A>>, CommandError<A::Error>> {
        let Some(cache) = &self.cache else {
            return Ok(None);
        };
        let key = Self::key(tenant, aggregate_id);
        let Some((cached, mut aggregate)) = cache.get::<A>(&key) else {
            return Ok(None);
        };
        let rows: Vec<TailRow> = sqlx::query_as(TAIL_SQL)
            .bind(tenant)
            .bind(A::TYPE)
            .bind(aggregate_id)
            .bind(lock)
            .bind(i64::try_from(cached).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(map_sqlx)?;
        let mut version = cached;
        for (sequence, _, _, payload, marker) in rows {
            let (Some(sequence), Some(payload), false) = (sequence, payload, marker) else {
                // The stream has no event at the cached version: not this stream's state.
                cache.forget(&key);
                return Ok(None);
            };
            version = u64::try_from(sequence).unwrap_or_default();
            let event: A::Event = serde_json::from_value(payload).map_err(|e| {
                CommandError::Store(format!("{} event {aggregate_id}#{sequence}: {e}", A::TYPE))
            })?;
            aggregate.apply(event);
        }
        Ok(Some(Loaded { aggregate, version }))
    }

    /// Adds a hook run inside every commit of this bus.
    pub fn with_hook(mut self, hook: Arc<dyn TxHook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// A bus with no transaction hooks at all: for tests of the store itself, whose
    /// events refer to nothing the hooks could record.
    pub fn without_hooks(mut self) -> Self {
        self.hooks.clear();
        self
    }

    /// Sets the snapshot version (see `snapshot_format`).
    pub fn with_snapshot_version(mut self, version: u32) -> Self {
        self.snapshot_format = format!("{}/{version}", A::TYPE);
        self
    }

    async fn read(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        aggregate_id: &str,
        lock: bool,
        use_snapshot: bool,
    ) -> Result<Loaded<A>, CommandError<A::Error>> {
        if use_snapshot {
            if let Some(loaded) = self.read_cached(conn, tenant, aggregate_id, lock).await? {
                return Ok(loaded);
            }
        }
        let format = if use_snapshot {
            self.snapshot_format.as_str()
        } else {
            ""
        };
        let rows: Vec<LoadRow> = sqlx::query_as(LOAD_SQL)
            .bind(tenant)
            .bind(A::TYPE)
            .bind(aggregate_id)
            .bind(lock)
            .bind(format)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_sqlx)?;
        let mut aggregate = A::default();
        let mut version = 0u64;
        for (sequence, _, _, payload, is_snapshot) in rows {
            version = u64::try_from(sequence).unwrap_or_default();
            if is_snapshot {
                match serde_json::from_value::<A>(payload) {
                    Ok(state) => aggregate = state,
                    // A snapshot this build cannot read: replay the whole stream instead.
                    Err(e) if use_snapshot => {
                        tracing::warn!(aggregate_type = A::TYPE, %aggregate_id, error = %e, "unreadable snapshot ignored");
                        return Box::pin(self.read(conn, tenant, aggregate_id, false, false)).await;
                    }
                    Err(e) => return Err(CommandError::Store(format!("snapshot: {e}"))),
                }
                continue;
            }
            let event: A::Event = serde_json::from_value(payload).map_err(|e| {
                CommandError::Store(format!("{} event {aggregate_id}#{sequence}: {e}", A::TYPE))
            })?;
            aggregate.apply(event);
        }
        Ok(Loaded { aggregate, version })
    }

    /// The current state and version of one stream, from committed events (never a
    /// view), in the caller's transaction. Without `lock`, concurrent writers are not
    /// waited for.
    pub async fn load_in(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        aggregate_id: &str,
    ) -> Result<(A, u64), CommandError<A::Error>> {
        let loaded = self.read(conn, tenant, aggregate_id, false, true).await?;
        Ok((loaded.aggregate, loaded.version))
    }

    /// Like [`Self::load_in`], in a transaction of its own.
    pub async fn load(
        &self,
        tenant: Uuid,
        aggregate_id: &str,
    ) -> Result<(A, u64), CommandError<A::Error>> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx)?;
        bind_tenant(&mut tx, tenant).await.map_err(map_sqlx)?;
        let loaded = self.load_in(&mut tx, tenant, aggregate_id).await?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(loaded)
    }

    /// Runs `command` against stream `aggregate_id` of `metadata.tenant_id` inside the
    /// caller's transaction (already bound to that tenant): load with the stream's writer
    /// lock, check `expected_version`, decide, append (one statement), run the hooks.
    /// Nothing is committed here; an error leaves the transaction
    /// to be rolled back by the caller.
    pub async fn execute_in(
        &self,
        conn: &mut PgConnection,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<A>, CommandError<A::Error>> {
        let result = self
            .decide_and_append(conn, aggregate_id, command, expected_version, metadata)
            .await;
        let outcome = match &result {
            Ok(executed) if executed.outcome.events == 0 => "unchanged",
            Ok(_) => "accepted",
            Err(CommandError::Rejected(_)) => "refused",
            Err(CommandError::VersionMismatch { .. } | CommandError::Conflict) => "conflict",
            Err(CommandError::IdTaken | CommandError::Unique(_)) => "taken",
            Err(CommandError::TooLarge { .. }) => "too_large",
            Err(CommandError::Unavailable(_)) => "unavailable",
            Err(CommandError::Store(_)) => "error",
        };
        metrics::counter!("repstream_commands_total", "aggregate" => A::TYPE, "outcome" => outcome)
            .increment(1);
        result
    }

    async fn decide_and_append(
        &self,
        conn: &mut PgConnection,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<A>, CommandError<A::Error>> {
        let tenant = metadata.tenant_id;
        let Loaded {
            mut aggregate,
            version,
        } = self.read(conn, tenant, aggregate_id, true, true).await?;
        if let Some(expected) = expected_version {
            if expected != version {
                return Err(CommandError::VersionMismatch {
                    expected,
                    actual: version,
                });
            }
        }
        let sink = EventSink::default();
        aggregate
            .handle(command, &self.services, &sink)
            .await
            .map_err(CommandError::Rejected)?;
        let events = sink.collect().await;
        if events.is_empty() {
            return Ok(Executed {
                outcome: CommandOutcome { version, events: 0 },
                events,
                aggregate,
            });
        }
        let serialized = self
            .append(conn, aggregate_id, version, &events, &aggregate, metadata)
            .await?;
        for hook in &self.hooks {
            hook.run(conn, tenant, &serialized)
                .await
                .map_err(map_sqlx)?;
        }
        Ok(Executed {
            outcome: CommandOutcome {
                version: version + events.len() as u64,
                events: events.len(),
            },
            events,
            aggregate,
        })
    }

    async fn append(
        &self,
        conn: &mut PgConnection,
        aggregate_id: &str,
        version: u64,
        events: &[A::Event],
        after: &A,
        metadata: &CommandMetadata,
    ) -> Result<Vec<SerializedEvent>, CommandError<A::Error>> {
        let tenant_id = metadata.tenant_id;
        let map = metadata.clone().into_map();
        let meta_json =
            serde_json::to_value(&map).map_err(|e| CommandError::Store(e.to_string()))?;
        let envelope_meta = EnvelopeMetadata::from_map(&map);
        // Postgres keeps microseconds: stamp at that precision so the envelope on the
        // wire and the stored event agree to the digit.
        let occurred_at = Utc::now().trunc_subsecs(6);
        let n = events.len();
        let (mut sequences, mut types, mut versions, mut payloads) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut ids, mut messages, mut serialized) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (i, event) in events.iter().enumerate() {
            let sequence = version + 1 + i as u64;
            let payload =
                serde_json::to_value(event).map_err(|e| CommandError::Store(e.to_string()))?;
            let event_id = Uuid::now_v7();
            let envelope = EventEnvelope {
                event_id,
                tenant_id,
                aggregate_type: A::TYPE.to_owned(),
                aggregate_id: aggregate_id.to_owned(),
                sequence,
                event_type: event.event_type(),
                event_version: event.event_version(),
                occurred_at,
                payload: payload.clone(),
                metadata: envelope_meta.clone(),
            };
            let message =
                serde_json::to_value(&envelope).map_err(|e| CommandError::Store(e.to_string()))?;
            // Bounded when it is made: a row the relay could never publish is refused
            // here, not parked later (ADR 0006).
            let bytes = crate::sqs::message_body(&message).len();
            if bytes > crate::sqs::ENVELOPE_MAX {
                return Err(CommandError::TooLarge {
                    bytes,
                    limit: crate::sqs::ENVELOPE_MAX,
                });
            }
            messages.push(message);
            sequences.push(
                i64::try_from(sequence)
                    .map_err(|_| CommandError::Store("sequence overflow".into()))?,
            );
            types.push(event.event_type());
            versions.push(event.event_version());
            payloads.push(payload.clone());
            ids.push(event_id);
            serialized.push(SerializedEvent {
                aggregate_id: aggregate_id.to_owned(),
                sequence: sequence as usize,
                aggregate_type: A::TYPE.to_owned(),
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload,
                metadata: meta_json.clone(),
            });
        }
        let new_version = version + n as u64;
        let snapshot = (new_version / SNAPSHOT_EVERY > version / SNAPSHOT_EVERY)
            .then(|| serde_json::to_value(after))
            .transpose()
            .map_err(|e| CommandError::Store(format!("snapshot: {e}")))?;
        let metadatas = vec![meta_json; n];
        sqlx::query(APPEND_SQL)
            .bind(A::TYPE)
            .bind(aggregate_id)
            .bind(&sequences)
            .bind(&types)
            .bind(&versions)
            .bind(&payloads)
            .bind(&metadatas)
            .bind(&ids)
            .bind(tenant_id)
            .bind(occurred_at)
            .bind(&messages)
            .bind(version == 0)
            .bind(
                snapshot
                    .as_ref()
                    .map(|_| i64::try_from(new_version).unwrap_or(i64::MAX)),
            )
            .bind(&self.snapshot_format)
            .bind(snapshot)
            .execute(&mut *conn)
            .await
            .map_err(map_sqlx)?;
        Ok(serialized)
    }

    /// Runs one command in a transaction of its own (bound to `metadata.tenant_id`) and
    /// commits. The work runs on its own task: if the caller is cancelled, the command
    /// still finishes or rolls back cleanly instead of leaving a half-used connection.
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
        tokio::spawn(async move {
            let mut tx = bus.pool.begin().await.map_err(map_sqlx)?;
            bind_tenant(&mut tx, metadata.tenant_id)
                .await
                .map_err(map_sqlx)?;
            let executed = bus
                .execute_in(&mut tx, &aggregate_id, command, expected_version, &metadata)
                .await?;
            let remember = bus.remember(metadata.tenant_id, &aggregate_id, &executed);
            tx.commit().await.map_err(map_sqlx)?;
            if let Some(remember) = remember {
                remember.committed();
            }
            Ok((executed.outcome, executed.events))
        })
        .await
        .map_err(|e| CommandError::Store(format!("command task failed: {e}")))?
    }
}
