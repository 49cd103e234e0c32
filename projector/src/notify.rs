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

/// The studio as notifications show it: its name, time zone and policies, from the
/// directory written with its events (never behind them, unlike its view).
pub(crate) struct Studio {
    pub name: String,
    pub timezone: String,
    /// Its policies: reminder times (minutes before a class its booked clients are
    /// reminded), strike limits.
    pub settings: domain::studio::StudioSettings,
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
            "SELECT client_id, email, account_id FROM client_record \
             WHERE tenant_id = $1 AND client_id = ANY($2) AND (email IS NOT NULL OR account_id IS NOT NULL)",
        )
        .bind(envelope.tenant_id)
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
            jobs.push(NotificationJob::for_recipient(
                envelope,
                template,
                client.0,
                channel,
                recipient,
                data.clone(),
            ));
        }
    }
    Ok((jobs, Some(studio)))
}

pub(crate) async fn studio(conn: &mut PgConnection, tenant: Uuid) -> anyhow::Result<Studio> {
    let (name, timezone, settings): (Option<String>, Option<String>, Option<serde_json::Value>) =
        sqlx::query_as("SELECT name, timezone, settings FROM studio_profile WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&mut *conn)
            .await
            .context("looking up the studio")?
            .unwrap_or((None, None, None));
    Ok(Studio {
        name: name.unwrap_or_else(|| "your studio".to_owned()),
        timezone: timezone.unwrap_or_else(|| "UTC".to_owned()),
        // Settings a studio never changed take the domain's defaults (serde defaults).
        settings: settings
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
    })
}

/// A strike (late cancel, no-show) that reaches the studio's strike limit blocks booking
/// for `strike_block_days`: the client hears until when, on every channel they can be
/// reached on. Strikes are counted as booking counts them (those inside the strike
/// window), up to and including this one, so a re-projected event tells the same.
/// `data` describes the class the strike was for.
pub(crate) async fn block_jobs(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    booking: Uuid,
    client: ClientId,
    mut data: serde_json::Value,
) -> anyhow::Result<Vec<NotificationJob>> {
    let settings = studio(conn, envelope.tenant_id).await?.settings;
    let row: Option<(i64, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT count(*), max(s.at) FROM client_strike s \
         JOIN client_strike this ON this.booking_id = $1 \
         WHERE s.tenant_id = $2 AND s.client_id = $3 AND s.at <= this.at \
           AND s.at > this.at - make_interval(days => $4) GROUP BY this.at",
    )
    .bind(booking)
    .bind(envelope.tenant_id)
    .bind(client.0)
    .bind(i32::try_from(settings.strike_window_days).unwrap_or(i32::MAX))
    .fetch_optional(&mut *conn)
    .await
    .context("counting the client's strikes")?;
    let Some((strikes, last)) = row else {
        return Ok(Vec::new());
    };
    let Some(until) = settings.blocked_until(u64::try_from(strikes).unwrap_or(0), Some(last))
    else {
        return Ok(Vec::new());
    };
    if let Some(object) = data.as_object_mut() {
        object.insert("blocked_until".to_owned(), until.to_rfc3339().into());
        object.insert("strikes".to_owned(), strikes.into());
        object.insert(
            "strike_window_days".to_owned(),
            settings.strike_window_days.into(),
        );
    }
    let template = domain::account::BOOKING_BLOCKED;
    Ok(client_jobs(conn, envelope, template, &[client], data)
        .await?
        .0)
}

/// Jobs of `template` for the studio's owners and admins, in the app and by email, with
/// `data` (the studio's name and time zone added).
pub(crate) async fn manager_jobs(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    template: &str,
    data: serde_json::Value,
) -> anyhow::Result<Vec<NotificationJob>> {
    let managers: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT account_id, email FROM repstream_studio_managers($1)")
            .bind(envelope.tenant_id)
            .fetch_all(&mut *conn)
            .await
            .context("looking up the studio's owners and admins")?;
    account_jobs(conn, envelope, template, managers, data).await
}

/// Jobs of `template` for staff members `staff` of the studio (in the app and by email),
/// with `data` (the studio's name and time zone added). Someone no longer staff of the
/// studio gets nothing.
pub(crate) async fn staff_notice(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    template: &str,
    staff: &[Uuid],
    data: serde_json::Value,
) -> anyhow::Result<Vec<NotificationJob>> {
    let addressed: Vec<(Uuid, Option<String>)> =
        sqlx::query_as("SELECT s, repstream_staff_email($1, s) FROM unnest($2::uuid[]) AS s")
            .bind(envelope.tenant_id)
            .bind(staff)
            .fetch_all(&mut *conn)
            .await
            .context("looking up the staff members")?;
    let addressed = addressed
        .into_iter()
        .filter_map(|(account, email)| Some((account, email?)))
        .collect();
    account_jobs(conn, envelope, template, addressed, data).await
}

/// One in-app and one email job of `template` per (account, address), `data` branded
/// with the studio's name and time zone; nothing (and no studio lookup) for nobody.
async fn account_jobs(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    template: &str,
    accounts: Vec<(Uuid, String)>,
    mut data: serde_json::Value,
) -> anyhow::Result<Vec<NotificationJob>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let studio = studio(conn, envelope.tenant_id).await?;
    if let Some(object) = data.as_object_mut() {
        object.insert("timezone".to_owned(), studio.timezone.into());
        object.insert("studio_name".to_owned(), studio.name.into());
    }
    let mut jobs = Vec::new();
    for (account, email) in accounts {
        for (channel, recipient) in [
            (Channel::InApp, account.to_string()),
            (Channel::Email, email),
        ] {
            jobs.push(NotificationJob::for_recipient(
                envelope,
                template,
                account,
                channel,
                recipient,
                data.clone(),
            ));
        }
    }
    Ok(jobs)
}

