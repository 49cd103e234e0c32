//! Inline projections: state written inside the event store's transaction because it
//! must never lag the events (see [`TxHook`](crate::event_store::TxHook)).
//!
//! * [`StudioMembership`]: who belongs to which studio with which role, and pending
//!   invitations. Authorization reads this, so a new owner can act on their studio the
//!   moment the command returns.
//! * [`AccountState`]: the account row (with its case-insensitively unique email) and
//!   the password hash, which is deliberately not part of any event.

use async_trait::async_trait;
use cqrs_es::persist::SerializedEvent;
use domain::account::AccountEvent;
use domain::scheduling::ClassEvent;
use domain::studio::StudioEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::event_store::TxHook;

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
                        sqlx::query(
                            "UPDATE account_credential SET password_hash = $2, changed_at = now() WHERE account_id = $1",
                        )
                        .bind(account)
                        .bind(hash)
                        .execute(&mut *conn)
                        .await?;
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
            }
        }
        Ok(())
    }
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

/// Blocks booking until this instant, if `client` reached the studio's strike limit.
pub async fn booking_blocked_until(
    conn: &mut PgConnection,
    tenant: Uuid,
    client: Uuid,
    settings: &domain::studio::StudioSettings,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    let (count, last): (i64, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT count(*), max(at) FROM client_strike WHERE tenant_id = $1 AND client_id = $2 \
         AND at > now() - make_interval(days => $3)",
    )
    .bind(tenant)
    .bind(client)
    .bind(i32::try_from(settings.strike_window_days).unwrap_or(30))
    .fetch_one(conn)
    .await?;
    Ok(match last {
        Some(last) if count >= i64::from(settings.strike_limit) => {
            Some(last + chrono::Duration::days(i64::from(settings.strike_block_days)))
        }
        _ => None,
    })
}
