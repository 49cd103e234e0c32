use anyhow::Context;
use async_trait::async_trait;
use chrono::SubsecRound;
use domain::class::view::ClassView;
use domain::class::{BookingId, ClassEvent};
use domain::client::ClientId;
use infra::jobs::NotificationJob;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::document::{side_table, Hook, Pending, Step};

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
        pending: &mut Pending,
    ) -> anyhow::Result<Vec<NotificationJob>> {
        // booking_view follows the roster. A rebuild of class_view replays old events
        // into booking_view_rebuild (swapped in with class_view_rebuild): writing them to
        // the live booking_view would send statuses back in time while it runs.
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
        // The run's booking rows are written together at its end (`finish`): one
        // statement however many bookings the run touched.
        if let Some(entry) = touched.and_then(|b| next.roster.iter().find(|r| r.booking_id == b)) {
            pending.0.insert(
                entry.booking_id.0,
                serde_json::json!({
                    "booking_id": entry.booking_id.0,
                    "tenant_id": envelope.tenant_id,
                    "class_id": id,
                    "client_id": entry.client_id.0,
                    "status": json_str(&entry.status),
                    // Postgres keeps microseconds: truncated as a bound timestamp is.
                    "starts_at": next.starts_at.trunc_subsecs(6),
                    "title": next.title,
                    "updated_at": next.updated_at.trunc_subsecs(6),
                }),
            );
        }
        if matches!(event, ClassEvent::ClassCancelled { .. }) {
            // In order: what the run wrote before the cancellation first.
            write_bookings(
                conn,
                &step.side_table(BOOKING_VIEW),
                std::mem::take(pending),
            )
            .await?;
            let bookings = step.side_table(BOOKING_VIEW);
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

        // Notifications (live projection only): the client hears of their booking, its
        // cancellation, a promotion from the waitlist and a cancelled class.
        if !step.live() {
            return Ok(Vec::new());
        }
        cancel_reminders(conn, id, event).await?;
        let reminded: Option<BookingId> = match event {
            ClassEvent::SpotBooked { booking_id, .. }
            | ClassEvent::WaitlistPromoted { booking_id, .. } => Some(*booking_id),
            _ => None,
        };
        let (template, clients, extra): (&str, Vec<ClientId>, serde_json::Value) = match event {
            ClassEvent::SpotBooked { client_id, .. } => {
                ("booking_confirmed", vec![*client_id], serde_json::json!({}))
            }
            ClassEvent::Waitlisted {
                client_id,
                position,
                ..
            } => (
                "booking_waitlisted",
                vec![*client_id],
                serde_json::json!({ "position": position }),
            ),
            ClassEvent::BookingCancelled {
                client_id,
                late,
                strike,
                ..
            } => (
                "booking_cancelled",
                vec![*client_id],
                serde_json::json!({ "late": late, "strike": strike }),
            ),
            ClassEvent::WaitlistPromoted { client_id, .. } => {
                ("waitlist_promoted", vec![*client_id], serde_json::json!({}))
            }
            ClassEvent::ClassCancelled { affected, .. } => {
                ("class_cancelled", affected.clone(), serde_json::json!({}))
            }
            // Everyone booked or waiting hears that the class changed.
            ClassEvent::InstructorSubstituted { .. } => (
                "class_changed",
                next.roster
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.status,
                            domain::class::BookingStatus::Booked
                                | domain::class::BookingStatus::Waitlisted
                        )
                    })
                    .map(|r| r.client_id)
                    .collect(),
                serde_json::json!({ "change": "instructor" }),
            ),
            ClassEvent::NoShowRecorded {
                client_id, strike, ..
            } => (
                "no_show_recorded",
                vec![*client_id],
                serde_json::json!({ "strike": strike }),
            ),
            _ => return Ok(Vec::new()),
        };
        let mut data = serde_json::json!({
            "class_id": id,
            "class_title": next.title,
            "starts_at": next.starts_at.to_rfc3339(),
        });
        if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
            data.extend(extra.clone());
        }
        let (jobs, studio) =
            crate::notify::client_jobs(conn, envelope, template, &clients, data).await?;
        if let (Some(booking), Some(studio)) = (reminded, &studio) {
            schedule_reminders(conn, step, booking, &studio.reminder_minutes, &jobs).await?;
        }
        Ok(jobs)
    }

    async fn finish(
        &self,
        conn: &mut PgConnection,
        table: &str,
        pending: Pending,
    ) -> anyhow::Result<()> {
        write_bookings(conn, &side_table::<ClassView>(table, BOOKING_VIEW), pending).await
    }
}

