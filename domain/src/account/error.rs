use crate::error::{DomainError, Refusal};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("this account already exists")]
    AlreadyRegistered,
    #[error("account not found")]
    NotFound,
}

impl DomainError for AccountError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyRegistered => "email_taken",
            Self::NotFound => "account_not_found",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::AlreadyRegistered => Refusal::Conflict,
            Self::NotFound => Refusal::NotFound { what: "account" },
        }
    }
}
