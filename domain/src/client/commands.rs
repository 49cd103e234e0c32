use super::{ClientId, HealthIntake};
use crate::account::AccountId;
use crate::studio::StudioId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    Register {
        client_id: ClientId,
        studio_id: StudioId,
        full_name: DisplayName,
        email: Option<Email>,
        account_id: Option<AccountId>,
    },
    RecordHealthIntake {
        intake: HealthIntake,
    },
    AssignTrainer {
        trainer_id: AccountId,
    },
    UnassignTrainer {
        trainer_id: AccountId,
    },
    /// Ties the record to the person's account (they joined the studio as a client and
    /// an unlinked record with their email existed). Linking the same account again is
    /// a no-op; a record linked to another account is refused.
    LinkAccount {
        account_id: AccountId,
    },
}
