use async_trait::async_trait;
use domain::client::view::ClientView;
use domain::client::ClientEvent;
use infra::jobs::{Channel, NotificationJob, AI_RECOMMENDATION};
use sqlx::PgConnection;

use crate::document::{Hook, Pending, Step};

/// `client_view`'s extra: each submitted health intake version asks the AI worker for a
/// recommendation (live projection only; a rebuild asks for nothing). The job names
/// the client and the version, never the health data: the worker reads the intake from
/// the event store, and skips a version a newer one or a withdrawal overtook.
pub(crate) struct AiJobs;

#[async_trait]
impl Hook<ClientView> for AiJobs {
    async fn after(
        &self,
        _conn: &mut PgConnection,
        step: &Step<'_, ClientView>,
        _pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let ClientEvent::HealthIntakeSubmitted { version, .. } = &step.event else {
            return Ok(Vec::new());
        };
        if !step.live() {
            return Ok(Vec::new());
        }
        let data = serde_json::json!({ "client_id": step.id, "intake_version": version });
        Ok(vec![NotificationJob::for_recipient(
            step.envelope,
            AI_RECOMMENDATION,
            step.id,
            Channel::Ai,
            step.id.to_string(),
            data,
        )])
    }
}
