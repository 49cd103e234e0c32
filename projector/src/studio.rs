use async_trait::async_trait;
use domain::studio::view::StudioView;
use domain::studio::StudioEvent;
use infra::envelope::EventEnvelope;
use infra::jobs::NotificationJob;
use sqlx::PgConnection;

use crate::document::{Hook, Pending, Step};

/// `studio_view`'s mail (live projection only):
/// - a new or changed contact address gets a confirmation message, so a typo is noticed
///   before clients start writing to it;
/// - an invited address gets the invitation, with a link holding its token (the worker
///   derives it from the invitation's id, as the API did when it answered the inviter).
pub(crate) struct StudioMail;

#[async_trait]
impl Hook<StudioView> for StudioMail {
    async fn after(
        &self,
        _conn: &mut PgConnection,
        step: &Step<'_, StudioView>,
        _pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        if !step.live() {
            return Ok(Vec::new());
        }
        let mut jobs: Vec<NotificationJob> =
            contact_email_confirmation(step.envelope, step.previous.as_ref(), &step.next)
                .into_iter()
                .collect();
        if let StudioEvent::MemberInvited {
            invitation_id,
            email,
            role,
            expires_at,
            ..
        } = &step.event
        {
            let template = domain::account::INVITATION;
            jobs.push(NotificationJob::email_for(
                step.envelope,
                template,
                email.as_str(),
                serde_json::json!({
                    "studio_name": step.next.name,
                    "invitation_id": invitation_id,
                    "role": role.as_str(),
                    "expires_at": expires_at.to_rfc3339(),
                    "timezone": step.next.timezone,
                }),
            ));
        }
        Ok(jobs)
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
    Some(NotificationJob::email_for(
        envelope,
        TEMPLATE,
        new,
        serde_json::json!({ "studio_name": next.name }),
    ))
}
