//! Tenant scoping. Every read of tenant data runs in a transaction bound to the tenant
//! (and the caller's account) so Postgres row-level security applies even if a query
//! forgets its `WHERE tenant_id = …`. Access decisions go through `domain::policy`.

use domain::policy::{self, Action, Relation, Role};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::ApiError;

/// Begins a transaction bound to `tenant` (and `account`, for cross-studio reads of
/// one's own memberships).
pub async fn tenant_tx(
    pool: &PgPool,
    tenant: Option<Uuid>,
    account: Option<Uuid>,
) -> Result<Transaction<'static, Postgres>, ApiError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT set_config('app.tenant_id', COALESCE($1::text, ''), true), \
         set_config('app.account_id', COALESCE($2::text, ''), true)",
    )
    .bind(tenant.map(|t| t.to_string()))
    .bind(account.map(|a| a.to_string()))
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// The caller's membership in one studio.
#[derive(Debug, Clone, Copy)]
pub struct Membership {
    pub studio_id: Uuid,
    pub account_id: Uuid,
    pub role: Role,
}

impl Membership {
    /// Loads the caller's role. Non-members get 404: a studio's existence is not
    /// revealed to strangers.
    pub async fn load(pool: &PgPool, user: &AuthUser, studio_id: Uuid) -> Result<Self, ApiError> {
        let mut tx = tenant_tx(pool, Some(studio_id), Some(user.account_id)).await?;
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM studio_membership WHERE tenant_id = $1 AND account_id = $2",
        )
        .bind(studio_id)
        .bind(user.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let role = role
            .and_then(|r| Role::parse(&r))
            .ok_or(ApiError::NotFound {
                code: "studio_not_found",
                what: "studio",
            })?;
        Ok(Self {
            studio_id,
            account_id: user.account_id,
            role,
        })
    }

    pub fn may(&self, action: Action, relation: Relation) -> bool {
        policy::decide(self.role, action, relation)
    }

    /// 403 unless the policy allows `action` (with no special relation).
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        self.require_with(action, Relation::default())
    }

    pub fn require_with(&self, action: Action, relation: Relation) -> Result<(), ApiError> {
        if self.may(action, relation) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// A transaction bound to this studio.
    pub async fn tx(&self, pool: &PgPool) -> Result<Transaction<'static, Postgres>, ApiError> {
        tenant_tx(pool, Some(self.studio_id), Some(self.account_id)).await
    }

    /// One read-model document (`doc` of the `*_view` table `table`) by id, read in a
    /// transaction bound to this studio, so row-level security applies.
    pub async fn view_doc<T>(
        &self,
        pool: &PgPool,
        table: &'static str,
        id: Uuid,
    ) -> Result<Option<T>, ApiError>
    where
        T: serde::de::DeserializeOwned + Send + Unpin + 'static,
    {
        let mut tx = self.tx(pool).await?;
        let doc: Option<sqlx::types::Json<T>> =
            sqlx::query_scalar(&format!("SELECT doc FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(doc.map(|d| d.0))
    }

    /// The role `account` holds in this studio (`None`: not a member).
    pub async fn role_of(&self, pool: &PgPool, account: Uuid) -> Result<Option<Role>, ApiError> {
        let mut tx = self.tx(pool).await?;
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM studio_membership WHERE tenant_id = $1 AND account_id = $2",
        )
        .bind(self.studio_id)
        .bind(account)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(role.as_deref().and_then(Role::parse))
    }
}
