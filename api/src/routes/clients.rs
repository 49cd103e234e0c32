//! Client records. Health and medical fields are returned only to the client
//! themselves, trainers assigned to them, and the studio's owners/admins; everyone else
//! gets the record without them (`health_visible: false`), not an error.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::account::AccountId;
use domain::client::view::ClientView;
use domain::client::{
    ClientCommand, ClientId, ClientProfile, RecommendationReview, ReviewDecision,
};
use domain::health::HealthSubmission;
use domain::policy::{Action, Relation, Role};
use domain::studio::StudioId;
use domain::values::{DisplayName, Email};
use serde::Deserialize;
use sqlx::types::Json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::application::directory;
use crate::auth::Caller;
use crate::command::{CommandTx, Reply};
use crate::context::RequestContext;
use crate::error::{ApiError, Problem, Validator};
use crate::extract::{AppJson, AppPath, AppQuery};
use crate::routes::{Accepted, Page, PageParams, ReadParams, StudioPath};
use crate::state::AppState;
use crate::tenancy::{ClientRelation, Membership};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_client, list_clients))
        .routes(routes!(get_client))
        .routes(routes!(record_health))
        .routes(routes!(withdraw_health_consent))
        .routes(routes!(list_recommendations))
        .routes(routes!(review_recommendation))
        .routes(routes!(ask_question, list_questions))
        .routes(routes!(update_profile))
        .routes(routes!(archive_client))
        .routes(routes!(unarchive_client))
        .routes(routes!(assign_trainer))
        .routes(routes!(unassign_trainer))
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "client_not_found",
        what: "client",
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub id: Option<Uuid>,
    pub full_name: String,
    pub email: Option<String>,
    /// The client's own account (a member of this studio), so they can see their record.
    pub account_id: Option<Uuid>,
}

/// Create a client record.
#[utoipa::path(post, path = "/studios/{studio_id}/clients", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id")),
    request_body = CreateClient,
    responses(
        (status = 201, description = "Created; `id` is the client id", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `not_a_member`, `client_already_exists`", body = Problem, content_type = "application/problem+json")))]
pub async fn create_client(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<StudioPath>,
    AppJson(body): AppJson<CreateClient>,
) -> Result<Response, ApiError> {
    let mut v = Validator::new();
    let full_name = v.check("full_name", DisplayName::parse(&body.full_name));
    let email = v.check("email", body.email.as_deref().map(Email::parse).transpose());
    let (full_name, email) = v.finish(|| Some((full_name?, email?)))?;
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageClients)?;
    if let Some(account) = body.account_id {
        if cmd.role_of(account).await?.is_none() {
            return Err(ApiError::Rule {
                code: "not_a_member",
                message: "account_id must belong to a member of this studio".to_owned(),
            });
        }
    }
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let command = ClientCommand::Register {
        client_id: ClientId(id),
        studio_id: StudioId(path.studio_id),
        full_name,
        email,
        account_id: body.account_id.map(AccountId),
    };
    let version = cmd
        .run(&state.bus::<domain::client::Client>(), id, command)
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::CREATED, id, version).await
}

/// Runs `command` on client record `client` (against `expected_version`, when given)
/// and answers `200` with the record's new version: the tail of every client command.
async fn client_command(
    state: &AppState,
    mut cmd: CommandTx,
    client: Uuid,
    command: ClientCommand,
    expected_version: Option<u64>,
) -> Result<Response, ApiError> {
    let version = cmd
        .run_expecting(
            &state.bus::<domain::client::Client>(),
            client,
            command,
            expected_version,
        )
        .await?
        .outcome
        .version;
    cmd.commit_accepted(StatusCode::OK, client, version).await
}

fn relation(member: &Membership, record: &ClientRelation) -> Relation {
    Relation {
        own_record: record.account_id == Some(member.account_id),
        // Only counts where the policy says so (a trainer's "assigned clients" cells).
        assigned_trainer: record.trainers.contains(&member.account_id),
    }
}

/// What `member` may see of `view`, given the record's relation as committed (never the
/// view's, which may lag: see [`Membership::read_client`]); `None` when they may not see
/// the record at all.
fn visible(member: &Membership, view: ClientView, record: &ClientRelation) -> Option<ClientView> {
    let rel = relation(member, record);
    if !member.may(Action::ViewClient, rel) {
        return None;
    }
    if member.may(Action::ViewClientHealth, rel) {
        Some(ClientView {
            health_visible: true,
            ..view
        })
    } else {
        Some(view.without_health())
    }
}