/// Upserts booking rows (status and write time change; the rest is fixed at booking).
async fn write_bookings(conn: &mut PgConnection, table: &str, rows: Pending) -> anyhow::Result<()> {
    if rows.0.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = rows.0.into_values().collect();
    sqlx::query(&format!(
        "INSERT INTO {table} (booking_id, tenant_id, class_id, client_id, status, starts_at, title, updated_at) \
         SELECT booking_id, tenant_id, class_id, client_id, status, starts_at, title, updated_at \
         FROM jsonb_to_recordset($1) AS r(booking_id uuid, tenant_id uuid, class_id uuid, client_id uuid, \
           status text, starts_at timestamptz, title text, updated_at timestamptz) \
         ON CONFLICT (booking_id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at"
    ))
    .bind(sqlx::types::Json(rows))
    .execute(conn)
    .await
    .context("writing booking view")?;
    Ok(())
}

/// The notification type of class reminders.
const REMINDER_TEMPLATE: &str = domain::account::CLASS_REMINDER;

/// Schedules the reminders of a booking (or a promotion from the waitlist) into
/// `class_reminder`: one row per reminder time of the studio that is still ahead of the
/// booking (booked two hours before the class, the client gets the 1 h reminder, not the
/// 24 h one), holding its jobs: those of the confirmation, re-addressed. Its id is derived
/// from booking, minutes and start, so a redelivered event schedules nothing new.
async fn schedule_reminders(
    conn: &mut PgConnection,
    step: &Step<'_, ClassView>,
    booking: BookingId,
    minutes: &[u32],
    confirmations: &[NotificationJob],
) -> anyhow::Result<()> {
    let starts_at = step.next.starts_at.trunc_subsecs(6);
    let mut rows: (
        Vec<Uuid>,
        Vec<i32>,
        Vec<chrono::DateTime<chrono::Utc>>,
        Vec<serde_json::Value>,
    ) = Default::default();
    for &m in minutes {
        let due = starts_at - chrono::Duration::minutes(i64::from(m));
        if due <= step.envelope.occurred_at {
            continue;
        }
        let reminder = Uuid::new_v5(
            &booking.0,
            format!("reminder:{m}:{}", starts_at.to_rfc3339()).as_bytes(),
        );
        let jobs: Vec<NotificationJob> = confirmations
            .iter()
            .map(|c| {
                let mut job = c.clone();
                job.job_id = Uuid::new_v5(
                    &reminder,
                    format!("{:?}:{}", c.channel, c.recipient).as_bytes(),
                );
                job.template = REMINDER_TEMPLATE.to_owned();
                if let Some(data) = job.data.as_object_mut() {
                    data.insert("reminder_id".to_owned(), reminder.to_string().into());
                    data.insert("minutes_before".to_owned(), m.into());
                    data.insert("booking_id".to_owned(), booking.0.to_string().into());
                }
                job
            })
            .collect();
        rows.0.push(reminder);
        rows.1.push(i32::try_from(m).unwrap_or(i32::MAX));
        rows.2.push(due);
        rows.3.push(serde_json::to_value(jobs)?);
    }
    if rows.0.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO class_reminder (id, tenant_id, booking_id, class_id, minutes_before, starts_at, due_at, jobs) \
         SELECT r.id, $5, $6, $7, r.minutes, $8, r.due, r.jobs \
         FROM UNNEST($1::uuid[], $2::int4[], $3::timestamptz[], $4::jsonb[]) AS r(id, minutes, due, jobs) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&rows.0)
    .bind(&rows.1)
    .bind(&rows.2)
    .bind(&rows.3)
    .bind(step.envelope.tenant_id)
    .bind(booking.0)
    .bind(step.id)
    .bind(starts_at)
    .execute(&mut *conn)
    .await
    .context("scheduling reminders")?;
    Ok(())
}

/// A booking that ends (cancelled, no-show, checked in) or a cancelled class cancels its
/// reminders: pending ones are not sent, and enqueued ones are skipped by the
/// notification worker, which checks the mark before it sends.
async fn cancel_reminders(
    conn: &mut PgConnection,
    class: Uuid,
    event: &ClassEvent,
) -> anyhow::Result<()> {
    let (column, id) = match event {
        ClassEvent::BookingCancelled { booking_id, .. }
        | ClassEvent::NoShowRecorded { booking_id, .. }
        | ClassEvent::CheckedIn { booking_id, .. } => ("booking_id", booking_id.0),
        ClassEvent::ClassCancelled { .. } => ("class_id", class),
        _ => return Ok(()),
    };
    sqlx::query(&format!(
        "UPDATE class_reminder SET state = 'cancelled' WHERE {column} = $1 AND state IN ('pending', 'enqueued')"
    ))
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("cancelling reminders")?;
    Ok(())
}
