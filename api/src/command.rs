//! The command path: one HTTP command is one transaction on committed state.
//!
//! ```text
//! BEGIN [; lock]            with an Idempotency-Key, its lock in the same round trip
//! enter (ENTER_SQL)         tenant + caller bound; session, role, studio profile and any
//!                           stored Idempotency-Key reply, in one statement
//! inputs                    the studio directory (locations, client records, slots, strikes)
//! load + append per stream  CommandBus::execute_in: snapshot + tail under the stream's
//!                           writer lock; events + outbox + claim + snapshot, one statement
//! [idempotency row]         only with an Idempotency-Key
//! COMMIT
//! ```
//!
//! A command never reads a `*_view` table: the enter statement marks the transaction as a
//! command and read models refuse to be read in it (a restrictive row-level policy that
//! raises). Every handler that writes goes through [`CommandTx`], which also gives every
//! command `If-Match` (`412` on a stale or weak tag) and `Idempotency-Key` (Stripe's
//! semantics: the same key and request replay the first response; the same key with
//! another request is `422 idempotency_key_reused`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cqrs_es::Aggregate;
use domain::error::DomainError;
use domain::policy::{Action, Relation, Role};
use infra::event_store::{CommandBus, CommandMetadata, Executed, Remember};

use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use crate::auth::{session_revoked, Caller};
use crate::context::{Expected, RequestContext};
use crate::error::{from_command, ApiError};
use crate::reply::{accepted, Accepted};
use crate::state::AppState;
use crate::tenancy::{enter, Membership, StudioProfile};

pub use crate::reply::Reply;

/// The advisory lock of one caller's `Idempotency-Key`: a number, so it can be written
/// into the `BEGIN` round trip.
fn idempotency_lock(account: Uuid, key: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"idempotency-key/")
        .chain_update(account.as_bytes())
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Ids no stream may have.
fn reserved(id: &str) -> bool {
    Uuid::parse_str(id).is_ok_and(|u| u.is_nil() || u.is_max())
}

/// One command's transaction: bound to the studio (tenant) and the caller, with their
/// session checked and role read. Dropped without [`CommandTx::commit`], it rolls back.
pub struct CommandTx {
    tx: Transaction<'static, Postgres>,
    pub studio_id: Uuid,
    pub account_id: Uuid,
    session_id: Uuid,
    role: Option<Role>,
    /// The studio's zone and settings (`None` before the studio exists).
    pub profile: Option<StudioProfile>,
    ctx: RequestContext,
    /// States to cache once the transaction commits.
    remember: Vec<Remember>,
}

impl CommandTx {
    /// `BEGIN` and [`ENTER_SQL`](crate::tenancy::ENTER_SQL): two round trips. With an
    /// `Idempotency-Key`, `BEGIN` also takes the (caller, key) lock in the same round
    /// trip, so a retry that races the original waits for it, and the next statement's
    /// snapshot sees its stored reply. A retried key answers here, with the stored reply
    /// (as `ApiError::Replay`).
    pub async fn begin(
        state: &AppState,
        caller: &Caller,
        ctx: &RequestContext,
        studio_id: Uuid,
    ) -> Result<Self, ApiError> {
        let key = ctx.idempotency.as_ref().map(|i| i.key.as_str());
        let mut tx = match key {
            None => state.pool.begin().await?,
            Some(key) => {
                let lock = idempotency_lock(caller.account_id, key);
                state
                    .pool
                    .begin_with(format!("BEGIN; SELECT pg_advisory_xact_lock({lock})"))
                    .await?
            }
        };
        let entered = enter(&mut tx, caller, studio_id, true, key).await?;
        if !entered.session_open {
            return Err(session_revoked());
        }
        if let (Some(idem), Some((fingerprint, reply))) = (&ctx.idempotency, entered.idempotent) {
            if idem.fingerprint != fingerprint {
                return Err(ApiError::Rule {
                    code: "idempotency_key_reused",
                    message: "this Idempotency-Key was used with another request; use a new key"
                        .to_owned(),
                });
            }
            let reply: Reply =
                serde_json::from_value(reply).map_err(|e| ApiError::Internal(e.into()))?;
            return Err(ApiError::Replay(Box::new(reply)));
        }
        Ok(Self {
            tx,
            studio_id,
            account_id: caller.account_id,
            session_id: caller.session_id,
            role: entered.role,
            profile: entered.profile,
            ctx: ctx.clone(),
            remember: Vec::new(),
        })
    }

    /// The caller's membership; `404 studio_not_found` for a non-member.
    pub fn member(&self) -> Result<Membership, ApiError> {
        let role = self.role.ok_or(ApiError::NotFound {
            code: "studio_not_found",
            what: "studio",
        })?;
        Ok(Membership {
            studio_id: self.studio_id,
            account_id: self.account_id,
            session_id: self.session_id,
            role,
            profile: self.profile.clone(),
        })
    }

    /// The membership, `403` unless the policy allows `action`.
    pub fn require(&self, action: Action) -> Result<Membership, ApiError> {
        self.require_with(action, Relation::default())
    }

    pub fn require_with(&self, action: Action, relation: Relation) -> Result<Membership, ApiError> {
        let member = self.member()?;
        member.require_with(action, relation)?;
        Ok(member)
    }

    /// The studio's profile; a member's studio always has one.
    pub fn profile(&self) -> Result<&StudioProfile, ApiError> {
        self.profile.as_ref().ok_or(ApiError::NotFound {
            code: "studio_not_found",
            what: "studio",
        })
    }

