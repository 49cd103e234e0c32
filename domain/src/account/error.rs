use crate::error::{DomainError, Refusal};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("this account already exists")]
    AlreadyRegistered,
    #[error("account not found")]
    NotFound,
    #[error("the email address is verified already")]
    EmailAlreadyVerified,
    /// A link for another address than the account's (or for no account).
    #[error("no such link")]
    LinkNotFound,
    #[error("this link has expired: ask for a new one")]
    LinkExpired,
    #[error("this link has been used already")]
    LinkUsed,
    #[error("{message}")]
    InvalidPreferences {
        field: &'static str,
        message: String,
    },
}

impl DomainError for AccountError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyRegistered => "email_taken",
            Self::NotFound => "account_not_found",
            Self::EmailAlreadyVerified => "email_already_verified",
            Self::LinkNotFound => "link_not_found",
            Self::LinkExpired => "link_expired",
            Self::LinkUsed => "link_used",
            Self::InvalidPreferences { .. } => "invalid_preferences",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::AlreadyRegistered => Refusal::Conflict,
            Self::NotFound => Refusal::NotFound { what: "account" },
            Self::LinkNotFound => Refusal::NotFound { what: "link" },
            Self::EmailAlreadyVerified | Self::LinkExpired | Self::LinkUsed => Refusal::Rule,
            Self::InvalidPreferences { field, message } => Refusal::InvalidField {
                field: (*field).to_owned(),
                code: "invalid_preferences",
                message: message.clone(),
            },
        }
    }
}
