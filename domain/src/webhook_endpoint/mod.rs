//! Webhook endpoints: where a studio wants its public events POSTed (Standard Webhooks).
//!
//! An endpoint is event-sourced like every other concept: registered, updated, its
//! signing secret rotated, disabled (by staff, or because the receiver answered `410
//! Gone`), enabled and deleted through commands. Its **secret never enters an event**:
//! the event only carries the secret's *version*, and the secret itself is derived as
//! HMAC(`WEBHOOK_SECRET_KEY`, endpoint id ‖ version) wherever it is needed (`infra::webhooks`),
//! so the event store, the outbox and SQS never hold anything that signs a delivery.
//!
//! ```text
//! register ─► WebhookEndpointRegistered (secret v1) ─► directory row (same commit)
//! rotate   ─► WebhookSecretRotated (v2, v1 valid 24 h more: both signatures are sent)
//! 410      ─► worker: Disable { reason: gone } ─► no new deliveries
//! ```
//!
//! What an endpoint may subscribe to is a fixed catalogue ([`EVENT_TYPES`]), or `*`.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;
pub mod view;

pub use aggregate::WebhookEndpoint;
pub use commands::{EndpointChanges, WebhookEndpointCommand};
pub use error::WebhookEndpointError;
pub use events::{DisableReason, EndpointDetails, WebhookEndpointEvent};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct WebhookEndpointId(pub Uuid);

/// The public event types an endpoint may subscribe to. Their payloads are a stable
/// contract (`{ "type", "timestamp", "data" }`), not the internal event shapes, so
/// renaming an internal event never breaks a receiver.
pub const EVENT_TYPES: [&str; 10] = [
    "booking.created",
    "booking.waitlisted",
    "booking.cancelled",
    "booking.promoted",
    "class.scheduled",
    "class.cancelled",
    "client.created",
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
];

/// Subscribes to every type of [`EVENT_TYPES`], including ones added later.
pub const ALL_EVENTS: &str = "*";

/// The type of the event `POST …/webhooks/{id}/test` sends (to any endpoint, whatever it
/// subscribed to).
pub const TEST_EVENT: &str = "webhook.test";

/// Longest accepted endpoint URL.
pub const MAX_URL_CHARS: usize = 2048;

/// How long the previous secret still signs deliveries after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
