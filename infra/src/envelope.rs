//! The event envelope: the JSON document every domain event travels in, from the outbox
//! through SQS to the projector and workers. Documented in the README; changing it is a
//! breaking change for every consumer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One event on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnvelope {
    /// Unique id of this event (UUIDv7, time-ordered). Also the SQS deduplication id.
    pub event_id: Uuid,
    /// The studio that owns the event.
    pub tenant_id: Uuid,
    /// `studio`, ... (an aggregate's `TYPE`, never renamed once data exists).
    pub aggregate_type: String,
    /// The stream the event belongs to. Also the SQS message group id.
    pub aggregate_id: String,
    /// 1-based position in the stream; consumers apply `n` only after `n - 1`.
    pub sequence: u64,
    /// `StudioCreated`, ...
    pub event_type: String,
    /// Version of the payload's shape for this event type.
    pub event_version: String,
    /// When the event was committed.
    pub occurred_at: DateTime<Utc>,
    /// The event itself: `{"type": "<event_type>", ...fields}`.
    pub payload: Value,
    pub metadata: EnvelopeMetadata,
}

/// Who and what caused the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnvelopeMetadata {
    /// Shared by everything one user action caused, across services.
    pub correlation_id: Option<String>,
    /// The id of the request, event or job that directly caused this event.
    pub causation_id: Option<String>,
    /// `user:<id>`, `system:<component>` or `anonymous`.
    pub actor: Option<String>,
    /// The HTTP request id, for commands that came in over HTTP.
    pub request_id: Option<String>,
    /// W3C trace context of the span that caused the event: one trace spans HTTP,
    /// relay, projector and workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl EnvelopeMetadata {
    /// Reads the envelope metadata out of a cqrs-es metadata map.
    pub fn from_map(map: &std::collections::HashMap<String, String>) -> Self {
        use domain::metadata::{ACTOR, CAUSATION_ID, CORRELATION_ID, REQUEST_ID, TRACEPARENT};
        Self {
            correlation_id: map.get(CORRELATION_ID).cloned(),
            causation_id: map.get(CAUSATION_ID).cloned(),
            actor: map.get(ACTOR).cloned(),
            request_id: map.get(REQUEST_ID).cloned(),
            traceparent: map.get(TRACEPARENT).cloned(),
        }
    }
}

/// An `events` row as read back for replay (projector gap-filling and rebuilds).
#[derive(Debug, sqlx::FromRow)]
pub struct StoredEvent {
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub occurred_at: DateTime<Utc>,
    pub payload: Value,
    pub metadata: Value,
    pub position: i64,
}

/// Columns to select for [`StoredEvent`].
pub const STORED_EVENT_COLUMNS: &str = "event_id, tenant_id, aggregate_type, aggregate_id, \
     sequence, event_type, event_version, occurred_at, payload, metadata, position";

impl From<StoredEvent> for EventEnvelope {
    fn from(row: StoredEvent) -> Self {
        let map: std::collections::HashMap<String, String> =
            serde_json::from_value(row.metadata).unwrap_or_default();
        Self {
            event_id: row.event_id,
            tenant_id: row.tenant_id,
            aggregate_type: row.aggregate_type,
            aggregate_id: row.aggregate_id,
            sequence: u64::try_from(row.sequence).unwrap_or_default(),
            event_type: row.event_type,
            event_version: row.event_version,
            occurred_at: row.occurred_at,
            payload: row.payload,
            metadata: EnvelopeMetadata::from_map(&map),
        }
    }
}
