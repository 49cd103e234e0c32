use anyhow::Context;
use async_trait::async_trait;
use common::envelope::EventEnvelope;
use common::jobs::NotificationJob;
use domain::client::view::{self, ClientView};
use domain::client::ClientEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::projection::Projection;

/// `client_view`: one document per client record, health fields included (the API
/// filters them per caller).
pub(crate) struct ClientProjection;

#[async_trait]
impl Projection for ClientProjection {
    fn name(&self) -> &'static str {
        "client_view"
    }
    fn aggregate_type(&self) -> &'static str {
        "client"
    }
    fn table(&self) -> &'static str {
        "client_view"
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        envelope: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let event: ClientEvent = serde_json::from_value(envelope.payload.clone())
            .with_context(|| format!("decoding {} payload", envelope.event_type))?;
        let id: Uuid = envelope
            .aggregate_id
            .parse()
            .context("client id is not a UUID")?;
        let current: Option<sqlx::types::Json<ClientView>> =
            sqlx::query_scalar(&format!("SELECT doc FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .context("loading client view")?;
        let next = view::apply(
            current.map(|j| j.0),
            &event,
            envelope.sequence,
            envelope.occurred_at,
        )
        .with_context(|| format!("stream {id} does not start with ClientRegistered"))?;
        sqlx::query(&format!(
            "INSERT INTO {table} (id, tenant_id, account_id, full_name, version, doc, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, full_name = EXCLUDED.full_name, \
             version = EXCLUDED.version, doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at"
        ))
        .bind(id)
        .bind(envelope.tenant_id)
        .bind(next.account_id.map(|a| a.0))
        .bind(&next.full_name)
        .bind(i64::try_from(next.version).unwrap_or(i64::MAX))
        .bind(sqlx::types::Json(&next))
        .bind(next.updated_at)
        .execute(&mut *conn)
        .await
        .context("writing client view")?;
        Ok(Vec::new())
    }
}
