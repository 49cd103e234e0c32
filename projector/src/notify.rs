//! Addressing notifications to a studio's clients: who can be reached how (by email if
//! the client record has an address, in the app if the client has an account), and the
//! studio's name, time zone and reminder times that brand and localise the message.
//! One query for every client an event concerns; the studio only if someone is reached.

use std::collections::HashMap;

use anyhow::Context;
use domain::client::ClientId;
use infra::envelope::EventEnvelope;
use infra::jobs::{Channel, NotificationJob};
use sqlx::PgConnection;
use uuid::Uuid;

/// The studio as notifications show it.
pub(crate) struct Studio {
    pub name: String,
    pub timezone: String,
    /// Minutes before a class its booked clients are reminded (studio settings).
    pub reminder_minutes: Vec<u32>,
}

/// Jobs of `template` for `clients` on every channel each can be reached on, with
/// `data` (the studio's name and time zone added); empty if nobody can be reached.
pub(crate) async fn client_jobs(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    template: &str,
    clients: &[ClientId],
    mut data: serde_json::Value,
) -> anyhow::Result<(Vec<NotificationJob>, Option<Studio>)> {
    let ids: Vec<Uuid> = clients.iter().map(|c| c.0).collect();
    let reachable: HashMap<Uuid, (Option<String>, Option<Uuid>)> =
        sqlx::query_as::<_, (Uuid, Option<String>, Option<Uuid>)>(
            "SELECT id, doc->>'email', (doc->>'account_id')::uuid FROM client_view \
             WHERE id = ANY($1) AND (doc->>'email' IS NOT NULL OR doc->>'account_id' IS NOT NULL)",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .context("looking up how to reach the clients")?
        .into_iter()
        .map(|(id, email, account)| (id, (email, account)))
        .collect();
    if reachable.is_empty() {
        return Ok((Vec::new(), None));
    }
    let studio = studio(conn, envelope.tenant_id).await?;
    if let Some(object) = data.as_object_mut() {
        object.insert("timezone".to_owned(), studio.timezone.clone().into());
        object.insert("studio_name".to_owned(), studio.name.clone().into());
    }
    let mut jobs = Vec::new();
    for client in clients {
        let Some((email, account)) = reachable.get(&client.0) else {
            continue;
        };
        let recipients = email
            .iter()
            .map(|e| (Channel::Email, e.clone()))
            .chain(account.iter().map(|a| (Channel::InApp, a.to_string())));
        for (channel, recipient) in recipients {
            jobs.push(NotificationJob {
                job_id: NotificationJob::id_per_recipient(
                    envelope.event_id,
                    template,
                    client.0,
                    channel,
                ),
                tenant_id: envelope.tenant_id,
                correlation_id: envelope.metadata.correlation_id.clone(),
                causation_id: envelope.event_id,
                channel,
                recipient,
                template: template.to_owned(),
                // Set by the projector from the causing event.
                traceparent: None,
                data: data.clone(),
            });
        }
    }
    Ok((jobs, Some(studio)))
}

async fn studio(conn: &mut PgConnection, tenant: Uuid) -> anyhow::Result<Studio> {
    let (name, timezone, reminders): (Option<String>, Option<String>, Option<serde_json::Value>) =
        sqlx::query_as(
            "SELECT doc->>'name', doc->>'timezone', doc->'settings'->'reminder_minutes' \
             FROM studio_view WHERE id = $1",
        )
        .bind(tenant)
        .fetch_optional(&mut *conn)
        .await
        .context("looking up the studio")?
        .unwrap_or((None, None, None));
    Ok(Studio {
        name: name.unwrap_or_else(|| "your studio".to_owned()),
        timezone: timezone.unwrap_or_else(|| "UTC".to_owned()),
        reminder_minutes: reminders
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_else(domain::studio::StudioSettings::default_reminders),
    })
}
