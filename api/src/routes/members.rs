//! Studio members and invitations. Every change goes through the studio aggregate,
//! which checks the actor's role in its own member list (last-owner and
//! owner-granting rules included).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::account::AccountId;
use domain::policy::{Action, Role};
use domain::studio::{StudioCommand, StudioEvent};
use domain::values::Email;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::directory;
use crate::auth::{session_revoked, Caller};
use crate::command::{CommandTx, Reply};
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::routes::{accepted, Accepted, Page, PageParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::Membership;

/// How long an invitation stays valid.
const INVITATION_TTL_DAYS: i64 = 7;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(change_role, remove_member))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub account_id: Uuid,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// One page of members, by name, and the pending invitations.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    #[serde(flatten)]
    pub members: Page<MemberView>,
    /// Pending invitations (not yet accepted, revoked or expired), on every page.
    pub invitations: Vec<InvitationView>,
}

type MemberRow = (Uuid, String, String, String, DateTime<Utc>);

/// List members and pending invitations.
///
/// Members by name, a page at a time (`after` is a member's account id); the pending
/// invitations come with every page.
#[utoipa::path(get, path = "/studios/{studio_id}/members", tag = "members", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), PageParams),
    responses(
        (status = 200, description = "Members", body = MemberList),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found` (also for non-members)", body = Problem, content_type = "application/problem+json")))]
pub async fn list_members(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    page: PageParams,
) -> Result<AppJson<MemberList>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ViewMembers)?;
    let mut tx = member.tx(&state.pool).await?;
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT m.account_id, a.email, a.full_name, m.role, m.joined_at FROM studio_membership m \
         JOIN account a ON a.id = m.account_id WHERE m.tenant_id = $1 \
         AND ($2::uuid IS NULL OR (a.full_name, m.account_id) > \
           (SELECT c.full_name, c.id FROM account c WHERE c.id = $2)) \
         ORDER BY a.full_name, m.account_id LIMIT $3",
    )
    .bind(path.studio_id)
    .bind(page.after)
    .bind(page.fetch())
    .fetch_all(&mut *tx)
    .await?;
    let members = Page::from_rows(rows, page.limit, |r| r.0).map_items(|rows| {
        rows.into_iter()
            .filter_map(|(account_id, email, full_name, role, joined_at)| {
                Some(MemberView {
                    account_id,
                    email,
                    full_name,
                    role: Role::parse(&role)?,
                    joined_at,
                })
            })
            .collect()
    });
    let invitations = sqlx::query(
        "SELECT id, email, role, expires_at FROM studio_invitation \
         WHERE tenant_id = $1 AND state = 'pending' AND expires_at > now() ORDER BY created_at",
    )
    .bind(path.studio_id)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .filter_map(|r| {
        Some(InvitationView {
            id: r.try_get(0).ok()?,
            email: r.try_get(1).ok()?,
            role: Role::parse(r.try_get::<&str, _>(2).ok()?)?,
            expires_at: r.try_get(3).ok()?,
        })
    })
    .collect();
    tx.commit().await?;
    Ok(AppJson(MemberList {
        members,
        invitations,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddMemberResult {
    /// Always `invited`: whether or not the address has an account, the person joins by
    /// accepting the invitation with a verified account of that address.
    pub outcome: String,
    pub studio_version: u64,
    pub invitation: CreatedInvitation,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedInvitation {
    pub id: Uuid,
    /// Single-use secret for the invitee (POST /api/v1/invitations/accept, signed in with
    /// a verified account of the invited address), also mailed to the invited address.
    /// Only its hash is stored.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Invite someone by email. Nobody is added without consent: the invitee accepts with a
/// verified account of that address. The answer is the same whether or not the address
/// has an account, so it tells nothing about who uses repstream.
#[utoipa::path(post, path = "/studios/{studio_id}/members", tag = "members", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = AddMember,
    responses(
        (status = 201, description = "Invited", body = AddMemberResult),
        (status = 403, description = "`forbidden` (only owners grant ownership)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `already_member`, `already_invited`", body = Problem, content_type = "application/problem+json")))]
pub async fn add_member(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<AddMember>,
) -> Result<Response, ApiError> {
    let studio = path.studio_id;
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid_field("email", e))?;
    let mut cmd = CommandTx::begin(&state, &user, &ctx, studio).await?;
    cmd.require(Action::ManageMembers)?;
    // Derived, not random: the worker mails the invitee the same token.
    let key = state.config.link_key.as_ref().ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("no ACCOUNT_LINK_KEY: invitations are off"))
    })?;
    let invitation_id = Uuid::now_v7();
    let token = key.invitation_token(invitation_id);
    let token_hash = infra::links::token_hash(&token);
    let expires_at = Utc::now() + chrono::Duration::days(INVITATION_TTL_DAYS);
    let command = StudioCommand::InviteMember {
        actor: AccountId(user.account_id),
        invitation_id,
        email,
        role: body.role,
        token_hash,
        expires_at,
    };
    let version = cmd
        .run(&state.bus::<domain::studio::Studio>(), studio, command)
        .await?
        .outcome
        .version;
    let result = AddMemberResult {
        outcome: "invited".to_owned(),
        studio_version: version,
        invitation: CreatedInvitation {
            id: invitation_id,
            token,
            expires_at,
        },
    };
    cmd.commit(Reply::json(StatusCode::CREATED, &result)?.with_etag(version))
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPath {
    pub studio_id: Uuid,
    pub account_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: Role,
}

/// Change a member's role. A trainer who takes another role loses their client
/// assignments (and with them the clients' health fields), in the same transaction.
#[utoipa::path(put, path = "/studios/{studio_id}/members/{account_id}", tag = "members", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("account_id" = Uuid, Path, description = "Member's account")),
    request_body = ChangeRole,
    responses(
        (status = 200, description = "Changed (or unchanged)", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `member_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`last_owner`", body = Problem, content_type = "application/problem+json")))]
pub async fn change_role(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<MemberPath>,
    AppJson(body): AppJson<ChangeRole>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageMembers)?;
    let command = StudioCommand::ChangeMemberRole {
        actor: AccountId(user.account_id),
        account_id: AccountId(path.account_id),
        role: body.role,
    };
    let version = cmd
        .run(
            &state.bus::<domain::studio::Studio>(),
            path.studio_id,
            command,
        )
        .await?
        .outcome
        .version;
    if body.role != Role::Trainer {
        directory::end_trainer_assignments(&state, &mut cmd, path.account_id).await?;
    }
    if body.role == Role::Client {
        directory::link_client_record(&state, &mut cmd, path.account_id).await?;
    }
    let reply = accepted(
        StatusCode::OK,
        Accepted {
            id: path.studio_id,
            version,
            location_id: None,
        },
    )?;
    cmd.commit(reply).await
}

