//! What commands read about *other* aggregates: the studio directory (`client_record`,
//! `studio_location`, `class_slot`, `appointment_slot`, `client_strike`,
//! `studio_membership`), written by transaction hooks together with the events it
//! derives from (`infra::inline`). Every function here runs inside a [`CommandTx`], so
//! a command sees exactly what was committed before it, never a lagging view.

use chrono::{DateTime, Utc};
use domain::account::AccountId;
use domain::client::{ClientCommand, ClientId};
use domain::policy;
use domain::studio::StudioId;
use domain::trainer_calendar::Busy;
use domain::values::{DisplayName, Email};
use uuid::Uuid;

use crate::command::CommandTx;
use crate::error::ApiError;
use crate::state::AppState;

/// A client record a request is about.
#[derive(Debug, Clone, Copy)]
pub struct ClientRef {
    pub id: Uuid,
    /// The record is the caller's own (linked to their account).
    pub own: bool,
    /// When booking is blocked by strikes under the studio's policy, until when.
    pub blocked_until: Option<DateTime<Utc>>,
}

type ClientRow = (Uuid, bool, i64, Option<DateTime<Utc>>, bool);

/// The client record `requested` (else the caller's own), whether it is the caller's,
/// and its strikes, in one statement. `422 client_required` when the caller has no
/// record and named none; `422 client_not_found` for a record not in this studio.
pub async fn resolve_client(
    cmd: &mut CommandTx,
    requested: Option<Uuid>,
) -> Result<ClientRef, ApiError> {
    let settings = cmd
        .profile
        .as_ref()
        .map(|p| p.settings.clone())
        .unwrap_or_default();
    let (studio, account) = (cmd.studio_id, cmd.account_id);
    let row: Option<ClientRow> = sqlx::query_as(
        "SELECT c.client_id, c.account_id IS NOT DISTINCT FROM $2, \
           (SELECT count(*) FROM client_strike s WHERE s.tenant_id = $1 AND s.client_id = c.client_id \
              AND s.at > now() - make_interval(days => $4)), \
           (SELECT max(s.at) FROM client_strike s WHERE s.tenant_id = $1 AND s.client_id = c.client_id \
              AND s.at > now() - make_interval(days => $4)), \
           c.archived \
         FROM client_record c WHERE c.tenant_id = $1 AND c.client_id = COALESCE($3, \
           (SELECT o.client_id FROM client_record o WHERE o.tenant_id = $1 AND o.account_id = $2 \
            ORDER BY o.client_id LIMIT 1))",
    )
    .bind(studio)
    .bind(account)
    .bind(requested)
    .bind(i32::try_from(settings.strike_window_days).unwrap_or(30))
    .fetch_optional(cmd.conn())
    .await?;
    let Some((id, own, strikes, last, archived)) = row else {
        return Err(match requested {
            None => ApiError::Rule {
                code: "client_required",
                message: "give `client_id` (your account has no client record here)".to_owned(),
            },
            Some(_) => ApiError::Rule {
                code: "client_not_found",
                message: "no such client record in this studio".to_owned(),
            },
        });
    };
    if archived {
        return Err(ApiError::Rule {
            code: "client_archived",
            message: "this client record is archived: unarchive it to book".to_owned(),
        });
    }
    Ok(ClientRef {
        id,
        own,
        blocked_until: settings.blocked_until(u64::try_from(strikes).unwrap_or(0), last),
    })
}

/// A client record's owner and assigned trainers (`None`: no such record here).
pub async fn client_record(
    cmd: &mut CommandTx,
    client: Uuid,
) -> Result<Option<(Option<Uuid>, Vec<Uuid>)>, ApiError> {
    let studio = cmd.studio_id;
    Ok(sqlx::query_as(
        "SELECT account_id, trainers FROM client_record WHERE tenant_id = $1 AND client_id = $2",
    )
    .bind(studio)
    .bind(client)
    .fetch_optional(cmd.conn())
    .await?)
}

/// Ends every trainer assignment `trainer` holds in this studio (they were removed, or
/// are no longer a trainer), in the command's transaction: health visibility never
/// outlives the relationship, and coming back does not restore it.
pub async fn end_trainer_assignments(
    state: &AppState,
    cmd: &mut CommandTx,
    trainer: Uuid,
) -> Result<(), ApiError> {
    let studio = cmd.studio_id;
    let clients: Vec<Uuid> = sqlx::query_scalar(
        "SELECT client_id FROM client_record WHERE tenant_id = $1 AND $2 = ANY (trainers) \
         ORDER BY client_id",
    )
    .bind(studio)
    .bind(trainer)
    .fetch_all(cmd.conn())
    .await?;
    let bus = state.bus::<domain::client::Client>();
    for client in clients {
        cmd.run_also(
            &bus,
            client,
            domain::client::ClientCommand::UnassignTrainer {
                trainer_id: domain::account::AccountId(trainer),
            },
        )
        .await?;
    }
    Ok(())
}

