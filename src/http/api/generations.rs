//! `/api/v1/generations`, `/api/v1/uploads` and `/api/v1/credits`.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::views::GenerationView;
use crate::domain::ids::GenerationId;
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::multipart;
use crate::http::responses::ApiResult;
use crate::services::generations::{self, NewGeneration};
use crate::services::{credits, deletion, media, uploads};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceBody {
    role: String,
    upload: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    model: String,
    prompt: String,
    negative_prompt: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    references: Vec<ReferenceBody>,
}

fn parse_id(id: &str) -> Result<GenerationId, AppError> {
    id.parse().map_err(|_| AppError::not_found())
}

async fn view(req: &HttpRequest, g: &crate::domain::generation::Generation) -> Result<serde_json::Value, AppError> {
    let state = state(req)?;
    let outputs = media::assets(&state, g.outputs.clone()).await?;
    serde_json::to_value(GenerationView::new(&state, g, &outputs)).map_err(|_| AppError::internal())
}

pub async fn create(req: HttpRequest, caller: ApiCaller, body: web::Json<CreateBody>) -> ApiResult {
    let state = state(&req)?;
    let body = body.into_inner();
    let request = NewGeneration {
        model: body.model,
        prompt: body.prompt,
        negative_prompt: body.negative_prompt,
        params: body.params,
        references: body.references.into_iter().map(|r| (r.role, r.upload)).collect(),
    };
    let slot = caller.job_slot(&state).await?;
    let g = generations::submit(&state, &caller.ctx(), &caller.user, request).await?;
    if let Some(slot) = slot {
        slot.hold(g.id);
    }
    Ok(HttpResponse::Created().json(view(&req, &g).await?))
}

pub async fn show(req: HttpRequest, caller: ApiCaller, id: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    let g = generations::visible(&state, &caller.user, parse_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(view(&req, &g).await?))
}

/// `POST /api/v1/generations/{id}/{keep|unkeep|share|unshare}`: sets one flag, returns the generation.
pub async fn set_flag(req: HttpRequest, caller: ApiCaller, path: web::Path<(String, String)>) -> ApiResult {
    let state = state(&req)?;
    let (id, action) = path.into_inner();
    let flags = generations::Flags::from_action(&action).ok_or_else(AppError::not_found)?;
    let g = generations::set_flags(&state, &caller.user, parse_id(&id)?, flags).await?;
    Ok(HttpResponse::Ok().json(view(&req, &g).await?))
}

pub async fn cancel(req: HttpRequest, caller: ApiCaller, id: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    let g = generations::cancel(&state, &caller.user, parse_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(view(&req, &g).await?))
}

/// `DELETE /api/v1/generations/{id}`: the generation, its files and its records, for good.
pub async fn delete(req: HttpRequest, caller: ApiCaller, id: web::Path<String>) -> ApiResult {
    let state = state(&req)?;
    deletion::delete(&state, &caller.ctx(), &caller.user, parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct UploadView {
    id: String,
    /// A signed link to the cleaned image, as it will be sent to providers.
    url: String,
    content_type: String,
    width: Option<u32>,
    height: Option<u32>,
    bytes: u64,
}

pub async fn upload(req: HttpRequest, caller: ApiCaller, payload: Multipart) -> ApiResult {
    let state = state(&req)?;
    let mut parts = multipart::read(payload, state.config.limits.upload_max).await?;
    let Some(index) = parts.files.iter().position(|f| f.field == "file") else {
        return Err(AppError::bad_request("Send the image in a multipart part named `file`.").into());
    };
    let file = parts.files.swap_remove(index);
    let asset = uploads::upload(&state, &caller.user, file.bytes).await?;
    let url = state.urls().absolute(&media::signed_path(&state, &asset));
    Ok(HttpResponse::Created().json(UploadView {
        id: asset.id.to_string(),
        url,
        content_type: asset.content_type,
        width: asset.width,
        height: asset.height,
        bytes: asset.bytes,
    }))
}

pub async fn balance(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let b = credits::balance(&state, caller.user.id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "available": b.available, "held": b.held })))
}
