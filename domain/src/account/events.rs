use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AccountId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AccountEvent {
    /// Also asks for the first verification mail.
    AccountRegistered {
        account_id: AccountId,
        email: Email,
        full_name: DisplayName,
    },
    PasswordChanged,
    EmailVerificationRequested {
        email: Email,
    },
    EmailVerified {
        email: Email,
        /// The mailed link that proved it (spent from now on).
        link_id: Uuid,
    },
    PasswordResetRequested {
        email: Email,
    },
    PasswordReset {
        link_id: Uuid,
    },
    NotificationPreferencesChanged {
        preferences: super::NotificationPreferences,
    },
}

impl DomainEvent for AccountEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AccountRegistered { .. } => "AccountRegistered",
            Self::PasswordChanged => "PasswordChanged",
            Self::EmailVerificationRequested { .. } => "EmailVerificationRequested",
            Self::EmailVerified { .. } => "EmailVerified",
            Self::PasswordResetRequested { .. } => "PasswordResetRequested",
            Self::PasswordReset { .. } => "PasswordReset",
            Self::NotificationPreferencesChanged { .. } => "NotificationPreferencesChanged",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
