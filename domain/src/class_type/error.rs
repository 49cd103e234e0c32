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

impl ClassTypeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "class_type_already_exists",
            Self::NotFound => "class_type_not_found",
            Self::Archived => "class_type_archived",
            Self::Invalid { .. } => "validation_failed",
        }
    }
}
