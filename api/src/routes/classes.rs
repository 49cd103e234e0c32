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
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use common::inline::booking_blocked_until;
use domain::account::AccountId;
use domain::client::ClientId;
use domain::policy::{self, Action, Relation};
use domain::scheduling::appointments::TrainerCalendar;
use domain::scheduling::recurrence::{occurrences, SeriesEnd, WeeklyRule};
use domain::scheduling::view::{ClassView, RosterEntry};
use domain::scheduling::{
    BookingId, BookingPolicy, BookingStatus, ClassCommand, ClassError, ClassEvent, ClassId,
};
use domain::studio::view::StudioView;
use domain::studio::{LocationId, StudioId};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::RequestContext;
use crate::error::{from_command, ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::studios::{accepted, Accepted, ReadParams, StudioPath};
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

fn class_rule(err: ClassError) -> ApiError {
    match err {
        ClassError::NotFound => not_found(),
        ClassError::BookingNotFound => ApiError::NotFound {
            code: "booking_not_found",
            what: "booking",
        },
        ClassError::Invalid { field, message } => ApiError::invalid_field(field, message),
        other => ApiError::Rule {
            code: other.code(),
            message: other.to_string(),
        },
    }
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

async fn class_bus_execute(
    state: &AppState,
    ctx: &RequestContext,
    studio: Uuid,
    class: Uuid,
    command: ClassCommand,
) -> Result<(u64, Vec<ClassEvent>), ApiError> {
    state
        .classes
        .execute_returning_events(&class.to_string(), command, None, ctx.metadata(studio))
        .await
        .map(|(o, events)| (o.version, events))
        .map_err(|e| from_command(e, class_rule))
}

pub(crate) async fn studio_view(
    state: &AppState,
    member: &Membership,
) -> Result<StudioView, ApiError> {
    let doc: Option<StudioView> = member
        .view_doc(&state.pool, "studio_view", member.studio_id)
        .await?;
    doc.ok_or(ApiError::NotCaughtUp {
        current: 0,
        wanted: 1,
    })
}

/// The booking policy a new class gets from the studio's settings, with overrides.
pub(crate) fn policy_from(studio: &StudioView, overrides: Option<BookingPolicy>) -> BookingPolicy {
    overrides.unwrap_or(BookingPolicy {
        opens_hours_before: studio.settings.booking_window_days * 24,
        free_cancel_hours_before: studio.settings.cancellation_cutoff_hours,
        ..BookingPolicy::default()
    })
}

/// The instructor may teach here and is free at `times`: no other class they teach
/// (other than the `except` classes, e.g. a series' own occurrences on a retry) and no
/// 1:1 appointment overlaps. Classes come from `class_view`; appointments from the
/// trainer's calendar stream.
async fn check_instructor(
    state: &AppState,
    member: &Membership,
    instructor: Option<Uuid>,
    times: &[(DateTime<Utc>, DateTime<Utc>)],
    except: &[Uuid],
) -> Result<(), ApiError> {
    let Some(instructor) = instructor else {
        return Ok(());
    };
    match member.role_of(&state.pool, instructor).await? {
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
    let mut tx = member.tx(&state.pool).await?;
    let mut taken: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT starts_at, ends_at FROM class_view WHERE tenant_id = $1 AND instructor_id = $2 \
         AND status <> 'cancelled' AND starts_at < $4 AND ends_at > $3 AND id <> ALL($5)",
    )
    .bind(member.studio_id)
    .bind(instructor)
    .bind(first)
    .bind(last)
    .bind(except)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let calendar = TrainerCalendar::id(StudioId(member.studio_id), AccountId(instructor));
    let (calendar, _) = state
        .trainer_calendars
        .load(member.studio_id, &calendar.to_string())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("loading the trainer calendar: {e}")))?;
    taken.extend(
        calendar
            .appointments()
            .iter()
            .map(|a| (a.starts_at, a.ends_at)),
    );
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

fn check_location(studio: &StudioView, location: Option<Uuid>) -> Result<(), ApiError> {
    match location {
        Some(l) if !studio.locations.iter().any(|x| x.id.0 == l) => {
            Err(bad("location_id", "no such location in this studio"))
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClass {
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
    member: &Membership,
    studio: &StudioView,
    class_type_id: Option<Uuid>,
    title: Option<String>,
    duration_minutes: Option<u32>,
    capacity: Option<u32>,
    policy: Option<BookingPolicy>,
) -> Result<ClassShape, ApiError> {
    let class_type = match class_type_id {
        Some(id) => Some(crate::routes::class_types::current(state, member, id).await?),
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
    Ok(ClassShape {
        title: title.to_string(),
        class_type_id,
        duration_minutes,
        capacity: capacity
            .or(class_type.as_ref().map(|ct| ct.default_capacity))
            .unwrap_or(studio.settings.default_class_capacity),
        policy: policy
            .or(class_type.as_ref().map(|ct| ct.policy))
            .unwrap_or_else(|| policy_from(studio, None)),
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<CreateClass>,
) -> Result<Response, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageSchedule)?;
    let studio = studio_view(&state, &member).await?;
    let shape = class_shape(
        &state,
        &member,
        &studio,
        body.class_type_id,
        body.title,
        body.duration_minutes,
        body.capacity,
        body.policy,
    )
    .await?;
    check_location(&studio, body.location_id)?;
    let ends_at = body.starts_at + chrono::Duration::minutes(i64::from(shape.duration_minutes));
    check_instructor(
        &state,
        &member,
        body.instructor_id,
        &[(body.starts_at, ends_at)],
        &[],
    )
    .await?;
    let id = Uuid::now_v7();
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
    let (version, _) = class_bus_execute(&state, &ctx, path.studio_id, id, command).await?;
    Ok(accepted(
        StatusCode::CREATED,
        Accepted {
            id,
            version,
            location_id: None,
        },
    ))
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<CreateSeries>,
) -> Result<Response, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageSchedule)?;
    let studio = studio_view(&state, &member).await?;
    let shape = class_shape(
        &state,
        &member,
        &studio,
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
    check_location(&studio, body.location_id)?;
    let zone = body
        .location_id
        .and_then(|l| studio.locations.iter().find(|x| x.id.0 == l))
        .and_then(|l| l.timezone.clone())
        .unwrap_or_else(|| studio.timezone.clone());
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
    check_instructor(&state, &member, body.instructor_id, &times, &own).await?;
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
        class_bus_execute(&state, &ctx, path.studio_id, id, command).await?;
        classes.push(SeriesClass { id, starts_at });
    }
    Ok((
        StatusCode::CREATED,
        AppJson(SeriesCreated {
            schedule_id,
            classes,
        }),
    )
        .into_response())
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
    user: AuthUser,
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
    user: AuthUser,
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
    user: AuthUser,
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

/// Who the caller may act for: staff for any client record of the studio, a client for
/// their own.
pub(crate) async fn client_for(
    state: &AppState,
    member: &Membership,
    requested: Option<Uuid>,
) -> Result<Uuid, ApiError> {
    let (client, own) = resolve_client(state, member, requested).await?;
    member.require_with(
        Action::Book,
        Relation {
            own_record: own,
            assigned_trainer: false,
        },
    )?;
    Ok(client)
}

/// The client record a request is about (`requested`, else the caller's own) and
/// whether it is the caller's own. 422 when there is none or it is not in this studio.
pub(crate) async fn resolve_client(
    state: &AppState,
    member: &Membership,
    requested: Option<Uuid>,
) -> Result<(Uuid, bool), ApiError> {
    let mut tx = member.tx(&state.pool).await?;
    let own: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM client_view WHERE tenant_id = $1 AND account_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(member.studio_id)
    .bind(member.account_id)
    .fetch_optional(&mut *tx)
    .await?;
    let client = match requested.or(own) {
        Some(c) => c,
        None => {
            return Err(ApiError::Rule {
                code: "client_required",
                message: "give `client_id` (your account has no client record here)".to_owned(),
            })
        }
    };
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM client_view WHERE tenant_id = $1 AND id = $2)",
    )
    .bind(member.studio_id)
    .bind(client)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if !exists {
        return Err(ApiError::Rule {
            code: "client_not_found",
            message: "no such client record in this studio".to_owned(),
        });
    }
    Ok((client, own == Some(client)))
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<BookRequest>,
) -> Result<Response, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    let client = client_for(&state, &member, body.client_id).await?;
    let studio = studio_view(&state, &member).await?;
    let mut tx = member.tx(&state.pool).await?;
    let blocked_until =
        booking_blocked_until(&mut tx, path.studio_id, client, &studio.settings).await?;
    tx.commit().await?;
    let booking_id = Uuid::now_v7();
    let command = ClassCommand::Book {
        booking_id: BookingId(booking_id),
        client_id: ClientId(client),
        now: Utc::now(),
        blocked_until,
    };
    let (version, events) =
        class_bus_execute(&state, &ctx, path.studio_id, path.class_id, command).await?;
    let (status, waitlist_position) = match events.first() {
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
    Ok((
        StatusCode::CREATED,
        AppJson(BookingResult {
            booking_id,
            status,
            waitlist_position,
            version,
        }),
    )
        .into_response())
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<BookingPath>,
) -> Result<AppJson<CancelResult>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    if !member.may(Action::Book, Relation::default()) {
        // A client cancels only their own booking.
        require_own_booking(&state, &member, path.class_id, path.booking_id).await?;
    }
    let command = ClassCommand::CancelBooking {
        booking_id: BookingId(path.booking_id),
        now: Utc::now(),
    };
    let (version, events) =
        class_bus_execute(&state, &ctx, path.studio_id, path.class_id, command).await?;
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
    Ok(AppJson(result))
}

/// 403 unless `booking` of `class` is a booking of the caller's own client record. The
/// booking is looked up in the class's stream, not a view: a client may cancel or check
/// in a booking made a moment ago.
async fn require_own_booking(
    state: &AppState,
    member: &Membership,
    class: Uuid,
    booking: Uuid,
) -> Result<(), ApiError> {
    let (session, _) = state
        .classes
        .load(member.studio_id, &class.to_string())
        .await
        .map_err(|e| from_command(e, class_rule))?;
    let own = match session.booking_client(BookingId(booking)) {
        Some(client) => {
            let mut tx = member.tx(&state.pool).await?;
            let own: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM client_view WHERE id = $1 AND tenant_id = $2 AND account_id = $3)",
            )
            .bind(client.0)
            .bind(member.studio_id)
            .bind(member.account_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            own
        }
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<BookingPath>,
    body: Option<AppJson<CheckInRequest>>,
) -> Result<Response, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    let now = Utc::now();
    if !member.may(Action::ManageAttendance, Relation::default()) {
        // A client checks in only their own booking, and only with the current code:
        // it shows they are at the studio.
        require_own_booking(&state, &member, path.class_id, path.booking_id).await?;
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
    let (version, _) =
        class_bus_execute(&state, &ctx, path.studio_id, path.class_id, command).await?;
    Ok(accepted(
        StatusCode::OK,
        Accepted {
            id: path.class_id,
            version,
            location_id: None,
        },
    ))
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
    user: AuthUser,
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
        .map_err(|e| from_command(e, class_rule))?;
    class.check_in_open(now).map_err(class_rule)?;
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<CancelClass>,
) -> Result<Response, ApiError> {
    Membership::load(&state.pool, &user, path.studio_id)
        .await?
        .require(Action::ManageSchedule)?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(bad("reason", "1..=200 characters"));
    }
    let command = ClassCommand::CancelClass {
        reason: reason.to_owned(),
    };
    let (version, _) =
        class_bus_execute(&state, &ctx, path.studio_id, path.class_id, command).await?;
    Ok(accepted(
        StatusCode::OK,
        Accepted {
            id: path.class_id,
            version,
            location_id: None,
        },
    ))
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<SeriesPath>,
    AppJson(body): AppJson<CancelSeries>,
) -> Result<Response, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageSchedule)?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(bad("reason", "1..=200 characters"));
    }
    let from = body.from.unwrap_or_else(Utc::now);
    let mut tx = member.tx(&state.pool).await?;
    // A series has at most 366 occurrences.
    let due: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM class_view WHERE tenant_id = $1 AND doc->>'schedule_id' = $2 \
         AND status = 'scheduled' AND starts_at >= $3 ORDER BY starts_at LIMIT 400",
    )
    .bind(path.studio_id)
    .bind(path.schedule_id.to_string())
    .bind(from)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut cancelled = Vec::new();
    for class in due {
        let command = ClassCommand::CancelClass {
            reason: reason.to_owned(),
        };
        match class_bus_execute(&state, &ctx, path.studio_id, class, command).await {
            // Cancelled or closed since the view was read: nothing to do.
            Err(ApiError::Rule { .. }) => {}
            other => {
                other?;
                cancelled.push(class);
            }
        }
    }
    Ok((StatusCode::OK, AppJson(SeriesCancelled { cancelled })).into_response())
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<ChangeCapacity>,
) -> Result<Response, ApiError> {
    Membership::load(&state.pool, &user, path.studio_id)
        .await?
        .require(Action::ManageSchedule)?;
    let command = ClassCommand::ChangeCapacity {
        capacity: body.capacity,
        now: Utc::now(),
    };
    let (version, _) =
        class_bus_execute(&state, &ctx, path.studio_id, path.class_id, command).await?;
    Ok(accepted(
        StatusCode::OK,
        Accepted {
            id: path.class_id,
            version,
            location_id: None,
        },
    ))
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
    user: AuthUser,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassPath>,
    AppJson(body): AppJson<SubstituteInstructor>,
) -> Result<Response, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ManageSchedule)?;
    let (session, _) = state
        .classes
        .load(path.studio_id, &path.class_id.to_string())
        .await
        .map_err(|e| from_command(e, class_rule))?;
    let times: Vec<_> = session.times().into_iter().collect();
    check_instructor(
        &state,
        &member,
        body.instructor_id,
        &times,
        &[path.class_id],
    )
    .await?;
    let command = ClassCommand::SubstituteInstructor {
        instructor_id: body.instructor_id.map(AccountId),
    };
    let (version, _) =
        class_bus_execute(&state, &ctx, path.studio_id, path.class_id, command).await?;
    Ok(accepted(
        StatusCode::OK,
        Accepted {
            id: path.class_id,
            version,
            location_id: None,
        },
    ))
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
    user: AuthUser,
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
