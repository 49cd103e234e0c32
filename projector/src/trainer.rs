use anyhow::Context;
use async_trait::async_trait;
use common::envelope::EventEnvelope;
use common::jobs::NotificationJob;
use domain::trainer_calendar::view::{self, TrainerCalendarView};
use domain::trainer_calendar::TrainerEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::projection::Projection;

/// `trainer_calendar_view`: availability, time off and appointments per trainer.
pub(crate) struct TrainerCalendarProjection;

#[async_trait]
impl Projection for TrainerCalendarProjection {
    fn name(&self) -> &'static str {
        "trainer_calendar_view"
    }
    fn aggregate_type(&self) -> &'static str {
        "trainer_calendar"
    }
    fn table(&self) -> &'static str {
        "trainer_calendar_view"
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        envelope: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let event: TrainerEvent = serde_json::from_value(envelope.payload.clone())
            .with_context(|| format!("decoding {} payload", envelope.event_type))?;
        let id: Uuid = envelope
            .aggregate_id
            .parse()
            .context("calendar id is not a UUID")?;
        let row: Option<(sqlx::types::Json<TrainerCalendarView>, Uuid)> = sqlx::query_as(&format!(
            "SELECT doc, trainer_id FROM {table} WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .context("loading trainer calendar view")?;
        let trainer = match (&event, &row) {
            (TrainerEvent::AvailabilitySet { trainer_id, .. }, _) => trainer_id.0,
            (_, Some((_, t))) => *t,
            (_, None) => anyhow::bail!("calendar {id} does not start with AvailabilitySet"),
        };
        let next = view::apply(
            row.map(|r| r.0 .0).unwrap_or_default(),
            &event,
            envelope.sequence,
        );
        sqlx::query(&format!(
            "INSERT INTO {table} (id, tenant_id, trainer_id, version, doc, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at"
        ))
        .bind(id)
        .bind(envelope.tenant_id)
        .bind(trainer)
        .bind(i64::try_from(next.version).unwrap_or(i64::MAX))
        .bind(sqlx::types::Json(&next))
        .bind(envelope.occurred_at)
        .execute(&mut *conn)
        .await
        .context("writing trainer calendar view")?;
        Ok(Vec::new())
    }
}
