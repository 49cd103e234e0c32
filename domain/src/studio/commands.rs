use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{LocationId, StudioId, StudioSettings};
use crate::account::AccountId;
use crate::policy::Role;
use crate::values::{Currency, DisplayName, Email, TimeZone};

/// What may be asked of a studio. Fields are already-parsed values: validation of raw
/// input happens at the boundary, business rules in [`super::Studio::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum StudioCommand {
    CreateStudio {
        studio_id: StudioId,
        name: DisplayName,
        timezone: TimeZone,
        currency: Currency,
        /// The creator, who becomes the first owner.
        owner: AccountId,
    },
    RenameStudio {
        name: DisplayName,
    },
    UpdateSettings {
        settings: StudioSettings,
    },
    AddLocation {
        location_id: LocationId,
        name: DisplayName,
        address: Option<String>,
        timezone: Option<TimeZone>,
    },
    RenameLocation {
        location_id: LocationId,
        name: DisplayName,
    },
    /// Membership commands name their `actor`: the aggregate checks the actor's role in
    /// its own (consistent) member list, so a stale read model can never grant access.
    AddMember {
        actor: AccountId,
        account_id: AccountId,
        role: Role,
    },
    InviteMember {
        actor: AccountId,
        invitation_id: Uuid,
        email: Email,
        role: Role,
        /// SHA-256 of the invitation token (the token itself is only sent to the invitee).
        token_hash: String,
        expires_at: DateTime<Utc>,
    },
    AcceptInvitation {
        token_hash: String,
        account_id: AccountId,
        email: Email,
        now: DateTime<Utc>,
    },
    RevokeInvitation {
        actor: AccountId,
        invitation_id: Uuid,
    },
    ChangeMemberRole {
        actor: AccountId,
        account_id: AccountId,
        role: Role,
    },
    RemoveMember {
        actor: AccountId,
        account_id: AccountId,
    },
}
