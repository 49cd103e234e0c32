//! Classes: one-off classes and weekly series, the calendar, rosters, booking with
//! capacity and waitlist, cancellation policy, check-in.
//!
//! Capacity, waitlist order and promotions are decided inside each class's stream, so
//! they hold under any concurrency; strikes are written with the events that cause them
//! and checked before booking.
//!
//! Check-in: staff check anyone in; a client checks their own booking in with the
//! short-lived code the studio shows (`GET …/check-in-code`, see
//! [`crate::check_in_code`]), which proves they are there.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use domain::account::AccountId;
use domain::class::view::{ClassView, RosterEntry};
use domain::class::{BookingId, BookingStatus, ClassCommand, ClassEvent, ClassId};
use domain::client::ClientId;
use domain::policy::{Action, Relation};
use domain::scheduling::recurrence::{occurrences, SeriesEnd, WeeklyRule};
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

use crate::auth::Caller;
use crate::command::{CommandTx, Reply};
use crate::context::RequestContext;
use crate::directory;
use crate::error::{from_command, ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::studios::{Accepted, ReadParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_class, list_classes))
        .routes(routes!(create_series))
        .routes(routes!(cancel_series))
        .routes(routes!(get_class))
        .routes(routes!(roster))
        .routes(routes!(book))
        .routes(routes!(cancel_booking))
        .routes(routes!(check_in))
        .routes(routes!(check_in_code))
        .routes(routes!(cancel_class))
        .routes(routes!(change_capacity))
        .routes(routes!(substitute_instructor))
        .routes(routes!(client_bookings))
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "class_not_found",
        what: "class",
    }
}

fn bad(field: &str, message: &str) -> ApiError {
    ApiError::invalid_field(field, message)
}

