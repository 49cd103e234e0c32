//! 1:1 appointments with trainers: booking a free slot, rescheduling and cancelling.
//! Each trainer's calendar is one stream, so a trainer is never double-booked whatever
//! the concurrency. Availability and slots: `routes/trainer_calendars.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::client::ClientId;
use domain::policy::{Action, Relation};
use domain::trainer_calendar::{Appointment, TrainerCalendarCommand};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::appointments::{self, calendar_id};
use crate::application::directory;
use crate::auth::Caller;
use crate::command::{CommandTx, Reply};
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::routes::{Accepted, TrainerPath};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(book_appointment))
        .routes(routes!(reschedule))
        .routes(routes!(cancel_appointment))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppointmentPath {
    pub studio_id: Uuid,
    pub trainer_id: Uuid,
    pub appointment_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookAppointment {
    /// Client-chosen id (makes retries safe: a repeated request books once); minted when
    /// absent.
    pub id: Option<Uuid>,
    /// A free slot's start.
    pub starts_at: DateTime<Utc>,
    /// The client record (clients book for themselves and may omit it).
    pub client_id: Option<Uuid>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AppointmentBooked {
    pub appointment: Appointment,
    pub version: u64,
}

/// Book a slot with a trainer.
#[utoipa::path(post, path = "/studios/{studio_id}/trainers/{trainer_id}/appointments", tag = "appointments", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("trainer_id" = Uuid, Path, description = "Trainer's account")),
    request_body = BookAppointment,
    responses(
        (status = 201, description = "Booked", body = AppointmentBooked),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`trainer_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`slot_unavailable`, `no_availability`, `client_required`, `client_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn book_appointment(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<TrainerPath>,
    AppJson(body): AppJson<BookAppointment>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?;
    appointments::require_trainer(&mut cmd, path.trainer_id).await?;
    let client = directory::resolve_client(&mut cmd, body.client_id).await?;
    member.require_with(
        Action::BookAppointment,
        Relation {
            own_record: client.own || path.trainer_id == member.account_id,
            assigned_trainer: false,
        },
    )?;
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let busy = directory::teaching_around(&mut cmd, path.trainer_id, body.starts_at).await?;
    let command = TrainerCalendarCommand::Book {
        appointment_id: id,
        client_id: ClientId(client.id),
        starts_at: body.starts_at,
        busy,
        now: Utc::now(),
    };
    let calendar = calendar_id(path.studio_id, path.trainer_id);
    let executed = cmd
        .run(
            &state.bus::<domain::trainer_calendar::TrainerCalendar>(),
            calendar,
            command,
        )
        .await?;
    // On a retry (same id) nothing new was written: answer the appointment as booked.
    let appointment = *executed.aggregate.appointment(id).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "booked appointment {id} is not in its calendar"
        ))
    })?;
    let version = executed.outcome.version;
    let reply = Reply::json(
        StatusCode::CREATED,
        &AppointmentBooked {
            appointment,
            version,
        },
    )?
    .with_etag(version);
    cmd.commit(reply).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reschedule {
    pub starts_at: DateTime<Utc>,
}

/// Move an appointment to another free slot.
#[utoipa::path(post, path = "/studios/{studio_id}/trainers/{trainer_id}/appointments/{appointment_id}/reschedule", tag = "appointments", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("trainer_id" = Uuid, Path, description = "Trainer's account"), ("appointment_id" = Uuid, Path, description = "Appointment id")),
    request_body = Reschedule,
    responses(
        (status = 200, description = "Moved", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`appointment_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`slot_unavailable`", body = Problem, content_type = "application/problem+json")))]
pub async fn reschedule(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<AppointmentPath>,
    AppJson(body): AppJson<Reschedule>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?;
    appointments::require_trainer(&mut cmd, path.trainer_id).await?;
    appointments::require_party(
        &state,
        &mut cmd,
        &member,
        path.trainer_id,
        path.appointment_id,
    )
    .await?;
    let busy = directory::teaching_around(&mut cmd, path.trainer_id, body.starts_at).await?;
    let command = TrainerCalendarCommand::Reschedule {
        appointment_id: path.appointment_id,
        starts_at: body.starts_at,
        busy,
        now: Utc::now(),
    };
    let calendar = calendar_id(path.studio_id, path.trainer_id);
    let version = cmd
        .run(
            &state.bus::<domain::trainer_calendar::TrainerCalendar>(),
            calendar,
            command,
        )
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.appointment_id, version)
        .await
}

/// Cancel an appointment.
#[utoipa::path(delete, path = "/studios/{studio_id}/trainers/{trainer_id}/appointments/{appointment_id}", tag = "appointments", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("trainer_id" = Uuid, Path, description = "Trainer's account"), ("appointment_id" = Uuid, Path, description = "Appointment id")),
    responses(
        (status = 200, description = "Cancelled", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`appointment_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_appointment(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<AppointmentPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?;
    appointments::require_trainer(&mut cmd, path.trainer_id).await?;
    appointments::require_party(
        &state,
        &mut cmd,
        &member,
        path.trainer_id,
        path.appointment_id,
    )
    .await?;
    let command = TrainerCalendarCommand::Cancel {
        appointment_id: path.appointment_id,
    };
    let calendar = calendar_id(path.studio_id, path.trainer_id);
    let version = cmd
        .run(
            &state.bus::<domain::trainer_calendar::TrainerCalendar>(),
            calendar,
            command,
        )
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.appointment_id, version)
        .await
}
