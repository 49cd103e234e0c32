//! # infra
//!
//! What every repstream binary shares: configuration blocks (clap, `env =` on every
//! flag), JSON telemetry, the Postgres pool and embedded migrations, the SQS client and
//! the queue/bucket declarations, the wire event envelope, and the event store
//! (`PgEventRepository`, which writes events and their outbox rows in one transaction,
//! plus the `CommandBus` that runs a command against an aggregate).
//!
//! ```text
//! api ──► CommandBus::execute ──► Aggregate::handle ──► PgEventRepository::persist
//!                                                        └─ events + outbox, one tx
//! ```

pub mod config;
pub mod consumer;
pub mod db;
pub mod dlq;
pub mod envelope;
pub mod event_store;
pub mod hooks;
pub mod inline;
pub mod jobs;
pub mod links;
pub mod mailbox;
pub mod metrics;
pub mod s3;
pub mod shutdown;
pub mod side_effect;
pub mod sqs;
pub mod telemetry;
pub mod webhooks;
