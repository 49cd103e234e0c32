//! The webhook endpoint read model as a pure function of the endpoint's events. It
//! never holds a secret (the events do not either), only the secret's version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    DisableReason, EndpointDetails, WebhookEndpoint, WebhookEndpointEvent, WebhookEndpointId,
};
use crate::studio::StudioId;
use crate::view::View;

/// The `webhook_endpoint_view` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookEndpointView {
    pub id: WebhookEndpointId,
    pub studio_id: StudioId,
    #[serde(flatten)]
    pub details: EndpointDetails,
    /// Deliveries are made only while `true`.
    pub enabled: bool,
    /// Why it was disabled (absent while enabled).
    pub disabled_reason: Option<DisableReason>,
    /// The version of the current signing secret (1, then one more per rotation).
    pub secret_version: u32,
    /// Until when the previous secret still signs deliveries, after a rotation.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    /// Deleted endpoints are no longer listed or readable.
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl View for WebhookEndpointView {
    type Aggregate = WebhookEndpoint;
    type Event = WebhookEndpointEvent;
    const TABLE: &'static str = "webhook_endpoint_view";

    fn apply(
        current: Option<Self>,
        event: &WebhookEndpointEvent,
        sequence: u64,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        let mut view = match (current, event) {
            (
                None,
                WebhookEndpointEvent::WebhookEndpointRegistered {
                    id,
                    studio_id,
                    details,
                },
            ) => WebhookEndpointView {
                id: *id,
                studio_id: *studio_id,
                details: details.clone(),
                enabled: true,
                disabled_reason: None,
                secret_version: 1,
                previous_secret_valid_until: None,
                deleted: false,
                created_at: at,
                updated_at: at,
                version: 0,
            },
            (None, _) => return None,
            (Some(mut v), WebhookEndpointEvent::WebhookEndpointUpdated { details }) => {
                v.details = details.clone();
                v
            }
            (
                Some(mut v),
                WebhookEndpointEvent::WebhookSecretRotated {
                    version,
                    previous_valid_until,
                },
            ) => {
                v.secret_version = *version;
                v.previous_secret_valid_until = Some(*previous_valid_until);
                v
            }
            (Some(mut v), WebhookEndpointEvent::WebhookEndpointDisabled { reason }) => {
                v.enabled = false;
                v.disabled_reason = Some(*reason);
                v
            }
            (Some(mut v), WebhookEndpointEvent::WebhookEndpointEnabled) => {
                v.enabled = true;
                v.disabled_reason = None;
                v
            }
            (Some(mut v), WebhookEndpointEvent::WebhookEndpointDeleted) => {
                v.enabled = false;
                v.deleted = true;
                v
            }
            // A second registration never gets past the aggregate.
            (Some(v), WebhookEndpointEvent::WebhookEndpointRegistered { .. }) => v,
        };
        view.version = sequence;
        view.updated_at = at;
        Some(view)
    }

    fn version(&self) -> u64 {
        self.version
    }
}
