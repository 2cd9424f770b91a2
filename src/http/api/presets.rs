//! `/api/v1/presets`: the caller's presets and those of their boards (create, read, change,
//! delete), generating from one by filling its placeholders, and moving one whose model is
//! retired to the successor.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::board::Owner;
use crate::domain::ids::{CastId, PresetId};
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::deprecation;
use crate::http::responses::ApiResult;
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::services::studio::ownership::Access;
use crate::services::studio::presets::{self, PresetInput, Visible};

/// A reference upload of a preset.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetReference {
    /// `first_frame`, `last_frame`, `reference`, … (the model's inputs say which it takes).
    #[schema(example = "reference")]
    role: String,
    /// The id `POST /api/v1/uploads` returned.
    upload: String,
}

/// What the catalog says today of a preset's model.
#[derive(Serialize, ToSchema)]
pub struct ModelStanding {
    /// Why the model cannot be used any more (retired), naming its successor; `null` while usable.
    retired: Option<String>,
    /// The warning while the model is deprecated.
    warning: Option<String>,
    /// The successor's model id, when the catalog names one (`POST …/use-successor` moves to it).
    successor: Option<String>,
}

/// A preset.
#[derive(Serialize, ToSchema)]
pub struct PresetView {
    id: String,
    /// `{"person": "<id>"}` or `{"board": "<id>"}`.
    #[schema(value_type = Object)]
    owner: Owner,
    name: String,
    model: String,
    #[schema(value_type = Object)]
    params: BTreeMap<String, serde_json::Value>,
    prompt_template: String,
    /// The template's placeholder names, in order: `values` of `POST …/generate` fills each.
    placeholders: Vec<String>,
    negative_prompt: Option<String>,
    references: Vec<PresetReference>,
    /// Cast member ids whose images (and voice) become references.
    cast: Vec<String>,
    /// Whether the caller may change it (its person, a board's editor); a board's viewer only uses it.
    can_change: bool,
    model_standing: ModelStanding,
    created_at: String,
    updated_at: String,
}

impl PresetView {
    pub fn new(state: &AppState, v: &Visible) -> PresetView {
        let p = &v.preset;
        let standing = presets::standing(state, p);
        PresetView {
            id: p.id.to_string(),
            owner: p.owner,
            name: p.name.clone(),
            model: p.model.clone(),
            params: p.params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            prompt_template: p.prompt_template.clone(),
            placeholders: presets::placeholders(p),
            negative_prompt: p.negative_prompt.clone(),
            references: p
                .references
                .iter()
                .map(|r| PresetReference { role: r.role.as_str().into(), upload: r.upload.to_string() })
                .collect(),
            cast: p.cast.iter().map(|c| c.to_string()).collect(),
            can_change: v.access.can_change(),
            model_standing: ModelStanding { retired: standing.retired, warning: standing.warning, successor: standing.successor },
            created_at: p.created_at.rfc3339(),
            updated_at: p.updated_at.rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PresetList {
    presets: Vec<PresetView>,
}

/// A new preset, or the fields of one that change (those left out stay as they are).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetBody {
    /// Only on create: `{"board": "<board id>"}` for a board the caller edits; the caller when absent.
    #[schema(value_type = Option<Object>)]
    owner: Option<Owner>,
    name: Option<String>,
    /// A model id from `GET /api/v1/models`.
    #[schema(example = "demo-image")]
    model: Option<String>,
    /// The model's parameters by name (numbers or strings); those left out take their defaults at each generation.
    #[schema(value_type = Option<Object>)]
    params: Option<BTreeMap<String, serde_json::Value>>,
    /// The prompt with `{placeholders}` (letters, digits, `_`); `{{` and `}}` are literal braces.
    #[schema(example = "A {animal} in the {place}, golden hour")]
    prompt_template: Option<String>,
    /// Empty removes it.
    negative_prompt: Option<String>,
    references: Option<Vec<PresetReference>>,
    /// Cast member ids (a board's preset: only the board's cast).
    cast: Option<Vec<String>>,
}

impl PresetBody {
    fn into_input(self) -> Result<PresetInput, AppError> {
        let references = match self.references {
            None => None,
            Some(list) => Some(list.iter().map(|r| crate::http::references::parse(&r.role, &r.upload)).collect::<Result<Vec<_>, _>>()?),
        };
        Ok(PresetInput {
            owner: self.owner,
            name: self.name,
            model: self.model,
            params: self.params,
            prompt_template: self.prompt_template,
            negative_prompt: self.negative_prompt.map(Some),
            references,
            cast: self.cast.map(|ids| cast_ids(&ids)).transpose()?,
        })
    }
}

/// Cast member ids as a request names them; a malformed one is 422 naming it.
pub fn cast_ids(ids: &[String]) -> Result<Vec<CastId>, AppError> {
    ids.iter()
        .map(|id| id.trim().parse().map_err(|_| ServiceError::InvalidMessage(format!("{id:?} is not a cast member id")).into()))
        .collect()
}

/// The body of `POST /api/v1/presets/{id}/generate`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateBody {
    /// A plain-text value for every placeholder of the template, by name.
    #[serde(default)]
    #[schema(example = json!({"animal": "fox", "place": "snowy forest"}))]
    values: BTreeMap<String, String>,
}

/// The caller's presets, then those of the boards they are a member of.
#[utoipa::path(get, operation_id = "presets_list", path = "/api/v1/presets", tag = "presets", responses((status = 200, body = PresetList)))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let all = presets::list(&state, &caller.user).await?;
    Ok(HttpResponse::Ok().json(PresetList { presets: all.iter().map(|v| PresetView::new(&state, v)).collect() }))
}

