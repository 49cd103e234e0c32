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
    #[error("{0}")]
    InvalidIntake(crate::health::FieldError),
    #[error(
        "the intake must be given under the studio's current consent text (version {current})"
    )]
    ConsentOutdated { current: u32 },
    #[error("a newer intake version ({latest}) replaced this one")]
    IntakeSuperseded { latest: u32 },
    #[error("the client withdrew consent to their health data")]
    ConsentWithdrawn,
    #[error("no recommendation for this intake version")]
    RecommendationNotFound,
    #[error("{0}")]
    InvalidReview(crate::health::FieldError),
    #[error("there is no health intake (under consent) to answer from")]
    NoIntake,
    #[error("a question is 1..=500 characters without control characters")]
    InvalidQuestion,
    #[error("no such question")]
    QuestionNotFound,
    #[error("this question id was used for another question")]
    QuestionIdTaken,
    #[error("{field}: {message}")]
    InvalidProfile {
        field: String,
        message: &'static str,
    },
}

impl DomainError for ClientError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "client_already_exists",
            Self::NotFound => "client_not_found",
            Self::TooManyTrainers { .. } => "too_many_trainers",
            Self::LinkedElsewhere => "client_linked_elsewhere",
            Self::InvalidIntake(_) => "invalid_health_intake",
            Self::ConsentOutdated { .. } => "consent_outdated",
            Self::IntakeSuperseded { .. } => "intake_superseded",
            Self::ConsentWithdrawn => "consent_withdrawn",
            Self::RecommendationNotFound => "recommendation_not_found",
            Self::InvalidReview(_) => "invalid_review",
            Self::NoIntake => "no_health_intake",
            Self::InvalidQuestion => "invalid_question",
            Self::QuestionNotFound => "question_not_found",
            Self::QuestionIdTaken => "question_id_taken",
            Self::InvalidProfile { .. } => "invalid_profile",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::NotFound => Refusal::NotFound { what: "client" },
            Self::RecommendationNotFound => Refusal::NotFound {
                what: "recommendation",
            },
            Self::QuestionNotFound => Refusal::NotFound { what: "question" },
            Self::InvalidProfile { field, message } => {
                crate::error::invalid_field(format!("profile.{field}"), message)
            }
            Self::InvalidQuestion => crate::error::invalid_field(
                "question",
                "1..=500 characters without control characters",
            ),
            Self::InvalidReview(e) => Refusal::InvalidField {
                field: e.path.clone(),
                code: e.code,
                message: e.message.clone(),
            },
            // Named by its path in the request body (`intake.pain[0].level`).
            Self::InvalidIntake(e) => Refusal::InvalidField {
                field: format!("intake.{}", e.path),
                code: e.code,
                message: e.message.clone(),
            },
            Self::AlreadyExists
            | Self::TooManyTrainers { .. }
            | Self::LinkedElsewhere
            | Self::ConsentOutdated { .. }
            | Self::IntakeSuperseded { .. }
            | Self::ConsentWithdrawn
            | Self::NoIntake
            | Self::QuestionIdTaken => Refusal::Rule,
        }
    }
}
