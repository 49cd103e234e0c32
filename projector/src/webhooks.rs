//! Webhook deliveries: each public domain event becomes one `webhook_delivery` row per
//! endpoint of its studio subscribed to it, written in the projection's transaction.
//!
//! ```text
//! class / client / trainer_calendar event ─► public type + payload (here)
//!   ─► INSERT one row per active, subscribed endpoint of the committed directory
//!      (webhook_endpoint), id derived from (event id, endpoint id), ON CONFLICT DO NOTHING
//!   ─► the delivery worker POSTs it (workers::webhooks)
//! ```
//!
//! Exactly once per (event, endpoint): the checkpoint makes the projection see each event
//! once, and the derived id makes even a second look write nothing. The directory is
//! written with the endpoint's events, so an event committed after a registration
//! answered always finds the endpoint, and one committed after a disable never does.
//!
//! The payload is the public contract `{ "type", "timestamp", "data" }` of
//! `domain::webhook_endpoint::EVENT_TYPES`, not the internal event: internal events may
//! change shape (with upcasters), the payload may not. Like the account mail, these
//! projections keep no table of their own, so a rebuild never re-sends anything.

use anyhow::Context;
use async_trait::async_trait;
use domain::class::ClassEvent;
use domain::client::ClientEvent;
use domain::trainer_calendar::TrainerCalendarEvent;
use infra::envelope::EventEnvelope;
use infra::jobs::NotificationJob;
use serde_json::{json, Value};
use sqlx::PgConnection;

use crate::projection::Projection;

/// The webhook fan-out of one aggregate type's events.
pub(crate) struct WebhookDeliveries {
    name: &'static str,
    aggregate_type: &'static str,
}

impl WebhookDeliveries {
    /// One per aggregate type that has public events.
    pub(crate) fn all() -> [Self; 3] {
        [
            Self {
                name: "webhooks_class",
                aggregate_type: "class",
            },
            Self {
                name: "webhooks_client",
                aggregate_type: "client",
            },
            Self {
                name: "webhooks_trainer_calendar",
                aggregate_type: "trainer_calendar",
            },
        ]
    }
}

/// The public type and `data` of an event, if it is one a receiver may subscribe to.
pub(crate) fn public_event(
    envelope: &EventEnvelope,
) -> anyhow::Result<Option<(&'static str, Value)>> {
    let payload = envelope.payload.clone();
    let id = &envelope.aggregate_id;
    Ok(match envelope.aggregate_type.as_str() {
        "class" => class_event(id, serde_json::from_value(payload)?),
        "client" => client_event(id, serde_json::from_value(payload)?),
        "trainer_calendar" => appointment_event(serde_json::from_value(payload)?),
        _ => None,
    })
}

fn class_event(class_id: &str, event: ClassEvent) -> Option<(&'static str, Value)> {
    let booking = |booking_id: domain::class::BookingId, client_id: domain::client::ClientId| json!({ "class_id": class_id, "booking_id": booking_id, "client_id": client_id });
    Some(match event {
        ClassEvent::ClassScheduled {
            title,
            starts_at,
            ends_at,
            capacity,
            location_id,
            instructor_id,
            class_type_id,
            ..
        } => (
            "class.scheduled",
            json!({
                "class_id": class_id, "title": title, "starts_at": starts_at, "ends_at": ends_at,
                "capacity": capacity, "location_id": location_id, "instructor_id": instructor_id,
                "class_type_id": class_type_id,
            }),
        ),
        ClassEvent::SpotBooked {
            booking_id,
            client_id,
        } => ("booking.created", booking(booking_id, client_id)),
        ClassEvent::Waitlisted {
            booking_id,
            client_id,
            position,
        } => {
            let mut data = booking(booking_id, client_id);
            data["waitlist_position"] = json!(position);
            ("booking.waitlisted", data)
        }
        ClassEvent::BookingCancelled {
            booking_id,
            client_id,
            late,
            ..
        } => {
            let mut data = booking(booking_id, client_id);
            data["late"] = json!(late);
            ("booking.cancelled", data)
        }
        ClassEvent::WaitlistLeft {
            booking_id,
            client_id,
        } => {
            let mut data = booking(booking_id, client_id);
            data["late"] = json!(false);
            ("booking.cancelled", data)
        }
        ClassEvent::WaitlistPromoted {
            booking_id,
            client_id,
        } => ("booking.promoted", booking(booking_id, client_id)),
        ClassEvent::ClassCancelled { reason, .. } => (
            "class.cancelled",
            json!({ "class_id": class_id, "reason": reason }),
        ),
        ClassEvent::CheckedIn { .. }
        | ClassEvent::NoShowRecorded { .. }
        | ClassEvent::CapacityChanged { .. }
        | ClassEvent::InstructorSubstituted { .. }
        | ClassEvent::ClassClosed => return None,
    })
}

