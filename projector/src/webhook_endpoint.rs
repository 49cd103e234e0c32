use anyhow::Context as _;
use async_trait::async_trait;
use domain::webhook_endpoint::view::WebhookEndpointView;
use domain::webhook_endpoint::WebhookEndpointEvent;
use infra::jobs::NotificationJob;
use sqlx::PgConnection;

use crate::document::{Hook, Pending, Step};

/// `webhook_endpoint_view`'s extra: an endpoint that stopped on its own (it answered
/// `410 Gone`, or kept failing) is told to the studio's owners and admins, in the app
/// and by email, so an integration does not go quiet unnoticed. Staff disabling it
/// themselves hear nothing.
pub(crate) struct DisabledNotice;

#[async_trait]
impl Hook<WebhookEndpointView> for DisabledNotice {
    async fn after(
        &self,
        conn: &mut PgConnection,
        step: &Step<'_, WebhookEndpointView>,
        _pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let WebhookEndpointEvent::WebhookEndpointDisabled { reason } = &step.event else {
            return Ok(Vec::new());
        };
        if !step.live() || !reason.is_automatic() {
            return Ok(Vec::new());
        }
        let since = infra::webhooks::failing_since(conn, step.envelope.tenant_id, step.id)
            .await
            .context("reading since when the endpoint failed")?;
        let data = serde_json::json!({
            "studio_id": step.next.studio_id,
            "endpoint_id": step.next.id,
            "url": step.next.details.url,
            "reason": reason.as_str(),
            "failing_since": since.map(|s| s.to_rfc3339()),
        });
        crate::notify::manager_jobs(conn, step.envelope, domain::account::WEBHOOK_DISABLED, data)
            .await
    }
}
