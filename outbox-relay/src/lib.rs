//! # repstream-outbox-relay
//!
//! Moves committed outbox rows to the SQS FIFO events queue.
//!
//! ```text
//! outbox (published_at IS NULL) ──claim FOR UPDATE SKIP LOCKED──► lanes ──SendMessageBatch──► SQS
//!        ◄──────────── mark published (same transaction as the claim) ────────────┘
//! ```
//!
//! * **One active relay.** A session advisory lock elects the leader; standbys retry
//!   until the leader's session ends, then one of them takes over.
//! * **Never skips.** Rows are read by state (`published_at IS NULL`), never by a
//!   "last id seen" cursor, so a transaction that commits late is still picked up.
//! * **Order per aggregate.** MessageGroupId is the aggregate id. Claimed rows are
//!   split into lanes by aggregate, each lane sends its batches in order and stops at the
//!   first failure; lanes run concurrently ("several batches in flight").
//! * **At-least-once.** Rows are marked published only after SQS accepted them; a crash in
//!   between re-sends them (SQS deduplicates on the event id within its 5-minute window,
//!   and every consumer is idempotent beyond it).
//!
//! * **Poison stays with its aggregate.** Bodies are SQS-safe ([`infra::sqs::message_body`])
//!   and envelopes bounded when they are made; batches are bounded by bytes as well as
//!   count. A row SQS refuses as the sender's fault blocks only its own aggregate, and
//!   after `park_after` refusals it is **parked** with its reason ([`ops`]). Failures
//!   that are not the message's fault (SQS unreachable or slow: every call has a
//!   timeout) back off without counting against any row.
//!
//! Run: `repstream-outbox-relay` (see `--help` for settings); `repstream-outbox-relay
//! status` and `repstream-outbox-relay parked list|retry|discard` operate the outbox.

pub mod ops;
mod relay;

pub use relay::{
    connect_options, run, Claimed, DrainOutcome, OutboxRow, Relay, RelayConfig, Round, SendReport,
    LEADER_LOCK_KEY,
};
