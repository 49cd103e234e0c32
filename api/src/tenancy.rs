//! Tenant scoping. Every read of tenant data runs in a transaction bound to the tenant
//! (and the caller's account) so Postgres row-level security applies even if a query
//! forgets its `WHERE tenant_id = …`. Access decisions go through `domain::policy`.

use domain::policy::{self, Action, Relation, Role};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use domain::client::view::ClientView;
use domain::studio::StudioSettings;
use domain::view::View;

use crate::auth::{session_revoked, Caller};
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

/// The caller's account bound for row-level security and their session checked, as the
/// row `me` (`account`, `open`) a statement reads from: `$1` account, `$2` session.
/// `set_config` runs in the innermost row, which Postgres never flattens (volatile), and
/// every read is correlated to it, so row-level security sees the binding.
macro_rules! me {
    () => {
        "(SELECT b.account, EXISTS (SELECT 1 FROM auth_session s WHERE s.id = $2 \
             AND s.account_id = b.account AND s.revoked_at IS NULL AND s.expires_at > now()) AS open \
           FROM (SELECT set_config('app.account_id', $1::uuid::text, true)::uuid AS account) b \
           OFFSET 0) me"
    };
}
pub(crate) use me;

/// The bound row `x` (tenant, account, open, role) both request statements start from:
/// `$1` tenant, `$2` account, `$3` session, `$4` the command mark (`'on'` or `''`).
macro_rules! entered {
    () => {
        "(SELECT b.tenant, b.account, \
             EXISTS (SELECT 1 FROM auth_session s WHERE s.id = $3 AND s.account_id = b.account \
                     AND s.revoked_at IS NULL AND s.expires_at > now()) AS open, \
             (SELECT m.role FROM studio_membership m \
               WHERE m.tenant_id = b.tenant AND m.account_id = b.account) AS role \
           FROM (SELECT set_config('app.tenant_id', $1::uuid::text, true)::uuid AS tenant, \
                        set_config('app.account_id', $2::uuid::text, true)::uuid AS account, \
                        set_config('app.command', $4::text, true) AS command) b \
           OFFSET 0) x"
    };
}

/// Binds the statement's transaction to a tenant, a caller and (`$4 = 'on'`) the command
/// path, and reads in the same statement what every request needs: is the caller's
/// session open, their role in the studio, the studio's zone and settings, and a stored
/// idempotent reply for (caller, `$5`).
///
/// Plain SQL, no function: the innermost row `b` calls `set_config` (volatile, so
/// Postgres never flattens it), and every read is a subquery correlated to `b`'s
/// columns, so it runs after the binding and row-level security sees it. (The plpgsql
/// function this replaced cost twice the database time.) Read-committed takes one
/// snapshot per statement: a caller that must see what a concurrent writer of the same
/// key committed takes that key's lock *before* this statement (see
/// [`crate::command::CommandTx::begin`]).
pub const ENTER_SQL: &str = concat!(
    "SELECT x.open, x.role, \
       (SELECT p.timezone FROM studio_profile p WHERE p.tenant_id = x.tenant), \
       (SELECT p.settings FROM studio_profile p WHERE p.tenant_id = x.tenant), \
       (SELECT k.fingerprint FROM idempotency_key k WHERE $5::text IS NOT NULL \
          AND k.account_id = x.account AND k.key = $5 AND k.created_at > now() - interval '24 hours'), \
       (SELECT k.reply FROM idempotency_key k WHERE $5::text IS NOT NULL \
          AND k.account_id = x.account AND k.key = $5 AND k.created_at > now() - interval '24 hours') \
     FROM ",
    entered!()
);

/// What [`ENTER_SQL`] answers.
pub(crate) struct Entered {
    pub session_open: bool,
    pub role: Option<Role>,
    pub profile: Option<StudioProfile>,
    pub idempotent: Option<(String, serde_json::Value)>,
}

type EnterRow = (
    bool,
    Option<String>,
    Option<String>,
    Option<serde_json::Value>,
    Option<String>,
    Option<serde_json::Value>,
);

