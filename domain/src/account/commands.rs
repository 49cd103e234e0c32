use super::AccountId;
use crate::values::{DisplayName, Email};

#[derive(Debug, Clone, PartialEq)]
pub enum AccountCommand {
    Register {
        account_id: AccountId,
        email: Email,
        full_name: DisplayName,
    },
    /// The new hash is written beside the event by the caller; the event only records
    /// that it happened.
    ChangePassword,
}
