//! Studios: the tenant and its locations.
//!
//! Commands answer `{id, version}` (and an `ETag`); reads come from `studio_view` only
//! and accept `min_version` to read their own writes.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::studio::view::StudioView;
use domain::studio::{LocationId, StudioCommand, StudioId, StudioSettings};
use domain::values::{Currency, DisplayName, TimeZone};
use serde::Deserialize;
use sqlx::types::Json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{AuthUser, Caller};
use crate::command::CommandTx;
use crate::context::RequestContext;
use crate::error::{ApiError, Problem, Validator};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{accepted, Accepted, Page, PageParams, ReadParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::tenant_tx;
use domain::account::AccountId;
use domain::policy::Action;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_studio, list_studios))
        .routes(routes!(get_studio))
        .routes(routes!(rename_studio))
        .routes(routes!(update_settings))
        .routes(routes!(add_location))
        .routes(routes!(rename_location))
}

/// Create a studio.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStudio {
    /// Client-chosen id (makes retries safe); minted when absent.
    pub id: Option<Uuid>,
    /// 1..=100 characters.
    #[schema(example = "Harbor Pilates")]
    pub name: String,
    /// IANA time zone.
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    /// ISO 4217 code.
    #[schema(example = "EUR")]
    pub currency: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameStudio {
    pub name: String,
    /// Apply only if the studio is at this version (alternative to `If-Match`).
    pub expected_version: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    pub settings: StudioSettings,
    pub expected_version: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLocation {
    /// Client-chosen id (makes retries safe); minted when absent.
    pub id: Option<Uuid>,
    pub name: String,
    /// Postal address, up to 300 characters.
    pub address: Option<String>,
    /// IANA time zone when it differs from the studio's.
    pub timezone: Option<String>,
    pub expected_version: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameLocation {
    pub name: String,
    pub expected_version: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationPath {
    pub studio_id: Uuid,
    pub location_id: Uuid,
}

fn parse_address(raw: Option<String>) -> Result<Option<String>, domain::values::InvalidValue> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.chars().count() > 300 || trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err(domain::values::InvalidValue {
            code: "invalid_address",
            message: "must be at most 300 characters without control characters".to_owned(),
        });
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// Runs one studio command in its own command transaction and answers [`Accepted`].
#[allow(clippy::too_many_arguments)]
async fn studio_command(
    state: &AppState,
    user: &Caller,
    ctx: &RequestContext,
    studio_id: Uuid,
    action: Option<Action>,
    command: StudioCommand,
    expected_version: Option<u64>,
    (status, location_id): (StatusCode, Option<Uuid>),
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(state, user, ctx, studio_id).await?;
    if let Some(action) = action {
        cmd.require(action)?;
    }
    let executed = cmd
        .run_expecting(
            &state.bus::<domain::studio::Studio>(),
            studio_id,
            command,
            expected_version,
        )
        .await?;
    let reply = accepted(
        status,
        Accepted {
            id: studio_id,
            version: executed.outcome.version,
            location_id,
        },
    )?;
    cmd.commit(reply).await
}

/// Create a studio (a new tenant).
#[utoipa::path(post, path = "/studios", tag = "studios", request_body = CreateStudio, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Accepted),
        (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`studio_already_exists` (a studio with this `id` exists, with other details)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json")))]
pub async fn create_studio(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppJson(body): AppJson<CreateStudio>,
) -> Result<Response, ApiError> {
    let mut v = Validator::new();
    let name = v.check("name", DisplayName::parse(&body.name));
    let timezone = v.check("timezone", TimeZone::parse(&body.timezone));
    let currency = v.check("currency", Currency::parse(&body.currency));
    let (name, timezone, currency) = v.finish(|| Some((name?, timezone?, currency?)))?;
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let command = StudioCommand::CreateStudio {
        studio_id: StudioId(id),
        name,
        timezone,
        currency,
        owner: AccountId(user.account_id),
    };
    studio_command(
        &state,
        &user,
        &ctx,
        id,
        None,
        command,
        None,
        (StatusCode::CREATED, None),
    )
    .await
}

/// List the studios you are a member of, ordered by id.
#[utoipa::path(get, path = "/studios", tag = "studios", params(PageParams), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = Page<StudioView>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json")))]
pub async fn list_studios(
    State(state): State<AppState>,
    user: AuthUser,
    page: PageParams,
) -> Result<AppJson<Page<StudioView>>, ApiError> {
    let mut tx = tenant_tx(&state.pool, None, Some(user.account_id)).await?;
    let rows: Vec<Json<StudioView>> = sqlx::query_scalar(
        "SELECT v.doc FROM studio_view v JOIN studio_membership m ON m.tenant_id = v.tenant_id \
         WHERE m.account_id = $3 AND ($1::uuid IS NULL OR v.id > $1) ORDER BY v.id LIMIT $2",
    )
    .bind(page.after)
    .bind(page.fetch())
    .bind(user.account_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let page = Page::from_rows(rows, page.limit, |s| s.0.id.0)
        .map_items(|rows| rows.into_iter().map(|j| j.0).collect());
    Ok(AppJson(page))
}

/// Get a studio with its locations and settings.
#[utoipa::path(get, path = "/studios/{studio_id}", tag = "studios", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ReadParams),
    responses(
        (status = 200, description = "The studio", body = StudioView, headers(("ETag" = String, description = "The view's version"))),
        (status = 400, description = "Bad id or query", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`view_not_caught_up`: `min_version` not reached in time", body = Problem, content_type = "application/problem+json")))]
pub async fn get_studio(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<Response, ApiError> {
    let id = path.studio_id;
    let (_, view) = state
        .waiter
        .read_member_view::<StudioView>(
            &state.pool,
            &user,
            id,
            id,
            state.config.read_wait_max,
            params.min_version,
            |member| member.require(Action::ViewStudio),
        )
        .await?;
    let view = view.ok_or(ApiError::NotFound {
        code: "studio_not_found",
        what: "studio",
    })?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.version))
        .unwrap_or(HeaderValue::from_static("\"0\""));
    Ok(([(header::ETAG, etag)], AppJson(view)).into_response())
}

/// Rename a studio.
#[utoipa::path(post, path = "/studios/{studio_id}/rename", tag = "studios", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = RenameStudio,
    responses(
        (status = 200, description = "Renamed (or already so named)", body = Accepted),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_conflict`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json")))]
pub async fn rename_studio(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<RenameStudio>,
) -> Result<Response, ApiError> {
    let name = DisplayName::parse(&body.name).map_err(|e| ApiError::invalid_field("name", e))?;
    studio_command(
        &state,
        &user,
        &ctx,
        path.studio_id,
        Some(Action::ManageStudio),
        StudioCommand::RenameStudio { name },
        body.expected_version,
        (StatusCode::OK, None),
    )
    .await
}

/// Replace a studio's settings.
#[utoipa::path(put, path = "/studios/{studio_id}/settings", tag = "studios", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = UpdateSettings,
    responses(
        (status = 200, description = "Updated (or unchanged)", body = Accepted),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_conflict`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json")))]
pub async fn update_settings(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<UpdateSettings>,
) -> Result<Response, ApiError> {
    let mut settings = body.settings;
    settings.contact_email = settings
        .contact_email
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    settings.contact_phone = settings
        .contact_phone
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    studio_command(
        &state,
        &user,
        &ctx,
        path.studio_id,
        Some(Action::ManageStudio),
        StudioCommand::UpdateSettings { settings },
        body.expected_version,
        (StatusCode::OK, None),
    )
    .await
}

/// Add a location to a studio.
#[utoipa::path(post, path = "/studios/{studio_id}/locations", tag = "studios", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = AddLocation,
    responses(
        (status = 201, description = "Added (or already added with this id)", body = Accepted),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_conflict`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `location_name_taken`, `too_many_locations`", body = Problem, content_type = "application/problem+json")))]
pub async fn add_location(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<AddLocation>,
) -> Result<Response, ApiError> {
    let mut v = Validator::new();
    let name = v.check("name", DisplayName::parse(&body.name));
    let address = v.check("address", parse_address(body.address));
    let timezone = v.check(
        "timezone",
        body.timezone.as_deref().map(TimeZone::parse).transpose(),
    );
    let (name, address, timezone) = v.finish(|| Some((name?, address?, timezone?)))?;
    let location_id = body.id.unwrap_or_else(Uuid::now_v7);
    let command = StudioCommand::AddLocation {
        location_id: LocationId(location_id),
        name,
        address,
        timezone,
    };
    studio_command(
        &state,
        &user,
        &ctx,
        path.studio_id,
        Some(Action::ManageStudio),
        command,
        body.expected_version,
        (StatusCode::CREATED, Some(location_id)),
    )
    .await
}

/// Rename a location.
#[utoipa::path(post, path = "/studios/{studio_id}/locations/{location_id}/rename", tag = "studios", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"),
           ("location_id" = Uuid, Path, description = "Location id")),
    request_body = RenameLocation,
    responses(
        (status = 200, description = "Renamed (or already so named)", body = Accepted),
        (status = 404, description = "`studio_not_found`, `location_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_conflict`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `location_name_taken`", body = Problem, content_type = "application/problem+json")))]
pub async fn rename_location(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<LocationPath>,
    AppJson(body): AppJson<RenameLocation>,
) -> Result<Response, ApiError> {
    let name = DisplayName::parse(&body.name).map_err(|e| ApiError::invalid_field("name", e))?;
    let command = StudioCommand::RenameLocation {
        location_id: LocationId(path.location_id),
        name,
    };
    studio_command(
        &state,
        &user,
        &ctx,
        path.studio_id,
        Some(Action::ManageStudio),
        command,
        body.expected_version,
        (StatusCode::OK, Some(path.location_id)),
    )
    .await
}
