//! # repstream-projector
//!
//! Builds the read models (`*_view` tables) from the events the relay puts on SQS.
//!
//! ```text
//! SQS events queue ──► handle(envelope): one transaction
//!     lock the stream's checkpoint ─► skip if already applied (duplicate)
//!                                 ─► fill any gap from the events table (out of order)
//!                                 ─► apply, advance the checkpoint, NOTIFY waiters
//!     enqueue jobs (deterministic ids) ─► commit ─► delete the message
//! ```
//!
//! Because a gap is filled from the event store, an event never applies before its
//! predecessor and the view always equals a replay of the stream. A message that keeps
//! failing is retried with backoff and, after the queue's `maxReceiveCount`, moved to the
//! DLQ by SQS while the projector keeps going.
//!
//! `repstream-projector rebuild <projection>` replays a read model from the events table
//! into a fresh table and swaps it in without stopping live projection.

mod class;
mod class_type;
mod client;
mod consumer;
mod projection;
mod rebuild;
mod studio;
mod trainer;

pub use common::consumer::{run, ConsumerConfig};
pub use consumer::{Outcome, Projector};
pub use projection::{all_projections, Projection};
pub use rebuild::rebuild;
