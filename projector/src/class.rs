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
use crate::notify::Reminded;

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
        let mut staff_jobs = Vec::new();
        // The instructor hears of bookings, cancellations and waitlist changes.
        let staff = match event {
            ClassEvent::SpotBooked { client_id, .. } => Some((*client_id, "booked")),
            ClassEvent::Waitlisted { client_id, .. } => Some((*client_id, "joined the waitlist")),
            ClassEvent::WaitlistPromoted { client_id, .. } => {
                Some((*client_id, "moved up from the waitlist"))
            }
            ClassEvent::BookingCancelled {
                client_id, late, ..
            } => Some((
                *client_id,
                if *late { "cancelled late" } else { "cancelled" },
            )),
            ClassEvent::WaitlistLeft { client_id, .. } => Some((*client_id, "left the waitlist")),
            _ => None,
        };
        if let (Some((client, activity)), Some(instructor)) = (staff, next.instructor_id) {
            let activity = crate::notify::StaffActivity {
                staff: instructor.0,
                client,
                activity,
                title: &next.title,
                starts_at: next.starts_at,
            };
            staff_jobs = crate::notify::staff_jobs(conn, envelope, &activity).await?;
        }
        // A strike may start a booking block: the client hears until when.
        let struck = match event {
            ClassEvent::BookingCancelled {
                booking_id,
                client_id,
                strike: true,
                ..
            } => Some((*booking_id, *client_id, "late_cancel")),
            ClassEvent::NoShowRecorded {
                booking_id,
                client_id,
                strike: true,
            } => Some((*booking_id, *client_id, "no_show")),
            _ => None,
        };
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
            _ => return Ok(staff_jobs),
        };
        let mut data = serde_json::json!({
            "class_id": id,
            "class_title": next.title,
            "starts_at": next.starts_at.to_rfc3339(),
        });
        if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
            data.extend(extra.clone());
        }
        let mut block_jobs = Vec::new();
        if let Some((booking, client, reason)) = struck {
            let mut block = data.clone();
            if let Some(object) = block.as_object_mut() {
                object.insert("reason".to_owned(), reason.into());
            }
            block_jobs =
                crate::notify::block_jobs(conn, envelope, booking.0, client, block).await?;
        }
        let (mut jobs, studio) =
            crate::notify::client_jobs(conn, envelope, template, &clients, data).await?;
        if let (Some(booking), Some(studio)) = (reminded, &studio) {
            let reminder = crate::notify::Reminder {
                template: domain::account::CLASS_REMINDER,
                booking: booking.0,
                parent: id,
                starts_at: next.starts_at,
            };
            crate::notify::schedule_reminders(
                conn,
                envelope,
                &reminder,
                &studio.settings.reminder_minutes,
                &jobs,
            )
            .await?;
        }
        jobs.extend(block_jobs);
        jobs.extend(staff_jobs);
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

/// A booking that ends (cancelled, no-show, checked in) or a cancelled class cancels its
/// reminders (see [`crate::notify::cancel_reminders`]).
async fn cancel_reminders(
    conn: &mut PgConnection,
    class: Uuid,
    event: &ClassEvent,
) -> anyhow::Result<()> {
    let reminded = match event {
        ClassEvent::BookingCancelled { booking_id, .. }
        | ClassEvent::NoShowRecorded { booking_id, .. }
        | ClassEvent::CheckedIn { booking_id, .. } => Reminded::Booking(booking_id.0),
        ClassEvent::ClassCancelled { .. } => Reminded::Parent(class),
        _ => return Ok(()),
    };
    crate::notify::cancel_reminders(conn, reminded).await
}
