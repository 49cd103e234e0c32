//! The in-app inbox: the caller's own notifications, from every studio they belong to,
//! and a live stream of new ones.
//!
//! Rows come from the notification worker (`inbox_notification`, one per in-app job).
//! Reads are one statement each: it binds the caller's account for row-level security,
//! checks the session and reads, so nobody reads another person's inbox even through a
//! query that forgot its `WHERE`. Marking read or archived changes only the marks.
//!
//! The stream (`GET /me/notifications/stream`, `text/event-stream`) is driven from
//! Postgres: the worker's `NOTIFY inbox` wakes the stream on whichever API instance
//! holds it, which then reads what is new from the table (a 15 s poll covers a missed
//! wake-up). Every event's `id` is the notification's `seq`, so a client that reconnects
//! with `Last-Event-ID` gets exactly what it missed. The stream ends when the session
//! does.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use tokio::sync::broadcast;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{session_revoked, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{Page, PageParams};
use crate::state::{AppState, StreamSlot};
use crate::tenancy::me;
use crate::waiter::EVERY_INBOX;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(archive))
        .routes(routes!(stream))
}

/// One notification.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: Uuid,
    /// Position in the caller's inbox (newest highest); the live stream's event id.
    pub seq: i64,
    /// The studio it is about.
    pub studio_id: Uuid,
    /// Its type, e.g. `booking_confirmed`, `waitlist_promoted`, `class_cancelled`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// What it is about (e.g. `class_id`, `starts_at`), for deep links.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// Columns [`notification`] reads, in its order.
const COLUMNS: &str =
    "n.id, n.seq, n.tenant_id, n.kind, n.title, n.body, n.data, n.created_at, n.read_at, n.archived_at";

