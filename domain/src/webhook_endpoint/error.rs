use crate::error::{invalid_field, DomainError, Refusal};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookEndpointError {
    #[error("a different webhook endpoint with this id already exists")]
    AlreadyExists,
    #[error("webhook endpoint not found")]
    NotFound,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl DomainError for WebhookEndpointError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "webhook_already_exists",
            Self::NotFound => "webhook_not_found",
            Self::Invalid { .. } => "validation_failed",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::NotFound => Refusal::NotFound {
                what: "webhook endpoint",
            },
            Self::Invalid { field, message } => invalid_field(*field, message),
            Self::AlreadyExists => Refusal::Rule,
        }
    }
}
