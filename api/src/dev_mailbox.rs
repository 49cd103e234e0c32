//! `/dev/mailbox`: the local mailbox (`MAILBOX_DIR`, written by the notification worker's
//! default transport) over HTTP, so a developer clicks a verification or reminder mail
//! from a browser. Mounted only when `DEV_MAILBOX_DIR` is set (`make run` sets it; it
//! is unauthenticated) and never part of the OpenAPI document: production mail goes out
//! by SMTP and no mailbox exists.
//!
//! - `GET /dev/mailbox?to=<address>`: the messages, newest first (decoded headers and
//!   bodies);
//! - `GET /dev/mailbox/{id}`: one message as `message/rfc822` (open it in a mail client).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use infra::mailbox::{Mailbox, StoredMail};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;

const NOT_FOUND: ApiError = ApiError::NotFound {
    code: "message_not_found",
    what: "message",
};

#[derive(Debug, Deserialize)]
struct Filter {
    to: Option<String>,
}

/// Most messages one listing returns.
const MAX_LISTED: usize = 200;

pub fn router<S: Clone + Send + Sync + 'static>(mailbox: Mailbox) -> Router<S> {
    Router::new()
        .route("/dev/mailbox", get(list))
        .route("/dev/mailbox/{id}", get(one))
        .with_state(mailbox)
}

async fn list(
    State(mailbox): State<Mailbox>,
    Query(filter): Query<Filter>,
) -> Result<Json<Vec<StoredMail>>, ApiError> {
    let mails = tokio::task::spawn_blocking(move || match &filter.to {
        Some(to) => mailbox.to(to),
        None => mailbox.list(),
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading the mailbox: {e}")))?
    .map_err(ApiError::Internal)?;
    Ok(Json(mails.into_iter().rev().take(MAX_LISTED).collect()))
}

async fn one(State(mailbox): State<Mailbox>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| NOT_FOUND)?;
    let raw = tokio::task::spawn_blocking(move || mailbox.raw(id))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading the mailbox: {e}")))?
        .map_err(ApiError::Internal)?
        .ok_or(NOT_FOUND)?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], raw).into_response())
}
