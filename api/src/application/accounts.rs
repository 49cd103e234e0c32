//! Account commands: an account is platform data (not a studio's), so its commands run
//! under the platform tenant, outside any studio's command transaction.

use std::sync::Arc;

use domain::account::{AccountCommand, PLATFORM_TENANT};
use infra::inline::AccountState;
use uuid::Uuid;

use crate::context::RequestContext;
use crate::error::ApiError;
use crate::state::AppState;

/// Runs an account command of `account` (its own actor), writing `hook`'s rows with it.
pub async fn execute(
    state: &AppState,
    ctx: &RequestContext,
    account: Uuid,
    command: AccountCommand,
    hook: AccountState,
) -> Result<(), ApiError> {
    let mut meta = ctx.metadata(PLATFORM_TENANT);
    meta.actor = format!("user:{account}");
    state
        .bus::<domain::account::Account>()
        .execute_with_hook(&account.to_string(), command, None, meta, Arc::new(hook))
        .await
        .map_err(crate::error::from_command)?;
    Ok(())
}