/// Makes `account` bookable: a member who joined as a client gets a client record in the
/// same transaction — the unlinked record with their email if the studio has one (linked,
/// not duplicated), else a new one (its id derived from studio and account, so a retry
/// creates nothing twice). Returns the record's id.
pub async fn link_client_record(
    state: &AppState,
    cmd: &mut CommandTx,
    account: Uuid,
) -> Result<Uuid, ApiError> {
    let studio = cmd.studio_id;
    let (email, full_name, linked, unlinked): (String, String, Option<Uuid>, Option<Uuid>) =
        sqlx::query_as(
            "SELECT a.email, a.full_name, \
               (SELECT c.client_id FROM client_record c WHERE c.tenant_id = $1 AND c.account_id = a.id \
                ORDER BY c.client_id LIMIT 1), \
               (SELECT c.client_id FROM client_record c WHERE c.tenant_id = $1 AND c.account_id IS NULL \
                AND lower(c.email) = lower(a.email) ORDER BY c.client_id LIMIT 1) \
             FROM account a WHERE a.id = $2",
        )
        .bind(studio)
        .bind(account)
        .fetch_one(cmd.conn())
        .await?;
    if let Some(id) = linked {
        return Ok(id);
    }
    if let Some(id) = unlinked {
        let command = ClientCommand::LinkAccount {
            account_id: AccountId(account),
        };
        cmd.run_also(&state.bus::<domain::client::Client>(), id, command)
            .await?;
        return Ok(id);
    }
    let id = Uuid::new_v5(&studio, account.as_bytes());
    let command = ClientCommand::Register {
        client_id: ClientId(id),
        studio_id: StudioId(studio),
        full_name: DisplayName::parse(&full_name).map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("stored account name is invalid: {e}"))
        })?,
        email: Email::parse(&email).ok(),
        account_id: Some(AccountId(account)),
    };
    cmd.run_also(&state.bus::<domain::client::Client>(), id, command)
        .await?;
    Ok(id)
}

/// A location of this studio: `Some(its own zone, if any)`; `None` if there is none.
pub async fn location(
    cmd: &mut CommandTx,
    location: Uuid,
) -> Result<Option<Option<String>>, ApiError> {
    let studio = cmd.studio_id;
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT timezone FROM studio_location WHERE tenant_id = $1 AND location_id = $2",
    )
    .bind(studio)
    .bind(location)
    .fetch_optional(cmd.conn())
    .await?;
    Ok(row.map(|(zone,)| zone))
}

/// The instructor may teach here (trainer, admin or owner) and is free at `times`: no
/// other class they teach (other than the `except` classes, e.g. a series' own
/// occurrences on a retry) and no 1:1 appointment overlaps, from the directory.
pub async fn check_instructor(
    cmd: &mut CommandTx,
    instructor: Option<Uuid>,
    times: &[(DateTime<Utc>, DateTime<Utc>)],
    except: &[Uuid],
) -> Result<(), ApiError> {
    let Some(instructor) = instructor else {
        return Ok(());
    };
    match cmd.role_of(instructor).await? {
        Some(role) if policy::may_teach(role) => {}
        _ => {
            return Err(ApiError::Rule {
                code: "not_an_instructor",
                message: "instructor_id must be a trainer, admin or owner of this studio"
                    .to_owned(),
            })
        }
    }
    let (Some(first), Some(last)) = (
        times.iter().map(|t| t.0).min(),
        times.iter().map(|t| t.1).max(),
    ) else {
        return Ok(());
    };
    let taken = busy(cmd, instructor, first, last, except).await?;
    if let Some((s, _)) = times
        .iter()
        .find(|(s, e)| taken.iter().any(|(ts, te)| s < te && e > ts))
    {
        return Err(ApiError::Rule {
            code: "instructor_busy",
            message: format!(
                "the instructor teaches another class or has an appointment at {}",
                s.to_rfc3339()
            ),
        });
    }
    Ok(())
}

type Interval = (DateTime<Utc>, DateTime<Utc>);

/// Intervals in `[from, to)` when `trainer` teaches a class (not `except`) or has an
/// appointment.
async fn busy(
    cmd: &mut CommandTx,
    trainer: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: &[Uuid],
) -> Result<Vec<Interval>, ApiError> {
    let studio = cmd.studio_id;
    Ok(sqlx::query_as(
        "SELECT starts_at, ends_at FROM class_slot WHERE tenant_id = $1 AND instructor_id = $2 \
           AND status <> 'cancelled' AND starts_at < $4 AND ends_at > $3 AND class_id <> ALL($5) \
         UNION ALL \
         SELECT starts_at, ends_at FROM appointment_slot WHERE tenant_id = $1 AND trainer_id = $2 \
           AND starts_at < $4 AND ends_at > $3",
    )
    .bind(studio)
    .bind(trainer)
    .bind(from)
    .bind(to)
    .bind(except)
    .fetch_all(cmd.conn())
    .await?)
}

/// Classes `trainer` teaches around `starts_at` (a day either side covers any
/// appointment length), as busy intervals for their calendar.
pub async fn teaching_around(
    cmd: &mut CommandTx,
    trainer: Uuid,
    starts_at: DateTime<Utc>,
) -> Result<Vec<Busy>, ApiError> {
    let day = chrono::Duration::days(1);
    let studio = cmd.studio_id;
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT starts_at, ends_at FROM class_slot WHERE tenant_id = $1 AND instructor_id = $2 \
         AND status <> 'cancelled' AND starts_at < $4 AND ends_at > $3 ORDER BY starts_at LIMIT 1000",
    )
    .bind(studio)
    .bind(trainer)
    .bind(starts_at - day)
    .bind(starts_at + day)
    .fetch_all(cmd.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(from, to)| Busy { from, to })
        .collect())
}

/// The scheduled classes of a series starting at or after `from` (at most 400: a series
/// has at most 366).
pub async fn series_classes(
    cmd: &mut CommandTx,
    schedule: Uuid,
    from: DateTime<Utc>,
) -> Result<Vec<Uuid>, ApiError> {
    let studio = cmd.studio_id;
    Ok(sqlx::query_scalar(
        "SELECT class_id FROM class_slot WHERE tenant_id = $1 AND schedule_id = $2 \
         AND status = 'scheduled' AND starts_at >= $3 ORDER BY starts_at LIMIT 400",
    )
    .bind(studio)
    .bind(schedule)
    .bind(from)
    .fetch_all(cmd.conn())
    .await?)
}