/// Remove a member (or leave, when it is yourself). Their trainer assignments end in the
/// same transaction.
#[utoipa::path(delete, path = "/studios/{studio_id}/members/{account_id}", tag = "members", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("account_id" = Uuid, Path, description = "Member's account")),
    responses(
        (status = 200, description = "Removed", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `member_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`last_owner`", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_member(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<MemberPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    if path.account_id == user.account_id {
        cmd.member()?;
    } else {
        cmd.require(Action::ManageMembers)?;
    }
    let command = StudioCommand::RemoveMember {
        actor: AccountId(user.account_id),
        account_id: AccountId(path.account_id),
    };
    let version = cmd
        .run(
            &state.bus::<domain::studio::Studio>(),
            path.studio_id,
            command,
        )
        .await?
        .outcome
        .version;
    directory::end_trainer_assignments(&state, &mut cmd, path.account_id).await?;
    let reply = accepted(
        StatusCode::OK,
        Accepted {
            id: path.studio_id,
            version,
            location_id: None,
        },
    )?;
    cmd.commit(reply).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationPath {
    pub studio_id: Uuid,
    pub invitation_id: Uuid,
}

/// Revoke a pending invitation.
#[utoipa::path(delete, path = "/studios/{studio_id}/invitations/{invitation_id}", tag = "members", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("invitation_id" = Uuid, Path, description = "Invitation id")),
    responses(
        (status = 200, description = "Revoked", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `invitation_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<InvitationPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageMembers)?;
    let command = StudioCommand::RevokeInvitation {
        actor: AccountId(user.account_id),
        invitation_id: path.invitation_id,
    };
    let version = cmd
        .run(
            &state.bus::<domain::studio::Studio>(),
            path.studio_id,
            command,
        )
        .await?
        .outcome
        .version;
    let reply = accepted(
        StatusCode::OK,
        Accepted {
            id: path.studio_id,
            version,
            location_id: None,
        },
    )?;
    cmd.commit(reply).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
}

/// Accept an invitation with the account it was sent to.
#[utoipa::path(post, path = "/invitations/accept", tag = "members", security(("bearer" = [])),
    request_body = AcceptInvitation,
    responses(
        (status = 200, description = "Joined the studio", body = Accepted),
        (status = 404, description = "`invitation_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`email_not_verified`, `invitation_expired`, `invitation_used`, `invitation_email_mismatch`, `already_member`", body = Problem, content_type = "application/problem+json")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppJson(body): AppJson<AcceptInvitation>,
) -> Result<Response, ApiError> {
    let hash = infra::links::token_hash(&body.token);
    let (studio, email, verified): (Option<Uuid>, Option<String>, Option<bool>) = sqlx::query_as(
        "SELECT repstream_invitation_tenant($1), a.email, a.email_verified_at IS NOT NULL \
         FROM (SELECT 1) one LEFT JOIN account a ON a.id = $2",
    )
    .bind(&hash)
    .bind(user.account_id)
    .fetch_one(&state.pool)
    .await?;
    let studio = studio.ok_or(ApiError::NotFound {
        code: "invitation_not_found",
        what: "invitation",
    })?;
    let email = email.ok_or_else(session_revoked)?;
    if verified != Some(true) {
        return Err(ApiError::Rule {
            code: "email_not_verified",
            message: "verify your email address first (see the mail we sent, or \
                      POST /api/v1/auth/verify-email/resend)"
                .to_owned(),
        });
    }
    let email = Email::parse(&email).map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    // The invitee is not a member yet: the studio aggregate checks the invitation.
    let mut cmd = CommandTx::begin(&state, &user, &ctx, studio).await?;
    let command = StudioCommand::AcceptInvitation {
        token_hash: hash,
        account_id: AccountId(user.account_id),
        email,
        now: Utc::now(),
    };
    let executed = cmd
        .run(&state.bus::<domain::studio::Studio>(), studio, command)
        .await?;
    let joined_as_client = executed.events.iter().any(|e| {
        matches!(
            e,
            StudioEvent::InvitationAccepted {
                role: Role::Client,
                ..
            }
        )
    });
    if joined_as_client {
        directory::link_client_record(&state, &mut cmd, user.account_id).await?;
    }
    let reply = accepted(
        StatusCode::OK,
        Accepted {
            id: studio,
            version: executed.outcome.version,
            location_id: None,
        },
    )?;
    cmd.commit(reply).await
}
