use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{ClientCommand, ClientError, ClientEvent, ClientId};
use crate::account::AccountId;
use crate::health::HealthSubmission;
use crate::studio::StudioId;
use crate::values::{DisplayName, Email};

/// Most trainers assigned to one client at once.
pub const MAX_TRAINERS: usize = 10;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Client {
    id: Option<ClientId>,
    #[serde(default)]
    account: Option<AccountId>,
    trainers: Vec<AccountId>,
    /// The latest submitted intake form and its version (0: none yet).
    #[serde(default)]
    submission: Option<HealthSubmission>,
    #[serde(default)]
    intake_version: u32,
    #[serde(default)]
    consent_withdrawn: bool,
    /// The intake version the latest recommendation is for (0: none).
    #[serde(default)]
    recommended_version: u32,
    /// The latest review of each reviewed intake version.
    #[serde(default)]
    reviews: Vec<(u32, super::RecommendationReview)>,
    /// Questions asked: id, text, answered yet.
    #[serde(default)]
    questions: Vec<(uuid::Uuid, String, bool)>,
    /// Intake versions no recommendation could be made for.
    #[serde(default)]
    failed_versions: Vec<u32>,
    #[serde(default)]
    profile: super::ClientProfile,
    #[serde(default)]
    archived: bool,
}

impl Aggregate for Client {
    const TYPE: &'static str = "client";
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = ClientError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        if !matches!(command, ClientCommand::Register { .. }) && self.id.is_none() {
            return Err(ClientError::NotFound);
        }
        match command {
            ClientCommand::Register {
                client_id,
                studio_id,
                full_name,
                email,
                account_id,
            } => {
                self.register(client_id, studio_id, full_name, email, account_id, sink)
                    .await
            }
            ClientCommand::UpdateProfile { profile, today } => {
                profile
                    .validate(today)
                    .map_err(|(field, message)| ClientError::InvalidProfile { field, message })?;
                if *profile != self.profile {
                    sink.write(ClientEvent::ClientProfileUpdated { profile }, self)
                        .await;
                }
                Ok(())
            }
            ClientCommand::Archive { at } => {
                if !self.archived {
                    sink.write(ClientEvent::ClientArchived { at }, self).await;
                }
                Ok(())
            }
            ClientCommand::Unarchive => {
                if self.archived {
                    sink.write(ClientEvent::ClientUnarchived, self).await;
                }
                Ok(())
            }
            ClientCommand::SubmitHealthIntake {
                submission,
                current_consent,
            } => {
                self.submit_health_intake(submission, current_consent, sink)
                    .await
            }
            ClientCommand::RecordRecommendation { recommendation } => {
                self.record_recommendation(recommendation, sink).await
            }
            ClientCommand::ReviewRecommendation {
                intake_version,
                review,
            } => self.review(intake_version, review, sink).await,
            ClientCommand::RecordRecommendationFailure {
                intake_version,
                reason,
                attempts,
                at,
            } => {
                let done = self.recommended_version == intake_version
                    || self.failed_versions.contains(&intake_version);
                if !done && intake_version > 0 && intake_version <= self.intake_version {
                    // Bounded: the reason is an error message, shown to the trainer.
                    let reason: String = reason.chars().take(500).collect();
                    let event = ClientEvent::RecommendationFailed {
                        intake_version,
                        reason,
                        attempts,
                        at,
                    };
                    sink.write(event, self).await;
                }
                Ok(())
            }
            ClientCommand::AskQuestion {
                question_id,
                question,
                by,
                at,
            } => self.ask(question_id, question, by, at, sink).await,
            ClientCommand::AnswerQuestion {
                question_id,
                answer,
                provider,
                at,
            } => {
                match self.questions.iter().find(|(id, ..)| *id == question_id) {
                    None => return Err(ClientError::QuestionNotFound),
                    Some((.., true)) => {}
                    Some(_) => {
                        let event = ClientEvent::QuestionAnswered {
                            question_id,
                            answer,
                            provider,
                            at,
                        };
                        sink.write(event, self).await;
                    }
                }
                Ok(())
            }
            ClientCommand::WithdrawHealthConsent { at } => {
                if self.submission.is_some() && !self.consent_withdrawn {
                    sink.write(ClientEvent::HealthConsentWithdrawn { at }, self)
                        .await;
                }
                Ok(())
            }
            ClientCommand::AssignTrainer { trainer_id } => {
                self.assign_trainer(trainer_id, sink).await
            }
            ClientCommand::UnassignTrainer { trainer_id } => {
                self.unassign_trainer(trainer_id, sink).await
            }
            ClientCommand::LinkAccount { account_id } => self.link_account(account_id, sink).await,
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ClientEvent::ClientRegistered {
                client_id,
                account_id,
                ..
            } => {
                self.id = Some(client_id);
                self.account = account_id;
            }
            ClientEvent::AccountLinked { account_id } => self.account = Some(account_id),
            ClientEvent::ClientProfileUpdated { profile } => self.profile = *profile,
            ClientEvent::ClientArchived { .. } => self.archived = true,
            ClientEvent::ClientUnarchived => self.archived = false,
            // History only: the free-text intake decides nothing.
            ClientEvent::HealthIntakeRecorded { .. } => {}
            ClientEvent::HealthIntakeSubmitted {
                version,
                submission,
            } => {
                self.intake_version = version;
                self.submission = Some(*submission);
                self.consent_withdrawn = false;
            }
            ClientEvent::HealthConsentWithdrawn { .. } => self.consent_withdrawn = true,
            ClientEvent::RecommendationRecorded { recommendation } => {
                self.recommended_version = recommendation.intake_version;
            }
            ClientEvent::RecommendationReviewed {
                intake_version,
                review,
            } => {
                self.reviews.retain(|(v, _)| *v != intake_version);
                self.reviews.push((intake_version, *review));
            }
            ClientEvent::RecommendationFailed { intake_version, .. } => {
                self.failed_versions.push(intake_version);
            }
            ClientEvent::QuestionAsked {
                question_id,
                question,
                ..
            } => self.questions.push((question_id, question, false)),
            ClientEvent::QuestionAnswered { question_id, .. } => {
                for q in self.questions.iter_mut().filter(|q| q.0 == question_id) {
                    q.2 = true;
                }
            }
            ClientEvent::TrainerAssigned { trainer_id } => self.trainers.push(trainer_id),
            ClientEvent::TrainerUnassigned { trainer_id } => {
                self.trainers.retain(|t| *t != trainer_id)
            }
        }
    }
}

