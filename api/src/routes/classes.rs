//! Classes: one-off classes, the calendar, one class and its roster, and what staff
//! change on a class (cancel, capacity, instructor). Weekly series:
//! `routes/schedules.rs`; booking: `routes/bookings.rs`; check-in:
//! `routes/attendance.rs`.
//!
//! Capacity, waitlist order and promotions are decided inside each class's stream, so
//! they hold under any concurrency.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::account::AccountId;
use domain::class::view::{ClassView, RosterEntry};
use domain::class::{BookingStatus, ClassCommand, ClassId};
use domain::policy::{Action, Relation};
use domain::scheduling::BookingPolicy;
use domain::studio::view::StudioView;
use domain::studio::{LocationId, StudioId};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::directory;
use crate::application::scheduling::{self, ShapeRequest};
use crate::auth::Caller;
use crate::command::CommandTx;
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{cancel_reason, Accepted, ClassPath, ReadParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_class, list_classes))
        .routes(routes!(get_class))
        .routes(routes!(roster))
        .routes(routes!(cancel_class))
        .routes(routes!(change_capacity))
        .routes(routes!(substitute_instructor))
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "class_not_found",
        what: "class",
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClass {
    /// Client-chosen class id (a retry with the same id schedules nothing twice); minted
    /// when absent.
    pub id: Option<Uuid>,
    /// The class type whose title, duration, capacity and policy the class takes (each
    /// can still be set here).
    pub class_type_id: Option<Uuid>,
    /// 1..=100 characters; required without `class_type_id`.
    #[schema(min_length = 1, max_length = 100)]
    pub title: Option<String>,
    pub starts_at: DateTime<Utc>,
    /// 5..=1440; required without `class_type_id`.
    #[schema(minimum = 5, maximum = 1440)]
    pub duration_minutes: Option<u32>,
    /// Defaults to the class type's, else the studio's `default_class_capacity`.
    #[schema(minimum = 1, maximum = 500)]
    pub capacity: Option<u32>,
    pub location_id: Option<Uuid>,
    pub instructor_id: Option<Uuid>,
    /// Defaults to the class type's, else from the studio's settings.
    pub policy: Option<BookingPolicy>,
}