/// List client records (a client sees only their own).
#[utoipa::path(get, path = "/studios/{studio_id}/clients", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), PageParams),
    responses(
        (status = 200, description = "One page", body = Page<ClientView>),
        (status = 404, description = "`studio_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn list_clients(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<StudioPath>,
    page: PageParams,
) -> Result<AppJson<Page<ClientView>>, ApiError> {
    let member = Membership::load(&state.pool, &user, path.studio_id).await?;
    // A role that may not read client records in general reads its own only.
    let own_only = !member.may(Action::ViewClient, Relation::default());
    let mut tx = member.tx(&state.pool).await?;
    // Each record's relation as committed with its events, not as its view has it.
    type Row = (Json<ClientView>, Option<Uuid>, Option<Vec<Uuid>>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT v.doc, r.account_id, r.trainers FROM client_view v \
         LEFT JOIN client_record r ON r.tenant_id = v.tenant_id AND r.client_id = v.id \
         WHERE v.tenant_id = $1 AND ($2::uuid IS NULL OR v.id > $2) \
         AND (NOT $4 OR r.account_id = $5) ORDER BY v.id LIMIT $3",
    )
    .bind(path.studio_id)
    .bind(page.after)
    .bind(page.fetch())
    .bind(own_only)
    .bind(user.account_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let page = Page::from_rows(rows, page.limit, |(d, _, _)| d.0.id.0).map_items(|rows| {
        rows.into_iter()
            .filter_map(|(d, account_id, trainers)| {
                let record = ClientRelation {
                    account_id,
                    trainers: trainers.unwrap_or_default(),
                };
                visible(&member, d.0, &record)
            })
            .collect()
    });
    Ok(AppJson(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientPath {
    pub studio_id: Uuid,
    pub client_id: Uuid,
}

/// Get a client record.
#[utoipa::path(get, path = "/studios/{studio_id}/clients/{client_id}", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id"), ReadParams),
    responses(
        (status = 200, description = "The record; health fields only where allowed", body = ClientView),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`view_not_caught_up`", body = Problem, content_type = "application/problem+json")))]
pub async fn get_client(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClientPath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<AppJson<ClientView>, ApiError> {
    // Visibility is decided per record (own record, assigned trainer, role).
    client_view(&state, &user, &path, &params)
        .await
        .map(|(_, view)| AppJson(view))
}

/// A client record as `user` may see it (`404` if they may not see it at all), and who
/// they are in the studio. Visibility comes from the record's committed relation.
async fn client_view(
    state: &AppState,
    user: &Caller,
    path: &ClientPath,
    params: &ReadParams,
) -> Result<(Membership, ClientView), ApiError> {
    let (member, first, record) =
        Membership::read_client(&state.pool, user, path.studio_id, path.client_id).await?;
    let view = state
        .waiter
        .catch_up(
            &member,
            &state.pool,
            path.client_id,
            state.config.read_wait_max,
            params.min_version,
            first,
        )
        .await?;
    let view = view
        .zip(record)
        .and_then(|(v, record)| visible(&member, v, &record))
        .ok_or_else(not_found)?;
    Ok((member, view))
}

/// The client's record for a reader of its health data: `404` for those who may not see
/// the record, `403` for those who may see it but not its health data.
async fn health_view(
    state: &AppState,
    user: &Caller,
    path: &ClientPath,
    params: &ReadParams,
) -> Result<ClientView, ApiError> {
    let (_, view) = client_view(state, user, path, params).await?;
    if !view.health_visible {
        return Err(ApiError::Forbidden);
    }
    Ok(view)
}

/// A recommendation with its review, if it had one.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct RecommendationItem {
    #[serde(flatten)]
    pub record: domain::client::RecommendationRecord,
    /// The latest review (absent: not reviewed yet).
    pub review: Option<RecommendationReview>,
}

/// A client's recommendations, newest first.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Recommendations {
    /// One per intake version that has one (the latest first).
    pub items: Vec<RecommendationItem>,
    /// The intake version the client is at (its recommendation may still be on its way).
    pub intake_version: u32,
    /// Intake versions no recommendation could be made for, and why.
    pub failures: Vec<domain::client::view::RecommendationFailure>,
}

/// A client's training recommendations (from their health intakes), newest first:
/// health data, so only for those who may see the client's health fields.
#[utoipa::path(get, path = "/studios/{studio_id}/clients/{client_id}/recommendations", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id"), ReadParams),
    responses(
        (status = 200, description = "The recommendations", body = Recommendations),
        (status = 403, description = "`forbidden` (may not see this client's health data)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`view_not_caught_up`", body = Problem, content_type = "application/problem+json")))]
pub async fn list_recommendations(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClientPath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<AppJson<Recommendations>, ApiError> {
    let view = health_view(&state, &user, &path, &params).await?;
    let reviews = view.reviews;
    let items = view
        .recommendations
        .into_iter()
        .rev()
        .map(|record| RecommendationItem {
            review: reviews
                .iter()
                .find(|(v, _)| *v == record.intake_version)
                .map(|(_, r)| r.clone()),
            record,
        })
        .collect();
    Ok(AppJson(Recommendations {
        items,
        intake_version: view.intake_version,
        failures: view.recommendation_failures,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationPath {
    pub studio_id: Uuid,
    pub client_id: Uuid,
    pub intake_version: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRecommendation {
    pub decision: ReviewDecision,
    /// Why (required for `rejected`; up to 2000 characters).
    pub note: Option<String>,
    /// The edited recommendation (`edited` only), checked like a provider's answer.
    pub recommendation: Option<domain::health::Recommendation>,
}

/// Accept, edit or reject the latest recommendation (trainers assigned to the client,
/// owners and admins). The same review again is a retry; a later one replaces it.
#[utoipa::path(post, path = "/studios/{studio_id}/clients/{client_id}/recommendations/{intake_version}/review", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id"),
        ("intake_version" = u32, Path, description = "The intake version the recommendation is for")),
    request_body = ReviewRecommendation,
    responses(
        (status = 200, description = "Reviewed", body = Accepted),
        (status = 403, description = "`forbidden` (only trainers, owners and admins review)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`, `recommendation_not_found` (none for that version, or not the latest)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (naming the field)", body = Problem, content_type = "application/problem+json")))]
pub async fn review_recommendation(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<RecommendationPath>,
    AppJson(body): AppJson<ReviewRecommendation>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?.clone();
    authorize_health(&mut cmd, &member, path.client_id).await?;
    // The client may see their recommendation, not review it: trainers act on it.
    if !domain::policy::may_teach(member.role) {
        return Err(ApiError::Forbidden);
    }
    let review = RecommendationReview {
        decision: body.decision,
        by: AccountId(member.account_id),
        note: body.note,
        recommendation: body.recommendation,
        at: chrono::Utc::now(),
    };
    let command = ClientCommand::ReviewRecommendation {
        intake_version: path.intake_version,
        review: Box::new(review),
    };
    client_command(&state, cmd, path.client_id, command, None).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    /// The whole profile (fields left out are cleared).
    pub profile: ClientProfile,
    pub expected_version: Option<u64>,
}

/// Set a client's contact and coaching details: phone, date of birth, emergency
/// contact, goals, tags, notes (staff who manage clients, or the client themselves).
#[utoipa::path(put, path = "/studios/{studio_id}/clients/{client_id}/profile", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id")),
    request_body = UpdateProfile,
    responses(
        (status = 200, description = "Updated", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_conflict` (`expected_version`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (naming the field)", body = Problem, content_type = "application/problem+json")))]
pub async fn update_profile(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClientPath>,
    AppJson(body): AppJson<UpdateProfile>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?.clone();
    if !member.may(Action::ManageClients, Relation::default()) {
        let (owner, _) = directory::client_record(&mut cmd, path.client_id)
            .await?
            .ok_or_else(not_found)?;
        if owner != Some(member.account_id) {
            return Err(not_found());
        }
    }
    let command = ClientCommand::UpdateProfile {
        profile: Box::new(body.profile),
        today: chrono::Utc::now().date_naive(),
    };
    client_command(&state, cmd, path.client_id, command, body.expected_version).await
}

/// Archive a client record: no new bookings or appointments; its history and data stay
/// (`POST …/unarchive` brings it back).
#[utoipa::path(post, path = "/studios/{studio_id}/clients/{client_id}/archive", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "Archived (or already)", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn archive_client(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClientPath>,
) -> Result<Response, ApiError> {
    set_archived(state, user, ctx, path, true).await
}

/// Bring an archived client record back.
#[utoipa::path(post, path = "/studios/{studio_id}/clients/{client_id}/unarchive", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "Active (or already)", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn unarchive_client(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClientPath>,
) -> Result<Response, ApiError> {
    set_archived(state, user, ctx, path, false).await
}

async fn set_archived(
    state: AppState,
    user: Caller,
    ctx: RequestContext,
    path: ClientPath,
    archived: bool,
) -> Result<Response, ApiError> {
    let cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::ManageClients)?;
    let command = if archived {
        ClientCommand::Archive {
            at: chrono::Utc::now(),
        }
    } else {
        ClientCommand::Unarchive
    };
    client_command(&state, cmd, path.client_id, command, None).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskQuestion {
    /// Your id for the question (a retry with the same id and text asks once).
    pub id: Option<Uuid>,
    /// 1..=500 characters, e.g. "Can she do box jumps?".
    pub question: String,
}

#[derive(Debug, serde::Serialize, Deserialize, ToSchema)]
pub struct AskedQuestion {
    /// The question's id: its answer appears at `GET …/questions`.
    pub id: Uuid,
    /// The client record's version with the question.
    pub version: u64,
}

/// Ask about a client's training (trainers assigned to them, owners and admins): answered
/// asynchronously from the latest intake and recommendation, with the answer's sources.
#[utoipa::path(post, path = "/studios/{studio_id}/clients/{client_id}/questions", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id")),
    request_body = AskQuestion,
    responses(
        (status = 202, description = "Asked; the answer follows", body = AskedQuestion),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `no_health_intake`, `question_id_taken`", body = Problem, content_type = "application/problem+json")))]
pub async fn ask_question(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClientPath>,
    AppJson(body): AppJson<AskQuestion>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?.clone();
    authorize_health(&mut cmd, &member, path.client_id).await?;
    if !domain::policy::may_teach(member.role) {
        return Err(ApiError::Forbidden);
    }
    let id = body.id.unwrap_or_else(Uuid::now_v7);
    let command = ClientCommand::AskQuestion {
        question_id: id,
        question: body.question,
        by: AccountId(member.account_id),
        at: chrono::Utc::now(),
    };
    let version = cmd
        .run(
            &state.bus::<domain::client::Client>(),
            path.client_id,
            command,
        )
        .await?
        .outcome
        .version;
    let asked = AskedQuestion { id, version };
    cmd.commit(Reply::json(StatusCode::ACCEPTED, &asked)?.with_etag(version))
        .await
}

/// Questions about a client, newest first, with their answers once given (health data:
/// only for those who may see the client's health fields).
#[utoipa::path(get, path = "/studios/{studio_id}/clients/{client_id}/questions", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id"), ReadParams),
    responses(
        (status = 200, description = "The questions", body = Vec<domain::client::view::QuestionView>),
        (status = 403, description = "`forbidden` (may not see this client's health data)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`view_not_caught_up`", body = Problem, content_type = "application/problem+json")))]
pub async fn list_questions(
    State(state): State<AppState>,
    user: Caller,
    AppPath(path): AppPath<ClientPath>,
    AppQuery(params): AppQuery<ReadParams>,
) -> Result<AppJson<Vec<domain::client::view::QuestionView>>, ApiError> {
    let view = health_view(&state, &user, &path, &params).await?;
    let mut questions = view.questions;
    questions.reverse();
    Ok(AppJson(questions))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordHealth {
    /// The intake form. `consent.text_version` must be the studio's current consent
    /// text (`settings.health_consent`, version 1 while it set none);
    /// `consent.given_at` is recorded as the server's time of this request.
    pub intake: HealthSubmission,
    pub expected_version: Option<u64>,
}

/// May the caller record or withdraw `client`'s health data? The client themselves,
/// their assigned trainers and owners/admins may; someone who may not even see the
/// record gets `404` (nothing is revealed), the others `403`.
async fn authorize_health(
    cmd: &mut CommandTx,
    member: &Membership,
    client: Uuid,
) -> Result<(), ApiError> {
    // Owners/admins need no relation; the others need the record to know theirs.
    if member.may(Action::RecordHealth, Relation::default()) {
        return Ok(());
    }
    let (owner, trainers) = directory::client_record(cmd, client)
        .await?
        .ok_or_else(not_found)?;
    let rel = Relation {
        own_record: owner == Some(member.account_id),
        assigned_trainer: trainers.contains(&member.account_id),
    };
    if !member.may(Action::ViewClient, rel) {
        return Err(not_found());
    }
    member.require_with(Action::RecordHealth, rel)
}

/// Submit a new version of a client's health intake (PAR-Q+, conditions, injuries,
/// surgeries, medications, pregnancy, pain, fitness level), under the studio's current
/// consent text. The same form again is a retry and adds no version.
#[utoipa::path(put, path = "/studios/{studio_id}/clients/{client_id}/health", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id")),
    request_body = RecordHealth,
    responses(
        (status = 200, description = "Recorded", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `invalid_health_intake` (naming the field), `consent_outdated`", body = Problem, content_type = "application/problem+json")))]
pub async fn record_health(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClientPath>,
    AppJson(body): AppJson<RecordHealth>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?.clone();
    authorize_health(&mut cmd, &member, path.client_id).await?;
    let current_consent = cmd.profile()?.settings.consent_text().version;
    let mut submission = body.intake;
    submission.consent.given_at = chrono::Utc::now();
    let command = ClientCommand::SubmitHealthIntake {
        submission: Box::new(submission),
        current_consent,
    };
    client_command(&state, cmd, path.client_id, command, body.expected_version).await
}

/// Withdraw consent to the client's health data: the intake is hidden from staff and no
/// longer processed until the client submits one again.
#[utoipa::path(post, path = "/studios/{studio_id}/clients/{client_id}/health/withdraw-consent", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "Withdrawn (or nothing to withdraw)", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn withdraw_health_consent(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClientPath>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    let member = cmd.member()?.clone();
    authorize_health(&mut cmd, &member, path.client_id).await?;
    let command = ClientCommand::WithdrawHealthConsent {
        at: chrono::Utc::now(),
    };
    client_command(&state, cmd, path.client_id, command, None).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTrainer {
    pub trainer_id: Uuid,
}

/// Assign a trainer (a member with the trainer role) to a client. The trainer then sees
/// the client's health fields: owners and admins only. The assignment ends when the
/// trainer leaves the studio or stops being a trainer.
#[utoipa::path(post, path = "/studios/{studio_id}/clients/{client_id}/trainers", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id")),
    request_body = AssignTrainer,
    responses(
        (status = 200, description = "Assigned (or already)", body = Accepted),
        (status = 403, description = "`forbidden` (owners and admins only)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not_a_trainer`, `too_many_trainers`", body = Problem, content_type = "application/problem+json")))]
pub async fn assign_trainer(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<ClientPath>,
    AppJson(body): AppJson<AssignTrainer>,
) -> Result<Response, ApiError> {
    let mut cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::AssignTrainers)?;
    if cmd.role_of(body.trainer_id).await? != Some(Role::Trainer) {
        return Err(ApiError::Rule {
            code: "not_a_trainer",
            message: "trainer_id must be a member of this studio with the trainer role".to_owned(),
        });
    }
    let command = ClientCommand::AssignTrainer {
        trainer_id: AccountId(body.trainer_id),
    };
    client_command(&state, cmd, path.client_id, command, None).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerPath {
    pub studio_id: Uuid,
    pub client_id: Uuid,
    pub trainer_id: Uuid,
}

/// Unassign a trainer from a client.
#[utoipa::path(delete, path = "/studios/{studio_id}/clients/{client_id}/trainers/{trainer_id}", tag = "clients", security(("bearer" = [])),
    params(("studio_id" = Uuid, Path, description = "Studio id"), ("client_id" = Uuid, Path, description = "Client id"), ("trainer_id" = Uuid, Path, description = "Trainer's account")),
    responses(
        (status = 200, description = "Unassigned (or was not assigned)", body = Accepted),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`studio_not_found`, `client_not_found`", body = Problem, content_type = "application/problem+json")))]
pub async fn unassign_trainer(
    State(state): State<AppState>,
    user: Caller,
    ctx: RequestContext,
    AppPath(path): AppPath<TrainerPath>,
) -> Result<Response, ApiError> {
    let cmd = CommandTx::begin(&state, &user, &ctx, path.studio_id).await?;
    cmd.require(Action::AssignTrainers)?;
    let command = ClientCommand::UnassignTrainer {
        trainer_id: AccountId(path.trainer_id),
    };
    client_command(&state, cmd, path.client_id, command, None).await
}
