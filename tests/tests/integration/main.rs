//! Integration and end-to-end tests against real Postgres and LocalStack (see the
//! harness in `repstream_tests`). One test binary, one module per component.

mod api_input;
mod appointments;
mod command_path;
mod contract;
mod crashes;
mod digests;
mod end_to_end;
mod event_store;
mod identity;
mod inbox;
mod intake;
mod metrics;
mod notices;
mod notifications;
mod ops;
mod outage;
mod poison;
mod preferences;
mod projector;
mod rebuild_at_scale;
mod relay;
mod reminders;
mod scheduling;
mod security;
mod side_effects;
mod structure;
mod sweeps;
mod tenancy;
mod trace_context;
mod verification;
mod webhooks;

use domain::account::AccountId;
use domain::studio::{LocationId, Studio, StudioCommand, StudioId};
use domain::values::{Currency, DisplayName, TimeZone};
use infra::envelope::{EventEnvelope, StoredEvent, STORED_EVENT_COLUMNS};
use infra::event_store::{CommandBus, CommandMetadata};
use sqlx::PgPool;
use uuid::Uuid;

pub(crate) fn meta(tenant: Uuid) -> CommandMetadata {
    CommandMetadata::system(tenant, "test", None)
}

pub(crate) fn create(id: Uuid, name: &str) -> StudioCommand {
    StudioCommand::CreateStudio {
        studio_id: StudioId(id),
        name: DisplayName::parse(name).expect("name"),
        timezone: TimeZone::parse("Europe/Berlin").expect("tz"),
        currency: Currency::parse("EUR").expect("currency"),
        // The bare bus used here has no membership hook: any owner id will do.
        owner: AccountId(Uuid::new_v4()),
    }
}

pub(crate) fn add_location(n: u128, name: &str) -> StudioCommand {
    StudioCommand::AddLocation {
        location_id: LocationId(Uuid::from_u128(n)),
        name: DisplayName::parse(name).expect("name"),
        address: None,
        timezone: None,
    }
}

pub(crate) fn rename(name: &str) -> StudioCommand {
    StudioCommand::RenameStudio {
        name: DisplayName::parse(name).expect("name"),
    }
}

/// Creates a studio with `locations` locations and one rename through the command bus;
/// returns its id. Events: 1 + locations + 1.
pub(crate) async fn studio_with_history(pool: &PgPool, locations: u128) -> anyhow::Result<Uuid> {
    let bus = CommandBus::<Studio>::new(pool.clone(), ()).without_hooks();
    let id = Uuid::now_v7();
    let key = id.to_string();
    bus.execute(&key, create(id, "History Studio"), None, meta(id))
        .await?;
    for n in 0..locations {
        bus.execute(
            &key,
            add_location(n + 1, &format!("Location {n}")),
            None,
            meta(id),
        )
        .await?;
    }
    bus.execute(&key, rename("History Studio Renamed"), None, meta(id))
        .await?;
    Ok(id)
}

/// The stream's events as envelopes, in order.
pub(crate) async fn stream(pool: &PgPool, id: Uuid) -> anyhow::Result<Vec<EventEnvelope>> {
    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {STORED_EVENT_COLUMNS} FROM events WHERE aggregate_type = 'studio' AND aggregate_id = $1 ORDER BY sequence"
    ))
    .bind(id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(EventEnvelope::from).collect())
}

/// The studio view a full replay of the stream produces.
pub(crate) async fn replayed_view(pool: &PgPool, id: Uuid) -> anyhow::Result<serde_json::Value> {
    let mut view = None;
    for e in stream(pool, id).await? {
        let event = serde_json::from_value(e.payload.clone())?;
        view = domain::studio::view::apply(view, &event, e.sequence, e.occurred_at);
    }
    Ok(serde_json::to_value(view)?)
}

/// The stored studio view document.
pub(crate) async fn stored_view(
    pool: &PgPool,
    id: Uuid,
) -> anyhow::Result<Option<serde_json::Value>> {
    Ok(
        sqlx::query_scalar("SELECT doc FROM studio_view WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}
