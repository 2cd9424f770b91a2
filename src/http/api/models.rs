//! `GET /api/v1/models`: the catalog as the caller sees it, each model with whether they may
//! use it and, when not, why, at its effective price.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::catalog::data_use::TrainingUse;
use crate::domain::catalog::{CatalogDate, InputSpec, Lifecycle, Operation, ParamSpec, Price, Sound, Status};
use crate::http::auth::{ApiCaller, state};
use crate::http::responses::ApiResult;
use crate::services::studio::models::{self, Offer};

/// What a model takes besides the prompt.
#[derive(Serialize, ToSchema)]
pub struct Capabilities {
    negative_prompt: bool,
    /// The reference roles it takes: `first_frame`, `last_frame`, `reference`.
    #[schema(value_type = Vec<String>)]
    references: Vec<&'static str>,
}

/// One parameter of a model (documentation of the catalog's parameter shape).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ParamDoc {
    name: String,
    label: String,
    /// `choice` (one of `values`), `number` (one of `values`), `range` (`min`..=`max`) or `seed`
    /// (an optional whole number).
    r#type: String,
    /// `choice` and `number`: the values it takes (strings or numbers).
    #[schema(required = false)]
    values: Vec<serde_json::Value>,
    /// `choice`, `number` and `range`: the value used when none is given.
    #[schema(required = false)]
    default: serde_json::Value,
    /// `range` only.
    #[schema(required = false)]
    min: i64,
    /// `range` only.
    #[schema(required = false)]
    max: i64,
}

/// A model's price (documentation of the catalog's price shape). One credit is one US cent.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PriceDoc {
    /// `per_image` (each output image), `per_second` (of video) or `per_generation`.
    r#type: String,
    /// The rate when no rule matches.
    credits: u64,
    /// Rates for particular parameter values (`{"when": {"resolution": "1080p"}, "credits": 12}`);
    /// the first that matches wins.
    #[schema(required = false)]
    rules: Vec<serde_json::Value>,
    /// The least one generation costs.
    #[schema(required = false)]
    minimum: u64,
}

/// A model of the catalog as the caller sees it.
#[derive(Serialize, ToSchema)]
pub struct ModelView<'a> {
    id: &'a str,
    label: &'a str,
    /// `image` or `video`.
    #[schema(value_type = String)]
    kind: &'static str,
    provider: &'a str,
    connection: Option<&'a str>,
    description: &'a str,
    demo: bool,
    capabilities: Capabilities,
    #[schema(value_type = Vec<ParamDoc>)]
    parameters: &'a [ParamSpec],
    #[schema(value_type = PriceDoc)]
    price: Price,
    max_prompt_chars: usize,
    available: bool,
    unavailable_reason: Option<String>,
    /// Whether the provider may train on what it receives (the catalog's data-use table).
    /// `no`, `yes`, `opt_out` or `unknown`.
    #[schema(value_type = String)]
    provider_may_train: TrainingUse,
    /// The references it takes: each role, whether it is required, how many, which types.
    #[schema(value_type = Vec<InputDoc>)]
    inputs: &'a [InputSpec],
    /// Whether its outputs have sound: `none`, `always`, or `optional` (the `audio` parameter).
    #[schema(value_type = String)]
    sound: Sound,
    /// What it does with an earlier output (`extend`, `edit`, `enhance`), when it works on one:
    /// pass that generation's id as `source` when creating a generation.
    #[schema(value_type = Option<String>)]
    operation: Option<Operation>,
    lifecycle: LifecycleView<'a>,
}

/// One reference input of a model (documentation of the catalog's input shape).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InputDoc {
    /// `first_frame`, `last_frame`, `reference`, `reference_video`, `reference_audio` or `driving_audio`.
    role: String,
    required: bool,
    /// How many files of this role one generation may carry.
    max: u32,
    /// The file types it accepts; empty: any the uploads take for the role's kind.
    types: Vec<String>,
}

/// Where a model is in its life, as of today.
#[derive(Serialize, ToSchema)]
pub struct LifecycleView<'a> {
    /// `preview`, `ga`, `deprecated` or `retired` (today: a planned shutdown makes a model
    /// deprecated, a past one retired).
    #[schema(value_type = String)]
    status: Status,
    #[schema(value_type = Option<String>)]
    released_on: Option<CatalogDate>,
    #[schema(value_type = Option<String>)]
    deprecated_on: Option<CatalogDate>,
    #[schema(value_type = Option<String>)]
    shutdown_on: Option<CatalogDate>,
    /// The model to use instead.
    successor: Option<&'a str>,
    /// A warning for people while it is deprecated.
    warning: Option<String>,
}

impl<'a> LifecycleView<'a> {
    pub fn new(life: &'a Lifecycle, today: CatalogDate) -> Self {
        LifecycleView {
            status: life.status_on(today),
            released_on: life.released_on,
            deprecated_on: life.deprecated_on,
            shutdown_on: life.shutdown_on,
            successor: life.successor.as_deref(),
            warning: life.warning(today),
        }
    }
}

fn view(offer: &Offer, training: TrainingUse) -> ModelView<'_> {
    let model = &offer.spec;
    ModelView {
        id: &model.id,
        label: &model.label,
        kind: model.kind.as_str(),
        provider: &model.provider,
        connection: offer.connection.as_deref(),
        description: &model.description,
        demo: model.demo,
        capabilities: Capabilities {
            negative_prompt: model.negative_prompt,
            references: model.inputs.iter().map(|i| i.role.as_str()).collect(),
        },
        parameters: &model.params,
        price: offer.price.clone(),
        max_prompt_chars: model.max_prompt_chars,
        available: offer.usable(),
        unavailable_reason: offer.refusal(),
        provider_may_train: training,
        inputs: &model.inputs,
        sound: model.sound,
        operation: model.operation,
        lifecycle: LifecycleView::new(&model.lifecycle, CatalogDate::today()),
    }
}

/// The catalog.
#[derive(Serialize, ToSchema)]
pub struct ModelList<'a> {
    models: Vec<ModelView<'a>>,
}

/// Every model of the catalog, each with whether the caller may use it and, when not, why.
#[utoipa::path(get, operation_id = "models_list", path = "/api/v1/models", tag = "models", responses((status = 200, body = ModelList)))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let offers = models::offers(&state, &caller.user).await?;
    let views: Vec<ModelView> = offers.iter().map(|o| view(o, state.data_use.may_train_on_inputs(&o.spec.provider))).collect();
    Ok(HttpResponse::Ok().json(ModelList { models: views }))
}
