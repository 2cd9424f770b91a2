//! `GET /api/v1/models`: the catalog as the caller sees it, each model with whether it is
//! available to them and, when not, why.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::domain::catalog::{ModelSpec, ParamSpec, Price, ReferenceRole};
use crate::http::auth::ApiCaller;
use crate::http::auth::state;
use crate::http::responses::ApiResult;

#[derive(Serialize)]
struct Capabilities {
    negative_prompt: bool,
    references: Vec<&'static str>,
}

#[derive(Serialize)]
struct ModelView<'a> {
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    provider: &'static str,
    connection: Option<&'a str>,
    description: &'static str,
    demo: bool,
    capabilities: Capabilities,
    parameters: &'a [ParamSpec],
    price: Price,
    max_prompt_chars: usize,
    available: bool,
    unavailable_reason: Option<String>,
}

fn view<'a>(model: &'a ModelSpec, availability: Result<&'a str, String>) -> ModelView<'a> {
    ModelView {
        id: model.id,
        label: model.label,
        kind: model.kind.as_str(),
        provider: model.provider,
        connection: availability.as_ref().ok().copied(),
        description: model.description,
        demo: model.demo,
        capabilities: Capabilities {
            negative_prompt: model.negative_prompt,
            references: model.references.iter().map(|r: &ReferenceRole| r.as_str()).collect(),
        },
        parameters: &model.params,
        price: model.price,
        max_prompt_chars: model.max_prompt_chars,
        available: availability.is_ok(),
        unavailable_reason: availability.err(),
    }
}

pub async fn list(req: HttpRequest, _caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let registry = state.registry();
    let models: Vec<ModelView> = registry.models().iter().map(|m| view(m, registry.availability(m))).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "models": models })))
}