    /// The transaction, for reading the studio directory.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub fn ctx(&self) -> &RequestContext {
        &self.ctx
    }

    pub fn metadata(&self) -> CommandMetadata {
        self.ctx.metadata(self.studio_id)
    }

    /// Runs `command` on the stream the request addresses, honouring `If-Match`.
    pub async fn run<A>(
        &mut self,
        bus: &CommandBus<A>,
        id: impl std::fmt::Display,
        command: A::Command,
    ) -> Result<Executed<A>, ApiError>
    where
        A: Aggregate + Clone + Sync + 'static,
        A::Command: Send,
        A::Error: DomainError,
    {
        self.run_expecting(bus, id, command, None).await
    }

    /// Like [`Self::run`], also honouring the body's `expected_version`.
    pub async fn run_expecting<A>(
        &mut self,
        bus: &CommandBus<A>,
        id: impl std::fmt::Display,
        command: A::Command,
        body_expected: Option<u64>,
    ) -> Result<Executed<A>, ApiError>
    where
        A: Aggregate + Clone + Sync + 'static,
        A::Command: Send,
        A::Error: DomainError,
    {
        let expected = self.ctx.expected_version(body_expected)?;
        self.execute(bus, &id.to_string(), command, expected).await
    }

    /// Runs `command` on another stream the request touches (no `If-Match`: that names
    /// the addressed resource).
    pub async fn run_also<A>(
        &mut self,
        bus: &CommandBus<A>,
        id: impl std::fmt::Display,
        command: A::Command,
    ) -> Result<Executed<A>, ApiError>
    where
        A: Aggregate + Clone + Sync + 'static,
        A::Command: Send,
        A::Error: DomainError,
    {
        self.execute(bus, &id.to_string(), command, Expected::Any)
            .await
    }

    async fn execute<A>(
        &mut self,
        bus: &CommandBus<A>,
        id: &str,
        command: A::Command,
        expected: Expected,
    ) -> Result<Executed<A>, ApiError>
    where
        A: Aggregate + Clone + Sync + 'static,
        A::Command: Send,
        A::Error: DomainError,
    {
        if reserved(id) {
            return Err(ApiError::invalid_field(
                "id",
                "the nil and max UUIDs are reserved",
            ));
        }
        if expected == Expected::Weak {
            // A weak tag never matches strongly: refuse without running the command.
            let (_, actual) = self.load(bus, id).await?;
            return Err(ApiError::PreconditionFailed {
                expected: "a weak tag".to_owned(),
                actual,
            });
        }
        let metadata = self.metadata();
        let result = bus
            .execute_in(&mut self.tx, id, command, expected.version(), &metadata)
            .await;
        match (result, expected) {
            (Ok(executed), _) => {
                self.remember
                    .extend(bus.remember(self.studio_id, id, &executed));
                Ok(executed)
            }
            (
                Err(infra::event_store::CommandError::VersionMismatch { expected, actual }),
                Expected::IfMatch(_),
            ) => Err(ApiError::PreconditionFailed {
                expected: expected.to_string(),
                actual,
            }),
            (Err(e), _) => Err(from_command(e)),
        }
    }

    /// The current state of a stream (committed events; no writer lock).
    pub async fn load<A>(
        &mut self,
        bus: &CommandBus<A>,
        id: impl std::fmt::Display,
    ) -> Result<(A, u64), ApiError>
    where
        A: Aggregate + Clone + Sync + 'static,
        A::Command: Send,
        A::Error: DomainError,
    {
        let studio = self.studio_id;
        bus.load_in(&mut self.tx, studio, &id.to_string())
            .await
            .map_err(from_command)
    }

    /// The role `account` holds in this studio (`None`: not a member).
    pub async fn role_of(&mut self, account: Uuid) -> Result<Option<Role>, ApiError> {
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM studio_membership WHERE tenant_id = $1 AND account_id = $2",
        )
        .bind(self.studio_id)
        .bind(account)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(role.as_deref().and_then(Role::parse))
    }

    /// Commits a command that answers [`Accepted`] (its version is the `ETag`).
    pub async fn commit_accepted(
        self,
        status: StatusCode,
        id: Uuid,
        version: u64,
    ) -> Result<Response, ApiError> {
        let reply = accepted(
            status,
            Accepted {
                id,
                version,
                location_id: None,
            },
        )?;
        self.commit(reply).await
    }

    /// Stores the reply under the request's `Idempotency-Key` (if any), commits, and
    /// answers it.
    pub async fn commit(mut self, reply: Reply) -> Result<Response, ApiError> {
        if let Some(idem) = &self.ctx.idempotency {
            sqlx::query(
                "INSERT INTO idempotency_key (account_id, key, tenant_id, fingerprint, reply) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, key) DO UPDATE \
                 SET tenant_id = EXCLUDED.tenant_id, fingerprint = EXCLUDED.fingerprint, \
                     reply = EXCLUDED.reply, created_at = now() \
                 WHERE idempotency_key.created_at <= now() - interval '24 hours'",
            )
            .bind(self.account_id)
            .bind(&idem.key)
            .bind(self.studio_id)
            .bind(&idem.fingerprint)
            .bind(serde_json::to_value(&reply).map_err(|e| ApiError::Internal(e.into()))?)
            .execute(&mut *self.tx)
            .await?;
        }
        self.tx.commit().await?;
        for remember in self.remember {
            remember.committed();
        }
        Ok(reply.into_response())
    }
}
