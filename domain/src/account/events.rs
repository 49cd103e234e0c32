use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::AccountId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AccountEvent {
    AccountRegistered {
        account_id: AccountId,
        email: Email,
        full_name: DisplayName,
    },
    PasswordChanged,
}

impl DomainEvent for AccountEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AccountRegistered { .. } => "AccountRegistered",
            Self::PasswordChanged => "PasswordChanged",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
