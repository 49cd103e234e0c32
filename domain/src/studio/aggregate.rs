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
#[derive(Debug, Default, Serialize, Deserialize)]
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

#[derive(Debug, Serialize, Deserialize)]
struct Location {
    id: LocationId,
    name: DisplayName,
}

#[derive(Debug, Serialize, Deserialize)]
struct Member {
    account_id: AccountId,
    role: Role,
}

#[derive(Debug, Serialize, Deserialize)]
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
                if self.id.is_some() {
                    return Err(StudioError::AlreadyExists);
                }
                let event = StudioEvent::StudioCreated {
                    studio_id,
                    name,
                    timezone,
                    currency,
                    owner_id: owner,
                };
                sink.write(event, self).await;
            }
            StudioCommand::RenameStudio { name } => {
                self.require_created()?;
                // Renaming to the current name is a no-op, not an error: retries of
                // the same request stay harmless.
                if self.name.as_ref() != Some(&name) {
                    sink.write(StudioEvent::StudioRenamed { name }, self).await;
                }
            }
            StudioCommand::UpdateSettings { settings } => {
                self.require_created()?;
                validate_settings(&settings)?;
                if self.settings != settings {
                    sink.write(StudioEvent::StudioSettingsUpdated { settings }, self)
                        .await;
                }
            }
            StudioCommand::AddLocation {
                location_id,
                name,
                address,
                timezone,
            } => {
                self.require_created()?;
                if self.locations.iter().any(|l| l.id == location_id) {
                    // Same id again: the client retried; the first attempt already won.
                    return Ok(());
                }
                if self.locations.len() >= MAX_LOCATIONS {
                    return Err(StudioError::TooManyLocations { max: MAX_LOCATIONS });
                }
                if self.location_name_taken(&name, None) {
                    return Err(StudioError::LocationNameTaken(name.to_string()));
                }
                let event = StudioEvent::LocationAdded {
                    location_id,
                    name,
                    address,
                    timezone,
                };
                sink.write(event, self).await;
            }
            StudioCommand::RenameLocation { location_id, name } => {
                self.require_created()?;
                let Some(current) = self.locations.iter().find(|l| l.id == location_id) else {
                    return Err(StudioError::LocationNotFound);
                };
                if current.name == name {
                    return Ok(());
                }
                if self.location_name_taken(&name, Some(location_id)) {
                    return Err(StudioError::LocationNameTaken(name.to_string()));
                }
                sink.write(StudioEvent::LocationRenamed { location_id, name }, self)
                    .await;
            }
            StudioCommand::AddMember {
                actor,
                account_id,
                role,
            } => {
                self.require_created()?;
                let granter = self.manager_role(actor)?;
                if self.role_of(account_id).is_some() {
                    return Err(StudioError::AlreadyMember);
                }
                if !policy::may_grant(granter, None, role) {
                    return Err(StudioError::Forbidden);
                }
                sink.write(StudioEvent::MemberAdded { account_id, role }, self)
                    .await;
            }
            StudioCommand::InviteMember {
                actor,
                invitation_id,
                email,
                role,
                token_hash,
                expires_at,
            } => {
                self.require_created()?;
                let granter = self.manager_role(actor)?;
                if !policy::may_grant(granter, None, role) {
                    return Err(StudioError::Forbidden);
                }
                if self.invitations.iter().any(|i| i.id == invitation_id) {
                    return Ok(());
                }
                if self.invitations.iter().any(|i| i.open && i.email == email) {
                    return Err(StudioError::AlreadyInvited);
                }
                let event = StudioEvent::MemberInvited {
                    invitation_id,
                    email,
                    role,
                    token_hash,
                    expires_at,
                };
                sink.write(event, self).await;
            }
            StudioCommand::AcceptInvitation {
                token_hash,
                account_id,
                email,
                now,
            } => {
                self.require_created()?;
                let Some(invitation) = self.invitations.iter().find(|i| i.token_hash == token_hash)
                else {
                    return Err(StudioError::InvitationNotFound);
                };
                if !invitation.open {
                    return Err(StudioError::InvitationUsed);
                }
                if invitation.expires_at <= now {
                    return Err(StudioError::InvitationExpired);
                }
                if invitation.email != email {
                    return Err(StudioError::InvitationEmailMismatch);
                }
                if self.role_of(account_id).is_some() {
                    return Err(StudioError::AlreadyMember);
                }
                let event = StudioEvent::InvitationAccepted {
                    invitation_id: invitation.id,
                    account_id,
                    role: invitation.role,
                };
                sink.write(event, self).await;
            }
            StudioCommand::RevokeInvitation {
                actor,
                invitation_id,
            } => {
                self.require_created()?;
                self.manager_role(actor)?;
                match self.invitations.iter().find(|i| i.id == invitation_id) {
                    None => return Err(StudioError::InvitationNotFound),
                    Some(i) if !i.open => return Ok(()),
                    Some(_) => {
                        sink.write(StudioEvent::InvitationRevoked { invitation_id }, self)
                            .await;
                    }
                }
            }
            StudioCommand::ChangeMemberRole {
                actor,
                account_id,
                role,
            } => {
                self.require_created()?;
                let granter = self.manager_role(actor)?;
                let current = self
                    .role_of(account_id)
                    .ok_or(StudioError::MemberNotFound)?;
                if current == role {
                    return Ok(());
                }
                if !policy::may_grant(granter, Some(current), role) {
                    return Err(StudioError::Forbidden);
                }
                if current == Role::Owner && self.owners() == 1 {
                    return Err(StudioError::LastOwner);
                }
                sink.write(StudioEvent::MemberRoleChanged { account_id, role }, self)
                    .await;
            }
            StudioCommand::RemoveMember { actor, account_id } => {
                self.require_created()?;
                let current = self
                    .role_of(account_id)
                    .ok_or(StudioError::MemberNotFound)?;
                // Anyone may leave; removing someone else takes a manager who could
                // also have granted their role.
                if actor != account_id {
                    let granter = self.manager_role(actor)?;
                    if !policy::may_grant(granter, Some(current), current) {
                        return Err(StudioError::Forbidden);
                    }
                }
                if current == Role::Owner && self.owners() == 1 {
                    return Err(StudioError::LastOwner);
                }
                sink.write(StudioEvent::MemberRemoved { account_id }, self)
                    .await;
            }
        }
        Ok(())
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

