use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{LocationId, StudioId};
use crate::account::AccountId;
use crate::policy::Role;
use crate::values::{Currency, DisplayName, Email, TimeZone};

/// Everything that can happen to a studio. Internally tagged so the payload on the wire
/// reads `{"type": "StudioRenamed", "name": "..."}`.
///
/// History is immutable: changing a variant's shape means a new `event_version` and an
/// upcaster, never an edit here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum StudioEvent {
    StudioCreated {
        studio_id: StudioId,
        name: DisplayName,
        timezone: TimeZone,
        currency: Currency,
        owner_id: AccountId,
    },
    StudioRenamed {
        name: DisplayName,
    },
    StudioSettingsUpdated {
        settings: StudioSettings,
    },
    LocationAdded {
        location_id: LocationId,
        name: DisplayName,
        address: Option<String>,
        timezone: Option<TimeZone>,
    },
    LocationRenamed {
        location_id: LocationId,
        name: DisplayName,
    },
    MemberAdded {
        account_id: AccountId,
        role: Role,
    },
    MemberInvited {
        invitation_id: Uuid,
        email: Email,
        role: Role,
        token_hash: String,
        expires_at: DateTime<Utc>,
    },
    InvitationAccepted {
        invitation_id: Uuid,
        account_id: AccountId,
        role: Role,
    },
    InvitationRevoked {
        invitation_id: Uuid,
    },
    MemberRoleChanged {
        account_id: AccountId,
        role: Role,
    },
    MemberRemoved {
        account_id: AccountId,
    },
}

impl DomainEvent for StudioEvent {
    fn event_type(&self) -> String {
        match self {
            Self::StudioCreated { .. } => "StudioCreated",
            Self::StudioRenamed { .. } => "StudioRenamed",
            Self::StudioSettingsUpdated { .. } => "StudioSettingsUpdated",
            Self::LocationAdded { .. } => "LocationAdded",
            Self::LocationRenamed { .. } => "LocationRenamed",
            Self::MemberAdded { .. } => "MemberAdded",
            Self::MemberInvited { .. } => "MemberInvited",
            Self::InvitationAccepted { .. } => "InvitationAccepted",
            Self::InvitationRevoked { .. } => "InvitationRevoked",
            Self::MemberRoleChanged { .. } => "MemberRoleChanged",
            Self::MemberRemoved { .. } => "MemberRemoved",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// First day of the studio's week, for calendars and weekly reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WeekStart {
    #[default]
    Monday,
    Sunday,
}

/// Studio-wide defaults that later features (scheduling, booking) read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudioSettings {
    /// Public contact address shown to clients.
    #[serde(default)]
    pub contact_email: Option<String>,
    /// Public phone number shown to clients.
    #[serde(default)]
    pub contact_phone: Option<String>,
    /// First day of the week in calendars.
    #[serde(default)]
    pub week_starts_on: WeekStart,
    /// Capacity given to a new class when none is set (1..=500).
    #[serde(default = "StudioSettings::default_capacity")]
    pub default_class_capacity: u32,
    /// How many days ahead clients may book (1..=365).
    #[serde(default = "StudioSettings::default_booking_window")]
    pub booking_window_days: u32,
    /// Free cancellation until this many hours before a class (0..=168).
    #[serde(default = "StudioSettings::default_cutoff")]
    pub cancellation_cutoff_hours: u32,
    /// Strikes (late cancels, no-shows) within `strike_window_days` that block booking
    /// (1..=20).
    #[serde(default = "StudioSettings::default_strike_limit")]
    pub strike_limit: u32,
    /// How far back strikes count (1..=365 days).
    #[serde(default = "StudioSettings::default_strike_window")]
    pub strike_window_days: u32,
    /// How long booking stays blocked after the limit is reached (0..=90 days).
    #[serde(default = "StudioSettings::default_block_days")]
    pub strike_block_days: u32,
    /// When booked clients are reminded of a class: minutes before it starts (at most 3
    /// distinct values, each 15..=10080; empty: no reminders). Default: 24 h and 1 h.
    #[serde(default = "StudioSettings::default_reminders")]
    pub reminder_minutes: Vec<u32>,
    /// The consent text clients agree to when they submit a health intake. A new
    /// wording needs a higher version (the standard text, used while none is set, is
    /// version 1); left out of an update, the current one is kept.
    #[serde(default)]
    pub health_consent: Option<crate::health::ConsentText>,
}

impl StudioSettings {
    fn default_capacity() -> u32 {
        12
    }
    fn default_booking_window() -> u32 {
        14
    }
    fn default_cutoff() -> u32 {
        12
    }
    fn default_strike_limit() -> u32 {
        3
    }
    fn default_strike_window() -> u32 {
        30
    }
    fn default_block_days() -> u32 {
        7
    }
    /// The reminder times of a studio that set none: 24 h and 1 h before.
    pub fn default_reminders() -> Vec<u32> {
        vec![24 * 60, 60]
    }

    /// The consent text health intakes are submitted under now.
    pub fn consent_text(&self) -> crate::health::ConsentText {
        self.health_consent
            .clone()
            .unwrap_or_else(crate::health::ConsentText::standard)
    }

    /// Until when a client with `strikes` strikes inside the strike window, the latest
    /// at `last`, may not book: `strike_block_days` after the strike that reached the
    /// limit (or any later one); `None` below the limit.
    pub fn blocked_until(
        &self,
        strikes: u64,
        last: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let last = last?;
        (strikes >= u64::from(self.strike_limit))
            .then(|| last + chrono::Duration::days(i64::from(self.strike_block_days)))
    }
}

impl Default for StudioSettings {
    fn default() -> Self {
        Self {
            contact_email: None,
            contact_phone: None,
            week_starts_on: WeekStart::Monday,
            default_class_capacity: Self::default_capacity(),
            booking_window_days: Self::default_booking_window(),
            cancellation_cutoff_hours: Self::default_cutoff(),
            strike_limit: Self::default_strike_limit(),
            strike_window_days: Self::default_strike_window(),
            strike_block_days: Self::default_block_days(),
            reminder_minutes: Self::default_reminders(),
            health_consent: None,
        }
    }
}
