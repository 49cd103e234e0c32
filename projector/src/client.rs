use async_trait::async_trait;
use domain::client::view::ClientView;
use domain::client::ClientEvent;
use infra::jobs::{Channel, NotificationJob, AI_QUESTION, AI_RECOMMENDATION};
use sqlx::PgConnection;

use crate::document::{Hook, Pending, Step};

/// `client_view`'s extra: each submitted health intake version asks the AI worker for a
/// recommendation, and each question about the client for an answer (live projection
/// only; a rebuild asks for nothing). A job names the client and the version or
/// question, never the health data: the worker reads it from the event store, and
/// skips a version a newer one or a withdrawal overtook.
pub(crate) struct AiJobs;

#[async_trait]
impl Hook<ClientView> for AiJobs {
    async fn after(
        &self,
        _conn: &mut PgConnection,
        step: &Step<'_, ClientView>,
        _pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
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
