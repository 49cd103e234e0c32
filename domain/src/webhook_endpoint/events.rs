use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::WebhookEndpointId;
use crate::studio::StudioId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum WebhookEndpointEvent {
    /// Starts with secret version 1.
    WebhookEndpointRegistered {
        id: WebhookEndpointId,
        studio_id: StudioId,
        details: EndpointDetails,
    },
    WebhookEndpointUpdated {
        details: EndpointDetails,
    },
    /// The secret is now `version`; the one before it signs too until
    /// `previous_valid_until`. Never the secret itself.
    WebhookSecretRotated {
        version: u32,
        previous_valid_until: DateTime<Utc>,
    },
    WebhookEndpointDisabled {
        reason: DisableReason,
    },
    WebhookEndpointEnabled,
    WebhookEndpointDeleted,
}

impl DomainEvent for WebhookEndpointEvent {
    fn event_type(&self) -> String {
        match self {
            Self::WebhookEndpointRegistered { .. } => "WebhookEndpointRegistered",
            Self::WebhookEndpointUpdated { .. } => "WebhookEndpointUpdated",
            Self::WebhookSecretRotated { .. } => "WebhookSecretRotated",
            Self::WebhookEndpointDisabled { .. } => "WebhookEndpointDisabled",
            Self::WebhookEndpointEnabled => "WebhookEndpointEnabled",
            Self::WebhookEndpointDeleted => "WebhookEndpointDeleted",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// Where deliveries go and what they carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointDetails {
    /// `https://…` (http only in development), at most 2048 characters, no userinfo.
    pub url: String,
    /// Catalogue types, or `["*"]` for all; sorted, without duplicates.
    pub event_types: Vec<String>,
    /// Up to 500 characters.
    pub description: Option<String>,
}

/// Why an endpoint stopped receiving deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisableReason {
    /// A member of staff disabled it.
    Staff,
    /// The receiver answered `410 Gone`: it asked us to stop.
    Gone,
    /// Every delivery to it failed for days (the delivery worker's
    /// `WEBHOOK_DISABLE_AFTER_DAYS`).
    Failing,
}

impl DisableReason {
    /// Whether the endpoint stopped on its own (staff did not disable it): the studio's
    /// owners and admins are told.
    pub fn is_automatic(self) -> bool {
        match self {
            Self::Staff => false,
            Self::Gone | Self::Failing => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Gone => "gone",
            Self::Failing => "failing",
        }
    }
}
