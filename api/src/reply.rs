//! What a command answers, in a form that can be stored and replayed
//! (`Idempotency-Key`): the status, the JSON body, the `ETag` and `Location`. Depends on
//! nothing else in the crate, so errors, commands and routes can all name it.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A response a command answers, in a form that can be stored and replayed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    /// The resource's version after the command (`ETag`).
    #[serde(default)]
    pub etag: Option<u64>,
    #[serde(default)]
    pub location: Option<String>,
}

impl Reply {
    pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<Self, serde_json::Error> {
        Ok(Self {
            status: status.as_u16(),
            body: serde_json::to_value(body)?,
            etag: None,
            location: None,
        })
    }

    pub fn with_etag(mut self, version: u64) -> Self {
        self.etag = Some(version);
        self
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut headers = HeaderMap::new();
        if let Some(etag) = self
            .etag
            .and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok())
        {
            headers.insert(header::ETAG, etag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        (status, headers, axum::Json(self.body)).into_response()
    }
}

/// A command was accepted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// The id of the aggregate the command addressed.
    pub id: Uuid,
    /// Its version after the command; pass it as `min_version` to read it.
    pub version: u64,
    /// The location the command created or changed, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<Uuid>,
}

/// The reply to a command that answers [`Accepted`]: its version is the `ETag`; a
/// created studio gets a `Location`.
pub fn accepted(status: StatusCode, body: Accepted) -> Result<Reply, serde_json::Error> {
    let location = (status == StatusCode::CREATED && body.location_id.is_none())
        .then(|| format!("/api/v1/studios/{}", body.id));
    let version = body.version;
    let reply = Reply::json(status, &body)?.with_etag(version);
    Ok(match location {
        Some(l) => reply.with_location(l),
        None => reply,
    })
}
