//! The seam between the event store and the state written with its events.

use cqrs_es::persist::SerializedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

/// Work done inside the event store's transaction, after the events and outbox rows
/// are written and before the commit: state that must change atomically with the events
/// (memberships used for authorization, the studio directory commands read, unique
/// claims such as account emails, credentials that must never enter the event stream).
#[async_trait::async_trait]
pub trait TxHook: Send + Sync {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error>;
}
