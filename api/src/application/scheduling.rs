//! Scheduling across aggregates: what a new class is made of (its class type's stream,
//! the studio's settings, a location from the directory), and whether a booking is the
//! caller's own (the class's stream and the client directory).

use domain::class::BookingId;
use domain::class_type::{ClassType, ClassTypeDetails, ClassTypeError};
use domain::policy::{Action, Relation};
use domain::scheduling::BookingPolicy;
use domain::studio::StudioId;
use domain::values::DisplayName;
use uuid::Uuid;

use crate::application::directory;
use crate::command::CommandTx;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::Membership;

/// `422` unless `location` is one of this studio's; its zone (or the studio's).
/// How far in the past a class may start when it is scheduled: late entry of today's
/// classes is fine; a backlog of history is not (it would land on the attendance sweep
/// all at once).
pub const PAST_LIMIT: chrono::Duration = chrono::Duration::days(1);

/// `422` unless a class starting at `starts_at` may be scheduled now.
pub fn check_start(field: &str, starts_at: chrono::DateTime<chrono::Utc>) -> Result<(), ApiError> {
    let now = chrono::Utc::now();
    if starts_at < now - PAST_LIMIT {
        return Err(ApiError::invalid_field(
            field,
            "may not be more than a day in the past",
        ));
    }
    Ok(())
}

pub async fn location_zone(
    cmd: &mut CommandTx,
    location: Option<Uuid>,
) -> Result<String, ApiError> {
    let studio_zone = cmd.profile()?.timezone.clone();
    let Some(location) = location else {
        return Ok(studio_zone);
    };
    match directory::location(cmd, location).await? {
        Some(zone) => Ok(zone.unwrap_or(studio_zone)),
        None => Err(ApiError::invalid_field(
            "location_id",
            "no such location in this studio",
        )),
    }
}

/// What a request says about a new class (one-off or a series' occurrences).
#[derive(Debug)]
pub struct ShapeRequest {
    pub class_type_id: Option<Uuid>,
    pub title: Option<String>,
    pub duration_minutes: Option<u32>,
    pub capacity: Option<u32>,
    pub policy: Option<BookingPolicy>,
}

/// What a new class is: from its class type where one is given, with what the request
/// sets on top, else from the request and the studio's settings.
#[derive(Debug)]
pub struct ClassShape {
    pub title: String,
    pub class_type_id: Option<Uuid>,
    pub duration_minutes: u32,
    pub capacity: u32,
    pub policy: BookingPolicy,
}

pub async fn class_shape(
    state: &AppState,
    cmd: &mut CommandTx,
    request: ShapeRequest,
) -> Result<ClassShape, ApiError> {
    let ShapeRequest {
        class_type_id,
        title,
        duration_minutes,
        capacity,
        policy,
    } = request;
    let class_type = match class_type_id {
        Some(id) => Some(class_type_details(state, cmd, id).await?),
        None => None,
    };
    let title = match (title, &class_type) {
        (Some(t), _) => t,
        (None, Some(ct)) => ct.name.clone(),
        (None, None) => {
            return Err(ApiError::invalid_field(
                "title",
                "required without class_type_id",
            ))
        }
    };
    let title = DisplayName::parse(&title).map_err(|e| ApiError::invalid_field("title", e))?;
    let duration_minutes = duration_minutes
        .or(class_type.as_ref().map(|ct| ct.duration_minutes))
        .ok_or_else(|| {
            ApiError::invalid_field("duration_minutes", "required without class_type_id")
        })?;
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

/// A class type's current details, from the event store (never lags): what a class
/// scheduled from it gets. 404 for another studio's type; 422 when archived.
pub async fn class_type_details(
    state: &AppState,
    cmd: &mut CommandTx,
    id: Uuid,
) -> Result<ClassTypeDetails, ApiError> {
    let class_type = class_type_in_studio(state, cmd, id).await?;
    if class_type.is_archived() {
        return Err(ClassTypeError::Archived.into());
    }
    class_type
        .details_in(StudioId(cmd.studio_id))
        .cloned()
        .ok_or_else(|| ClassTypeError::NotFound.into())
}

/// The class type from its stream (committed state), `404` unless it is this studio's.
pub async fn class_type_in_studio(
    state: &AppState,
    cmd: &mut CommandTx,
    id: Uuid,
) -> Result<ClassType, ApiError> {
    let (class_type, _) = cmd
        .load(&state.bus::<domain::class_type::ClassType>(), id)
        .await?;
    if class_type.details_in(StudioId(cmd.studio_id)).is_none() {
        return Err(ClassTypeError::NotFound.into());
    }
    Ok(class_type)
}

/// 403 unless `booking` of `class` is a booking of the caller's own client record. The
/// booking is looked up in the class's stream, not a view: a client may cancel or check
/// in a booking made a moment ago.
pub async fn require_own_booking(
    state: &AppState,
    cmd: &mut CommandTx,
    member: &Membership,
    class: Uuid,
    booking: Uuid,
) -> Result<(), ApiError> {
    let (session, _) = cmd
        .load(&state.bus::<domain::class::Class>(), class)
        .await?;
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
