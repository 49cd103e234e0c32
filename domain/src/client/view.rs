//! The client read model as a pure function of the client's events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Client, ClientEvent, ClientId, HealthIntake};
use crate::account::AccountId;
use crate::studio::StudioId;
use crate::view::View;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientView {
    pub id: ClientId,
    pub studio_id: StudioId,
    pub full_name: String,
    pub email: Option<String>,
    /// The client's own account, when they can sign in.
    pub account_id: Option<AccountId>,
    pub assigned_trainers: Vec<AccountId>,
    /// Contact and coaching details.
    #[serde(default)]
    pub profile: super::ClientProfile,
    /// When the record was archived (no new bookings); absent while active.
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    /// Health and medical fields. Absent from responses to anyone the policy does not
    /// allow to see them (see `health_visible`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthIntake>,
    /// The latest health intake form (absent after consent was withdrawn, and to anyone
    /// the policy does not allow to see health data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake: Option<crate::health::HealthSubmission>,
    /// Its version: 1, 2, .. (0: none submitted).
    #[serde(default)]
    pub intake_version: u32,
    /// When the client withdrew consent to their health data (until they submit again).
    #[serde(default)]
    pub consent_withdrawn_at: Option<DateTime<Utc>>,
    /// Recommendations, one per intake version, oldest first (health data: hidden like
    /// the intake).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<super::RecommendationRecord>,
    /// The latest review of each reviewed intake version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<(u32, super::RecommendationReview)>,
    /// Intake versions no recommendation could be made for, and why (oldest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommendation_failures: Vec<RecommendationFailure>,
    /// Questions about the client and their answers, oldest first (health data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<QuestionView>,
    /// Whether the response includes the health fields the caller may see.
    #[serde(default)]
    pub health_visible: bool,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why no recommendation was made for an intake version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecommendationFailure {
    pub intake_version: u32,
    /// The provider's last error.
    pub reason: String,
    pub attempts: u32,
    pub at: DateTime<Utc>,
}

/// A question about the client and its answer (absent until answered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuestionView {
    pub id: uuid::Uuid,
    pub question: String,
    pub asked_by: AccountId,
    pub asked_at: DateTime<Utc>,
    pub answer: Option<crate::health::rules::Answer>,
    /// The provider that answered, e.g. `rules`.
    pub answered_by: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl ClientView {
    /// The record without its health and medical fields.
    pub fn without_health(mut self) -> Self {
        self.health = None;
        self.intake = None;
        self.recommendations.clear();
        self.reviews.clear();
        self.questions.clear();
        self.recommendation_failures.clear();
        self.health_visible = false;
        self
    }
}

pub fn apply(
    view: Option<ClientView>,
    event: &ClientEvent,
    sequence: u64,
    at: DateTime<Utc>,
) -> Option<ClientView> {
    let mut view = match (view, event) {
        (
            None,
            ClientEvent::ClientRegistered {
                client_id,
                studio_id,
                full_name,
                email,
                account_id,
            },
        ) => ClientView {
            id: *client_id,
            studio_id: *studio_id,
            full_name: full_name.to_string(),
            email: email.as_ref().map(ToString::to_string),
            account_id: *account_id,
            assigned_trainers: Vec::new(),
            profile: super::ClientProfile::default(),
            archived_at: None,
            health: None,
            intake: None,
            intake_version: 0,
            consent_withdrawn_at: None,
            recommendations: Vec::new(),
            reviews: Vec::new(),
            questions: Vec::new(),
            recommendation_failures: Vec::new(),
            health_visible: true,
            version: sequence,
            created_at: at,
            updated_at: at,
        },
        (None, _) => return None,
        (Some(mut view), event) => {
            match event {
                ClientEvent::ClientRegistered { .. } => {}
                ClientEvent::ClientProfileUpdated { profile } => view.profile = (**profile).clone(),
                ClientEvent::ClientArchived { at } => view.archived_at = Some(*at),
                ClientEvent::ClientUnarchived => view.archived_at = None,
                ClientEvent::HealthIntakeRecorded { intake } => view.health = Some(intake.clone()),
                ClientEvent::HealthIntakeSubmitted {
                    version,
                    submission,
                } => {
                    view.intake = Some((**submission).clone());
                    view.intake_version = *version;
                    view.consent_withdrawn_at = None;
                }
                // Withdrawn consent hides every health field, the old free text too.
                ClientEvent::HealthConsentWithdrawn { at } => {
                    view.intake = None;
                    view.health = None;
                    view.recommendations.clear();
                    view.reviews.clear();
                    view.questions.clear();
                    view.consent_withdrawn_at = Some(*at);
                }
                ClientEvent::RecommendationRecorded { recommendation } => {
                    view.recommendations.push((**recommendation).clone());
                }
                ClientEvent::RecommendationReviewed {
                    intake_version,
                    review,
                } => {
                    view.reviews.retain(|(v, _)| v != intake_version);
                    view.reviews.push((*intake_version, (**review).clone()));
                }
                ClientEvent::RecommendationFailed {
                    intake_version,
                    reason,
                    attempts,
                    at,
                } => view.recommendation_failures.push(RecommendationFailure {
                    intake_version: *intake_version,
                    reason: reason.clone(),
                    attempts: *attempts,
                    at: *at,
                }),
                ClientEvent::QuestionAsked {
                    question_id,
                    question,
                    by,
                    at,
                } => view.questions.push(QuestionView {
                    id: *question_id,
                    question: question.clone(),
                    asked_by: *by,
                    asked_at: *at,
                    answer: None,
                    answered_by: None,
                    answered_at: None,
                }),
                ClientEvent::QuestionAnswered {
                    question_id,
                    answer,
                    provider,
                    at,
                } => {
                    for q in view.questions.iter_mut().filter(|q| q.id == *question_id) {
                        q.answer = Some((**answer).clone());
                        q.answered_by = Some(provider.clone());
                        q.answered_at = Some(*at);
                    }
                }
                ClientEvent::TrainerAssigned { trainer_id } => {
                    view.assigned_trainers.push(*trainer_id)
                }
                ClientEvent::TrainerUnassigned { trainer_id } => {
                    view.assigned_trainers.retain(|t| t != trainer_id);
                }
                ClientEvent::AccountLinked { account_id } => view.account_id = Some(*account_id),
            }
            view
        }
    };
    view.version = sequence;
    view.updated_at = at;
    Some(view)
}

impl View for ClientView {
    type Aggregate = Client;
    type Event = ClientEvent;
    const TABLE: &'static str = "client_view";

    fn apply(
        current: Option<Self>,
        event: &ClientEvent,
        sequence: u64,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        apply(current, event, sequence, at)
    }

    fn version(&self) -> u64 {
        self.version
    }
}
