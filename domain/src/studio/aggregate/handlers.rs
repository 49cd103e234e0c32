//! One handler per command: each checks the rules against the current state and
//! writes the resulting events (none for a no-op retry).

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use uuid::Uuid;

use super::{Studio, MAX_LOCATIONS};
use crate::account::AccountId;
use crate::policy::{self, Role};
use crate::studio::{LocationId, StudioError, StudioEvent, StudioId, StudioSettings};
use crate::values::{Currency, DisplayName, Email, TimeZone};

impl Studio {
    pub(super) async fn create_studio(
        &mut self,
        studio_id: StudioId,
        name: DisplayName,
        timezone: TimeZone,
        currency: Currency,
        owner: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
    }

    pub(super) async fn rename_studio(
        &mut self,
        name: DisplayName,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
        self.require_created()?;
        // Renaming to the current name is a no-op, not an error: retries of
        // the same request stay harmless.
        if self.name.as_ref() != Some(&name) {
            sink.write(StudioEvent::StudioRenamed { name }, self).await;
        }
        Ok(())
    }

    pub(super) async fn update_settings(
        &mut self,
        settings: StudioSettings,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
        self.require_created()?;
        let mut settings = settings;
        if settings.health_consent.is_none() {
            settings
                .health_consent
                .clone_from(&self.settings.health_consent);
        }
        validate_settings(&settings)?;
        let (old, new) = (self.settings.consent_text(), settings.consent_text());
        if (old.text != new.text && new.version <= old.version)
            || (old.text == new.text && new.version != old.version)
        {
            return Err(StudioError::InvalidSettings {
                field: "health_consent",
                message: format!(
                    "a new wording needs a version above {} (the same wording keeps its version)",
                    old.version
                ),
            });
        }
        if self.settings != settings {
            sink.write(StudioEvent::StudioSettingsUpdated { settings }, self)
                .await;
        }
        Ok(())
    }

    pub(super) async fn add_location(
        &mut self,
        location_id: LocationId,
        name: DisplayName,
        address: Option<String>,
        timezone: Option<TimeZone>,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
    }

    pub(super) async fn rename_location(
        &mut self,
        location_id: LocationId,
        name: DisplayName,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
    }

    pub(super) async fn add_member(
        &mut self,
        actor: AccountId,
        account_id: AccountId,
        role: Role,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
    }

    // One parameter per field of `StudioCommand::InviteMember`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn invite_member(
        &mut self,
        actor: AccountId,
        invitation_id: Uuid,
        email: Email,
        role: Role,
        token_hash: String,
        expires_at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
    }

    pub(super) async fn accept_invitation(
        &mut self,
        token_hash: String,
        account_id: AccountId,
        email: Email,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
        self.require_created()?;
        let Some(invitation) = self.invitations.iter().find(|i| i.token_hash == token_hash) else {
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
        Ok(())
    }

    pub(super) async fn revoke_invitation(
        &mut self,
        actor: AccountId,
        invitation_id: Uuid,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
    }

    pub(super) async fn change_member_role(
        &mut self,
        actor: AccountId,
        account_id: AccountId,
        role: Role,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
    }

    pub(super) async fn remove_member(
        &mut self,
        actor: AccountId,
        account_id: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), StudioError> {
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
        Ok(())
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
    if !(1..=20).contains(&s.strike_limit) {
        return Err(invalid("strike_limit", "must be between 1 and 20"));
    }
    if !(1..=365).contains(&s.strike_window_days) {
        return Err(invalid("strike_window_days", "must be between 1 and 365"));
    }
    if s.strike_block_days > 90 {
        return Err(invalid("strike_block_days", "must be between 0 and 90"));
    }
    let mut reminders = s.reminder_minutes.clone();
    reminders.sort_unstable();
    reminders.dedup();
    if reminders.len() != s.reminder_minutes.len()
        || reminders.len() > 3
        || reminders.iter().any(|m| !(15..=10_080).contains(m))
    {
        return Err(invalid(
            "reminder_minutes",
            "at most 3 distinct values, each between 15 and 10080",
        ));
    }
    if let Some(consent) = &s.health_consent {
        consent
            .validate()
            .map_err(|e| StudioError::InvalidSettings {
                field: "health_consent",
                message: e.to_string(),
            })?;
    }
    if let Some(email) = &s.contact_email {
        // One address (it is mailed): `Email` refuses lists and display names.
        if crate::values::Email::parse(email).is_err() {
            return Err(invalid("contact_email", "must be one email address"));
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