fn validate_settings(s: &StudioSettings) -> Result<(), StudioError> {
    let invalid = |field, message: &str| StudioError::InvalidSettings {
        field,
        message: message.to_owned(),
    };
    if !(1..=500).contains(&s.default_class_capacity) {
        return Err(invalid(
            "default_class_capacity",
            "must be between 1 and 500",
        ));
    }
    if !(1..=365).contains(&s.booking_window_days) {
        return Err(invalid("booking_window_days", "must be between 1 and 365"));
    }
    if s.cancellation_cutoff_hours > 168 {
        return Err(invalid(
            "cancellation_cutoff_hours",
            "must be between 0 and 168",
        ));
    }
    if let Some(email) = &s.contact_email {
        let plausible = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !email.chars().any(char::is_whitespace)
            });
        if !plausible {
            return Err(invalid("contact_email", "must be an email address"));
        }
    }
    if let Some(phone) = &s.contact_phone {
        let ok = (3..=32).contains(&phone.len())
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()./".contains(c));
        if !ok {
            return Err(invalid("contact_phone", "must be a phone number"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use uuid::Uuid;

    type StudioTest = TestFramework<Studio>;

    fn name(s: &str) -> DisplayName {
        DisplayName::parse(s).expect("valid name")
    }

    fn studio_id() -> StudioId {
        StudioId(Uuid::from_u128(1))
    }

    fn created() -> StudioEvent {
        StudioEvent::StudioCreated {
            studio_id: studio_id(),
            name: name("Core Pilates"),
            timezone: TimeZone::parse("Europe/Berlin").expect("tz"),
            currency: Currency::parse("EUR").expect("currency"),
            owner_id: owner(),
        }
    }

    fn owner() -> AccountId {
        AccountId(Uuid::from_u128(500))
    }

    fn person(n: u128) -> AccountId {
        AccountId(Uuid::from_u128(600 + n))
    }

    fn added(n: u128, role: Role) -> StudioEvent {
        StudioEvent::MemberAdded {
            account_id: person(n),
            role,
        }
    }

    fn location(n: u128, label: &str) -> StudioEvent {
        StudioEvent::LocationAdded {
            location_id: LocationId(Uuid::from_u128(n)),
            name: name(label),
            address: None,
            timezone: None,
        }
    }

    #[tokio::test]
    async fn a_new_studio_is_created() {
        let StudioEvent::StudioCreated {
            studio_id,
            name,
            timezone,
            currency,
            owner_id,
        } = created()
        else {
            unreachable!()
        };
        StudioTest::with(())
            .given_no_previous_events()
            .when_async(StudioCommand::CreateStudio {
                studio_id,
                name,
                timezone,
                currency,
                owner: owner_id,
            })
            .await
            .then_expect_events(vec![created()]);
    }

    #[tokio::test]
    async fn a_studio_cannot_be_created_twice() {
        let StudioEvent::StudioCreated {
            studio_id,
            name,
            timezone,
            currency,
            owner_id,
        } = created()
        else {
            unreachable!()
        };
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::CreateStudio {
                studio_id,
                name,
                timezone,
                currency,
                owner: owner_id,
            })
            .await
            .then_expect_error(StudioError::AlreadyExists);
    }

    #[tokio::test]
    async fn commands_on_a_missing_studio_are_refused() {
        StudioTest::with(())
            .given_no_previous_events()
            .when_async(StudioCommand::RenameStudio { name: name("X") })
            .await
            .then_expect_error(StudioError::NotFound);
    }

    #[tokio::test]
    async fn a_studio_is_renamed() {
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::RenameStudio {
                name: name("Core Reformer"),
            })
            .await
            .then_expect_events(vec![StudioEvent::StudioRenamed {
                name: name("Core Reformer"),
            }]);
    }

    #[tokio::test]
    async fn renaming_to_the_same_name_emits_nothing() {
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::RenameStudio {
                name: name("Core Pilates"),
            })
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn settings_are_updated() {
        let settings = StudioSettings {
            booking_window_days: 30,
            ..StudioSettings::default()
        };
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::UpdateSettings {
                settings: settings.clone(),
            })
            .await
            .then_expect_events(vec![StudioEvent::StudioSettingsUpdated { settings }]);
    }

    #[tokio::test]
    async fn unchanged_settings_emit_nothing() {
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::UpdateSettings {
                settings: StudioSettings::default(),
            })
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn out_of_range_settings_are_refused() {
        let cases = [
            StudioSettings {
                default_class_capacity: 0,
                ..StudioSettings::default()
            },
            StudioSettings {
                booking_window_days: 366,
                ..StudioSettings::default()
            },
            StudioSettings {
                cancellation_cutoff_hours: 169,
                ..StudioSettings::default()
            },
            StudioSettings {
                contact_email: Some("not-an-email".into()),
                ..StudioSettings::default()
            },
            StudioSettings {
                contact_phone: Some("call me".into()),
                ..StudioSettings::default()
            },
        ];
        for settings in cases {
            let result = StudioTest::with(())
                .given(vec![created()])
                .when_async(StudioCommand::UpdateSettings { settings })
                .await
                .inspect_result();
            assert!(
                matches!(result, Err(StudioError::InvalidSettings { .. })),
                "{result:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_location_is_added() {
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::AddLocation {
                location_id: LocationId(Uuid::from_u128(10)),
                name: name("Downtown"),
                address: None,
                timezone: None,
            })
            .await
            .then_expect_events(vec![location(10, "Downtown")]);
    }

    #[tokio::test]
    async fn adding_the_same_location_id_twice_is_idempotent() {
        StudioTest::with(())
            .given(vec![created(), location(10, "Downtown")])
            .when_async(StudioCommand::AddLocation {
                location_id: LocationId(Uuid::from_u128(10)),
                name: name("Downtown"),
                address: None,
                timezone: None,
            })
            .await
            .then_expect_events(vec![]);
    }

    #[tokio::test]
    async fn location_names_are_unique_case_insensitively() {
        StudioTest::with(())
            .given(vec![created(), location(10, "Downtown")])
            .when_async(StudioCommand::AddLocation {
                location_id: LocationId(Uuid::from_u128(11)),
                name: name("DOWNTOWN"),
                address: None,
                timezone: None,
            })
            .await
            .then_expect_error(StudioError::LocationNameTaken("DOWNTOWN".into()));
    }

    #[tokio::test]
    async fn a_studio_has_a_bounded_number_of_locations() {
        let mut given = vec![created()];
        given.extend((0..MAX_LOCATIONS as u128).map(|i| location(100 + i, &format!("L{i}"))));
        StudioTest::with(())
            .given(given)
            .when_async(StudioCommand::AddLocation {
                location_id: LocationId(Uuid::from_u128(99)),
                name: name("One too many"),
                address: None,
                timezone: None,
            })
            .await
            .then_expect_error(StudioError::TooManyLocations { max: MAX_LOCATIONS });
    }

    #[tokio::test]
    async fn a_location_is_renamed() {
        StudioTest::with(())
            .given(vec![created(), location(10, "Downtown")])
            .when_async(StudioCommand::RenameLocation {
                location_id: LocationId(Uuid::from_u128(10)),
                name: name("Uptown"),
            })
            .await
            .then_expect_events(vec![StudioEvent::LocationRenamed {
                location_id: LocationId(Uuid::from_u128(10)),
                name: name("Uptown"),
            }]);
    }

    #[tokio::test]
    async fn renaming_an_unknown_location_is_refused() {
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::RenameLocation {
                location_id: LocationId(Uuid::from_u128(10)),
                name: name("Uptown"),
            })
            .await
            .then_expect_error(StudioError::LocationNotFound);
    }

    #[tokio::test]
    async fn renaming_a_location_onto_another_locations_name_is_refused() {
        StudioTest::with(())
            .given(vec![
                created(),
                location(10, "Downtown"),
                location(11, "Uptown"),
            ])
            .when_async(StudioCommand::RenameLocation {
                location_id: LocationId(Uuid::from_u128(10)),
                name: name("uptown"),
            })
            .await
            .then_expect_error(StudioError::LocationNameTaken("uptown".into()));
    }

    #[tokio::test]
    async fn owners_and_admins_add_members() {
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::AddMember {
                actor: owner(),
                account_id: person(1),
                role: Role::Trainer,
            })
            .await
            .then_expect_events(vec![added(1, Role::Trainer)]);
        StudioTest::with(())
            .given(vec![created(), added(1, Role::Admin)])
            .when_async(StudioCommand::AddMember {
                actor: person(1),
                account_id: person(2),
                role: Role::Client,
            })
            .await
            .then_expect_events(vec![added(2, Role::Client)]);
    }

    #[tokio::test]
    async fn other_roles_and_strangers_may_not_manage_members() {
        for role in [Role::Trainer, Role::FrontDesk, Role::Client] {
            StudioTest::with(())
                .given(vec![created(), added(1, role)])
                .when_async(StudioCommand::AddMember {
                    actor: person(1),
                    account_id: person(2),
                    role: Role::Client,
                })
                .await
                .then_expect_error(StudioError::Forbidden);
        }
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::AddMember {
                actor: person(9),
                account_id: person(2),
                role: Role::Client,
            })
            .await
            .then_expect_error(StudioError::Forbidden);
    }

    #[tokio::test]
    async fn admins_may_not_grant_ownership() {
        StudioTest::with(())
            .given(vec![
                created(),
                added(1, Role::Admin),
                added(2, Role::Trainer),
            ])
            .when_async(StudioCommand::ChangeMemberRole {
                actor: person(1),
                account_id: person(2),
                role: Role::Owner,
            })
            .await
            .then_expect_error(StudioError::Forbidden);
    }

    #[tokio::test]
    async fn a_member_is_added_only_once() {
        StudioTest::with(())
            .given(vec![created(), added(1, Role::Trainer)])
            .when_async(StudioCommand::AddMember {
                actor: owner(),
                account_id: person(1),
                role: Role::Admin,
            })
            .await
            .then_expect_error(StudioError::AlreadyMember);
    }

    #[tokio::test]
    async fn the_last_owner_cannot_be_removed_or_demoted() {
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::RemoveMember {
                actor: owner(),
                account_id: owner(),
            })
            .await
            .then_expect_error(StudioError::LastOwner);
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::ChangeMemberRole {
                actor: owner(),
                account_id: owner(),
                role: Role::Admin,
            })
            .await
            .then_expect_error(StudioError::LastOwner);
        StudioTest::with(())
            .given(vec![created(), added(1, Role::Owner)])
            .when_async(StudioCommand::ChangeMemberRole {
                actor: person(1),
                account_id: owner(),
                role: Role::Admin,
            })
            .await
            .then_expect_events(vec![StudioEvent::MemberRoleChanged {
                account_id: owner(),
                role: Role::Admin,
            }]);
    }

    #[tokio::test]
    async fn members_may_leave_and_managers_remove_others() {
        StudioTest::with(())
            .given(vec![created(), added(1, Role::Client)])
            .when_async(StudioCommand::RemoveMember {
                actor: person(1),
                account_id: person(1),
            })
            .await
            .then_expect_events(vec![StudioEvent::MemberRemoved {
                account_id: person(1),
            }]);
        StudioTest::with(())
            .given(vec![
                created(),
                added(1, Role::Trainer),
                added(2, Role::Client),
            ])
            .when_async(StudioCommand::RemoveMember {
                actor: person(1),
                account_id: person(2),
            })
            .await
            .then_expect_error(StudioError::Forbidden);
        StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::RemoveMember {
                actor: owner(),
                account_id: person(3),
            })
            .await
            .then_expect_error(StudioError::MemberNotFound);
    }

    fn invited(email: &str, expires_at: DateTime<Utc>) -> StudioEvent {
        StudioEvent::MemberInvited {
            invitation_id: Uuid::from_u128(900),
            email: Email::parse(email).expect("email"),
            role: Role::Trainer,
            token_hash: "hash".into(),
            expires_at,
        }
    }

    fn accept(email: &str, now: DateTime<Utc>) -> StudioCommand {
        StudioCommand::AcceptInvitation {
            token_hash: "hash".into(),
            account_id: person(5),
            email: Email::parse(email).expect("email"),
            now,
        }
    }

    #[tokio::test]
    async fn an_invitation_is_accepted_once_before_it_expires_by_its_addressee() {
        let now = Utc::now();
        let later = now + chrono::Duration::days(7);
        StudioTest::with(())
            .given(vec![created(), invited("new@example.com", later)])
            .when_async(accept("new@example.com", now))
            .await
            .then_expect_events(vec![StudioEvent::InvitationAccepted {
                invitation_id: Uuid::from_u128(900),
                account_id: person(5),
                role: Role::Trainer,
            }]);
        let accepted = StudioEvent::InvitationAccepted {
            invitation_id: Uuid::from_u128(900),
            account_id: person(5),
            role: Role::Trainer,
        };
        StudioTest::with(())
            .given(vec![created(), invited("new@example.com", later), accepted])
            .when_async(accept("new@example.com", now))
            .await
            .then_expect_error(StudioError::InvitationUsed);
        StudioTest::with(())
            .given(vec![created(), invited("new@example.com", now)])
            .when_async(accept("new@example.com", later))
            .await
            .then_expect_error(StudioError::InvitationExpired);
        StudioTest::with(())
            .given(vec![created(), invited("new@example.com", later)])
            .when_async(accept("other@example.com", now))
            .await
            .then_expect_error(StudioError::InvitationEmailMismatch);
    }

    #[tokio::test]
    async fn only_one_open_invitation_per_email() {
        StudioTest::with(())
            .given(vec![
                created(),
                invited("new@example.com", Utc::now() + chrono::Duration::days(1)),
            ])
            .when_async(StudioCommand::InviteMember {
                actor: owner(),
                invitation_id: Uuid::from_u128(901),
                email: Email::parse("new@example.com").expect("email"),
                role: Role::Client,
                token_hash: "other".into(),
                expires_at: Utc::now() + chrono::Duration::days(1),
            })
            .await
            .then_expect_error(StudioError::AlreadyInvited);
    }
}
