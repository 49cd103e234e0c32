//! Weekly series of classes: scheduling one (each occurrence is its own class) and
//! cancelling the rest of one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use domain::account::AccountId;
use domain::class::{ClassCommand, ClassId};
use domain::policy::Action;
use domain::scheduling::recurrence::{occurrences, SeriesEnd, WeeklyRule};
use domain::scheduling::BookingPolicy;
use domain::studio::{LocationId, StudioId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::directory;
use crate::application::scheduling::{self, ShapeRequest};
use crate::auth::Caller;
use crate::command::{CommandTx, Reply};
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::routes::{cancel_reason, StudioPath};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_series))
        .routes(routes!(cancel_series))
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
#[utoipa::path(post, path = "/studios/{studio_id}/schedules", tag = "schedules", security(("bearer" = [])),
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
    let weekdays = body
        .weekdays
        .iter()
        .map(|w| weekday(w))
        .collect::<Option<Vec<_>>>()
        .filter(|w| !w.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_field(
                "weekdays",
                "one or more of mon, tue, wed, thu, fri, sat, sun",
            )
        })?;
    let local_time = NaiveTime::parse_from_str(&body.local_time, "%H:%M")
        .map_err(|_| ApiError::invalid_field("local_time", "HH:MM, 24-hour"))?;
    let end = match (body.until, body.count) {
        (Some(until), None) if until >= body.starts_on => SeriesEnd::Until(until),
        (None, Some(n)) if (1..=366).contains(&n) => SeriesEnd::Count(n),
        _ => {
            return Err(ApiError::invalid_field(
                "until",
                "give either `until` (not before starts_on) or `count` (1..=366)",
            ))
        }
    };
    let zone = scheduling::location_zone(&mut cmd, body.location_id).await?;
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
    for (_, starts_at) in planned.iter().take(1).chain(planned.last()) {
        scheduling::check_start("starts_on", *starts_at)?;
    }
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
        cmd.run_also(&state.bus::<domain::class::Class>(), id, command)
            .await?;
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
#[utoipa::path(post, path = "/studios/{studio_id}/schedules/{schedule_id}/cancel", tag = "schedules", security(("bearer" = [])),
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
    let reason = cancel_reason(&body.reason)?;
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
        cmd.run_also(&state.bus::<domain::class::Class>(), class, command)
            .await?;
        cancelled.push(class);
    }
    cmd.commit(Reply::json(StatusCode::OK, &SeriesCancelled { cancelled })?)
        .await
}
