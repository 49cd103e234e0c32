//! # repstream-projector
//!
//! Builds the read models (`*_view` tables) from the events the relay puts on SQS.
//!
//! ```text
//! SQS events queue ──► handle_all(receive of ≤ 10 envelopes): one transaction
//!   per stream: lock its checkpoint ─► skip what is already applied (duplicates)
//!                                   ─► fill any gap from the events table (out of order)
//!                                   ─► fold the run in, advance the checkpoint once
//!   NOTIFY waiters ─► enqueue jobs (deterministic ids) ─► commit ─► delete the messages
//! ```
//!
//! One commit per receive instead of per event is what lets the projector keep up with
//! the API (`make bench`, section *sustained*). A receive that fails as a whole is
//! handled again one message at a time ([`infra::consumer`]), so one poison message
//! fails alone.
//!
//! Because a gap is filled from the event store, an event never applies before its
//! predecessor and the view always equals a replay of the stream. A message that keeps
//! failing is retried with backoff and, after the queue's `maxReceiveCount`, moved to the
//! DLQ by SQS while the projector keeps going.
//!
//! Every read model is a [`DocumentProjection`] of a `domain::view::View` (one JSON
//! document per stream, its other columns generated from it by Postgres); a view with side
//! tables or jobs adds a [`Hook`]. The list is [`all_projections`].
//!
//! `repstream-projector rebuild <projection>` replays a read model from the events table
//! into a fresh table and swaps it in without stopping live projection;
//! `repstream-projector status` prints each projection's lag, and `repstream-projector
//! dlq list|redrive` shows and moves back dead letters ([`infra::dlq`]).

mod account;
mod class;
mod client;
mod consumer;
mod document;
mod notify;
mod projection;
mod rebuild;
mod status;
mod studio;
mod trainer_calendar;
mod webhook_endpoint;
mod webhooks;

pub use account::{RESET_TEMPLATE, VERIFY_TEMPLATE};
pub use consumer::{JobQueues, Outcome, Projector};
pub use document::{DocumentProjection, Hook, Pending, Step};
pub use infra::consumer::{run, ConsumerConfig};
pub use projection::Projection;
pub use rebuild::{rebuild, rebuild_paged};
pub use status::{status, ProjectionStatus};

use domain::class::view::ClassView;
use domain::class_type::view::ClassTypeView;
use domain::client::view::ClientView;
use domain::studio::view::StudioView;
use domain::trainer_calendar::view::TrainerCalendarView;
use domain::webhook_endpoint::view::WebhookEndpointView;

/// Every projection the projector maintains: one line per view. A plain document view
/// is `DocumentProjection::<V>::new()`; a view with side tables, jobs or a column its
/// document does not hold brings a [`Hook`](crate::document::Hook).
pub fn all_projections() -> Vec<Box<dyn Projection>> {
    let mut all: Vec<Box<dyn Projection>> = vec![
        Box::new(account::AccountMail),
        Box::new(DocumentProjection::<StudioView, _>::with_hook(
            studio::StudioMail,
        )),
        Box::new(DocumentProjection::<ClientView, _>::with_hook(
            client::AiJobs,
        )),
        Box::new(DocumentProjection::<ClassTypeView>::new()),
        Box::new(DocumentProjection::<ClassView, _>::with_hook(
            class::Bookings,
        )),
        Box::new(DocumentProjection::<TrainerCalendarView, _>::with_hook(
            trainer_calendar::TrainerColumn,
        )),
        Box::new(DocumentProjection::<WebhookEndpointView, _>::with_hook(
            webhook_endpoint::DisabledNotice,
        )),
    ];
    // Webhook fan-out: one table-less projection per aggregate type with public events.
    for deliveries in webhooks::WebhookDeliveries::all() {
        all.push(Box::new(deliveries));
    }
    all
}
