use anyhow::Context;
use async_trait::async_trait;
use common::envelope::EventEnvelope;
use common::jobs::NotificationJob;
use domain::class_type::view::{self, ClassTypeView};
use domain::class_type::ClassTypeEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::projection::Projection;

/// `class_type_view`: a studio's class-type catalogue, one document per type.
pub(crate) struct ClassTypeProjection;

#[async_trait]
impl Projection for ClassTypeProjection {
    fn name(&self) -> &'static str {
        "class_type_view"
    }
    fn aggregate_type(&self) -> &'static str {
        "class_type"
    }
    fn table(&self) -> &'static str {
        "class_type_view"
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        envelope: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let event: ClassTypeEvent = serde_json::from_value(envelope.payload.clone())
            .with_context(|| format!("decoding {} payload", envelope.event_type))?;
        let id: Uuid = envelope
            .aggregate_id
            .parse()
            .context("class type id is not a UUID")?;
        let current: Option<sqlx::types::Json<ClassTypeView>> =
            sqlx::query_scalar(&format!("SELECT doc FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .context("loading class type view")?;
        let next = view::apply(current.map(|j| j.0), &event, envelope.sequence)
            .with_context(|| format!("stream {id} does not start with ClassTypeDefined"))?;
        sqlx::query(&format!(
            "INSERT INTO {table} (id, tenant_id, name, archived, version, doc, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, archived = EXCLUDED.archived, \
             version = EXCLUDED.version, doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at"
        ))
        .bind(id)
        .bind(envelope.tenant_id)
        .bind(&next.details.name)
        .bind(next.archived)
        .bind(i64::try_from(next.version).unwrap_or(i64::MAX))
        .bind(sqlx::types::Json(&next))
        .bind(envelope.occurred_at)
        .execute(&mut *conn)
        .await
        .context("writing class type view")?;
        Ok(Vec::new())
    }
}
