use async_trait::async_trait;
use domain::studio::view::StudioView;
use infra::envelope::EventEnvelope;
use infra::jobs::{Channel, NotificationJob};
use sqlx::PgConnection;

use crate::document::{Hook, Pending, Step};

/// `studio_view`'s extra: a new or changed contact address gets a confirmation message,
/// so a typo is noticed before clients start writing to it.
pub(crate) struct ContactEmailConfirmation;

#[async_trait]
impl Hook<StudioView> for ContactEmailConfirmation {
    async fn after(
        &self,
        _conn: &mut PgConnection,
        step: &Step<'_, StudioView>,
        _pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        Ok(
            contact_email_confirmation(step.envelope, step.previous.as_ref(), &step.next)
                .into_iter()
                .collect(),
        )
    }
}

fn contact_email_confirmation(
    envelope: &EventEnvelope,
    previous: Option<&StudioView>,
    next: &StudioView,
) -> Option<NotificationJob> {
    const TEMPLATE: &str = "studio_contact_email_confirmation";
    let new = next.settings.contact_email.as_ref()?;
    let old = previous.and_then(|p| p.settings.contact_email.as_ref());
    if old == Some(new) {
        return None;
    }
    Some(NotificationJob {
        job_id: NotificationJob::id_for(envelope.event_id, TEMPLATE),
        tenant_id: envelope.tenant_id,
        correlation_id: envelope.metadata.correlation_id.clone(),
        causation_id: envelope.event_id,
        channel: Channel::Email,
        recipient: new.clone(),
        template: TEMPLATE.to_owned(),
        traceparent: None,
        data: serde_json::json!({ "studio_name": next.name }),
    })
}
