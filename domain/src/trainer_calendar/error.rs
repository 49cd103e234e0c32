use crate::error::{invalid_field, DomainError, Refusal};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainerCalendarError {
    #[error("this trainer has not published availability")]
    NoAvailability,
    #[error("this slot is not available")]
    SlotUnavailable,
    #[error("appointment not found")]
    AppointmentNotFound,
    #[error("this appointment id is already used by another appointment")]
    AppointmentIdTaken,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl DomainError for TrainerCalendarError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoAvailability => "no_availability",
            Self::SlotUnavailable => "slot_unavailable",
            Self::AppointmentNotFound => "appointment_not_found",
            Self::AppointmentIdTaken => "appointment_id_taken",
            Self::Invalid { .. } => "validation_failed",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::AppointmentNotFound => Refusal::NotFound {
                what: "appointment",
            },
            Self::Invalid { field, message } => invalid_field(*field, message),
            Self::NoAvailability | Self::SlotUnavailable | Self::AppointmentIdTaken => {
                Refusal::Rule
            }
        }
    }
}
