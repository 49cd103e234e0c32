//! # Health: intake, recommendation, rules engine
//!
//! What a client tells a studio about their health, and what a trainer should do with
//! it. Three parts, all pure:
//!
//! - [`HealthSubmission`] (`intake.rs`): the versioned content of the health intake form:
//!   the seven PAR-Q+ 2023 general questions, diagnosed conditions, injuries, surgeries,
//!   medications, pregnancy or postpartum, pain, fitness level and free text, recorded
//!   under a [`Consent`] to a studio's [`ConsentText`].
//! - [`Recommendation`] (`recommendation.rs`): the answer every provider gives: whether
//!   medical clearance is needed, movements to avoid, focus areas, intensity and a
//!   first-week plan. [`Recommendation::json_schema`] is the schema an LLM is asked to
//!   fill, and [`Recommendation::validate`] checks what comes back.
//! - [`rules`]: the deterministic provider, used when no LLM is configured and as a
//!   safety net beside one. Every rule is a row of a static table with its source.
//!
//! Where this sits in the flow:
//!
//! ```text
//! client submits intake ──► HealthSubmission::validate (here) ──► event
//!   ──► projector emits an AI job ──► worker runs a provider:
//!         LLM (Recommendation::json_schema, then Recommendation::validate)
//!         or rules::recommend (here)
//!   ──► RecordRecommendation command
//! trainer asks "can she do box jumps?" ──► rules::answer (here)
//! ```
//!
//! An LLM's plan is held to the engine's promise: every [`Exercise`] names the movement
//! codes it involves (the [`rules::Movement`] vocabulary), and
//! [`Recommendation::validate`] refuses a plan that uses a movement its own
//! contraindications rule out. Tests: `cargo test -p domain health`.
//!
//! Health data never reaches logs: every type that carries it has a `Debug` that prints
//! at most counts (`HealthSubmission { form_version: 1, 3 conditions, 1 injury, .. }`).
//! The vocabulary enums (`BodyArea`, `MedicalCondition`, ..) keep their derived `Debug`:
//! alone they say nothing about a person, and every type that ties them to one redacts.

mod consent;
mod intake;
mod recommendation;
pub mod rules;
#[cfg(test)]
mod tests;

pub use consent::{Consent, ConsentText, STANDARD_CONSENT_TEXT};
pub use intake::{
    BodyArea, ConditionEntry, DateOrMonthsAgo, Delivery, FitnessLevel, HealthSubmission, Injury,
    InjuryStatus, Maternity, MedicalCondition, Medication, MedicationFlag, PainArea, ParqAnswer,
    ParqAnswers, ParqFollowUp, ParqQuestion, Side, Surgery, SurgeryKind, FORM_VERSION,
};
pub use recommendation::{
    ClearanceReason, Contraindication, Exercise, FocusArea, Intensity, MedicalClearance,
    Recommendation, Session,
};

use crate::error::Refusal;

/// Most entries any list in a submission or recommendation may hold.
pub const MAX_LIST: usize = 50;
/// Longest short text (names, codes, titles), in characters.
pub const MAX_SHORT_TEXT: usize = 200;
/// Longest free text (notes, summaries, reasons), in characters.
pub const MAX_LONG_TEXT: usize = 4000;

/// Why a submission, consent text or recommendation was refused: the offending field by
/// its path in the JSON document (`injuries[2].note`), a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Path of the field in the document, e.g. `parq.chest_pain.follow_up`.
    pub path: String,
    /// Stable machine-readable reason: `required`, `too_many`, `too_long`, `blank`,
    /// `control_characters`, `out_of_range`, `not_allowed`, `duplicate`, `invalid_code`,
    /// `in_the_future`, `unsupported_version`, `contraindicated`.
    pub code: &'static str,
    /// Human-readable explanation. Never contains the field's value (it may be health
    /// data).
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }

    /// How the API answers it: 422 naming the field.
    pub fn refusal(&self) -> Refusal {
        Refusal::InvalidField {
            field: self.path.clone(),
            code: self.code,
            message: self.message.clone(),
        }
    }
}

/// Bounds checks shared by the intake and the recommendation, so both refuse the same
/// way. Messages never quote the value: it may be health data.
pub(crate) mod check {
    use super::{FieldError, MAX_LIST, MAX_LONG_TEXT, MAX_SHORT_TEXT};

    /// At most [`MAX_LIST`] entries.
    pub(crate) fn list<T>(path: &str, items: &[T]) -> Result<(), FieldError> {
        list_between(path, items, 0, MAX_LIST)
    }

    pub(crate) fn list_between<T>(
        path: &str,
        items: &[T],
        min: usize,
        max: usize,
    ) -> Result<(), FieldError> {
        if items.len() < min {
            return Err(FieldError::new(
                path,
                "required",
                format!("at least {min} entries"),
            ));
        }
        if items.len() > max {
            return Err(FieldError::new(
                path,
                "too_many",
                format!("at most {max} entries"),
            ));
        }
        Ok(())
    }

    /// 1..=[`MAX_SHORT_TEXT`] characters, not blank, no control characters at all.
    pub(crate) fn short_text(path: &str, text: &str) -> Result<(), FieldError> {
        text_within(path, text, MAX_SHORT_TEXT, |c| c.is_control())
    }

    /// 1..=[`MAX_LONG_TEXT`] characters, not blank; line breaks and tabs are allowed (a
    /// textarea sends them), other control characters are not.
    pub(crate) fn long_text(path: &str, text: &str) -> Result<(), FieldError> {
        text_within(path, text, MAX_LONG_TEXT, |c| {
            c.is_control() && !matches!(c, '\n' | '\r' | '\t')
        })
    }

    pub(crate) fn text_within(
        path: &str,
        text: &str,
        max: usize,
        forbidden: impl Fn(char) -> bool,
    ) -> Result<(), FieldError> {
        if text.trim().is_empty() {
            return Err(FieldError::new(path, "blank", "must not be blank"));
        }
        if text.chars().count() > max {
            return Err(FieldError::new(
                path,
                "too_long",
                format!("at most {max} characters"),
            ));
        }
        if text.chars().any(forbidden) {
            return Err(FieldError::new(
                path,
                "control_characters",
                "must not contain control characters",
            ));
        }
        Ok(())
    }

    /// A stable code: `a-z`, digits and `_`, starting with a letter, at most 64
    /// characters (`deep_loaded_knee_flexion`).
    pub(crate) fn code(path: &str, code: &str) -> Result<(), FieldError> {
        let valid = (1..=64).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid {
            Ok(())
        } else {
            Err(FieldError::new(
                path,
                "invalid_code",
                "must be a snake_case code of at most 64 characters",
            ))
        }
    }

    /// `value` within `min..=max`.
    pub(crate) fn range<T: PartialOrd + std::fmt::Display>(
        path: &str,
        value: T,
        min: T,
        max: T,
    ) -> Result<(), FieldError> {
        if value < min || value > max {
            return Err(FieldError::new(
                path,
                "out_of_range",
                format!("must be within {min}..={max}"),
            ));
        }
        Ok(())
    }
}

/// `Debug` that prints only the type's name, for types whose every field may be health
/// data: `Injury { .. }`.
macro_rules! redacted_debug {
    ($($ty:ty),+ $(,)?) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    )+};
}
pub(crate) use redacted_debug;