/// What a reminder reminds of: a booking of a class, or an appointment in a trainer's
/// calendar (`parent`: the class or the calendar).
pub(crate) struct Reminder {
    /// Its notification type.
    pub template: &'static str,
    /// The booking or appointment.
    pub booking: Uuid,
    pub parent: Uuid,
    pub starts_at: chrono::DateTime<chrono::Utc>,
}

/// Schedules the reminders of a booking or appointment into `class_reminder`: one row per
/// reminder time of the studio that is still ahead of the event (booked two hours before
/// the class, the client gets the 1 h reminder, not the 24 h one), holding its jobs:
/// those of the confirmation, re-addressed. Its id is derived from booking, minutes and
/// start, so a redelivered event schedules nothing new and a moved appointment gets rows
/// of its own.
pub(crate) async fn schedule_reminders(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    reminder: &Reminder,
    minutes: &[u32],
    confirmations: &[NotificationJob],
) -> anyhow::Result<()> {
    use chrono::SubsecRound as _;
    let starts_at = reminder.starts_at.trunc_subsecs(6);
    let booking = reminder.booking;
    let mut rows: (
        Vec<Uuid>,
        Vec<i32>,
        Vec<chrono::DateTime<chrono::Utc>>,
        Vec<serde_json::Value>,
    ) = Default::default();
    for &m in minutes {
        let due = starts_at - chrono::Duration::minutes(i64::from(m));
        if due <= envelope.occurred_at {
            continue;
        }
        let id = Uuid::new_v5(
            &booking,
            format!("reminder:{m}:{}", starts_at.to_rfc3339()).as_bytes(),
        );
        let jobs: Vec<NotificationJob> = confirmations
            .iter()
            .map(|c| {
                let mut job = c.clone();
                job.job_id =
                    Uuid::new_v5(&id, format!("{:?}:{}", c.channel, c.recipient).as_bytes());
                reminder.template.clone_into(&mut job.template);
                if let Some(data) = job.data.as_object_mut() {
                    data.insert("reminder_id".to_owned(), id.to_string().into());
                    data.insert("minutes_before".to_owned(), m.into());
                    data.insert("booking_id".to_owned(), booking.to_string().into());
                }
                job
            })
            .collect();
        rows.0.push(id);
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
    .bind(envelope.tenant_id)
    .bind(booking)
    .bind(reminder.parent)
    .bind(starts_at)
    .execute(&mut *conn)
    .await
    .context("scheduling reminders")?;
    Ok(())
}

/// Whose reminders [`cancel_reminders`] cancels.
pub(crate) enum Reminded {
    /// One booking's or appointment's.
    Booking(Uuid),
    /// Every booking's of a class.
    Parent(Uuid),
}

/// Cancels reminders: pending ones are not sent, and enqueued ones are skipped by the
/// notification worker, which checks the mark before it sends.
pub(crate) async fn cancel_reminders(
    conn: &mut PgConnection,
    reminded: Reminded,
) -> anyhow::Result<()> {
    let (column, id) = match reminded {
        Reminded::Booking(id) => ("booking_id", id),
        Reminded::Parent(id) => ("class_id", id),
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

/// What a staff member hears of: `client` did `activity` (a phrase: "booked",
/// "joined the waitlist", …) in `title` at `starts_at`.
pub(crate) struct StaffActivity<'a> {
    pub staff: Uuid,
    pub client: ClientId,
    pub activity: &'a str,
    pub title: &'a str,
    pub starts_at: chrono::DateTime<chrono::Utc>,
}

/// Records activity for the staff member's daily digest (`staff_activity`, one row per
/// event and staff member) and returns the per-event notice, in the app and by email
/// (the worker drops the email when they chose the digest). Nothing for someone who is
/// no longer staff of the studio.
pub(crate) async fn staff_jobs(
    conn: &mut PgConnection,
    envelope: &EventEnvelope,
    activity: &StaffActivity<'_>,
) -> anyhow::Result<Vec<NotificationJob>> {
    let (email, client_name): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT repstream_staff_email($1, $2), \
                (SELECT full_name FROM client_record WHERE tenant_id = $1 AND client_id = $3)",
    )
    .bind(envelope.tenant_id)
    .bind(activity.staff)
    .bind(activity.client.0)
    .fetch_one(&mut *conn)
    .await
    .context("looking up the staff member")?;
    let Some(email) = email else {
        return Ok(Vec::new());
    };
    let studio = studio(conn, envelope.tenant_id).await?;
    let template = domain::account::STAFF_ACTIVITY;
    let data = serde_json::json!({
        "client_name": client_name.unwrap_or_else(|| "A client".to_owned()),
        "activity": activity.activity,
        "title": activity.title,
        "starts_at": activity.starts_at.to_rfc3339(),
        "studio_name": studio.name,
        "timezone": studio.timezone,
    });
    sqlx::query(
        "INSERT INTO staff_activity (id, tenant_id, account_id, occurred_at, data) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(Uuid::new_v5(&envelope.event_id, activity.staff.as_bytes()))
    .bind(envelope.tenant_id)
    .bind(activity.staff)
    .bind(envelope.occurred_at)
    .bind(&data)
    .execute(&mut *conn)
    .await
    .context("recording staff activity")?;
    let recipients = [
        (Channel::InApp, activity.staff.to_string()),
        (Channel::Email, email),
    ];
    Ok(recipients
        .into_iter()
        .map(|(channel, recipient)| {
            NotificationJob::for_recipient(
                envelope,
                template,
                activity.staff,
                channel,
                recipient,
                data.clone(),
            )
        })
        .collect())
}
