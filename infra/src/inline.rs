//! Inline projections: state written inside the event store's transaction because it
//! must never lag the events (see [`TxHook`](crate::hooks::TxHook)).
//!
//! * [`StudioMembership`]: who belongs to which studio with which role, and pending
//!   invitations. Authorization reads this, so a new owner can act on their studio the
//!   moment the command returns.
//! * [`AccountState`]: the account row (with its case-insensitively unique email) and
//!   the password hash, which is deliberately not part of any event.
//! * The studio directory, what commands read about *other* aggregates:
//!   [`StudioDirectory`] (the studio's zone and policy settings, its locations),
//!   [`ClientDirectory`] (client records: account, email, assigned trainers),
//!   [`ClassSlots`] (what each class occupies: instructor conflicts, series),
//!   [`AppointmentSlots`] (booked 1:1 appointments).
//! * [`ClassStrikes`]: late cancels and no-shows, checked before booking.
//! * [`WebhookDirectory`]: each webhook endpoint's URL, subscriptions, state and secret
//!   version; the projector fans events out to it, the delivery worker signs with it.
//!
//! [`hooks_for`] says which hooks an aggregate type gets; `CommandBus::new` asks it, so
//! no construction site can forget one.

use std::sync::Arc;

use async_trait::async_trait;
use cqrs_es::persist::SerializedEvent;
use domain::account::AccountEvent;
use domain::class::ClassEvent;
use domain::client::ClientEvent;
use domain::studio::StudioEvent;
use domain::trainer_calendar::TrainerCalendarEvent;
use domain::webhook_endpoint::WebhookEndpointEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::hooks::TxHook;

/// The transaction hooks of an aggregate type (by `Aggregate::TYPE`).
pub fn hooks_for(aggregate_type: &str) -> Vec<Arc<dyn TxHook>> {
    match aggregate_type {
        "studio" => vec![Arc::new(StudioMembership), Arc::new(StudioDirectory)],
        "client" => vec![Arc::new(ClientDirectory)],
        "class" => vec![Arc::new(ClassStrikes), Arc::new(ClassSlots)],
        "trainer_calendar" => vec![Arc::new(AppointmentSlots)],
        "webhook_endpoint" => vec![Arc::new(WebhookDirectory)],
        _ => Vec::new(),
    }
}