/// Schedule a one-off class.
#[utoipa::path(post, path = "/studios/{studio_id}/classes", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = CreateClass,
    responses(
        (status = 201, description = "Scheduled; `id` is the class id", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `not_an_instructor`, `instructor_busy`", body = Problem, content_type = "application/problem+json")))]
pub async fn create_class(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<CreateClass>,
) -> Result<Response, ApiError> {
    scheduling::check_start("starts_at", body.starts_at)?;
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let shape = scheduling::class_shape(
        &state,
        &mut cmd,
        ShapeRequest {
            class_type_id: body.class_type_id,
            title: body.title,
            duration_minutes: body.duration_minutes,
            capacity: body.capacity,
            policy: body.policy,
        },
    )
    .await?;
    scheduling::location_zone(&mut cmd, body.location_id).await?;
    let ends_at = body.starts_at + chrono::Duration::minutes(i64::from(shape.duration_minutes));
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    directory::check_instructor(
        &mut cmd,
        body.instructor_id,
        &[(body.starts_at, ends_at)],
        &[id],
    )
    .await?;
    let command = ClassCommand::Schedule {
        class_id: ClassId(id),
        studio_id: StudioId(path.studio_id),
        title: shape.title,
        class_type_id: shape.class_type_id,
        starts_at: body.starts_at,
        duration_minutes: shape.duration_minutes,
        capacity: shape.capacity,
        location_id: body.location_id.map(LocationId),
        instructor_id: body.instructor_id.map(AccountId),
        schedule_id: None,
        policy: shape.policy,
    };
    let version = cmd
        .run(&state.bus::<domain::class::Class>(), id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::CREATED, id, version).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CalendarParams {
    /// Start of the range (default: now).
    pub from: Option<DateTime<Utc>>,
    /// End of the range (default: `from` + 7 days; at most 62 days after `from`).
    pub to: Option<DateTime<Utc>>,
    pub location_id: Option<Uuid>,
    pub instructor_id: Option<Uuid>,
    pub class_type_id: Option<Uuid>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Calendar {
    /// Classes in the range, by start time, with booked/waitlisted counts (no roster).
    pub classes: Vec<ClassView>,
    /// Names of the instructors, locations and class types the classes refer to, by id:
    /// a calendar renders from this one response.
    pub instructors: BTreeMap<Uuid, String>,
    pub locations: BTreeMap<Uuid, String>,
    pub class_types: BTreeMap<Uuid, String>,
}

fn without_roster(mut v: ClassView) -> ClassView {
    v.roster.clear();
    v
}

/// The studio calendar for a range (day, week, …), filterable by location, instructor
/// and class type.
#[utoipa::path(get, path = "/studios/{studio_id}/classes", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), CalendarParams),
    responses(
        (status = 200, description = "Classes", body = Calendar),
        (status = 400, description = "Bad range", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn list_classes(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    AppQuery(params): AppQuery<CalendarParams>,
) -> Result<AppJson<Calendar>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ViewSchedule)?;
    let from = params.from.unwrap_or_else(Utc::now);
    let to = params.to.unwrap_or(from + chrono::Duration::days(7));
    if to <= from || to - from > chrono::Duration::days(62) {
        return Err(ApiError::InvalidQuery(
            "`to` must be after `from`, at most 62 days later".to_owned(),
        ));
    }
    let mut tx = member.tx(&state.pool).await?;
    let docs: Vec<Json<ClassView>> = sqlx::query_scalar(
        "SELECT doc FROM class_view WHERE tenant_id = $1 AND starts_at >= $2 AND starts_at < $3 \
         AND ($4::uuid IS NULL OR location_id = $4) AND ($5::uuid IS NULL OR instructor_id = $5) \
         AND ($6::uuid IS NULL OR class_type_id = $6) ORDER BY starts_at, id LIMIT 2000",
    )
    .bind(path.studio_id)
    .bind(from)
    .bind(to)
    .bind(params.location_id)
    .bind(params.instructor_id)
    .bind(params.class_type_id)
    .fetch_all(&mut *tx)
    .await?;
    let classes: Vec<ClassView> = docs.into_iter().map(|d| without_roster(d.0)).collect();
    let ids = |f: fn(&ClassView) -> Option<Uuid>| {
        let mut v: Vec<Uuid> = classes.iter().filter_map(f).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let instructors: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT a.id, a.full_name FROM studio_membership m JOIN account a ON a.id = m.account_id \
         WHERE m.tenant_id = $1 AND m.account_id = ANY($2)",
    )
    .bind(path.studio_id)
    .bind(ids(|c| c.instructor_id.map(|i| i.0)))
    .fetch_all(&mut *tx)
    .await?;
    let class_types: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT id, name FROM class_type_view WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(path.studio_id)
    .bind(ids(|c| c.class_type_id))
    .fetch_all(&mut *tx)
    .await?;
    let studio: Option<Json<StudioView>> =
        sqlx::query_scalar("SELECT doc FROM studio_view WHERE id = $1")
            .bind(path.studio_id)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    let used = ids(|c| c.location_id.map(|l| l.0));
    let locations = studio
        .into_iter()
        .flat_map(|s| s.0.locations)
        .filter(|l| used.binary_search(&l.id.0).is_ok())
        .map(|l| (l.id.0, l.name))
        .collect();
    Ok(AppJson(Calendar {
        classes,
        instructors: instructors.into_iter().collect(),
        locations,
        class_types: class_types.into_iter().collect(),
    }))
}

async fn load_class_at(
    state: &AppState,
    member: &Membership,
    id: Uuid,
    min_version: Option<u64>,
) -> Result<ClassView, ApiError> {
    state
        .waiter
        .read_view::<ClassView>(
            member,
            &state.pool,
            id,
            state.config.read_wait_max,
            min_version,
        )
        .await?
        .ok_or_else(not_found)
}

/// One class (roster included for staff).
#[utoipa::path(get, path = "/studios/{studio_id}/classes/{class_id}", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id"), ReadParams),
    responses(
        (status = 200, description = "The class", body = ClassView),
        (status = 404, description = "`class_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`view_not_caught_up`", body = Problem, content_type = "application/problem+json")))]
pub async fn get_class(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClassPath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<AppJson<ClassView>, ApiError> {
    let (member, view) = state
        .waiter
        .read_member_view::<ClassView>(
            &state.pool,
            &user,
            path.studio_id,
            path.class_id,
            state.config.read_wait_max,
            params.min_version,
            |member| member.require(Action::ViewSchedule),
        )
        .await?;
    let view = view.ok_or_else(not_found)?;
    if member.may(Action::ManageAttendance, Relation::default()) {
        Ok(AppJson(view))
    } else {
        Ok(AppJson(without_roster(view)))
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RosterLine {
    #[serde(flatten)]
    pub entry: RosterEntry,
    pub client_name: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Roster {
    pub class: ClassView,
    /// Booked and checked-in clients, then the waitlist in order, then the rest.
    pub lines: Vec<RosterLine>,
}

/// The class roster with waitlist and client names, in one request.
#[utoipa::path(get, path = "/studios/{studio_id}/classes/{class_id}/roster", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id"), ReadParams),
    responses(
        (status = 200, description = "Roster", body = Roster),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn roster(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClassPath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<AppJson<Roster>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageAttendance)?;
    let class = load_class_at(&state, &member, path.class_id, params.min_version).await?;
    let ids: Vec<Uuid> = class.roster.iter().map(|r| r.client_id.0).collect();
    let mut tx = member.tx(&state.pool).await?;
    let names: std::collections::HashMap<Uuid, String> =
        sqlx::query("SELECT id, full_name FROM client_view WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
            .collect();
    tx.commit().await?;
    let rank = |s: BookingStatus| match s {
        BookingStatus::CheckedIn | BookingStatus::Booked => 0,
        BookingStatus::Waitlisted => 1,
        _ => 2,
    };
    let mut lines: Vec<RosterLine> = class
        .roster
        .iter()
        .cloned()
        .map(|entry| RosterLine {
            client_name: names.get(&entry.client_id.0).cloned(),
            entry,
        })
        .collect();
    lines.sort_by_key(|l| (rank(l.entry.status), l.entry.waitlist_position.unwrap_or(0)));
    Ok(AppJson(Roster { class, lines }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelClass {
    /// Shown to the booked clients (1..=200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

/// Cancel one class; its bookings are cancelled and the clients notified.
#[utoipa::path(post, path = "/studios/{studio_id}/classes/{class_id}/cancel", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id")),
    request_body = CancelClass,
    responses(
        (status = 200, description = "Cancelled", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`class_over`", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_class(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<CancelClass>,
) -> Result<Response, ApiError> {
    let reason = cancel_reason(&body.reason)?;
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let command = ClassCommand::CancelClass {
        reason: reason.to_owned(),
    };
    let version = cmd
        .run(&state.bus::<domain::class::Class>(), path.class_id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_id, version)
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeCapacity {
    pub capacity: u32,
}

/// Change one class's capacity (raising it promotes from the waitlist).
#[utoipa::path(put, path = "/studios/{studio_id}/classes/{class_id}/capacity", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id")),
    request_body = ChangeCapacity,
    responses(
        (status = 200, description = "Changed", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `class_cancelled`", body = Problem, content_type = "application/problem+json")))]
pub async fn change_capacity(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<ChangeCapacity>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let command = ClassCommand::ChangeCapacity {
        capacity: body.capacity,
        now: Utc::now(),
    };
    let version = cmd
        .run(&state.bus::<domain::class::Class>(), path.class_id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_id, version)
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubstituteInstructor {
    /// A trainer, admin or owner; `null` for none.
    pub instructor_id: Option<Uuid>,
}

/// Substitute one class's instructor.
#[utoipa::path(put, path = "/studios/{studio_id}/classes/{class_id}/instructor", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id")),
    request_body = SubstituteInstructor,
    responses(
        (status = 200, description = "Changed", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_an_instructor`, `instructor_busy`, `class_cancelled`", body = Problem, content_type = "application/problem+json")))]
pub async fn substitute_instructor(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<SubstituteInstructor>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let (session, _) = cmd
        .load(&state.bus::<domain::class::Class>(), path.class_id)
        .await?;
    let times: Vec<_> = session.times().into_iter().collect();
    directory::check_instructor(&mut cmd, body.instructor_id, &times, &[path.class_id]).await?;
    let command = ClassCommand::SubstituteInstructor {
        instructor_id: body.instructor_id.map(AccountId),
    };
    let version = cmd
        .run(&state.bus::<domain::class::Class>(), path.class_id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_id, version)
        .await
}
