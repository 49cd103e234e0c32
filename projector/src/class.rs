use anyhow::Context;
use async_trait::async_trait;
use domain::class::view::ClassView;
use domain::class::{BookingId, ClassEvent};
use domain::client::ClientId;
use infra::jobs::{Channel, NotificationJob};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::document::{Hook, Step};

/// `class_view`'s extras: `booking_view` (one row per booking) follows the roster, and a
/// promotion or a cancelled class notifies the clients concerned.
pub(crate) struct Bookings;

fn json_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One row per booking, following the class's roster.
const BOOKING_VIEW: &str = "booking_view";

#[async_trait]
impl Hook<ClassView> for Bookings {
    fn side_tables(&self) -> &'static [&'static str] {
        &[BOOKING_VIEW]
    }

    async fn after(
        &self,
        conn: &mut PgConnection,
        step: &Step<'_, ClassView>,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        // booking_view follows the roster. A rebuild of class_view replays old events
        // into booking_view_rebuild (swapped in with class_view_rebuild): writing them to
        // the live booking_view would send statuses back in time while it runs.
        let bookings = step.side_table(BOOKING_VIEW);
        let Step {
            envelope,
            id,
            event,
            next,
            ..
        } = step;
        let id = *id;
        let touched: Option<BookingId> = match event {
            ClassEvent::SpotBooked { booking_id, .. }
            | ClassEvent::Waitlisted { booking_id, .. }
            | ClassEvent::BookingCancelled { booking_id, .. }
            | ClassEvent::WaitlistLeft { booking_id, .. }
            | ClassEvent::WaitlistPromoted { booking_id, .. }
            | ClassEvent::CheckedIn { booking_id, .. }
            | ClassEvent::NoShowRecorded { booking_id, .. } => Some(*booking_id),
            ClassEvent::ClassScheduled { .. }
            | ClassEvent::CapacityChanged { .. }
            | ClassEvent::InstructorSubstituted { .. }
            | ClassEvent::ClassCancelled { .. }
            | ClassEvent::ClassClosed => None,
        };
        if let Some(entry) = touched.and_then(|b| next.roster.iter().find(|r| r.booking_id == b)) {
            sqlx::query(&format!(
                "INSERT INTO {bookings} (booking_id, tenant_id, class_id, client_id, status, starts_at, title, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (booking_id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at"
            ))
            .bind(entry.booking_id.0)
            .bind(envelope.tenant_id)
            .bind(id)
            .bind(entry.client_id.0)
            .bind(json_str(&entry.status))
            .bind(next.starts_at)
            .bind(&next.title)
            .bind(next.updated_at)
            .execute(&mut *conn)
            .await
            .context("writing booking view")?;
        }
        if matches!(event, ClassEvent::ClassCancelled { .. }) {
            sqlx::query(&format!(
                "UPDATE {bookings} SET status = 'class_cancelled', updated_at = $2 \
                 WHERE class_id = $1 AND status IN ('booked', 'waitlisted', 'checked_in')"
            ))
            .bind(id)
            .bind(next.updated_at)
            .execute(&mut *conn)
            .await
            .context("cancelling bookings in booking view")?;
        }

        // Notifications (live projection only): a promotion, and a cancelled class.
        if !step.live() {
            return Ok(Vec::new());
        }
        let (template, clients): (&str, Vec<ClientId>) = match event {
            ClassEvent::WaitlistPromoted { client_id, .. } => {
                ("waitlist_promoted", vec![*client_id])
            }
            ClassEvent::ClassCancelled { affected, .. } => ("class_cancelled", affected.clone()),
            _ => return Ok(Vec::new()),
        };
        let mut jobs = Vec::new();
        for client in clients {
            let email: Option<String> =
                sqlx::query_scalar("SELECT doc->>'email' FROM client_view WHERE id = $1")
                    .bind(client.0)
                    .fetch_optional(&mut *conn)
                    .await
                    .context("looking up the client's email")?
                    .flatten();
            let Some(email) = email else { continue };
            jobs.push(NotificationJob {
                job_id: Uuid::new_v5(
                    &NotificationJob::id_for(envelope.event_id, template),
                    client.0.as_bytes(),
                ),
                tenant_id: envelope.tenant_id,
                correlation_id: envelope.metadata.correlation_id.clone(),
                causation_id: envelope.event_id,
                channel: Channel::Email,
                recipient: email,
                template: template.to_owned(),
                data: serde_json::json!({
                    "class_title": next.title,
                    "starts_at": next.starts_at.to_rfc3339(),
                }),
            });
        }
        Ok(jobs)
    }
}
