//! # repstream-workers
//!
//! Side effects, driven by job queues and schedules. The notification worker renders a
//! [`NotificationJob`](infra::jobs::NotificationJob) and hands it to a [`Notifier`].
//!
//! ```text
//! projector ──job (id derived from the event)──► SQS notifications queue
//!     ──► NotificationWorker: skip if already processed ─► render ─► Notifier::send
//!         ─► record the job id as processed ─► delete the message
//! ```
//!
//! Providers we cannot reach from here sit behind [`Notifier`]: [`SmtpNotifier`]
//! (`SMTP_URL`) in production; the default, [`MailboxNotifier`], writes each message as
//! an RFC 5322 `.eml` file into a folder (open them with any mail client, or list them
//! at the API's dev-only `/dev/mailbox`), named by job id so a redelivery overwrites
//! instead of duplicating.
//!
//! [`attendance`] settles classes after they end (no-shows), reporting back as
//! commands through the class aggregate; [`reminders`] enqueues class reminders when
//! they fall due. [`webhooks`] delivers the studios' webhooks (Standard Webhooks),
//! reporting a `410 Gone` back as a command through the endpoint's aggregate. [`ai`]
//! turns health intakes into recommendations (its own queue, artifacts in S3), reported
//! back through the client's aggregate.

pub mod ai;
pub mod attendance;
pub mod digests;
mod mail;
mod notifications;
pub mod openai;
pub mod reminders;
pub mod templates;
pub mod webhooks;

pub use mail::{message, sender, MailboxNotifier, Notifier, RenderedMessage, SmtpNotifier};
pub use notifications::{budget_of, link_of, render, LinkSettings, NotificationWorker};