/// Binds `conn`'s transaction (or, outside one, this statement) to `tenant` and the
/// caller, and reads their session, role and the studio's profile in the same round trip.
pub(crate) async fn enter(
    conn: &mut sqlx::PgConnection,
    caller: &Caller,
    tenant: Uuid,
    command: bool,
    idempotency_key: Option<&str>,
) -> Result<Entered, ApiError> {
    let (session_open, role, timezone, settings, fingerprint, reply): EnterRow =
        sqlx::query_as(ENTER_SQL)
            .bind(tenant)
            .bind(caller.account_id)
            .bind(caller.session_id)
            .bind(if command { "on" } else { "" })
            .bind(idempotency_key)
            .fetch_one(conn)
            .await?;
    let profile = match (timezone, settings) {
        (Some(timezone), Some(settings)) => Some(StudioProfile {
            timezone,
            // Settings are written by the studio's events; `{}` (backfilled) is defaults.
            settings: serde_json::from_value(settings).unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Entered {
        session_open,
        role: role.as_deref().and_then(Role::parse),
        profile,
        idempotent: fingerprint.zip(reply),
    })
}

/// A studio's zone and policy settings, from the studio directory (written with the
/// studio's events, so never lagging them).
#[derive(Debug, Clone)]
pub struct StudioProfile {
    pub timezone: String,
    pub settings: StudioSettings,
}

fn studio_not_found() -> ApiError {
    ApiError::NotFound {
        code: "studio_not_found",
        what: "studio",
    }
}

/// The caller's membership in one studio.
#[derive(Debug, Clone)]
pub struct Membership {
    pub studio_id: Uuid,
    pub account_id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
    pub profile: Option<StudioProfile>,
}

impl Membership {
    /// Checks the caller's session and loads their role, in one statement. A closed
    /// session is `401`; non-members get `404` (a studio's existence is not revealed to
    /// strangers).
    pub async fn load(pool: &PgPool, caller: &Caller, studio_id: Uuid) -> Result<Self, ApiError> {
        let mut conn = pool.acquire().await?;
        let entered = enter(&mut conn, caller, studio_id, false, None).await?;
        Self::from_entered(caller, studio_id, entered)
    }

    pub(crate) fn from_entered(
        caller: &Caller,
        studio_id: Uuid,
        entered: Entered,
    ) -> Result<Self, ApiError> {
        if !entered.session_open {
            return Err(session_revoked());
        }
        let role = entered.role.ok_or_else(studio_not_found)?;
        Ok(Self {
            studio_id,
            account_id: caller.account_id,
            session_id: caller.session_id,
            role,
            profile: entered.profile,
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

    /// One document of view `V` by id: one statement, bound to this studio (row-level
    /// security applies), that re-checks the session and membership as it reads.
    pub async fn view<V: View>(&self, pool: &PgPool, id: Uuid) -> Result<Option<V>, ApiError> {
        let caller = Caller {
            account_id: self.account_id,
            session_id: self.session_id,
        };
        Ok(
            read_doc(pool, &caller, self.studio_id, V::TABLE, id, NOTHING_ELSE)
                .await?
                .1,
        )
    }

    /// The caller's membership and one document of view `V`, in **one** statement: the
    /// session, the membership and the document are read together. The caller checks the
    /// permission on the membership before using the document.
    pub async fn read<V: View>(
        pool: &PgPool,
        caller: &Caller,
        studio_id: Uuid,
        id: Uuid,
    ) -> Result<(Self, Option<V>), ApiError> {
        let (role, doc, _) = read_doc(pool, caller, studio_id, V::TABLE, id, NOTHING_ELSE).await?;
        Ok((Self::reading(caller, studio_id, role), doc))
    }

    /// Like [`Self::read`] for a client record, with the record's relation as committed
    /// with its events (its account and assigned trainers, from the studio directory),
    /// in the same statement. Who may see a record and its health data is decided on
    /// this, never on the view: a trainer removed from a client sees nothing more of
    /// them the moment the removal committed, however far behind the view is.
    pub async fn read_client(
        pool: &PgPool,
        caller: &Caller,
        studio_id: Uuid,
        id: Uuid,
    ) -> Result<(Self, Option<ClientView>, Option<ClientRelation>), ApiError> {
        const RELATION: &str =
            "(SELECT jsonb_build_object('account_id', r.account_id, 'trainers', r.trainers) \
             FROM client_record r WHERE r.tenant_id = x.tenant AND r.client_id = $5)";
        let (role, doc, relation) =
            read_doc(pool, caller, studio_id, ClientView::TABLE, id, RELATION).await?;
        let relation = relation
            .map(serde_json::from_value::<ClientRelation>)
            .transpose()
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok((Self::reading(caller, studio_id, role), doc, relation))
    }

    fn reading(caller: &Caller, studio_id: Uuid, role: Role) -> Self {
        Self {
            studio_id,
            account_id: caller.account_id,
            session_id: caller.session_id,
            role,
            profile: None,
        }
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

/// A client record's relation as committed with its events (`client_record`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ClientRelation {
    pub account_id: Option<Uuid>,
    pub trainers: Vec<Uuid>,
}

/// [`read_doc`] reads nothing besides the document.
const NOTHING_ELSE: &str = "NULL::jsonb";

/// Checks the session and reads the role and the document in one statement (and
/// `also`, a `jsonb` expression over the bound row `x` and the id `$5`, guarded alike). A closed
/// session is `401`, a non-member `404`. The statement is [`ENTER_SQL`]'s binding with
/// the document read by static SQL per table (its plan cached with the prepared
/// statement), correlated to the bound row and guarded by the session and membership:
/// row-level security lets any statement bound to a studio see its rows, so the guard
/// is the check.
async fn read_doc<T>(
    pool: &PgPool,
    caller: &Caller,
    studio_id: Uuid,
    table: &'static str,
    id: Uuid,
    also: &'static str,
) -> Result<(Role, Option<T>, Option<serde_json::Value>), ApiError>
where
    T: serde::de::DeserializeOwned + Send + Unpin + 'static,
{
    let read_model =
        table.ends_with("_view") && table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !read_model {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "not a read model: {table}"
        )));
    }
    let sql = format!(
        "SELECT x.open, x.role, \
           CASE WHEN x.open AND x.role IS NOT NULL \
             THEN (SELECT v.doc FROM {table} v WHERE v.id = $5 AND v.tenant_id = x.tenant) END, \
           CASE WHEN x.open AND x.role IS NOT NULL THEN {also} END \
         FROM {}",
        entered!()
    );
    type Row<T> = (
        bool,
        Option<String>,
        Option<sqlx::types::Json<T>>,
        Option<serde_json::Value>,
    );
    let (open, role, doc, also): Row<T> = sqlx::query_as(&sql)
        .bind(studio_id)
        .bind(caller.account_id)
        .bind(caller.session_id)
        .bind("")
        .bind(id)
        .fetch_one(pool)
        .await?;
    if !open {
        return Err(session_revoked());
    }
    let role = role
        .as_deref()
        .and_then(Role::parse)
        .ok_or_else(studio_not_found)?;
    Ok((role, doc.map(|d| d.0), also))
}
