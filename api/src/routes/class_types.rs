//! Class types: the studio's catalogue (name, duration, default capacity, booking window
//! and cancellation policy). Classes and series scheduled with a `class_type_id` take
//! their defaults from it; the strike limit and block length are studio settings, since
//! strikes count across every class a client books.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::class_type::view::ClassTypeView;
use domain::class_type::{ClassTypeCommand, ClassTypeDetails, ClassTypeId};
use domain::policy::Action;
use domain::scheduling::BookingPolicy;
use domain::studio::StudioId;
use serde::Deserialize;
use sqlx::types::Json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::scheduling;
use crate::auth::Caller;
use crate::command::CommandTx;
use crate::context::RequestContext;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{Accepted, Page, PageParams, ReadParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::Membership;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(define_class_type, list_class_types))
        .routes(routes!(
            get_class_type,
            update_class_type,
            archive_class_type
        ))
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "class_type_not_found",
        what: "class type",
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassTypePath {
    pub studio_id: Uuid,
    pub class_type_id: Uuid,
}

/// A class type as clients send it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassTypeBody {
    /// Client-chosen id on create (makes retries safe); minted when absent. Not allowed
    /// on update.
    pub id: Option<Uuid>,
    /// 1..=100 characters.
    #[schema(example = "Reformer Flow", min_length = 1, max_length = 100)]
    pub name: String,
    /// Up to 2000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// 5..=1440.
    #[schema(example = 50, minimum = 5, maximum = 1440)]
    pub duration_minutes: u32,
    /// 1..=500; defaults to the studio's `default_class_capacity`.
    #[schema(minimum = 1, maximum = 500)]
    pub default_capacity: Option<u32>,
    /// Defaults from the studio's settings (booking window, cancellation cutoff).
    pub policy: Option<BookingPolicy>,
}

impl ClassTypeBody {
    /// The details, with defaults from the studio's settings (read with the membership).
    fn details(self, cmd: &CommandTx) -> Result<ClassTypeDetails, ApiError> {
        let name = domain::values::DisplayName::parse(&self.name)
            .map_err(|e| ApiError::invalid_field("name", e))?;
        let settings = &cmd.profile()?.settings;
        Ok(ClassTypeDetails {
            name: name.to_string(),
            description: self
                .description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            duration_minutes: self.duration_minutes,
            default_capacity: self
                .default_capacity
                .unwrap_or(settings.default_class_capacity),
            policy: self
                .policy
                .unwrap_or_else(|| BookingPolicy::from_settings(settings)),
        })
    }
}

/// Define a class type.
#[utoipa::path(post, path = "/studios/{studio_id}/class-types", tag = "class types", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = ClassTypeBody,
    responses(
        (status = 201, description = "Defined; `id` is the class type id", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `class_type_already_exists`", body = Problem, content_type = "application/problem+json")))]
pub async fn define_class_type(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<ClassTypeBody>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let details = body.details(&cmd)?;
    let command = ClassTypeCommand::Define {
        id: ClassTypeId(id),
        studio_id: StudioId(path.studio_id),
        details,
    };
    let version = cmd
        .run(&state.bus::<domain::class_type::ClassType>(), id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::CREATED, id, version).await
}

/// Replace a class type's details. Classes already scheduled keep the rules they were
/// scheduled with.
#[utoipa::path(put, path = "/studios/{studio_id}/class-types/{class_type_id}", tag = "class types", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_type_id" = Uuid, Path, description = "Class type id")),
    request_body = ClassTypeBody,
    responses(
        (status = 200, description = "Updated", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_type_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `class_type_archived`", body = Problem, content_type = "application/problem+json")))]
pub async fn update_class_type(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassTypePath>,
    AppJson(body): AppJson<ClassTypeBody>,
) -> Result<Response, ApiError> {
    if body.id.is_some_and(|id| id != path.class_type_id) {
        return Err(ApiError::invalid_field(
            "id",
            "must match the path, or be left out",
        ));
    }
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    scheduling::class_type_in_studio(&state, &mut cmd, path.class_type_id).await?;
    let details = body.details(&cmd)?;
    let version = cmd
        .run(
            &state.bus::<domain::class_type::ClassType>(),
            path.class_type_id,
            ClassTypeCommand::Update { details },
        )
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_type_id, version)
        .await
}

/// Archive a class type: no new classes from it; existing classes are untouched.
#[utoipa::path(delete, path = "/studios/{studio_id}/class-types/{class_type_id}", tag = "class types", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_type_id" = Uuid, Path, description = "Class type id")),
    responses(
        (status = 200, description = "Archived", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`class_type_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn archive_class_type(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClassTypePath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageSchedule)?;
    scheduling::class_type_in_studio(&state, &mut cmd, path.class_type_id).await?;
    let version = cmd
        .run(
            &state.bus::<domain::class_type::ClassType>(),
            path.class_type_id,
            ClassTypeCommand::Archive,
        )
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, path.class_type_id, version)
        .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClassTypeFilter {
    /// Include archived types (default false).
    #[serde(default)]
    pub include_archived: bool,
}

/// The studio's class types.
#[utoipa::path(get, path = "/studios/{studio_id}/class-types", tag = "class types", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), PageParams<Uuid, ClassTypeFilter>),
    responses(
        (status = 200, description = "Class types", body = Page<ClassTypeView>),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn list_class_types(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    page: PageParams<Uuid, ClassTypeFilter>,
) -> Result<AppJson<Page<ClassTypeView>>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    member.require(Action::ViewSchedule)?;
    let mut tx = member.tx(&state.pool).await?;
    let docs: Vec<Json<ClassTypeView>> = sqlx::query_scalar(
        "SELECT doc FROM class_type_view WHERE tenant_id = $1 AND ($2 OR NOT archived) \
         AND ($3::uuid IS NULL OR (lower(name), id) > \
           (SELECT lower(a.name), a.id FROM class_type_view a WHERE a.tenant_id = $1 AND a.id = $3)) \
         ORDER BY lower(name), id LIMIT $4",
    )
    .bind(path.studio_id)
    .bind(page.filter.include_archived)
    .bind(page.after)
    .bind(page.fetch())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let page = Page::from_rows(docs, page.limit, |d| d.0.id.0)
        .map_items(|docs| docs.into_iter().map(|d| d.0).collect());
    Ok(AppJson(page))
}

/// One class type (`min_version` waits for a write to show).
#[utoipa::path(get, path = "/studios/{studio_id}/class-types/{class_type_id}", tag = "class types", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("class_type_id" = Uuid, Path, description = "Class type id"), ReadParams),
    responses(
        (status = 200, description = "The class type", body = ClassTypeView),
        (status = 404, description = "`class_type_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`view_not_caught_up`", body = Problem, content_type = "application/problem+json")))]
pub async fn get_class_type(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClassTypePath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<AppJson<ClassTypeView>, ApiError> {
    let (_, view) = state
        .waiter
        .read_member_view::<ClassTypeView>(
            &state.pool,
            &user,
            path.studio_id,
            path.class_type_id,
            state.config.read_wait_max,
            params.min_version,
            |member| member.require(Action::ViewSchedule),
        )
        .await?;
    view.map(AppJson).ok_or_else(not_found)
}
