//! The studio aggregate: its profile, locations, members and invitations. The command
//! handlers live in `handlers`, one per command.

mod handlers;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{LocationId, StudioCommand, StudioError, StudioEvent, StudioId, StudioSettings};
use crate::account::AccountId;
use crate::policy::{self, Action, Relation, Role};
use crate::values::{Currency, DisplayName, Email, TimeZone};

/// Most locations one studio may have: a guard against runaway clients, far above any
/// real studio chain.
pub(crate) const MAX_LOCATIONS: usize = 200;

/// The studio aggregate. Only what the rules need is kept here; the read model
/// (`view::StudioView`) holds the rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Studio {
    id: Option<StudioId>,
    name: Option<DisplayName>,
    timezone: Option<TimeZone>,
    currency: Option<Currency>,
    settings: StudioSettings,
    locations: Vec<Location>,
    members: Vec<Member>,
    invitations: Vec<Invitation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Location {
    id: LocationId,
    name: DisplayName,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    account_id: AccountId,
    role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Invitation {
    id: Uuid,
    email: Email,
    role: Role,
    token_hash: String,
    expires_at: DateTime<Utc>,
    open: bool,
}

impl Studio {
    fn require_created(&self) -> Result<(), StudioError> {
        match self.id {
            Some(_) => Ok(()),
            None => Err(StudioError::NotFound),
        }
    }

    fn role_of(&self, account: AccountId) -> Option<Role> {
        self.members
            .iter()
            .find(|m| m.account_id == account)
            .map(|m| m.role)
    }

    /// The actor's role, if they may manage members at all.
    fn manager_role(&self, actor: AccountId) -> Result<Role, StudioError> {
        match self.role_of(actor) {
            Some(role) if policy::decide(role, Action::ManageMembers, Relation::default()) => {
                Ok(role)
            }
            _ => Err(StudioError::Forbidden),
        }
    }

    fn owners(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.role == Role::Owner)
            .count()
    }

    fn location_name_taken(&self, name: &DisplayName, except: Option<LocationId>) -> bool {
        let key = name.key();
        self.locations
            .iter()
            .any(|l| Some(l.id) != except && l.name.key() == key)
    }
}

impl Aggregate for Studio {
    const TYPE: &'static str = "studio";
    type Command = StudioCommand;
    type Event = StudioEvent;
    type Error = StudioError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            StudioCommand::CreateStudio {
                studio_id,
                name,
                timezone,
                currency,
                owner,
            } => {
                self.create_studio(studio_id, name, timezone, currency, owner, sink)
                    .await
            }
            StudioCommand::RenameStudio { name } => self.rename_studio(name, sink).await,
            StudioCommand::UpdateSettings { settings } => {
                self.update_settings(settings, sink).await
            }
            StudioCommand::AddLocation {
                location_id,
                name,
                address,
                timezone,
            } => {
                self.add_location(location_id, name, address, timezone, sink)
                    .await
            }
            StudioCommand::RenameLocation { location_id, name } => {
                self.rename_location(location_id, name, sink).await
            }
            StudioCommand::AddMember {
                actor,
                account_id,
                role,
            } => self.add_member(actor, account_id, role, sink).await,
            StudioCommand::InviteMember {
                actor,
                invitation_id,
                email,
                role,
                token_hash,
                expires_at,
            } => {
                self.invite_member(
                    actor,
                    invitation_id,
                    email,
                    role,
                    token_hash,
                    expires_at,
                    sink,
                )
                .await
            }
            StudioCommand::AcceptInvitation {
                token_hash,
                account_id,
                email,
                now,
            } => {
                self.accept_invitation(token_hash, account_id, email, now, sink)
                    .await
            }
            StudioCommand::RevokeInvitation {
                actor,
                invitation_id,
            } => self.revoke_invitation(actor, invitation_id, sink).await,
            StudioCommand::ChangeMemberRole {
                actor,
                account_id,
                role,
            } => self.change_member_role(actor, account_id, role, sink).await,
            StudioCommand::RemoveMember { actor, account_id } => {
                self.remove_member(actor, account_id, sink).await
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            StudioEvent::StudioCreated {
                studio_id,
                name,
                timezone,
                currency,
                owner_id,
            } => {
                self.id = Some(studio_id);
                self.name = Some(name);
                self.timezone = Some(timezone);
                self.currency = Some(currency);
                self.members.push(Member {
                    account_id: owner_id,
                    role: Role::Owner,
                });
            }
            StudioEvent::StudioRenamed { name } => self.name = Some(name),
            StudioEvent::StudioSettingsUpdated { settings } => self.settings = settings,
            StudioEvent::LocationAdded {
                location_id, name, ..
            } => self.locations.push(Location {
                id: location_id,
                name,
            }),
            StudioEvent::LocationRenamed { location_id, name } => {
                if let Some(l) = self.locations.iter_mut().find(|l| l.id == location_id) {
                    l.name = name;
                }
            }
            StudioEvent::MemberAdded { account_id, role } => {
                self.members.push(Member { account_id, role });
            }
            StudioEvent::MemberInvited {
                invitation_id,
                email,
                role,
                token_hash,
                expires_at,
            } => self.invitations.push(Invitation {
                id: invitation_id,
                email,
                role,
                token_hash,
                expires_at,
                open: true,
            }),
            StudioEvent::InvitationAccepted {
                invitation_id,
                account_id,
                role,
            } => {
                if let Some(i) = self.invitations.iter_mut().find(|i| i.id == invitation_id) {
                    i.open = false;
                }
                self.members.push(Member { account_id, role });
            }
            StudioEvent::InvitationRevoked { invitation_id } => {
                if let Some(i) = self.invitations.iter_mut().find(|i| i.id == invitation_id) {
                    i.open = false;
                }
            }
            StudioEvent::MemberRoleChanged { account_id, role } => {
                if let Some(m) = self.members.iter_mut().find(|m| m.account_id == account_id) {
                    m.role = role;
                }
            }
            StudioEvent::MemberRemoved { account_id } => {
                self.members.retain(|m| m.account_id != account_id);
            }
        }
    }
}
