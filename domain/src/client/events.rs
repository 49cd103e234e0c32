use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use super::ClientId;
use crate::account::AccountId;
use crate::studio::StudioId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientEvent {
    ClientRegistered {
        client_id: ClientId,
        studio_id: StudioId,
        full_name: DisplayName,
        email: Option<Email>,
        account_id: Option<AccountId>,
    },
    /// The client's contact and coaching details changed (the whole profile, as set).
    ClientProfileUpdated {
        profile: Box<ClientProfile>,
    },
    /// The record was archived (no new bookings; history kept) or brought back.
    ClientArchived {
        at: chrono::DateTime<chrono::Utc>,
    },
    ClientUnarchived,
    /// The free-text intake of before the health form (history only: new intakes are
    /// [`ClientEvent::HealthIntakeSubmitted`]).
    HealthIntakeRecorded {
        intake: HealthIntake,
    },
    /// A new version (1, 2, ..) of the client's health intake form, given under the
    /// consent it records.
    HealthIntakeSubmitted {
        version: u32,
        submission: Box<crate::health::HealthSubmission>,
    },
    /// The client withdrew their consent: their intake is hidden from staff and no longer
    /// processed, until they submit again (consenting anew).
    HealthConsentWithdrawn {
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The recommendation for intake version `intake_version`, as the AI worker stored
    /// it (`artifact`: its S3 key; `input_hash`: what it was computed from).
    RecommendationRecorded {
        recommendation: Box<RecommendationRecord>,
    },
    /// A trainer (or an owner/admin) accepted, edited or rejected the recommendation of
    /// intake version `intake_version`.
    RecommendationReviewed {
        intake_version: u32,
        review: Box<RecommendationReview>,
    },
    /// No recommendation could be made for intake version `intake_version`: the
    /// provider failed every attempt (`reason`: the last error, for the trainer).
    RecommendationFailed {
        intake_version: u32,
        reason: String,
        attempts: u32,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Someone who may see the client's health data asked about them (e.g. "Can she do
    /// box jumps?"); answered asynchronously.
    QuestionAsked {
        question_id: uuid::Uuid,
        question: String,
        by: AccountId,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The answer, from the latest intake and recommendation, with its sources.
    QuestionAnswered {
        question_id: uuid::Uuid,
        answer: Box<crate::health::rules::Answer>,
        /// Who answered, e.g. `rules`.
        provider: String,
        at: chrono::DateTime<chrono::Utc>,
    },
    TrainerAssigned {
        trainer_id: AccountId,
    },
    TrainerUnassigned {
        trainer_id: AccountId,
    },
    AccountLinked {
        account_id: AccountId,
    },
}

impl DomainEvent for ClientEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ClientRegistered { .. } => "ClientRegistered",
            Self::ClientProfileUpdated { .. } => "ClientProfileUpdated",
            Self::ClientArchived { .. } => "ClientArchived",
            Self::ClientUnarchived => "ClientUnarchived",
            Self::HealthIntakeRecorded { .. } => "HealthIntakeRecorded",
            Self::HealthIntakeSubmitted { .. } => "HealthIntakeSubmitted",
            Self::HealthConsentWithdrawn { .. } => "HealthConsentWithdrawn",
            Self::RecommendationRecorded { .. } => "RecommendationRecorded",
            Self::RecommendationReviewed { .. } => "RecommendationReviewed",
            Self::RecommendationFailed { .. } => "RecommendationFailed",
            Self::QuestionAsked { .. } => "QuestionAsked",
            Self::QuestionAnswered { .. } => "QuestionAnswered",
            Self::TrainerAssigned { .. } => "TrainerAssigned",
            Self::TrainerUnassigned { .. } => "TrainerUnassigned",
            Self::AccountLinked { .. } => "AccountLinked",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A recommendation for one intake version: health data, visible like the intake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendationRecord {
    pub intake_version: u32,
    pub recommendation: crate::health::Recommendation,
    /// SHA-256 (hex) of what the provider was given: the intake and the prompt version.
    pub input_hash: String,
    /// Where the full artifact (input hash, prompt version, model, raw and validated
    /// output, timings) is stored: an S3 key of the AI artifacts bucket.
    pub artifact_key: String,
    /// Who answered, e.g. `rules:2026-12` or `openai:gpt-4o-mini`.
    pub provider: String,
    /// Whether a stored artifact of the same input was reused (no provider call).
    pub reused: bool,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

/// Someone to call in an emergency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    /// 1..=200 characters.
    pub name: String,
    /// 3..=32 characters: digits, spaces and `+-()./`.
    pub phone: String,
    /// E.g. `partner` (up to 200 characters).
    #[serde(default)]
    pub relationship: Option<String>,
}

/// A client's contact and coaching details (not health data: staff who see the record
/// see these).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientProfile {
    /// 3..=32 characters: digits, spaces and `+-()./`.
    #[serde(default)]
    pub phone: Option<String>,
    /// Not in the future, not before 1900.
    #[serde(default)]
    pub date_of_birth: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub emergency_contact: Option<EmergencyContact>,
    /// What they train for (up to 4000 characters).
    #[serde(default)]
    pub goals: Option<String>,
    /// Labels for finding and grouping clients (at most 20, each 1..=40 characters).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Staff notes (up to 4000 characters).
    #[serde(default)]
    pub notes: Option<String>,
}

fn phone_ok(phone: &str) -> bool {
    (3..=32).contains(&phone.len())
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()./".contains(c))
}

fn text_ok(text: &str, max: usize, lines: bool) -> bool {
    !text.trim().is_empty()
        && text.chars().count() <= max
        && !text
            .chars()
            .any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t')))
}

impl ClientProfile {
    /// Checks every field; returns the first offending one (path, message).
    pub fn validate(&self, today: chrono::NaiveDate) -> Result<(), (String, &'static str)> {
        let bad = |path: &str, message| Err((path.to_owned(), message));
        if self.phone.as_deref().is_some_and(|p| !phone_ok(p)) {
            return bad("phone", "must be a phone number");
        }
        if let Some(dob) = self.date_of_birth {
            let earliest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(dob);
            if dob > today || dob < earliest {
                return bad("date_of_birth", "must be between 1900-01-01 and today");
            }
        }
        if let Some(c) = &self.emergency_contact {
            if !text_ok(&c.name, 200, false) {
                return bad("emergency_contact.name", "1..=200 characters");
            }
            if !phone_ok(&c.phone) {
                return bad("emergency_contact.phone", "must be a phone number");
            }
            if c.relationship
                .as_deref()
                .is_some_and(|r| !text_ok(r, 200, false))
            {
                return bad("emergency_contact.relationship", "1..=200 characters");
            }
        }
        for (path, text) in [("goals", &self.goals), ("notes", &self.notes)] {
            if text.as_deref().is_some_and(|t| !text_ok(t, 4000, true)) {
                return bad(path, "1..=4000 characters");
            }
        }
        if self.tags.len() > 20 {
            return bad("tags", "at most 20 tags");
        }
        if let Some(i) = self.tags.iter().position(|t| !text_ok(t, 40, false)) {
            return Err((format!("tags[{i}]"), "1..=40 characters"));
        }
        Ok(())
    }
}

/// What a reviewer decided about a recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Used as it is.
    Accepted,
    /// Used as the reviewer changed it (`recommendation` holds the edit).
    Edited,
    /// Not used (`note` says why).
    Rejected,
}

/// A review of a recommendation: who decided what, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendationReview {
    pub decision: ReviewDecision,
    pub by: AccountId,
    /// Why (required for a rejection; up to 2000 characters).
    pub note: Option<String>,
    /// The reviewer's version (an edit only).
    pub recommendation: Option<crate::health::Recommendation>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Longest question, in characters.
pub const MAX_QUESTION: usize = 500;

/// Longest review note, in characters.
pub const MAX_REVIEW_NOTE: usize = 2000;

impl RecommendationReview {
    /// The review's own rules: an edit carries a valid recommendation and only an edit
    /// does; a rejection says why; the note is bounded and printable.
    pub fn validate(&self) -> Result<(), crate::health::FieldError> {
        use crate::health::FieldError;
        match (self.decision, &self.recommendation) {
            (ReviewDecision::Edited, None) => {
                return Err(FieldError::new(
                    "recommendation",
                    "required",
                    "an edit needs the edited recommendation",
                ))
            }
            (ReviewDecision::Edited, Some(r)) => r.validate().map_err(|e| FieldError {
                path: format!("recommendation.{}", e.path),
                ..e
            })?,
            (ReviewDecision::Accepted | ReviewDecision::Rejected, Some(_)) => {
                return Err(FieldError::new(
                    "recommendation",
                    "not_allowed",
                    "only an edit carries a recommendation",
                ))
            }
            (ReviewDecision::Accepted | ReviewDecision::Rejected, None) => {}
        }
        match self.note.as_deref().map(str::trim) {
            None | Some("") if self.decision == ReviewDecision::Rejected => {
                Err(FieldError::new("note", "required", "a rejection says why"))
            }
            Some(note)
                if note.chars().count() > MAX_REVIEW_NOTE
                    || note.chars().any(|c| c.is_control() && c != '\n') =>
            {
                Err(FieldError::new(
                    "note",
                    "too_long",
                    "at most 2000 characters, no control characters",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Health and medical information from the intake form. Visible only per policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthIntake {
    #[serde(default)]
    pub medical_conditions: Vec<String>,
    #[serde(default)]
    pub injuries: Vec<String>,
    #[serde(default)]
    pub medications: Vec<String>,
    #[serde(default)]
    pub allergies: Vec<String>,
    /// Free text for the trainer (up to 4000 characters).
    #[serde(default)]
    pub notes: Option<String>,
}

impl HealthIntake {
    /// Checks sizes; returns the offending field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, items) in [
            ("medical_conditions", &self.medical_conditions),
            ("injuries", &self.injuries),
            ("medications", &self.medications),
            ("allergies", &self.allergies),
        ] {
            if items.len() > 50 {
                return Err((field, "at most 50 entries".into()));
            }
            if items.iter().any(|i| {
                i.trim().is_empty() || i.chars().count() > 200 || i.chars().any(char::is_control)
            }) {
                return Err((
                    field,
                    "entries must be 1..=200 characters without control characters".into(),
                ));
            }
        }
        if self
            .notes
            .as_ref()
            .is_some_and(|n| n.chars().count() > 4000)
        {
            return Err(("notes", "at most 4000 characters".into()));
        }
        Ok(())
    }
}
