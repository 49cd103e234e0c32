//! Accounts: people who sign in. An account is global (not owned by a studio); it joins
//! studios through memberships. Credentials are deliberately *not* in the event stream:
//! the password hash lives in a credentials table written in the same transaction as
//! the account's events, so it never reaches SQS, a read model or a log line.

mod aggregate;
mod commands;
mod error;
mod events;
mod preferences;
#[cfg(test)]
mod tests;

pub use aggregate::Account;
pub use commands::{AccountCommand, MailedLink};
pub use error::AccountError;
pub use events::AccountEvent;
pub use preferences::{
    DailyDigest, Muted, NotificationPreferences, NotifyChannel, QuietHours, APPOINTMENT_REMINDER,
    BOOKING_BLOCKED, CLASS_REMINDER, DAILY_DIGEST, INVITATION, OPTIONAL_KINDS, PASSWORD_CHANGED,
    RECOMMENDATION_READY, STAFF_ACTIVITY, WEBHOOK_DISABLED,
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An account's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct AccountId(pub Uuid);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Accounts are platform data, not a studio's: their events carry this tenant id.
pub const PLATFORM_TENANT: Uuid = Uuid::nil();
