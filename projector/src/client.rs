use async_trait::async_trait;
use domain::client::view::ClientView;
use domain::client::ClientEvent;
use infra::jobs::{Channel, NotificationJob, AI_QUESTION, AI_RECOMMENDATION};
use sqlx::PgConnection;

use crate::document::{Hook, Pending, Step};

/// `client_view`'s extras: a recorded recommendation is announced to the client's
/// assigned trainers; each submitted health intake version asks the AI worker for a
/// recommendation, and each question about the client for an answer (live projection
/// only; a rebuild asks for nothing). A job names the client and the version or
/// question, never the health data: the worker reads it from the event store, and
/// skips a version a newer one or a withdrawal overtook.
pub(crate) struct AiJobs;

#[async_trait]
impl Hook<ClientView> for AiJobs {
    async fn after(
        &self,
        conn: &mut PgConnection,
        step: &Step<'_, ClientView>,
        _pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        // A recommendation is ready: the client's assigned trainers hear of it (who it
        // is for and where to review it, nothing of the health data).
        if let ClientEvent::RecommendationRecorded { recommendation } = &step.event {
            if !step.live() || step.next.assigned_trainers.is_empty() {
                return Ok(Vec::new());
            }
            let trainers: Vec<uuid::Uuid> =
                step.next.assigned_trainers.iter().map(|t| t.0).collect();
            let data = serde_json::json!({
                "client_id": step.id,
                "client_name": step.next.full_name,
                "intake_version": recommendation.intake_version,
            });
            return crate::notify::staff_notice(
                conn,
                step.envelope,
                domain::account::RECOMMENDATION_READY,
                &trainers,
                data,
            )
            .await;
        }
        let (task, data) = match &step.event {
            ClientEvent::HealthIntakeSubmitted { version, .. } => (
                AI_RECOMMENDATION,
                serde_json::json!({ "client_id": step.id, "intake_version": version }),
            ),
            ClientEvent::QuestionAsked { question_id, .. } => (
                AI_QUESTION,
                serde_json::json!({ "client_id": step.id, "question_id": question_id }),
            ),
            _ => return Ok(Vec::new()),
        };
        if !step.live() {
            return Ok(Vec::new());
        }
        Ok(vec![NotificationJob::for_recipient(
            step.envelope,
            task,
            step.id,
            Channel::Ai,
            step.id.to_string(),
            data,
        )])
    }
}
