//! Appointments across aggregates: whether an account may teach (the studio's
//! membership) and who may act on an appointment (the trainer's calendar stream and the
//! client directory).

use domain::account::AccountId;
use domain::policy::{self, Action, Relation};
use domain::studio::StudioId;
use domain::trainer_calendar::TrainerCalendar;
use uuid::Uuid;

use crate::application::directory;
use crate::command::CommandTx;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn trainer_not_found() -> ApiError {
    ApiError::NotFound {
        code: "trainer_not_found",
        what: "trainer",
    }
}

/// The stream of `trainer`'s calendar in `studio`.
pub fn calendar_id(studio: Uuid, trainer: Uuid) -> Uuid {
    TrainerCalendar::id(StudioId(studio), AccountId(trainer))
}

/// `404 trainer_not_found` unless `trainer` is a member who can teach.
pub async fn require_trainer(cmd: &mut CommandTx, trainer: Uuid) -> Result<(), ApiError> {
    match cmd.role_of(trainer).await? {
        Some(role) if policy::may_teach(role) => Ok(()),
        _ => Err(trainer_not_found()),
    }
}

/// Staff, the trainer whose calendar it is, or the client the appointment is for.
pub async fn require_party(
    state: &AppState,
    cmd: &mut CommandTx,
    member: &Membership,
    trainer: Uuid,
    appointment: Uuid,
) -> Result<(), ApiError> {
    let own_calendar = trainer == member.account_id;
    if member.may(
        Action::BookAppointment,
        Relation {
            own_record: own_calendar,
            assigned_trainer: false,
        },
    ) {
        return Ok(());
    }
    let (calendar, _) = cmd
        .load(
            &state.bus::<domain::trainer_calendar::TrainerCalendar>(),
            calendar_id(cmd.studio_id, trainer),
        )
        .await?;
    let Some(appointment) = calendar.appointment(appointment) else {
        return Err(ApiError::NotFound {
            code: "appointment_not_found",
            what: "appointment",
        });
    };
    let own = directory::client_record(cmd, appointment.client_id.0)
        .await?
        .is_some_and(|(owner, _)| owner == Some(member.account_id));
    member.require_with(
        Action::BookAppointment,
        Relation {
            own_record: own,
            assigned_trainer: false,
        },
    )
}
