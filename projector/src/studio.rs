use anyhow::Context;
use async_trait::async_trait;
use common::envelope::EventEnvelope;
use common::jobs::{Channel, NotificationJob};
use domain::studio::view::{self, StudioView};
use domain::studio::StudioEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::projection::Projection;

/// `studio_view`: one document per studio.
pub(crate) struct StudioProjection;

#[async_trait]
impl Projection for StudioProjection {
    fn name(&self) -> &'static str {
        "studio_view"
    }
    fn aggregate_type(&self) -> &'static str {
        "studio"
    }
    fn table(&self) -> &'static str {
        "studio_view"
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        envelope: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let event: StudioEvent = serde_json::from_value(envelope.payload.clone())
            .with_context(|| format!("decoding {} payload", envelope.event_type))?;
        let studio_id: Uuid = envelope
            .aggregate_id
            .parse()
            .context("studio aggregate id is not a UUID")?;
        let current: Option<sqlx::types::Json<StudioView>> =
            sqlx::query_scalar(&format!("SELECT doc FROM {table} WHERE id = $1"))
                .bind(studio_id)
                .fetch_optional(&mut *conn)
                .await
                .context("loading studio view")?;
        let previous = current.map(|j| j.0);
        let next = view::apply(
            previous.clone(),
            &event,
            envelope.sequence,
            envelope.occurred_at,
        )
        .with_context(|| format!("stream {studio_id} does not start with StudioCreated"))?;
        sqlx::query(&format!(
            "INSERT INTO {table} (id, tenant_id, name, version, doc, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, version = EXCLUDED.version, \
             doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at"
        ))
        .bind(studio_id)
        .bind(envelope.tenant_id)
        .bind(&next.name)
        .bind(i64::try_from(next.version).unwrap_or(i64::MAX))
        .bind(sqlx::types::Json(&next))
        .bind(next.updated_at)
        .execute(&mut *conn)
        .await
        .context("writing studio view")?;

        Ok(
            contact_email_confirmation(envelope, previous.as_ref(), &next)
                .into_iter()
                .collect(),
        )
    }
}

/// A new or changed contact address gets a confirmation message, so a typo is noticed
/// before clients start writing to it.
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
        data: serde_json::json!({ "studio_name": next.name }),
    })
}
