use crate::error::{invalid_field, DomainError, Refusal};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassTypeError {
    #[error("a different class type with this id already exists")]
    AlreadyExists,
    #[error("class type not found")]
    NotFound,
    #[error("this class type is archived")]
    Archived,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl DomainError for ClassTypeError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "class_type_already_exists",
            Self::NotFound => "class_type_not_found",
            Self::Archived => "class_type_archived",
            Self::Invalid { .. } => "validation_failed",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::NotFound => Refusal::NotFound { what: "class type" },
            Self::Invalid { field, message } => invalid_field(*field, message),
            Self::AlreadyExists | Self::Archived => Refusal::Rule,
        }
    }
}
