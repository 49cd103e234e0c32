//! # repstream domain
//!
//! The business rules of repstream, free of IO: aggregates (cqrs-es 0.5), their commands,
//! events and errors, the value types parsed at the boundary, and the *pure* projection
//! functions that turn events into read-model documents.
//!
//! Where this sits in the flow:
//!
//! ```text
//! api ──► Aggregate::handle (here) ──► events ──► event store + outbox (infra)
//! projector ──► View::apply (here, `view::View`) ──► *_view tables
//! ```
//!
//! Nothing in this crate touches Postgres, SQS or HTTP, so its tests run in milliseconds
//! and never wait for infrastructure.

#![deny(clippy::wildcard_enum_match_arm)]

pub mod account;
pub mod class;
pub mod class_type;
pub mod client;
pub mod error;
pub mod health;
pub mod policy;
pub mod scheduling;
pub mod studio;
pub mod trainer_calendar;
pub mod values;
pub mod view;
pub mod webhook_endpoint;

/// Metadata keys carried on every event (cqrs-es copies one metadata map onto every
/// event of a commit). The event store and the wire envelope read them by these names.
pub mod metadata {
    /// The tenant (studio) that owns the event. Required: the event store refuses a
    /// commit without it, so no tenant-less row can ever exist.
    pub const TENANT_ID: &str = "tenant_id";
    /// Ties together everything caused by one user action, across services.
    pub const CORRELATION_ID: &str = "correlation_id";
    /// The id of the message (event, job or request) that directly caused this one.
    pub const CAUSATION_ID: &str = "causation_id";
    /// Who did it: a user id, `system:<worker>` or `anonymous`.
    pub const ACTOR: &str = "actor";
    /// The HTTP request id, when the command came in over HTTP.
    pub const REQUEST_ID: &str = "request_id";
    /// The client's IP address (audit only: kept in the store, not sent on the wire).
    pub const IP: &str = "ip";
    /// The client's user agent (audit only, like `IP`).
    pub const USER_AGENT: &str = "user_agent";
    /// The W3C trace context of the request that caused the event (OpenTelemetry).
    pub const TRACEPARENT: &str = "traceparent";
}
