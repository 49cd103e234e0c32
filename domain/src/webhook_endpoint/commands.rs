use chrono::{DateTime, Utc};

use super::{DisableReason, EndpointDetails, WebhookEndpointId};
use crate::studio::StudioId;

#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEndpointCommand {
    /// The URL was checked against the SSRF rules before (that needs DNS, which the
    /// domain does not do).
    Register {
        id: WebhookEndpointId,
        studio_id: StudioId,
        details: EndpointDetails,
    },
    /// Changes what is given, keeps the rest.
    Update {
        changes: EndpointChanges,
    },
    /// A new secret version; the current one stays valid until `now` + 24 h.
    RotateSecret {
        now: DateTime<Utc>,
    },
    /// No deliveries until enabled again.
    Disable {
        reason: DisableReason,
    },
    Enable,
    /// For good: the endpoint's id is never registered again.
    Delete,
}

/// A partial update (`PATCH`): `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
}
