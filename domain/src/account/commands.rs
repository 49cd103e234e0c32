use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::AccountId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq)]
pub enum AccountCommand {
    Register {
        account_id: AccountId,
        email: Email,
        full_name: DisplayName,
    },
    /// The new hash is written beside the event by the caller; the event only records
    /// that it happened.
    ChangePassword,
    /// Mail a (new) verification link to the account's address.
    RequestEmailVerification,
    /// The owner of the address followed a verification link.
    VerifyEmail { link: MailedLink },
    /// Mail a password-reset link to the account's address.
    RequestPasswordReset,
    /// A new password set through a reset link (the hash is written beside the event,
    /// as for [`AccountCommand::ChangePassword`]); every session ends.
    ResetPassword { link: MailedLink },
    /// Replace the account's notification preferences (no event if unchanged).
    SetNotificationPreferences {
        preferences: super::NotificationPreferences,
    },
}

/// A link the notification worker mailed to the account, as the API found it by its
/// token: single use, expiring, valid only for the address it was sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailedLink {
    pub id: Uuid,
    pub email: Email,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}