/// Saves a preset, checked against the catalog as a submit is (model, parameters, references).
#[utoipa::path(post, operation_id = "presets_create", path = "/api/v1/presets", tag = "presets", request_body = PresetBody, responses(
    (status = 201, body = PresetView),
    (status = 403, description = "The model is not available to the caller (`generation.model_disabled`), or a board's viewer (`forbidden`)", body = ErrorBody),
    (status = 404, description = "A board, upload or cast member that is not the caller's (`not_found`)", body = ErrorBody),
    (status = 422, description = "Unknown model, bad parameters, an unbalanced template, references the model does not take (`invalid_input`)", body = ErrorBody),
))]
pub async fn create(req: HttpRequest, caller: ApiCaller, body: web::Json<PresetBody>) -> ApiResult {
    let state = state(&req)?;
    let preset = presets::create(&state, &caller.ctx(), &caller.user, body.into_inner().into_input()?).await?;
    let view = PresetView::new(&state, &Visible { preset, access: Access::Change });
    Ok(HttpResponse::Created().insert_header((header::LOCATION, format!("{}/presets/{}", super::PREFIX, view.id))).json(view))
}

/// One preset the caller may see.
#[utoipa::path(get, operation_id = "presets_show", path = "/api/v1/presets/{id}", tag = "presets",
    params(("id" = String, Path, description = "The preset's id")),
    responses((status = 200, body = PresetView)))]
pub async fn show(req: HttpRequest, caller: ApiCaller, id: web::Path<PresetId>) -> ApiResult {
    let state = state(&req)?;
    let visible = presets::get(&state, &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(PresetView::new(&state, &visible)))
}

/// Changes a preset (its person, or an editor of its board), checked as on create.
#[utoipa::path(patch, operation_id = "presets_update", path = "/api/v1/presets/{id}", tag = "presets", request_body = PresetBody,
    params(("id" = String, Path, description = "The preset's id")),
    responses(
        (status = 200, body = PresetView),
        (status = 403, description = "A board's viewer (`forbidden`)", body = ErrorBody),
        (status = 422, description = "As on create (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn update(req: HttpRequest, caller: ApiCaller, id: web::Path<PresetId>, body: web::Json<PresetBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    if body.owner.is_some() {
        return Err(AppError::bad_parameter("owner", "A preset's owner is chosen when it is created.").into());
    }
    let id = id.into_inner();
    presets::update(&state, &caller.user, id, body.into_input()?).await?;
    let visible = presets::get(&state, &caller.user, id).await?;
    Ok(HttpResponse::Ok().json(PresetView::new(&state, &visible)))
}

/// Deletes a preset (its person, or an editor of its board); its cast members stay.
#[utoipa::path(delete, operation_id = "presets_delete", path = "/api/v1/presets/{id}", tag = "presets",
    params(("id" = String, Path, description = "The preset's id")),
    responses((status = 204, description = "Deleted"), (status = 403, description = "A board's viewer (`forbidden`)", body = ErrorBody)))]
pub async fn delete(req: HttpRequest, caller: ApiCaller, id: web::Path<PresetId>) -> ApiResult {
    let state = state(&req)?;
    presets::delete(&state, &caller.ctx(), &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Generates from a preset: every placeholder filled from `values`; the model, parameters,
/// references and cast are the preset's. Answers like `POST /api/v1/generations`.
#[utoipa::path(post, operation_id = "presets_generate", path = "/api/v1/presets/{id}/generate", tag = "presets", request_body = GenerateBody,
    params(("id" = String, Path, description = "The preset's id")),
    responses(
        (status = 201, description = "Queued; credits are held", body = super::views::GenerationView),
        (status = 402, description = "Too few credits (`credits.insufficient`)", body = ErrorBody),
        (status = 403, description = "The model is retired or not available to the caller (`generation.model_disabled`)", body = ErrorBody),
        (status = 422, description = "A placeholder left unfilled, or a value too long (`invalid_input`, naming it)", body = ErrorBody),
    ))]
pub async fn generate(req: HttpRequest, caller: ApiCaller, id: web::Path<PresetId>, body: web::Json<GenerateBody>) -> ApiResult {
    let state = state(&req)?;
    let slot = caller.job_slot(&state).await?;
    let request = presets::prepare(&state, &caller.user, id.into_inner(), &body.values).await?;
    let g = slot.submit(&state, &caller.ctx(), &caller.user, request).await?;
    let location = format!("{}/generations/{}", super::PREFIX, g.id);
    let response = HttpResponse::Created().insert_header((header::LOCATION, location)).json(super::generations::view(&state, &g).await?);
    Ok(deprecation::mark(&state, &g.model, response))
}

/// Moves a preset whose model is retired or deprecated to the successor the catalog names
/// (parameters the successor does not take are dropped).
#[utoipa::path(post, operation_id = "presets_use_successor", path = "/api/v1/presets/{id}/use-successor", tag = "presets",
    params(("id" = String, Path, description = "The preset's id")),
    responses(
        (status = 200, body = PresetView),
        (status = 403, description = "A board's viewer (`forbidden`)", body = ErrorBody),
        (status = 422, description = "The catalog names no successor, or the preset's references do not fit it (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn use_successor(req: HttpRequest, caller: ApiCaller, id: web::Path<PresetId>) -> ApiResult {
    let state = state(&req)?;
    let id = id.into_inner();
    presets::use_successor(&state, &caller.user, id).await?;
    let visible = presets::get(&state, &caller.user, id).await?;
    Ok(HttpResponse::Ok().json(PresetView::new(&state, &visible)))
}
