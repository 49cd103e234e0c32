//! Attendance: check-in. Staff check anyone in; a client checks their own booking in
//! with the short-lived code the studio shows (`GET …/check-in-code`, see
//! [`crate::check_in_code`]), which proves they are there.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::class::{BookingId, ClassCommand};
use domain::policy::{Action, Relation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::application::scheduling;
use crate::auth::Caller;
use crate::command::CommandTx;
use crate::context::RequestContext;
use crate::error::{from_command, ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::routes::{Accepted, BookingPath, ClassPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(check_in))
        .routes(routes!(check_in_code))
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
#[utoipa::path(post, path = "/studios/{studio_id}/classes/{class_id}/bookings/{booking_id}/check-in", tag = "attendance", security(("bearer" = [])),
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
        scheduling::require_own_booking(&state, &mut cmd, &member, path.class_id, path.booking_id)
            .await?;
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
        .run(&state.bus::<domain::class::Class>(), path.class_id, command)
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
#[utoipa::path(get, path = "/studios/{studio_id}/classes/{class_id}/check-in-code", tag = "attendance", security(("bearer" = [])),
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
        .bus::<domain::class::Class>()
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
