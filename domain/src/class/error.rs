use chrono::{DateTime, Utc};

use crate::error::{invalid_field, DomainError, Refusal};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    #[error("a class with this id already exists")]
    AlreadyExists,
    #[error("class not found")]
    NotFound,
    #[error("this class was cancelled")]
    ClassCancelled,
    #[error("this class has already taken place")]
    ClassOver,
    #[error("booking for this class opens at {0}")]
    BookingNotOpen(DateTime<Utc>),
    #[error("booking for this class has closed")]
    BookingClosed,
    #[error("this client already holds a booking for this class")]
    AlreadyBooked,
    #[error("booking is blocked until {0} (strike limit reached)")]
    BookingBlocked(DateTime<Utc>),
    #[error("booking not found")]
    BookingNotFound,
    #[error("this booking is not active")]
    BookingNotActive,
    #[error("check-in opens 60 minutes before the class")]
    CheckInNotOpen,
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl DomainError for ClassError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "class_already_exists",
            Self::NotFound => "class_not_found",
            Self::ClassCancelled => "class_cancelled",
            Self::ClassOver => "class_over",
            Self::BookingNotOpen(_) => "booking_not_open",
            Self::BookingClosed => "booking_closed",
            Self::AlreadyBooked => "already_booked",
            Self::BookingBlocked(_) => "booking_blocked",
            Self::BookingNotFound => "booking_not_found",
            Self::BookingNotActive => "booking_not_active",
            Self::CheckInNotOpen => "check_in_not_open",
            Self::Invalid { .. } => "validation_failed",
        }
    }

    fn refusal(&self) -> Refusal {
        match self {
            Self::NotFound => Refusal::NotFound { what: "class" },
            Self::BookingNotFound => Refusal::NotFound { what: "booking" },
            Self::Invalid { field, message } => invalid_field(*field, message),
            Self::AlreadyExists
            | Self::ClassCancelled
            | Self::ClassOver
            | Self::BookingNotOpen(_)
            | Self::BookingClosed
            | Self::AlreadyBooked
            | Self::BookingBlocked(_)
            | Self::BookingNotActive
            | Self::CheckInNotOpen => Refusal::Rule,
        }
    }
}
