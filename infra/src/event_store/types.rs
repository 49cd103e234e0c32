//! What a command carries in and what it answers.

use std::collections::HashMap;

use cqrs_es::Aggregate;
use uuid::Uuid;

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
    /// W3C `traceparent` of the span the command ran in (see [`crate::telemetry`]).
    pub traceparent: Option<String>,
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
            traceparent: crate::telemetry::current_traceparent(None),
        }
    }

    pub(super) fn into_map(self) -> HashMap<String, String> {
        use domain::metadata::{
            ACTOR, CAUSATION_ID, CORRELATION_ID, IP, REQUEST_ID, TENANT_ID, TRACEPARENT, USER_AGENT,
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
            (TRACEPARENT, self.traceparent),
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
    /// The aggregate id is already used by another tenant's stream (ids are unique
    /// across tenants). Nothing was written.
    #[error("this id is already taken")]
    IdTaken,
    /// A unique constraint of state written with the events was violated (e.g. an
    /// email already taken). Nothing was written.
    #[error("unique constraint `{0}` violated")]
    Unique(String),
    /// An event's envelope would exceed what the events queue carries
    /// ([`crate::sqs::ENVELOPE_MAX`]). Nothing was written.
    #[error("an event of {bytes} bytes exceeds the limit of {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
    /// The database is unreachable or restarting, or the transaction lost a retryable
    /// race ([`crate::db::is_transient`]): retry later. Nothing was written.
    #[error("the event store is unavailable: {0}")]
    Unavailable(String),
    /// The store failed (serialization, a broken invariant, ...). Details are for logs only.
    #[error("event store failure: {0}")]
    Store(String),
}

/// What one command did, inside a transaction not yet committed.
#[derive(Debug)]
pub struct Executed<A: Aggregate> {
    pub outcome: CommandOutcome,
    /// The events appended (empty for an idempotent no-op).
    pub events: Vec<A::Event>,
    /// The aggregate's state after the command.
    pub aggregate: A,
}