fn client_event(client_id: &str, event: ClientEvent) -> Option<(&'static str, Value)> {
    match event {
        // Never the health intake: receivers get who the client is, nothing medical.
        ClientEvent::ClientRegistered {
            full_name,
            email,
            account_id,
            ..
        } => Some((
            "client.created",
            json!({
                "client_id": client_id, "full_name": full_name, "email": email,
                "account_id": account_id,
            }),
        )),
        ClientEvent::ClientProfileUpdated { .. }
        | ClientEvent::ClientArchived { .. }
        | ClientEvent::ClientUnarchived
        | ClientEvent::HealthIntakeRecorded { .. }
        | ClientEvent::HealthIntakeSubmitted { .. }
        | ClientEvent::HealthConsentWithdrawn { .. }
        | ClientEvent::RecommendationRecorded { .. }
        | ClientEvent::RecommendationReviewed { .. }
        | ClientEvent::RecommendationFailed { .. }
        | ClientEvent::QuestionAsked { .. }
        | ClientEvent::QuestionAnswered { .. }
        | ClientEvent::TrainerAssigned { .. }
        | ClientEvent::TrainerUnassigned { .. }
        | ClientEvent::AccountLinked { .. } => None,
    }
}

fn appointment_event(event: TrainerCalendarEvent) -> Option<(&'static str, Value)> {
    match event {
        TrainerCalendarEvent::AppointmentBooked { appointment } => Some((
            "appointment.booked",
            json!({
                "appointment_id": appointment.id, "client_id": appointment.client_id,
                "starts_at": appointment.starts_at, "ends_at": appointment.ends_at,
            }),
        )),
        TrainerCalendarEvent::AppointmentRescheduled {
            appointment_id,
            starts_at,
            ends_at,
        } => Some((
            "appointment.rescheduled",
            json!({ "appointment_id": appointment_id, "starts_at": starts_at, "ends_at": ends_at }),
        )),
        TrainerCalendarEvent::AppointmentCancelled { appointment_id } => Some((
            "appointment.cancelled",
            json!({ "appointment_id": appointment_id }),
        )),
        TrainerCalendarEvent::AvailabilitySet { .. }
        | TrainerCalendarEvent::TimeOffAdded { .. } => None,
    }
}

#[async_trait]
impl Projection for WebhookDeliveries {
    fn name(&self) -> &'static str {
        self.name
    }
    fn aggregate_type(&self) -> &'static str {
        self.aggregate_type
    }
    fn table(&self) -> Option<&'static str> {
        None
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        envelope: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        self.apply_runs(conn, table, &[std::slice::from_ref(envelope)])
            .await
    }

    /// Every public event of the runs, for every endpoint that wants it, in one statement.
    async fn apply_runs(
        &self,
        conn: &mut PgConnection,
        _table: &str,
        runs: &[&[EventEnvelope]],
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let (mut tenants, mut event_ids, mut types, mut bodies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for envelope in runs.iter().flat_map(|run| run.iter()) {
            let Some((event_type, data)) = public_event(envelope)? else {
                continue;
            };
            tenants.push(envelope.tenant_id);
            event_ids.push(envelope.event_id);
            types.push(event_type);
            bodies.push(infra::webhooks::payload(
                event_type,
                envelope.occurred_at,
                data,
            ));
        }
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        // The id is a name-based UUID of (event, endpoint), computed by Postgres for each
        // matching endpoint in the same statement: md5 of both ids, as a UUID.
        sqlx::query(
            "INSERT INTO webhook_delivery (id, tenant_id, endpoint_id, event_id, event_type, body) \
             SELECT md5(v.event_id::text || '/' || e.endpoint_id::text)::uuid, e.tenant_id, \
               e.endpoint_id, v.event_id, v.event_type, v.body \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[]) \
               AS v(tenant_id, event_id, event_type, body) \
             JOIN webhook_endpoint e ON e.tenant_id = v.tenant_id AND e.active \
               AND (v.event_type = ANY (e.event_types) OR '*' = ANY (e.event_types)) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&tenants)
        .bind(&event_ids)
        .bind(&types)
        .bind(&bodies)
        .execute(&mut *conn)
        .await
        .context("writing webhook deliveries")?;
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_type_is_in_the_catalogue() {
        let id = uuid::Uuid::nil();
        let at = chrono::Utc::now();
        let booking = domain::class::BookingId(id);
        let client = domain::client::ClientId(id);
        let events = [
            class_event(
                "c",
                ClassEvent::SpotBooked {
                    booking_id: booking,
                    client_id: client,
                },
            ),
            class_event(
                "c",
                ClassEvent::Waitlisted {
                    booking_id: booking,
                    client_id: client,
                    position: 1,
                },
            ),
            class_event(
                "c",
                ClassEvent::BookingCancelled {
                    booking_id: booking,
                    client_id: client,
                    late: true,
                    strike: true,
                },
            ),
            class_event(
                "c",
                ClassEvent::WaitlistPromoted {
                    booking_id: booking,
                    client_id: client,
                },
            ),
            class_event(
                "c",
                ClassEvent::ClassCancelled {
                    reason: "x".into(),
                    affected: vec![],
                },
            ),
            appointment_event(TrainerCalendarEvent::AppointmentCancelled { appointment_id: id }),
            appointment_event(TrainerCalendarEvent::AppointmentRescheduled {
                appointment_id: id,
                starts_at: at,
                ends_at: at,
            }),
        ];
        for (event_type, _) in events.into_iter().flatten() {
            assert!(
                domain::webhook_endpoint::EVENT_TYPES.contains(&event_type),
                "{event_type}"
            );
        }
        assert!(class_event("c", ClassEvent::ClassClosed).is_none());
        let body: Value = serde_json::from_str(&infra::webhooks::payload(
            "booking.created",
            at,
            json!({"a": 1}),
        ))
        .expect("json");
        assert_eq!(body["type"], "booking.created");
        assert_eq!(body["data"]["a"], 1);
        assert!(body["timestamp"].is_string());
    }
}
