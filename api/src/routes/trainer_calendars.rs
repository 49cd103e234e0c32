//! Trainers' calendars for 1:1 appointments: weekly availability with time off, buffers
//! and minimum notice; free slots; a trainer's schedule. Booking, rescheduling and
//! cancelling appointments: `routes/appointments.rs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::account::AccountId;
use domain::class::view::ClassView;
use domain::policy::{self, Action, Relation};
use domain::studio::StudioId;
use domain::trainer_calendar::view::TrainerCalendarView;
use domain::trainer_calendar::{
    slots, Appointment, Busy, Rules, TimeOff, TrainerCalendarCommand, Window,
};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::appointments::{self, calendar_id};
use crate::auth::Caller;
use crate::command::CommandTx;
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{Accepted, TrainerPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_availability))
        .routes(routes!(add_time_off))
        .routes(routes!(free_slots))
        .routes(routes!(trainer_schedule))
}

/// The trainer must be a member who can teach (read side).
async fn require_trainer(
    state: &AppState,
    member: &Membership,
    trainer: Uuid,
) -> Result<(), ApiError> {
    match member.role_of(&state.pool, trainer).await? {
        Some(role) if policy::may_teach(role) => Ok(()),
        _ => Err(appointments::trainer_not_found()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAvailability {
    /// Weekly windows in local time (`weekday`: `mon`…`sun`, times `HH:MM:SS`).
    #[schema(max_items = 50)]
    pub weekly: Vec<Window>,
    /// Appointment length (5..=480).
    #[schema(minimum = 5, maximum = 480)]
    pub slot_minutes: u32,
    /// Kept free after each appointment (≤ 240).
    #[serde(default)]
    #[schema(maximum = 240)]
    pub buffer_minutes: u32,
    /// Earliest booking from now (≤ 30 days).
    #[serde(default)]
    #[schema(maximum = 43200)]
    pub min_notice_minutes: u32,
    /// Defaults to the studio's time zone.
    pub timezone: Option<String>,
}

/// Publish (replace) a trainer's weekly availability.
#[utoipa::path(put, path = "/studios/{studio_id}/trainers/{trainer_id}/availability", tag = "trainer calendars", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("trainer_id" = Uuid, Path, description = "Trainer's account")),
    request_body = SetAvailability,
    responses(
        (status = 200, description = "Published", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `trainer_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json")))]
pub async fn set_availability(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<TrainerPath>,
    AppJson(body): AppJson<SetAvailability>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require_with(
        Action::ManageAvailability,
        Relation {
            own_record: path.trainer_id == user.account_id,
            assigned_trainer: false,
        },
    )?;
    appointments::require_trainer(&mut cmd, path.trainer_id).await?;
    let timezone = match body.timezone {
        Some(t) => t,
        None => cmd.profile()?.timezone.clone(),
    };
    let rules = Rules {
        timezone,
        weekly: body.weekly,
        slot_minutes: body.slot_minutes,
        buffer_minutes: body.buffer_minutes,
        min_notice_minutes: body.min_notice_minutes,
    };
    let command = TrainerCalendarCommand::SetAvailability {
        studio_id: StudioId(path.studio_id),
        trainer_id: AccountId(path.trainer_id),
        rules,
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
    cmd.commit_accepted(StatusCode::OK, path.trainer_id, version)
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTimeOff {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Block time off (no slots are offered inside it).
#[utoipa::path(post, path = "/studios/{studio_id}/trainers/{trainer_id}/time-off", tag = "trainer calendars", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("trainer_id" = Uuid, Path, description = "Trainer's account")),
    request_body = AddTimeOff,
    responses(
        (status = 201, description = "Added", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`trainer_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json")))]
pub async fn add_time_off(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<TrainerPath>,
    AppJson(body): AppJson<AddTimeOff>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require_with(
        Action::ManageAvailability,
        Relation {
            own_record: path.trainer_id == user.account_id,
            assigned_trainer: false,
        },
    )?;
    appointments::require_trainer(&mut cmd, path.trainer_id).await?;
    let time_off = TimeOff {
        id: Uuid::now_v7(),
        from: body.from,
        to: body.to,
    };
    let calendar = calendar_id(path.studio_id, path.trainer_id);
    let version = cmd
        .run(
            &state.bus::<domain::trainer_calendar::TrainerCalendar>(),
            calendar,
            TrainerCalendarCommand::AddTimeOff { time_off },
        )
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::CREATED, time_off.id, version)
        .await
}

async fn calendar(
    state: &AppState,
    member: &Membership,
    trainer: Uuid,
) -> Result<TrainerCalendarView, ApiError> {
    let id = calendar_id(member.studio_id, trainer);
    let doc = member.view::<TrainerCalendarView>(&state.pool, id).await?;
    Ok(doc.unwrap_or_default())
}

/// Classes the trainer teaches in `[from, to)`, as busy intervals: no appointment is
/// offered or booked over them. Read from `class_view` (a class scheduled a moment ago
/// may not block yet; the trainer's own calendar stream is what rules out two
/// appointments at once).
async fn teaching(
    state: &AppState,
    member: &Membership,
    trainer: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Busy>, ApiError> {
    let mut tx = member.tx(&state.pool).await?;
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT starts_at, ends_at FROM class_view WHERE tenant_id = $1 AND instructor_id = $2 \
         AND status <> 'cancelled' AND starts_at < $4 AND ends_at > $3 ORDER BY starts_at LIMIT 1000",
    )
    .bind(member.studio_id)
    .bind(trainer)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(from, to)| Busy { from, to })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    pub from: DateTime<Utc>,
    /// At most 31 days after `from`.
    pub to: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Slots {
    pub slots: Vec<Slot>,
}

fn check_range(p: &RangeParams) -> Result<(), ApiError> {
    if p.to <= p.from || p.to - p.from > chrono::Duration::days(31) {
        return Err(ApiError::InvalidQuery(
            "`to` must be after `from`, at most 31 days later".to_owned(),
        ));
    }
    Ok(())
}

/// Free slots of a trainer in a range.
#[utoipa::path(get, path = "/studios/{studio_id}/trainers/{trainer_id}/slots", tag = "trainer calendars", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("trainer_id" = Uuid, Path, description = "Trainer's account"), RangeParams),
    responses(
        (status = 200, description = "Free slots", body = Slots),
        (status = 400, description = "Bad range", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `trainer_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn free_slots(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<TrainerPath>,
    AppQuery(params): AppQuery<RangeParams>,
) -> Result<AppJson<Slots>, ApiError> {
    check_range(&params)?;
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ViewSchedule)?;
    require_trainer(&state, &member, path.trainer_id).await?;
    let cal = calendar(&state, &member, path.trainer_id).await?;
    let busy = teaching(&state, &member, path.trainer_id, params.from, params.to).await?;
    // Bounded work (`domain::trainer_calendar::MAX_CANDIDATES`), still CPU: off the
    // async threads, so a heavy calendar never stalls other requests.
    let (from, to) = (params.from, params.to);
    let free = tokio::task::spawn_blocking(move || match &cal.rules {
        Some(rules) => slots(
            rules,
            &cal.time_off,
            &busy,
            &cal.appointments,
            from,
            to,
            Utc::now(),
        ),
        None => Vec::new(),
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("slot computation failed: {e}")))?;
    Ok(AppJson(Slots {
        slots: free
            .into_iter()
            .map(|(starts_at, ends_at)| Slot { starts_at, ends_at })
            .collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrainerSchedule {
    pub appointments: Vec<Appointment>,
    /// Classes this trainer teaches in the range (counts, no roster).
    pub classes: Vec<ClassView>,
}

/// A trainer's schedule: appointments and classes in a range.
#[utoipa::path(get, path = "/studios/{studio_id}/trainers/{trainer_id}/schedule", tag = "trainer calendars", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("trainer_id" = Uuid, Path, description = "Trainer's account"), RangeParams),
    responses(
        (status = 200, description = "Schedule", body = TrainerSchedule),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`trainer_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn trainer_schedule(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<TrainerPath>,
    AppQuery(params): AppQuery<RangeParams>,
) -> Result<AppJson<TrainerSchedule>, ApiError> {
    check_range(&params)?;
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageAttendance)?;
    require_trainer(&state, &member, path.trainer_id).await?;
    let cal = calendar(&state, &member, path.trainer_id).await?;
    let mut appointments: Vec<Appointment> = cal
        .appointments
        .into_iter()
        .filter(|a| a.starts_at >= params.from && a.starts_at < params.to)
        .collect();
    appointments.sort_by_key(|a| a.starts_at);
    let mut tx = member.tx(&state.pool).await?;
    let classes: Vec<Json<ClassView>> = sqlx::query_scalar(
        "SELECT doc FROM class_view WHERE tenant_id = $1 AND instructor_id = $2 AND starts_at >= $3 AND starts_at < $4 ORDER BY starts_at",
    )
    .bind(path.studio_id)
    .bind(path.trainer_id)
    .bind(params.from)
    .bind(params.to)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let classes = classes
        .into_iter()
        .map(|c| ClassView {
            roster: Vec::new(),
            ..c.0
        })
        .collect();
    Ok(AppJson(TrainerSchedule {
        appointments,
        classes,
    }))
}
