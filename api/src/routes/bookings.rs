//! Bookings: booking a spot in a class (or its waitlist), cancelling a booking under the
//! studio's cancellation policy, and a client's bookings.
//!
//! Capacity, waitlist order and promotions are decided inside each class's stream, so
//! they hold under any concurrency; strikes are written with the events that cause them
//! and checked before booking.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::class::{BookingId, BookingStatus, ClassCommand, ClassEvent};
use domain::client::ClientId;
use domain::policy::{Action, Relation};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::directory;
use crate::application::scheduling;
use crate::auth::Caller;
use crate::command::{CommandTx, Reply};
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{BookingPath, ClassPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(book))
        .routes(routes!(cancel_booking))
        .routes(routes!(client_bookings))
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
#[utoipa::path(post, path = "/studios/{studio_id}/classes/{class_id}/bookings", tag = "bookings", security(("bearer" = [])),
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
    let executed = cmd
        .run(&state.bus::<domain::class::Class>(), path.class_id, command)
        .await?;
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
#[utoipa::path(delete, path = "/studios/{studio_id}/classes/{class_id}/bookings/{booking_id}", tag = "bookings", security(("bearer" = [])),
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
        scheduling::require_own_booking(&state, &mut cmd, &member, path.class_id, path.booking_id)
            .await?;
    }
    let command = ClassCommand::CancelBooking {
        booking_id: BookingId(path.booking_id),
        now: Utc::now(),
    };
    let executed = cmd
        .run(&state.bus::<domain::class::Class>(), path.class_id, command)
        .await?;
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
#[utoipa::path(get, path = "/studios/{studio_id}/clients/{client_id}/bookings", tag = "bookings", security(("bearer" = [])),
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
    // Whose record it is, as committed with its events (a client who just joined owns
    // their record before its view exists).
    let own: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM client_record \
           WHERE tenant_id = $3 AND client_id = $1 AND account_id = $2)",
    )
    .bind(path.client_id)
    .bind(user.account_id)
    .bind(path.studio_id)
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
