use super::ClientId;
use crate::account::AccountId;
use crate::studio::StudioId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    Register {
        client_id: ClientId,
        studio_id: StudioId,
        full_name: DisplayName,
        email: Option<Email>,
        account_id: Option<AccountId>,
    },
    /// Sets the client's profile (the whole of it; the same again is a no-op). `today`
    /// bounds the date of birth.
    UpdateProfile {
        profile: Box<super::ClientProfile>,
        today: chrono::NaiveDate,
    },
    /// Archives the record (no new bookings; its history stays), or brings it back.
    Archive {
        at: chrono::DateTime<chrono::Utc>,
    },
    Unarchive,
    /// Submits a new version of the health intake. Its consent must be to the studio's
    /// current consent text (`current_consent`, its version); submitting the same form
    /// again is a no-op retry.
    SubmitHealthIntake {
        submission: Box<crate::health::HealthSubmission>,
        current_consent: u32,
    },
    /// Records the AI worker's recommendation for an intake version. Refused for a
    /// version that is not the latest (`intake_superseded`) or once consent was
    /// withdrawn (`consent_withdrawn`); a second one for the same version is a no-op.
    RecordRecommendation {
        recommendation: Box<super::RecommendationRecord>,
    },
    /// Records that no recommendation could be made for an intake version (the AI
    /// worker, after its last attempt). A no-op once recorded or recommended.
    RecordRecommendationFailure {
        intake_version: u32,
        reason: String,
        attempts: u32,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Reviews the recommendation of intake version `intake_version` (the same review
    /// again is a no-op; a later one replaces it).
    ReviewRecommendation {
        intake_version: u32,
        review: Box<super::RecommendationReview>,
    },
    /// Asks about the client (1..=500 characters). Needs an intake under consent; the
    /// same id again is a retry (answered once).
    AskQuestion {
        question_id: uuid::Uuid,
        question: String,
        by: AccountId,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The AI worker's answer to a question (a second one is a no-op).
    AnswerQuestion {
        question_id: uuid::Uuid,
        answer: Box<crate::health::rules::Answer>,
        provider: String,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Withdraws consent to the health data (a no-op when there is none to withdraw).
    WithdrawHealthConsent {
        at: chrono::DateTime<chrono::Utc>,
    },
    AssignTrainer {
        trainer_id: AccountId,
    },
    UnassignTrainer {
        trainer_id: AccountId,
    },
    /// Ties the record to the person's account (they joined the studio as a client and
    /// an unlinked record with their email existed). Linking the same account again is
    /// a no-op; a record linked to another account is refused.
    LinkAccount {
        account_id: AccountId,
    },
}