/// One handler per command: each checks the rules against the current state and
/// writes the resulting events (none for a no-op retry).
impl Client {
    async fn register(
        &mut self,
        client_id: ClientId,
        studio_id: StudioId,
        full_name: DisplayName,
        email: Option<Email>,
        account_id: Option<AccountId>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        if self.id.is_some() {
            return Err(ClientError::AlreadyExists);
        }
        let event = ClientEvent::ClientRegistered {
            client_id,
            studio_id,
            full_name,
            email,
            account_id,
        };
        sink.write(event, self).await;
        Ok(())
    }

    async fn submit_health_intake(
        &mut self,
        submission: Box<HealthSubmission>,
        current_consent: u32,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        submission.validate().map_err(ClientError::InvalidIntake)?;
        if submission.consent.text_version != current_consent {
            return Err(ClientError::ConsentOutdated {
                current: current_consent,
            });
        }
        // A retry of the latest form (only its moment of consent differs) adds nothing.
        if let (Some(latest), false) = (&self.submission, self.consent_withdrawn) {
            let mut again = (*submission).clone();
            again.consent.given_at = latest.consent.given_at;
            if &again == latest {
                return Ok(());
            }
        }
        let event = ClientEvent::HealthIntakeSubmitted {
            version: self.intake_version + 1,
            submission,
        };
        sink.write(event, self).await;
        Ok(())
    }

    async fn record_recommendation(
        &mut self,
        recommendation: Box<super::RecommendationRecord>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        let version = recommendation.intake_version;
        if self.consent_withdrawn {
            return Err(ClientError::ConsentWithdrawn);
        }
        if version != self.intake_version || self.submission.is_none() {
            return Err(ClientError::IntakeSuperseded {
                latest: self.intake_version,
            });
        }
        // One recommendation per intake version: a redelivered job records nothing.
        if self.recommended_version == version {
            return Ok(());
        }
        sink.write(ClientEvent::RecommendationRecorded { recommendation }, self)
            .await;
        Ok(())
    }

    async fn review(
        &mut self,
        intake_version: u32,
        review: Box<super::RecommendationReview>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        // Only the latest recommendation can be reviewed, and not after a withdrawal.
        if self.consent_withdrawn
            || intake_version == 0
            || intake_version != self.recommended_version
        {
            return Err(ClientError::RecommendationNotFound);
        }
        review.validate().map_err(ClientError::InvalidReview)?;
        let same = self.reviews.iter().any(|(v, r)| {
            *v == intake_version
                && r.decision == review.decision
                && r.by == review.by
                && r.note == review.note
                && r.recommendation == review.recommendation
        });
        if !same {
            let event = ClientEvent::RecommendationReviewed {
                intake_version,
                review,
            };
            sink.write(event, self).await;
        }
        Ok(())
    }

    async fn ask(
        &mut self,
        question_id: uuid::Uuid,
        question: String,
        by: AccountId,
        at: chrono::DateTime<chrono::Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        let question = question.trim().to_owned();
        if question.is_empty()
            || question.chars().count() > super::MAX_QUESTION
            || question.chars().any(char::is_control)
        {
            return Err(ClientError::InvalidQuestion);
        }
        if let Some((_, asked, _)) = self.questions.iter().find(|(id, ..)| *id == question_id) {
            // The same question again is a retry; another under its id is refused.
            return if *asked == question {
                Ok(())
            } else {
                Err(ClientError::QuestionIdTaken)
            };
        }
        if self.submission.is_none() || self.consent_withdrawn {
            return Err(ClientError::NoIntake);
        }
        let event = ClientEvent::QuestionAsked {
            question_id,
            question,
            by,
            at,
        };
        sink.write(event, self).await;
        Ok(())
    }

    async fn assign_trainer(
        &mut self,
        trainer_id: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        if self.trainers.contains(&trainer_id) {
            return Ok(());
        }
        if self.trainers.len() >= MAX_TRAINERS {
            return Err(ClientError::TooManyTrainers { max: MAX_TRAINERS });
        }
        sink.write(ClientEvent::TrainerAssigned { trainer_id }, self)
            .await;
        Ok(())
    }

    async fn unassign_trainer(
        &mut self,
        trainer_id: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        if self.trainers.contains(&trainer_id) {
            sink.write(ClientEvent::TrainerUnassigned { trainer_id }, self)
                .await;
        }
        Ok(())
    }

    async fn link_account(
        &mut self,
        account_id: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        match self.account {
            Some(a) if a == account_id => {}
            Some(_) => return Err(ClientError::LinkedElsewhere),
            None => {
                sink.write(ClientEvent::AccountLinked { account_id }, self)
                    .await
            }
        }
        Ok(())
    }
}
