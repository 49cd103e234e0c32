use crate::error::{DomainError, Refusal};
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("a client with this id already exists")]
    AlreadyExists,
    #[error("client not found")]
    NotFound,
    #[error("a client may have at most {max} assigned trainers")]
    TooManyTrainers { max: usize },
    #[error("this client record belongs to another account")]
    LinkedElsewhere,
    #[error("{field}: {message}")]
    InvalidIntake {
        field: &'static str,
        message: String,
    },
}

impl DomainError for ClientError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "client_already_exists",
            Self::NotFound => "client_not_found",
            Self::TooManyTrainers { .. } => "too_many_trainers",
            Self::LinkedElsewhere => "client_linked_elsewhere",
            Self::InvalidIntake { .. } => "invalid_health_intake",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::NotFound => Refusal::NotFound { what: "client" },
            Self::InvalidIntake { field, message } => Refusal::InvalidField {
                field: format!("intake.{field}"),
                code: "invalid_health_intake",
                message: message.clone(),
            },
            Self::AlreadyExists | Self::TooManyTrainers { .. } | Self::LinkedElsewhere => {
                Refusal::Rule
            }
        }
    }
}