fn stream_uuid(event: &SerializedEvent) -> Result<Uuid, sqlx::Error> {
    event
        .aggregate_id
        .parse()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, sqlx::Error> {
    serde_json::to_value(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// `studio_profile` (name, zone, settings) and `studio_location`.
pub struct StudioDirectory;

#[async_trait]
impl TxHook for StudioDirectory {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events.iter().filter(|e| e.aggregate_type == "studio") {
            match decode::<StudioEvent>(event)? {
                StudioEvent::StudioCreated { name, timezone, .. } => {
                    sqlx::query(
                        "INSERT INTO studio_profile (tenant_id, timezone, settings, name) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(tenant)
                    .bind(timezone.as_str())
                    .bind(to_json(&domain::studio::StudioSettings::default())?)
                    .bind(name.to_string())
                    .execute(&mut *conn)
                    .await?;
                }
                StudioEvent::StudioRenamed { name } => {
                    sqlx::query("UPDATE studio_profile SET name = $2 WHERE tenant_id = $1")
                        .bind(tenant)
                        .bind(name.to_string())
                        .execute(&mut *conn)
                        .await?;
                }
                StudioEvent::StudioSettingsUpdated { settings } => {
                    sqlx::query("UPDATE studio_profile SET settings = $2 WHERE tenant_id = $1")
                        .bind(tenant)
                        .bind(to_json(&settings)?)
                        .execute(&mut *conn)
                        .await?;
                }
                StudioEvent::LocationAdded {
                    location_id,
                    name,
                    timezone,
                    ..
                } => {
                    sqlx::query(
                        "INSERT INTO studio_location (tenant_id, location_id, name, timezone) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(tenant)
                    .bind(location_id.0)
                    .bind(name.to_string())
                    .bind(timezone.map(|t| t.as_str()))
                    .execute(&mut *conn)
                    .await?;
                }
                StudioEvent::LocationRenamed { location_id, name } => {
                    sqlx::query(
                        "UPDATE studio_location SET name = $3 WHERE tenant_id = $1 AND location_id = $2",
                    )
                    .bind(tenant)
                    .bind(location_id.0)
                    .bind(name.to_string())
                    .execute(&mut *conn)
                    .await?;
                }
                StudioEvent::MemberAdded { .. }
                | StudioEvent::MemberInvited { .. }
                | StudioEvent::InvitationAccepted { .. }
                | StudioEvent::InvitationRevoked { .. }
                | StudioEvent::MemberRoleChanged { .. }
                | StudioEvent::MemberRemoved { .. } => {}
            }
        }
        Ok(())
    }
}

/// `client_record`: who a client record belongs to, its name and email, its trainers.
pub struct ClientDirectory;

#[async_trait]
impl TxHook for ClientDirectory {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events.iter().filter(|e| e.aggregate_type == "client") {
            let client = stream_uuid(event)?;
            let query = match decode::<ClientEvent>(event)? {
                ClientEvent::ClientRegistered {
                    email,
                    account_id,
                    full_name,
                    ..
                } => sqlx::query(
                    "INSERT INTO client_record (tenant_id, client_id, account_id, email, full_name) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(tenant)
                .bind(client)
                .bind(account_id.map(|a| a.0))
                .bind(email.map(|e| e.as_str().to_owned()))
                .bind(full_name.to_string()),
                ClientEvent::AccountLinked { account_id } => sqlx::query(
                    "UPDATE client_record SET account_id = $3 WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant)
                .bind(client)
                .bind(account_id.0),
                ClientEvent::TrainerAssigned { trainer_id } => sqlx::query(
                    "UPDATE client_record SET trainers = array_append(array_remove(trainers, $3), $3) \
                     WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant)
                .bind(client)
                .bind(trainer_id.0),
                ClientEvent::TrainerUnassigned { trainer_id } => sqlx::query(
                    "UPDATE client_record SET trainers = array_remove(trainers, $3) \
                     WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant)
                .bind(client)
                .bind(trainer_id.0),
                ClientEvent::ClientArchived { .. } => sqlx::query(
                    "UPDATE client_record SET archived = true WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant)
                .bind(client),
                ClientEvent::ClientUnarchived => sqlx::query(
                    "UPDATE client_record SET archived = false WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant)
                .bind(client),
                ClientEvent::ClientProfileUpdated { .. }
                | ClientEvent::HealthIntakeRecorded { .. }
                | ClientEvent::HealthIntakeSubmitted { .. }
                | ClientEvent::HealthConsentWithdrawn { .. }
                | ClientEvent::RecommendationRecorded { .. }
                | ClientEvent::RecommendationReviewed { .. }
                | ClientEvent::RecommendationFailed { .. }
                | ClientEvent::QuestionAsked { .. }
                | ClientEvent::QuestionAnswered { .. } => continue,
            };
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// `class_slot`: each class's time, instructor and status.
pub struct ClassSlots;

#[async_trait]
impl TxHook for ClassSlots {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events.iter().filter(|e| e.aggregate_type == "class") {
            let class = stream_uuid(event)?;
            let query = match decode::<ClassEvent>(event)? {
                ClassEvent::ClassScheduled {
                    starts_at,
                    ends_at,
                    instructor_id,
                    schedule_id,
                    ..
                } => sqlx::query(
                    "INSERT INTO class_slot (tenant_id, class_id, schedule_id, instructor_id, starts_at, ends_at, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'scheduled')",
                )
                .bind(tenant)
                .bind(class)
                .bind(schedule_id)
                .bind(instructor_id.map(|i| i.0))
                .bind(starts_at)
                .bind(ends_at),
                ClassEvent::InstructorSubstituted { instructor_id } => sqlx::query(
                    "UPDATE class_slot SET instructor_id = $3 WHERE tenant_id = $1 AND class_id = $2",
                )
                .bind(tenant)
                .bind(class)
                .bind(instructor_id.map(|i| i.0)),
                ClassEvent::ClassCancelled { .. } => sqlx::query(
                    "UPDATE class_slot SET status = 'cancelled' WHERE tenant_id = $1 AND class_id = $2",
                )
                .bind(tenant)
                .bind(class),
                ClassEvent::ClassClosed => sqlx::query(
                    "UPDATE class_slot SET status = 'closed' WHERE tenant_id = $1 AND class_id = $2",
                )
                .bind(tenant)
                .bind(class),
                ClassEvent::SpotBooked { .. }
                | ClassEvent::Waitlisted { .. }
                | ClassEvent::BookingCancelled { .. }
                | ClassEvent::WaitlistLeft { .. }
                | ClassEvent::WaitlistPromoted { .. }
                | ClassEvent::CheckedIn { .. }
                | ClassEvent::NoShowRecorded { .. }
                | ClassEvent::CapacityChanged { .. } => continue,
            };
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// `appointment_slot`: active 1:1 appointments, by trainer.
pub struct AppointmentSlots;

#[async_trait]
impl TxHook for AppointmentSlots {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events
            .iter()
            .filter(|e| e.aggregate_type == "trainer_calendar")
        {
            let query = match decode::<TrainerCalendarEvent>(event)? {
                // The calendar's first event (availability, committed before any booking)
                // names its trainer; the insert reads it in the same statement.
                TrainerCalendarEvent::AppointmentBooked { appointment } => sqlx::query(
                    "INSERT INTO appointment_slot (tenant_id, appointment_id, trainer_id, starts_at, ends_at) \
                     SELECT $1, $2, (e.payload->>'trainer_id')::uuid, $4, $5 FROM events e \
                     WHERE e.tenant_id = $1 AND e.aggregate_type = 'trainer_calendar' \
                       AND e.aggregate_id = $3 AND e.sequence = 1",
                )
                .bind(tenant)
                .bind(appointment.id)
                .bind(&event.aggregate_id)
                .bind(appointment.starts_at)
                .bind(appointment.ends_at),
                TrainerCalendarEvent::AppointmentRescheduled {
                    appointment_id,
                    starts_at,
                    ends_at,
                } => sqlx::query(
                    "UPDATE appointment_slot SET starts_at = $3, ends_at = $4 WHERE tenant_id = $1 AND appointment_id = $2",
                )
                .bind(tenant)
                .bind(appointment_id)
                .bind(starts_at)
                .bind(ends_at),
                TrainerCalendarEvent::AppointmentCancelled { appointment_id } => sqlx::query(
                    "DELETE FROM appointment_slot WHERE tenant_id = $1 AND appointment_id = $2",
                )
                .bind(tenant)
                .bind(appointment_id),
                TrainerCalendarEvent::AvailabilitySet { .. } | TrainerCalendarEvent::TimeOffAdded { .. } => continue,
            };
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

fn decode<E: serde::de::DeserializeOwned>(event: &SerializedEvent) -> Result<E, sqlx::Error> {
    serde_json::from_value(event.payload.clone()).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Keeps `studio_membership` and `studio_invitation` in step with studio events.
pub struct StudioMembership;

#[async_trait]
impl TxHook for StudioMembership {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events.iter().filter(|e| e.aggregate_type == "studio") {
            match decode::<StudioEvent>(event)? {
                StudioEvent::StudioCreated { owner_id, .. } => {
                    add_member(conn, tenant, owner_id.0, "owner").await?;
                }
                StudioEvent::MemberAdded { account_id, role } => {
                    add_member(conn, tenant, account_id.0, role.as_str()).await?;
                }
                StudioEvent::MemberInvited {
                    invitation_id,
                    email,
                    role,
                    token_hash,
                    expires_at,
                } => {
                    sqlx::query(
                        "INSERT INTO studio_invitation (id, tenant_id, email, role, token_hash, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(invitation_id)
                    .bind(tenant)
                    .bind(email.as_str())
                    .bind(role.as_str())
                    .bind(token_hash)
                    .bind(expires_at)
                    .execute(&mut *conn)
                    .await?;
                }
                StudioEvent::InvitationAccepted {
                    invitation_id,
                    account_id,
                    role,
                } => {
                    set_invitation_state(conn, invitation_id, "accepted").await?;
                    add_member(conn, tenant, account_id.0, role.as_str()).await?;
                }
                StudioEvent::InvitationRevoked { invitation_id } => {
                    set_invitation_state(conn, invitation_id, "revoked").await?;
                }
                StudioEvent::MemberRoleChanged { account_id, role } => {
                    sqlx::query(
                        "UPDATE studio_membership SET role = $3 WHERE tenant_id = $1 AND account_id = $2",
                    )
                    .bind(tenant)
                    .bind(account_id.0)
                    .bind(role.as_str())
                    .execute(&mut *conn)
                    .await?;
                }
                StudioEvent::MemberRemoved { account_id } => {
                    sqlx::query(
                        "DELETE FROM studio_membership WHERE tenant_id = $1 AND account_id = $2",
                    )
                    .bind(tenant)
                    .bind(account_id.0)
                    .execute(&mut *conn)
                    .await?;
                }
                StudioEvent::StudioRenamed { .. }
                | StudioEvent::StudioSettingsUpdated { .. }
                | StudioEvent::LocationAdded { .. }
                | StudioEvent::LocationRenamed { .. } => {}
            }
        }
        Ok(())
    }
}

async fn add_member(
    conn: &mut PgConnection,
    tenant: Uuid,
    account: Uuid,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO studio_membership (tenant_id, account_id, role) VALUES ($1, $2, $3)")
        .bind(tenant)
        .bind(account)
        .bind(role)
        .execute(conn)
        .await
        .map(|_| ())
}

async fn set_invitation_state(
    conn: &mut PgConnection,
    id: Uuid,
    state: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE studio_invitation SET state = $2 WHERE id = $1")
        .bind(id)
        .bind(state)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Writes the account row and its credential with the account's events.
pub struct AccountState {
    /// The new password hash (sign-up, password change).
    pub password_hash: Option<String>,
    /// On a password change, every other session of the account is revoked.
    pub keep_session: Option<Uuid>,
}

impl AccountState {
    /// For account commands that change no credential (verification, link requests).
    pub fn without_credentials() -> Self {
        Self {
            password_hash: None,
            keep_session: None,
        }
    }
}

#[async_trait]
impl TxHook for AccountState {
    async fn run(
        &self,
        conn: &mut PgConnection,
        _tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events.iter().filter(|e| e.aggregate_type == "account") {
            let account: Uuid = event
                .aggregate_id
                .parse()
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            match decode::<AccountEvent>(event)? {
                AccountEvent::AccountRegistered {
                    email, full_name, ..
                } => {
                    sqlx::query("INSERT INTO account (id, email, full_name) VALUES ($1, $2, $3)")
                        .bind(account)
                        .bind(email.as_str())
                        .bind(full_name.as_str())
                        .execute(&mut *conn)
                        .await?;
                    if let Some(hash) = &self.password_hash {
                        sqlx::query(
                            "INSERT INTO account_credential (account_id, password_hash) VALUES ($1, $2)",
                        )
                        .bind(account)
                        .bind(hash)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                AccountEvent::PasswordChanged => {
                    if let Some(hash) = &self.password_hash {
                        set_password(conn, account, hash).await?;
                    }
                    sqlx::query(
                        "UPDATE auth_session SET revoked_at = now(), revoke_reason = 'password_changed' \
                         WHERE account_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
                    )
                    .bind(account)
                    .bind(self.keep_session)
                    .execute(&mut *conn)
                    .await?;
                }
                AccountEvent::EmailVerificationRequested { .. }
                | AccountEvent::PasswordResetRequested { .. } => {}
                AccountEvent::EmailVerified { link_id, .. } => {
                    sqlx::query(
                        "UPDATE account SET email_verified_at = now() \
                         WHERE id = $1 AND email_verified_at IS NULL",
                    )
                    .bind(account)
                    .execute(&mut *conn)
                    .await?;
                    spend_link(conn, link_id).await?;
                }
                AccountEvent::NotificationPreferencesChanged { preferences } => {
                    sqlx::query(
                        "INSERT INTO notification_preference (account_id, preferences) VALUES ($1, $2) \
                         ON CONFLICT (account_id) DO UPDATE SET preferences = EXCLUDED.preferences, updated_at = now()",
                    )
                    .bind(account)
                    .bind(sqlx::types::Json(&preferences))
                    .execute(&mut *conn)
                    .await?;
                }
                AccountEvent::PasswordReset { link_id } => {
                    if let Some(hash) = &self.password_hash {
                        set_password(conn, account, hash).await?;
                    }
                    // Every session ends, every other reset link with them, and the
                    // address's sign-in lockouts are lifted: whoever held the account
                    // before is out, its owner is in.
                    sqlx::query(
                        "UPDATE auth_session SET revoked_at = now(), revoke_reason = 'password_reset' \
                         WHERE account_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(account)
                    .execute(&mut *conn)
                    .await?;
                    sqlx::query(
                        "UPDATE account_link SET used_at = now() \
                         WHERE account_id = $1 AND purpose = 'reset_password' AND used_at IS NULL",
                    )
                    .bind(account)
                    .execute(&mut *conn)
                    .await?;
                    spend_link(conn, link_id).await?;
                    sqlx::query(
                        "DELETE FROM login_attempt WHERE email = (SELECT lower(email) FROM account WHERE id = $1)",
                    )
                    .bind(account)
                    .execute(&mut *conn)
                    .await?;
                }
            }
        }
        Ok(())
    }
}

/// Replaces the account's password hash.
async fn set_password(
    conn: &mut PgConnection,
    account: Uuid,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE account_credential SET password_hash = $2, changed_at = now() WHERE account_id = $1",
    )
    .bind(account)
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a mailed link used (the account aggregate refuses it from now on as well).
async fn spend_link(conn: &mut PgConnection, link: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE account_link SET used_at = COALESCE(used_at, now()) WHERE id = $1")
        .bind(link)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records strikes (late cancels and no-shows the policy counts) with the class events
/// that cause them, so the next booking sees them at once.
pub struct ClassStrikes;

#[async_trait]
impl TxHook for ClassStrikes {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events.iter().filter(|e| e.aggregate_type == "class") {
            let (booking, client, kind) = match decode::<ClassEvent>(event)? {
                ClassEvent::BookingCancelled {
                    booking_id,
                    client_id,
                    strike: true,
                    ..
                } => (booking_id, client_id, "late_cancel"),
                ClassEvent::NoShowRecorded {
                    booking_id,
                    client_id,
                    strike: true,
                } => (booking_id, client_id, "no_show"),
                _ => continue,
            };
            let class: Uuid = event
                .aggregate_id
                .parse()
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            sqlx::query(
                "INSERT INTO client_strike (booking_id, tenant_id, client_id, class_id, kind, at) \
                 VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT DO NOTHING",
            )
            .bind(booking.0)
            .bind(tenant)
            .bind(client.0)
            .bind(class)
            .bind(kind)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// `webhook_endpoint`: where deliveries go. Written with the endpoint's events, so an
/// event committed after a registration answered is delivered to it (the projector
/// reads this, not the lagging view), and one committed after a disable is not.
pub struct WebhookDirectory;

#[async_trait]
impl TxHook for WebhookDirectory {
    async fn run(
        &self,
        conn: &mut PgConnection,
        tenant: Uuid,
        events: &[SerializedEvent],
    ) -> Result<(), sqlx::Error> {
        for event in events
            .iter()
            .filter(|e| e.aggregate_type == "webhook_endpoint")
        {
            let endpoint = stream_uuid(event)?;
            let query = match decode::<WebhookEndpointEvent>(event)? {
                WebhookEndpointEvent::WebhookEndpointRegistered { details, .. } => sqlx::query(
                    "INSERT INTO webhook_endpoint (tenant_id, endpoint_id, url, event_types) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(tenant)
                .bind(endpoint)
                .bind(details.url)
                .bind(details.event_types),
                WebhookEndpointEvent::WebhookEndpointUpdated { details } => sqlx::query(
                    "UPDATE webhook_endpoint SET url = $3, event_types = $4 \
                     WHERE tenant_id = $1 AND endpoint_id = $2",
                )
                .bind(tenant)
                .bind(endpoint)
                .bind(details.url)
                .bind(details.event_types),
                WebhookEndpointEvent::WebhookSecretRotated {
                    version,
                    previous_valid_until,
                } => sqlx::query(
                    "UPDATE webhook_endpoint SET secret_version = $3, previous_secret_until = $4 \
                     WHERE tenant_id = $1 AND endpoint_id = $2",
                )
                .bind(tenant)
                .bind(endpoint)
                .bind(i32::try_from(version).unwrap_or(i32::MAX))
                .bind(previous_valid_until),
                WebhookEndpointEvent::WebhookEndpointDisabled { .. } => sqlx::query(
                    "UPDATE webhook_endpoint SET active = false WHERE tenant_id = $1 AND endpoint_id = $2",
                )
                .bind(tenant)
                .bind(endpoint),
                WebhookEndpointEvent::WebhookEndpointEnabled => sqlx::query(
                    "UPDATE webhook_endpoint SET active = true WHERE tenant_id = $1 AND endpoint_id = $2",
                )
                .bind(tenant)
                .bind(endpoint),
                // The deliveries (the log) stay; the worker drops pending ones whose
                // endpoint is gone.
                WebhookEndpointEvent::WebhookEndpointDeleted => sqlx::query(
                    "DELETE FROM webhook_endpoint WHERE tenant_id = $1 AND endpoint_id = $2",
                )
                .bind(tenant)
                .bind(endpoint),
            };
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}
