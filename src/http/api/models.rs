//! `GET /api/v1/models`: the catalog as the caller sees it, each model with whether they may
//! use it and, when not, why, at its effective price.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::domain::catalog::data_use::TrainingUse;
use crate::domain::catalog::{ParamSpec, Price, ReferenceRole};
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::models::{self, Offer};

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
    /// Whether the provider may train on what it receives (the catalog's data-use table).
    provider_may_train: TrainingUse,
}

fn view(offer: &Offer, training: TrainingUse) -> ModelView<'_> {
    let model = &offer.spec;
    ModelView {
        id: model.id,
        label: model.label,
        kind: model.kind.as_str(),
        provider: model.provider,
        connection: offer.connection.as_deref(),
        description: model.description,
        demo: model.demo,
        capabilities: Capabilities {
            negative_prompt: model.negative_prompt,
            references: model.references.iter().map(|r: &ReferenceRole| r.as_str()).collect(),
        },
        parameters: &model.params,
        price: offer.price,
        max_prompt_chars: model.max_prompt_chars,
        available: offer.usable(),
        unavailable_reason: offer.refusal(),
        provider_may_train: training,
    }
}

pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let offers = models::offers(&state, &caller.user).await?;
    let views: Vec<ModelView> = offers.iter().map(|o| view(o, state.data_use.may_train_on_inputs(o.spec.provider))).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "models": views })))
}