fn notification(row: &PgRow, at: usize) -> Result<Notification, sqlx::Error> {
    Ok(Notification {
        id: row.try_get(at)?,
        seq: row.try_get(at + 1)?,
        studio_id: row.try_get(at + 2)?,
        kind: row.try_get(at + 3)?,
        title: row.try_get(at + 4)?,
        body: row.try_get(at + 5)?,
        data: row.try_get(at + 6)?,
        created_at: row.try_get(at + 7)?,
        read_at: row.try_get(at + 8)?,
        archived_at: row.try_get(at + 9)?,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxFilter {
    /// Only unread notifications.
    pub unread: Option<bool>,
    /// `true`: only archived ones; otherwise (the default) only those not archived.
    pub archived: Option<bool>,
}

/// The caller's notifications, newest first.
///
/// `after` (a notification's `seq`, as `next_after` gives it) continues with older ones.
#[utoipa::path(get, path = "/me/notifications", tag = "inbox", security(("bearer" = [])),
    params(PageParams<i64, InboxFilter>),
    responses((status = 200, description = "Newest first", body = Page<Notification, i64>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    page: PageParams<i64, InboxFilter>,
) -> Result<AppJson<Page<Notification, i64>>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT me.open, {COLUMNS} FROM {me} LEFT JOIN LATERAL ( \
           SELECT * FROM inbox_notification n WHERE me.open AND n.account_id = me.account \
             AND ($3::int8 IS NULL OR n.seq < $3) \
             AND (NOT $4 OR n.read_at IS NULL) \
             AND ((n.archived_at IS NOT NULL) = $5) \
           ORDER BY n.seq DESC LIMIT $6) n ON true",
        me = me!()
    ))
    .bind(caller.account_id)
    .bind(caller.session_id)
    .bind(page.after)
    .bind(page.filter.unread.unwrap_or(false))
    .bind(page.filter.archived.unwrap_or(false))
    .bind(page.fetch())
    .fetch_all(&state.pool)
    .await?;
    let items = opened(&rows)?
        .iter()
        .filter(|r| r.try_get::<Option<Uuid>, _>(1).ok().flatten().is_some())
        .map(|r| notification(r, 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppJson(Page::from_rows(items, page.limit, |n| n.seq)))
}

/// The rows of a statement that read [`me!`]'s `open` first, once the session is known
/// to be open.
fn opened(rows: &[PgRow]) -> Result<&[PgRow], ApiError> {
    let open = rows
        .first()
        .map(|r| r.try_get::<bool, _>(0))
        .transpose()?
        .unwrap_or(false);
    if open {
        Ok(rows)
    } else {
        Err(session_revoked())
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnreadCount {
    /// Unread notifications that are not archived.
    pub unread: i64,
}

/// How many of the caller's notifications are unread.
#[utoipa::path(get, path = "/me/notifications/unread-count", tag = "inbox", security(("bearer" = [])),
    responses((status = 200, description = "The count", body = UnreadCount)))]
pub async fn unread_count(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<AppJson<UnreadCount>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT me.open, (SELECT count(*) FROM inbox_notification n WHERE me.open \
           AND n.account_id = me.account AND n.read_at IS NULL AND n.archived_at IS NULL) \
         FROM {me}",
        me = me!()
    ))
    .bind(caller.account_id)
    .bind(caller.session_id)
    .fetch_all(&state.pool)
    .await?;
    let unread = opened(&rows)?
        .first()
        .map(|r| r.try_get::<i64, _>(1))
        .transpose()?
        .unwrap_or(0);
    Ok(AppJson(UnreadCount { unread }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NotificationPath {
    /// Notification id.
    pub notification_id: Uuid,
}

fn notification_not_found() -> ApiError {
    ApiError::NotFound {
        code: "notification_not_found",
        what: "notification",
    }
}

/// Sets a mark (`read_at` or `archived_at`) on the caller's notifications `only` (all
/// unread ones if `None`) where it is not set yet, in a transaction bound to the caller.
/// Returns how many notifications of theirs `only` named exist, and how many it marked.
async fn set_mark(
    pool: &PgPool,
    caller: &Caller,
    column: &'static str,
    only: Option<Uuid>,
) -> Result<(i64, u64), ApiError> {
    let mut tx = pool.begin().await?;
    let open: bool = sqlx::query_scalar(&format!("SELECT me.open FROM {}", me!()))
        .bind(caller.account_id)
        .bind(caller.session_id)
        .fetch_one(&mut *tx)
        .await?;
    if !open {
        return Err(session_revoked());
    }
    let row = sqlx::query(&format!(
        "WITH mine AS (SELECT id FROM inbox_notification \
           WHERE account_id = $1 AND ($2::uuid IS NULL OR id = $2)), \
         marked AS (UPDATE inbox_notification n SET {column} = now() \
           WHERE n.id IN (SELECT id FROM mine) AND n.{column} IS NULL RETURNING 1) \
         SELECT (SELECT count(*) FROM mine), (SELECT count(*) FROM marked)"
    ))
    .bind(caller.account_id)
    .bind(only)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let marked: i64 = row.try_get(1)?;
    Ok((row.try_get(0)?, u64::try_from(marked).unwrap_or_default()))
}

/// Marks one notification read (again: no change).
#[utoipa::path(post, path = "/me/notifications/{notification_id}/read", tag = "inbox",
    security(("bearer" = [])), params(NotificationPath),
    responses(
        (status = 204, description = "Read"),
        (status = 404, description = "`notification_not_found` (none of the caller's)", body = Problem, content_type = "application/problem+json")))]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(path): AppPath<NotificationPath>,
) -> Result<StatusCode, ApiError> {
    let (found, _) = set_mark(&state.pool, &caller, "read_at", Some(path.notification_id)).await?;
    if found == 0 {
        return Err(notification_not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Marked {
    /// How many notifications this call marked.
    pub marked: u64,
}

/// Marks every unread notification of the caller read.
#[utoipa::path(post, path = "/me/notifications/read-all", tag = "inbox", security(("bearer" = [])),
    responses((status = 200, description = "How many were marked", body = Marked)))]
pub async fn mark_all_read(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<AppJson<Marked>, ApiError> {
    let (_, marked) = set_mark(&state.pool, &caller, "read_at", None).await?;
    Ok(AppJson(Marked { marked }))
}

/// Archives one notification (it leaves the inbox; `?archived=true` lists it).
#[utoipa::path(post, path = "/me/notifications/{notification_id}/archive", tag = "inbox",
    security(("bearer" = [])), params(NotificationPath),
    responses(
        (status = 204, description = "Archived"),
        (status = 404, description = "`notification_not_found` (none of the caller's)", body = Problem, content_type = "application/problem+json")))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(path): AppPath<NotificationPath>,
) -> Result<StatusCode, ApiError> {
    let (found, _) = set_mark(
        &state.pool,
        &caller,
        "archived_at",
        Some(path.notification_id),
    )
    .await?;
    if found == 0 {
        return Err(notification_not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    /// Resume after this `seq` (as the `Last-Event-ID` header does; the header wins).
    /// Without either, the stream starts with what arrives from now on.
    pub after: Option<i64>,
}

/// Live streams one person may hold at once (per API instance).
const STREAMS_PER_ACCOUNT: usize = 8;
/// How often a stream looks for new notifications without being woken.
const STREAM_POLL: Duration = Duration::from_secs(15);
/// Notifications a stream reads per statement.
const STREAM_BATCH: i64 = 100;

/// A live stream of the caller's new notifications (Server-Sent Events).
///
/// Each event is `event: notification`, `id: <seq>`, `data: <Notification JSON>`.
/// Reconnect with `Last-Event-ID` (browsers' `EventSource` does it by itself) to get
/// what arrived meanwhile. The stream ends with `event: session_ended` when the session
/// does; comments keep it alive every 15 s.
#[utoipa::path(get, path = "/me/notifications/stream", tag = "inbox", security(("bearer" = [])),
    params(StreamParams,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this `seq`")),
    responses(
        (status = 200, description = "`text/event-stream` of `notification` events", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid_header`: `Last-Event-ID` is not a `seq`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_streams`: this account holds the most live streams allowed", body = Problem, content_type = "application/problem+json")))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppQuery(params): AppQuery<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = match headers.get("last-event-id") {
        None => params.after,
        Some(raw) => Some(
            raw.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .ok_or_else(|| ApiError::InvalidHeader {
                    header: "Last-Event-ID",
                    message: "expected the `seq` of a notification".to_owned(),
                })?,
        ),
    };
    let slot = state
        .open_streams
        .take(caller.account_id, STREAMS_PER_ACCOUNT)
        .ok_or_else(|| ApiError::TooManyRequests {
            code: "too_many_streams",
            message: format!("at most {STREAMS_PER_ACCOUNT} live streams per person"),
            retry_after_secs: 30,
        })?;
    // Subscribe before the first read, so nothing committed in between is missed.
    let wake = state.waiter.inbox_updates();
    let last = match resume {
        Some(seq) => seq,
        None => {
            let rows = sqlx::query(&format!(
                "SELECT me.open, (SELECT COALESCE(max(n.seq), 0) FROM inbox_notification n \
                   WHERE me.open AND n.account_id = me.account) FROM {me}",
                me = me!()
            ))
            .bind(caller.account_id)
            .bind(caller.session_id)
            .fetch_all(&state.pool)
            .await?;
            opened(&rows)?
                .first()
                .map(|r| r.try_get::<i64, _>(1))
                .transpose()?
                .unwrap_or(0)
        }
    };
    let live = Live {
        pool: state.pool.clone(),
        caller,
        last,
        wake,
        pending: VecDeque::new(),
        ended: false,
        shutdown: state.waiter.shutdown().clone(),
        _slot: Arc::new(slot),
    };
    Ok(Sse::new(futures::stream::unfold(live, Live::next)).keep_alive(KeepAlive::default()))
}

/// The state of one live stream.
struct Live {
    pool: PgPool,
    caller: Caller,
    /// The last `seq` sent.
    last: i64,
    wake: broadcast::Receiver<String>,
    pending: VecDeque<Event>,
    ended: bool,
    shutdown: infra::shutdown::CancellationToken,
    _slot: Arc<StreamSlot>,
}

impl Live {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.ended || self.shutdown.is_cancelled() {
                return None;
            }
            match self.read().await {
                Ok(true) => continue,
                Ok(false) => {}
                // A database hiccup: the client reconnects with its Last-Event-ID.
                Err(e) => {
                    tracing::warn!(error = %e, "inbox stream cannot read; ending it");
                    return None;
                }
            }
            let account = self.caller.account_id.to_string();
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                _ = tokio::time::sleep(STREAM_POLL) => {}
                _ = async {
                    loop {
                        match self.wake.recv().await {
                            Ok(who) if who == account || who == EVERY_INBOX => return,
                            Ok(_) => continue,
                            Err(broadcast::error::RecvError::Lagged(_)) => return,
                            Err(broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                } => {}
            }
        }
    }

    /// Reads what is new into `pending` (true if anything was); a closed session queues
    /// `session_ended` and ends the stream.
    async fn read(&mut self) -> Result<bool, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT me.open, {COLUMNS} FROM {me} LEFT JOIN LATERAL ( \
               SELECT * FROM inbox_notification n WHERE me.open AND n.account_id = me.account \
                 AND n.seq > $3 ORDER BY n.seq LIMIT $4) n ON true",
            me = me!()
        ))
        .bind(self.caller.account_id)
        .bind(self.caller.session_id)
        .bind(self.last)
        .bind(STREAM_BATCH)
        .fetch_all(&self.pool)
        .await?;
        let open = rows
            .first()
            .map(|r| r.try_get::<bool, _>(0))
            .transpose()?
            .unwrap_or(false);
        if !open {
            self.pending.push_back(
                Event::default()
                    .event("session_ended")
                    .data("sign in again"),
            );
            self.ended = true;
            return Ok(true);
        }
        let mut any = false;
        for row in &rows {
            if row.try_get::<Option<Uuid>, _>(1)?.is_none() {
                continue;
            }
            let n = notification(row, 1)?;
            self.last = self.last.max(n.seq);
            let event = Event::default()
                .event("notification")
                .id(n.seq.to_string())
                .json_data(&n)
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            self.pending.push_back(event);
            any = true;
        }
        Ok(any)
    }
}