/// `422` unless `location` is one of this studio's; its zone (or the studio's).
async fn location_zone(cmd: &mut CommandTx, location: Option<Uuid>) -> Result<String, ApiError> {
    let studio_zone = cmd.profile()?.timezone.clone();
    let Some(location) = location else {
        return Ok(studio_zone);
    };
    match directory::location(cmd, location).await? {
        Some(zone) => Ok(zone.unwrap_or(studio_zone)),
        None => Err(bad("location_id", "no such location in this studio")),
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

/// What a new class is: from its class type where one is given, with what the request
/// sets on top, else from the request and the studio's settings.
struct ClassShape {
    title: String,
    class_type_id: Option<Uuid>,
    duration_minutes: u32,
    capacity: u32,
    policy: BookingPolicy,
}

#[allow(clippy::too_many_arguments)]
async fn class_shape(
    state: &AppState,
    cmd: &mut CommandTx,
    class_type_id: Option<Uuid>,
    title: Option<String>,
    duration_minutes: Option<u32>,
    capacity: Option<u32>,
    policy: Option<BookingPolicy>,
) -> Result<ClassShape, ApiError> {
    let class_type = match class_type_id {
        Some(id) => Some(crate::routes::class_types::current(state, cmd, id).await?),
        None => None,
    };
    let title = match (title, &class_type) {
        (Some(t), _) => t,
        (None, Some(ct)) => ct.name.clone(),
        (None, None) => return Err(bad("title", "required without class_type_id")),
    };
    let title = domain::values::DisplayName::parse(&title)
        .map_err(|e| ApiError::Validation(vec![ApiError::validation("title", &e)]))?;
    let duration_minutes = duration_minutes
        .or(class_type.as_ref().map(|ct| ct.duration_minutes))
        .ok_or_else(|| bad("duration_minutes", "required without class_type_id"))?;
    let settings = &cmd.profile()?.settings;
    Ok(ClassShape {
        title: title.to_string(),
        class_type_id,
        duration_minutes,
        capacity: capacity
            .or(class_type.as_ref().map(|ct| ct.default_capacity))
            .unwrap_or(settings.default_class_capacity),
        policy: policy
            .or(class_type.as_ref().map(|ct| ct.policy))
            .unwrap_or_else(|| BookingPolicy::from_settings(settings)),
    })
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
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let shape = class_shape(
        &state,
        &mut cmd,
        body.class_type_id,
        body.title,
        body.duration_minutes,
        body.capacity,
        body.policy,
    )
    .await?;
    location_zone(&mut cmd, body.location_id).await?;
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
    let version = cmd.run(&state.classes, id, command).await?.outcome.version;
    cmd.commit_accepted(StatusCode::CREATED, id, version).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSeries {
    /// Client-chosen series id: a retried request re-creates the same classes (ids derive
    /// from it), so it fills gaps instead of duplicating. Minted when absent.
    pub schedule_id: Option<Uuid>,
    /// As for a one-off class: defaults for title, duration, capacity and policy.
    pub class_type_id: Option<Uuid>,
    /// Required without `class_type_id`.
    #[schema(min_length = 1, max_length = 100)]
    pub title: Option<String>,
    /// `mon` … `sun`.
    #[schema(value_type = Vec<String>, example = json!(["mon", "thu"]), min_items = 1, max_items = 7)]
    pub weekdays: Vec<String>,
    /// Local start time in the studio's (or location's) time zone, `HH:MM`.
    #[schema(value_type = String, example = "07:00")]
    pub local_time: String,
    #[schema(value_type = String, example = "2026-12-01")]
    pub starts_on: NaiveDate,
    /// Last local date (inclusive); or give `count`.
    #[schema(value_type = Option<String>)]
    pub until: Option<NaiveDate>,
    #[schema(minimum = 1, maximum = 366)]
    pub count: Option<u32>,
    /// Required without `class_type_id`.
    #[schema(minimum = 5, maximum = 1440)]
    pub duration_minutes: Option<u32>,
    #[schema(minimum = 1, maximum = 500)]
    pub capacity: Option<u32>,
    pub location_id: Option<Uuid>,
    pub instructor_id: Option<Uuid>,
    pub policy: Option<BookingPolicy>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeriesCreated {
    pub schedule_id: Uuid,
    pub classes: Vec<SeriesClass>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeriesClass {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().as_str() {
        "mon" | "mo" => Weekday::Mon,
        "tue" | "tu" => Weekday::Tue,
        "wed" | "we" => Weekday::Wed,
        "thu" | "th" => Weekday::Thu,
        "fri" | "fr" => Weekday::Fri,
        "sat" | "sa" => Weekday::Sat,
        "sun" | "su" => Weekday::Sun,
        _ => return None,
    })
}

/// Schedule a weekly series (RRULE subset: weekdays at a local time, until a date or for
/// a count; at most 366 classes). Local times are kept across daylight-saving changes.
/// Each occurrence is its own class (cancel or change one without touching the rest).
#[utoipa::path(post, path = "/studios/{studio_id}/schedules", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = CreateSeries,
    responses(
        (status = 201, description = "The series' classes", body = SeriesCreated),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `not_an_instructor`, `instructor_busy`", body = Problem, content_type = "application/problem+json")))]
pub async fn create_series(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<CreateSeries>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let shape = class_shape(
        &state,
        &mut cmd,
        body.class_type_id,
        body.title,
        body.duration_minutes,
        body.capacity,
        body.policy,
    )
    .await?;
    let weekdays = body
        .weekdays
        .iter()
        .map(|w| weekday(w))
        .collect::<Option<Vec<_>>>()
        .filter(|w| !w.is_empty())
        .ok_or_else(|| {
            bad(
                "weekdays",
                "one or more of mon, tue, wed, thu, fri, sat, sun",
            )
        })?;
    let local_time = NaiveTime::parse_from_str(&body.local_time, "%H:%M")
        .map_err(|_| bad("local_time", "HH:MM, 24-hour"))?;
    let end = match (body.until, body.count) {
        (Some(until), None) if until >= body.starts_on => SeriesEnd::Until(until),
        (None, Some(n)) if (1..=366).contains(&n) => SeriesEnd::Count(n),
        _ => {
            return Err(bad(
                "until",
                "give either `until` (not before starts_on) or `count` (1..=366)",
            ))
        }
    };
    let zone = location_zone(&mut cmd, body.location_id).await?;
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("stored zone {zone}")))?;
    let rule = WeeklyRule {
        weekdays,
        local_time,
        starts_on: body.starts_on,
        end,
    };
    let schedule_id = body.schedule_id.unwrap_or_else(Uuid::now_v7);
    // Ids are deterministic per series and instant: a retried request fills gaps instead
    // of duplicating classes.
    let planned: Vec<(Uuid, DateTime<Utc>)> = occurrences(&rule, tz)
        .into_iter()
        .map(|s| (Uuid::new_v5(&schedule_id, s.to_rfc3339().as_bytes()), s))
        .collect();
    let length = chrono::Duration::minutes(i64::from(shape.duration_minutes));
    let times: Vec<_> = planned.iter().map(|(_, s)| (*s, *s + length)).collect();
    let own: Vec<Uuid> = planned.iter().map(|(id, _)| *id).collect();
    directory::check_instructor(&mut cmd, body.instructor_id, &times, &own).await?;
    // The whole series is one transaction: all of its classes or none.
    let mut classes = Vec::new();
    for (id, starts_at) in planned {
        let command = ClassCommand::Schedule {
            class_id: ClassId(id),
            studio_id: StudioId(path.studio_id),
            title: shape.title.clone(),
            class_type_id: shape.class_type_id,
            starts_at,
            duration_minutes: shape.duration_minutes,
            capacity: shape.capacity,
            location_id: body.location_id.map(LocationId),
            instructor_id: body.instructor_id.map(AccountId),
            schedule_id: Some(schedule_id),
            policy: shape.policy,
        };
        cmd.run_also(&state.classes, id, command).await?;
        classes.push(SeriesClass { id, starts_at });
    }
    let reply = Reply::json(
        StatusCode::CREATED,
        &SeriesCreated {
            schedule_id,
            classes,
        },
    )?;
    cmd.commit(reply).await
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassPath {
    pub studio_id: Uuid,
    pub class_id: Uuid,
}

async fn load_class(
    state: &AppState,
    member: &Membership,
    id: Uuid,
) -> Result<Option<ClassView>, ApiError> {
    member.view_doc(&state.pool, "class_view", id).await
}

async fn load_class_at(
    state: &AppState,
    member: &Membership,
    id: Uuid,
    min_version: Option<u64>,
) -> Result<ClassView, ApiError> {
    state
        .waiter
        .read_at_least(
            member,
            &state.pool,
            ("class", &id.to_string()),
            state.config.read_wait_max,
            min_version,
            |v: &ClassView| v.version,
            || load_class(state, member, id),
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
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ViewSchedule)?;
    let view = load_class_at(&state, &member, path.class_id, params.min_version).await?;
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
pub struct BookRequest {
    /// The client record to book. Clients book themselves and may omit it.
    pub client_id: Option<Uuid>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookingResult {
    pub booking_id: Uuid,
    /// `booked` or `waitlisted`.
    pub status: BookingStatus,
    /// 1-based, when waitlisted.
    pub waitlist_position: Option<u32>,
    /// The class's version after the booking (use as `min_version`).
    pub version: u64,
}

/// Book a spot (or join the waitlist when the class is full).
#[utoipa::path(post, path = "/studios/{studio_id}/classes/{class_id}/bookings", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id")),
    request_body = BookRequest,
    responses(
        (status = 201, description = "Booked or waitlisted", body = BookingResult),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`booking_not_open`, `booking_closed`, `already_booked`, `booking_blocked`, `class_cancelled`, `class_over`, `client_required`, `client_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn book(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<BookRequest>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?;
    let client = directory::resolve_client(&mut cmd, body.client_id).await?;
    member.require_with(
        Action::Book,
        Relation {
            own_record: client.own,
            assigned_trainer: false,
        },
    )?;
    let booking_id = Uuid::now_v7();
    let command = ClassCommand::Book {
        booking_id: BookingId(booking_id),
        client_id: ClientId(client.id),
        now: Utc::now(),
        blocked_until: client.blocked_until,
    };
    let executed = cmd.run(&state.classes, path.class_id, command).await?;
    let version = executed.outcome.version;
    let (status, waitlist_position) = match executed.events.first() {
        Some(ClassEvent::SpotBooked { .. }) => (BookingStatus::Booked, None),
        Some(ClassEvent::Waitlisted { position, .. }) => {
            (BookingStatus::Waitlisted, Some(*position))
        }
        _ => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "booking produced no booking event"
            )))
        }
    };
    let reply = Reply::json(
        StatusCode::CREATED,
        &BookingResult {
            booking_id,
            status,
            waitlist_position,
            version,
        },
    )?
    .with_etag(version);
    cmd.commit(reply).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingPath {
    pub studio_id: Uuid,
    pub class_id: Uuid,
    pub booking_id: Uuid,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CancelResult {
    /// `cancelled`, `late_cancelled` or `left_waitlist`.
    pub status: BookingStatus,
    /// Counted as a strike under the studio's policy.
    pub strike: bool,
    /// Clients promoted from the waitlist by this cancellation.
    pub promoted: Vec<Uuid>,
    pub version: u64,
}

/// Cancel a booking (free before the cutoff, a late cancel after it; leaving the
/// waitlist is always free). A freed spot promotes the first waitlisted client.
#[utoipa::path(delete, path = "/studios/{studio_id}/classes/{class_id}/bookings/{booking_id}", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id"), ("booking_id" = Uuid, Path, description = "Booking id")),
    responses(
        (status = 200, description = "Cancelled", body = CancelResult),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`, `booking_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`booking_not_active`, `class_cancelled`", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_booking(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<BookingPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?;
    if !member.may(Action::Book, Relation::default()) {
        // A client cancels only their own booking.
        require_own_booking(&state, &mut cmd, &member, path.class_id, path.booking_id).await?;
    }
    let command = ClassCommand::CancelBooking {
        booking_id: BookingId(path.booking_id),
        now: Utc::now(),
    };
    let executed = cmd.run(&state.classes, path.class_id, command).await?;
    let (version, events) = (executed.outcome.version, executed.events);
    let mut result = CancelResult {
        status: BookingStatus::Cancelled,
        strike: false,
        promoted: Vec::new(),
        version,
    };
    for e in events {
        match e {
            ClassEvent::BookingCancelled { late, strike, .. } => {
                result.status = if late {
                    BookingStatus::LateCancelled
                } else {
                    BookingStatus::Cancelled
                };
                result.strike = strike;
            }
            ClassEvent::WaitlistLeft { .. } => result.status = BookingStatus::LeftWaitlist,
            ClassEvent::WaitlistPromoted { client_id, .. } => result.promoted.push(client_id.0),
            _ => {}
        }
    }
    cmd.commit(Reply::json(StatusCode::OK, &result)?.with_etag(version))
        .await
}

/// 403 unless `booking` of `class` is a booking of the caller's own client record. The
/// booking is looked up in the class's stream, not a view: a client may cancel or check
/// in a booking made a moment ago.
async fn require_own_booking(
    state: &AppState,
    cmd: &mut CommandTx,
    member: &Membership,
    class: Uuid,
    booking: Uuid,
) -> Result<(), ApiError> {
    let (session, _) = cmd.load(&state.classes, class).await?;
    let own = match session.booking_client(BookingId(booking)) {
        Some(client) => directory::client_record(cmd, client.0)
            .await?
            .is_some_and(|(owner, _)| owner == Some(member.account_id)),
        None => false,
    };
    member.require_with(
        Action::Book,
        Relation {
            own_record: own,
            assigned_trainer: false,
        },
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// The code shown at the studio (`GET …/check-in-code`); case, spaces and hyphens
    /// do not matter. Required when clients check themselves in; staff need none.
    #[schema(example = "K7Q3MZ")]
    pub code: Option<String>,
}

/// Check a client in, from an hour before the start. Staff check anyone in, without a
/// body. A client checks in their own booking with the code shown at the studio.
#[utoipa::path(post, path = "/studios/{studio_id}/classes/{class_id}/bookings/{booking_id}/check-in", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id"), ("booking_id" = Uuid, Path, description = "Booking id")),
    request_body = Option<CheckInRequest>,
    responses(
        (status = 200, description = "Checked in", body = Accepted),
        (status = 403, description = "`forbidden` (a client, for someone else's booking)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`, `booking_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_check_in_code` (a client: missing, wrong or expired), `check_in_not_open`, `booking_not_active`, `class_cancelled`, `class_over`", body = Problem, content_type = "application/problem+json")))]
pub async fn check_in(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<BookingPath>,
    body: Option<AppJson<CheckInRequest>>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?;
    let now = Utc::now();
    if !member.may(Action::ManageAttendance, Relation::default()) {
        // A client checks in only their own booking, and only with the current code:
        // it shows they are at the studio.
        require_own_booking(&state, &mut cmd, &member, path.class_id, path.booking_id).await?;
        let code = body.and_then(|AppJson(b)| b.code).unwrap_or_default();
        if !state
            .check_in_codes
            .verify(path.studio_id, path.class_id, &code, now)
        {
            return Err(ApiError::Rule {
                code: "invalid_check_in_code",
                message:
                    "this check-in code is wrong or has expired; use the one shown at the studio"
                        .to_owned(),
            });
        }
    }
    let command = ClassCommand::CheckIn {
        booking_id: BookingId(path.booking_id),
        now,
    };
    let version = cmd
        .run(&state.classes, path.class_id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_id, version)
        .await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckInCode {
    /// Six characters: digits 2–9 and letters without `I` and `O`.
    #[schema(example = "K7Q3MZ")]
    pub code: String,
    /// The code is refused from this instant (10 to 20 minutes from now; codes rotate
    /// every 10 minutes): fetch the current one before it.
    pub expires_at: DateTime<Utc>,
}

/// The code clients type to check themselves in to this class, for staff to show at
/// the studio. Derived, not stored: asking again within the window returns the same
/// code. Available while check-in is open (from an hour before the start until the
/// class is settled).
#[utoipa::path(get, path = "/studios/{studio_id}/classes/{class_id}/check-in-code", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_id" = Uuid, Path, description = "Class id")),
    responses(
        (status = 200, description = "The current code", body = CheckInCode),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`check_in_not_open`, `class_cancelled`, `class_over`", body = Problem, content_type = "application/problem+json")))]
pub async fn check_in_code(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClassPath>,
) -> Result<AppJson<CheckInCode>, ApiError> {
    Membership::load(&state.pool, &user, path.studio_id)
        .await?
        .require(Action::ManageAttendance)?;
    let now = Utc::now();
    // From the event store, not the view: whether check-in is open must not lag.
    let (class, _) = state
        .classes
        .load(path.studio_id, &path.class_id.to_string())
        .await
        .map_err(from_command)?;
    class.check_in_open(now)?;
    let issued = state
        .check_in_codes
        .issue(path.studio_id, path.class_id, now);
    Ok(AppJson(CheckInCode {
        code: issued.code,
        expires_at: issued.expires_at,
    }))
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
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(bad("reason", "1..=200 characters"));
    }
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let command = ClassCommand::CancelClass {
        reason: reason.to_owned(),
    };
    let version = cmd
        .run(&state.classes, path.class_id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_id, version)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesPath {
    pub studio_id: Uuid,
    pub schedule_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSeries {
    /// Shown to the booked clients (1..=200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
    /// Cancel the occurrences starting at or after this instant (default: now).
    pub from: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeriesCancelled {
    /// The classes this request cancelled (already cancelled or ended ones are left).
    pub cancelled: Vec<Uuid>,
}

/// Cancel the rest of a weekly series: every occurrence from `from` on that is still
/// scheduled, each like a single cancellation (bookings cancelled, clients notified).
/// Repeating the request cancels nothing twice.
#[utoipa::path(post, path = "/studios/{studio_id}/schedules/{schedule_id}/cancel", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("schedule_id" = Uuid, Path, description = "Series id")),
    request_body = CancelSeries,
    responses(
        (status = 200, description = "Cancelled", body = SeriesCancelled),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_series(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<SeriesPath>,
    AppJson(body): AppJson<CancelSeries>,
) -> Result<Response, ApiError> {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(bad("reason", "1..=200 characters"));
    }
    let from = body.from.unwrap_or_else(Utc::now);
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let due = directory::series_classes(&mut cmd, path.schedule_id, from).await?;
    let mut cancelled = Vec::new();
    for class in due {
        let command = ClassCommand::CancelClass {
            reason: reason.to_owned(),
        };
        // The class is still scheduled (read in this transaction): cancelling succeeds
        // or the whole request fails.
        cmd.run_also(&state.classes, class, command).await?;
        cancelled.push(class);
    }
    cmd.commit(Reply::json(StatusCode::OK, &SeriesCancelled { cancelled })?)
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
        .run(&state.classes, path.class_id, command)
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
    let (session, _) = cmd.load(&state.classes, path.class_id).await?;
    let times: Vec<_> = session.times().into_iter().collect();
    directory::check_instructor(&mut cmd, body.instructor_id, &times, &[path.class_id]).await?;
    let command = ClassCommand::SubstituteInstructor {
        instructor_id: body.instructor_id.map(AccountId),
    };
    let version = cmd
        .run(&state.classes, path.class_id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_id, version)
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBookingsPath {
    pub studio_id: Uuid,
    pub client_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClientBookingsParams {
    /// `upcoming` (default) or `past`.
    pub scope: Option<String>,
    /// 1..=200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientBooking {
    pub booking_id: Uuid,
    pub class_id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientBookings {
    pub items: Vec<ClientBooking>,
}

/// A client's upcoming bookings or history.
#[utoipa::path(get, path = "/studios/{studio_id}/clients/{client_id}/bookings", tag = "classes", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id"), ClientBookingsParams),
    responses(
        (status = 200, description = "Bookings", body = ClientBookings),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn client_bookings(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClientBookingsPath>,
    AppQuery(params): AppQuery<ClientBookingsParams>,
) -> Result<AppJson<ClientBookings>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    let past = match params.scope.as_deref() {
        None | Some("upcoming") => false,
        Some("past") => true,
        Some(_) => {
            return Err(ApiError::InvalidQuery(
                "scope must be `upcoming` or `past`".to_owned(),
            ))
        }
    };
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::InvalidQuery(
            "limit must be between 1 and 200".to_owned(),
        ));
    }
    let mut tx = member.tx(&state.pool).await?;
    let own: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM client_view WHERE id = $1 AND account_id = $2)",
    )
    .bind(path.client_id)
    .bind(user.account_id)
    .fetch_one(&mut *tx)
    .await?;
    member.require_with(
        Action::ViewClient,
        Relation {
            own_record: own,
            assigned_trainer: false,
        },
    )?;
    let rows = sqlx::query(
        "SELECT booking_id, class_id, title, starts_at, status FROM booking_view \
         WHERE tenant_id = $1 AND client_id = $2 AND (CASE WHEN $3 THEN starts_at < now() ELSE starts_at >= now() END) \
         ORDER BY CASE WHEN $3 THEN -extract(epoch FROM starts_at) ELSE extract(epoch FROM starts_at) END LIMIT $4",
    )
    .bind(path.studio_id)
    .bind(path.client_id)
    .bind(past)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(ClientBooking {
                booking_id: r.try_get(0)?,
                class_id: r.try_get(1)?,
                title: r.try_get(2)?,
                starts_at: r.try_get(3)?,
                status: r.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(AppJson(ClientBookings { items }))
}
