//! Read-your-writes. The projector `NOTIFY`s `projection_updated` with the aggregate id
//! when it commits; one `LISTEN` connection per API process fans those out to waiting
//! requests. A slow fallback poll covers notifications lost while reconnecting.
//!
//! The same connection listens to `inbox` (the notification worker's, with the account
//! whose inbox got a notification), which wakes that person's live streams
//! ([`crate::routes::inbox`]) on whichever API instance holds them.

use std::future::Future;
use std::time::Duration;

use domain::view::View;
use infra::shutdown::CancellationToken;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio::time::Instant;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::tenancy::Membership;

const FALLBACK_POLL: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct ViewWaiter {
    updates: broadcast::Sender<String>,
    inbox: broadcast::Sender<String>,
    shutdown: CancellationToken,
}

/// What [`ViewWaiter::inbox_updates`] sends after (re)connecting its listener instead of
/// an account id: notifications may have been missed meanwhile, every stream looks.
pub const EVERY_INBOX: &str = "*";

impl ViewWaiter {
    /// Starts the listener task (it reconnects on its own until `shutdown`).
    pub fn start(pool: PgPool, shutdown: CancellationToken) -> Self {
        let (updates, _) = broadcast::channel(1024);
        let (inbox, _) = broadcast::channel(1024);
        let (sender, inbox_sender) = (updates.clone(), inbox.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            while !shutdown.is_cancelled() {
                let listener = async {
                    let mut l = PgListener::connect_with(&pool).await?;
                    l.listen_all(["projection_updated", "inbox"]).await?;
                    Ok::<_, sqlx::Error>(l)
                };
                let mut listener = match listener.await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "view listener cannot connect; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let _ = inbox_sender.send(EVERY_INBOX.to_owned());
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        n = listener.recv() => match n {
                            Ok(n) if n.channel() == "inbox" => {
                                let _ = inbox_sender.send(n.payload().to_owned());
                            }
                            Ok(n) => { let _ = sender.send(n.payload().to_owned()); }
                            Err(e) => {
                                tracing::warn!(error = %e, "view listener lost its connection");
                                break;
                            }
                        }
                    }
                }
            }
        });
        Self {
            updates,
            inbox,
            shutdown: stop,
        }
    }

    /// The accounts whose inbox got a notification (or [`EVERY_INBOX`]), as the worker
    /// announced them.
    pub fn inbox_updates(&self) -> broadcast::Receiver<String> {
        self.inbox.subscribe()
    }

    /// Cancelled when the process shuts down: long-lived responses (live streams) end
    /// with it, so a graceful shutdown does not wait for them.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Read-your-writes for view `V`'s document `id` (the document's id is its stream's):
    /// loads it and, with `min_version`, waits (at most `max`) until the projector has
    /// brought it to that version. `None` means no such document; a version the stream
    /// has reached but the view has not within `max` is `view_not_caught_up`. A version
    /// the stream itself has not reached can only be a client's mistake (command
    /// responses carry versions that exist): answered at once, `404` for a stream that
    /// does not exist, `400` otherwise.
    pub async fn read_view<V: View>(
        &self,
        member: &Membership,
        pool: &PgPool,
        id: Uuid,
        max: Duration,
        min_version: Option<u64>,
    ) -> Result<Option<V>, ApiError> {
        let first = member.view::<V>(pool, id).await?;
        self.catch_up(member, pool, id, max, min_version, first)
            .await
    }

    /// [`Self::read_view`] with the reader's membership: the first read is one
    /// statement ([`Membership::read`]); `authorize` decides on the membership before the
    /// document is used or waited for.
    #[allow(clippy::too_many_arguments)]
    pub async fn read_member_view<V: View>(
        &self,
        pool: &PgPool,
        caller: &Caller,
        studio_id: Uuid,
        id: Uuid,
        max: Duration,
        min_version: Option<u64>,
        authorize: impl FnOnce(&Membership) -> Result<(), ApiError>,
    ) -> Result<(Membership, Option<V>), ApiError> {
        let (member, first) = Membership::read::<V>(pool, caller, studio_id, id).await?;
        authorize(&member)?;
        let view = self
            .catch_up(&member, pool, id, max, min_version, first)
            .await?;
        Ok((member, view))
    }

    /// The rest of [`Self::read_view`], given the first read.
    pub(crate) async fn catch_up<V: View>(
        &self,
        member: &Membership,
        pool: &PgPool,
        id: Uuid,
        max: Duration,
        min_version: Option<u64>,
        view: Option<V>,
    ) -> Result<Option<V>, ApiError> {
        let Some(wanted) = min_version else {
            return Ok(view);
        };
        if view.as_ref().map_or(0, V::version) >= wanted {
            return Ok(view);
        }
        let stream = id.to_string();
        let mut tx = member.tx(pool).await?;
        let head: i64 = sqlx::query_scalar(
            "SELECT COALESCE(max(sequence), 0) FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
        )
        .bind(V::AGGREGATE_TYPE)
        .bind(&stream)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let head = u64::try_from(head).unwrap_or_default();
        if head == 0 {
            return Ok(None);
        }
        if wanted > head {
            return Err(ApiError::InvalidQuery(format!(
                "min_version {wanted} is ahead of the stream (at version {head})"
            )));
        }
        let caught_up = || async {
            Ok::<_, ApiError>(
                member
                    .view::<V>(pool, id)
                    .await?
                    .is_some_and(|v| v.version() >= wanted),
            )
        };
        self.wait_until(&stream, max, caught_up).await?;
        let view = member.view::<V>(pool, id).await?;
        let current = view.as_ref().map_or(0, V::version);
        if current < wanted {
            return Err(ApiError::NotCaughtUp { current, wanted });
        }
        Ok(view)
    }

    /// Re-runs `ready` whenever `aggregate_id`'s views change (or every 250 ms) until it
    /// answers true or `max` has passed. Returns whether it became ready.
    pub async fn wait_until<F, Fut, E>(
        &self,
        aggregate_id: &str,
        max: Duration,
        mut ready: F,
    ) -> Result<bool, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool, E>>,
    {
        // Subscribe before the first check so no update slips in between.
        let mut updates = self.updates.subscribe();
        let deadline = Instant::now() + max;
        loop {
            if ready().await? {
                return Ok(true);
            }
            let wake = async {
                loop {
                    match updates.recv().await {
                        Ok(id) if id == aggregate_id => return,
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await;
                        }
                    }
                }
            };
            tokio::select! {
                _ = wake => {}
                _ = tokio::time::sleep(FALLBACK_POLL) => {}
                _ = tokio::time::sleep_until(deadline) => return ready().await,
            }
        }
    }
}
