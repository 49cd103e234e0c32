//! Demo data for `make run`: one studio with two locations and settings. Idempotent:
//! fixed ids, and every command is a no-op the second time.

use common::event_store::CommandMetadata;
use domain::studio::{LocationId, StudioCommand, StudioError, StudioId, StudioSettings};
use domain::values::{Currency, DisplayName, TimeZone};
use uuid::Uuid;

use crate::state::AppState;

/// The demo studio's id (stable across runs).
pub const DEMO_STUDIO_ID: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);

/// What `seed` created or found.
#[derive(Debug)]
pub struct SeedReport {
    pub studio_id: Uuid,
    pub created: bool,
}

pub async fn seed(state: &AppState) -> anyhow::Result<SeedReport> {
    let bus = &state.studios;
    let id = DEMO_STUDIO_ID.to_string();
    let meta = || CommandMetadata {
        tenant_id: DEMO_STUDIO_ID,
        correlation_id: Uuid::new_v4().to_string(),
        causation_id: None,
        actor: "system:seed".to_owned(),
        request_id: None,
    };
    let name = |s: &str| DisplayName::parse(s).map_err(|e| anyhow::anyhow!("{e}"));
    let created = match bus
        .execute(
            &id,
            StudioCommand::CreateStudio {
                studio_id: StudioId(DEMO_STUDIO_ID),
                name: name("Harbor Pilates & Strength")?,
                timezone: TimeZone::parse("Europe/Berlin").map_err(|e| anyhow::anyhow!("{e}"))?,
                currency: Currency::parse("EUR").map_err(|e| anyhow::anyhow!("{e}"))?,
            },
            None,
            meta(),
        )
        .await
    {
        Ok(_) => true,
        Err(common::event_store::CommandError::Rejected(StudioError::AlreadyExists)) => false,
        Err(e) => anyhow::bail!("seeding the demo studio: {e}"),
    };
    for (n, label, address) in [
        (1u128, "Harbor Front", "Am Sandtorkai 1, 20457 Hamburg"),
        (2u128, "Old Town Loft", "Deichstraße 12, 20459 Hamburg"),
    ] {
        bus.execute(
            &id,
            StudioCommand::AddLocation {
                location_id: LocationId(Uuid::from_u128(DEMO_STUDIO_ID.as_u128() + n)),
                name: name(label)?,
                address: Some(address.to_owned()),
                timezone: None,
            },
            None,
            meta(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("seeding location {label}: {e}"))?;
    }
    bus.execute(
        &id,
        StudioCommand::UpdateSettings {
            settings: StudioSettings {
                contact_email: Some("hello@harbor-pilates.example".to_owned()),
                contact_phone: Some("+49 40 1234567".to_owned()),
                booking_window_days: 21,
                ..StudioSettings::default()
            },
        },
        None,
        meta(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("seeding settings: {e}"))?;
    Ok(SeedReport {
        studio_id: DEMO_STUDIO_ID,
        created,
    })
}
