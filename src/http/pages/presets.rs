//! The presets pages: the list (the person's and their boards'), saving one (also "Save as
//! preset" from a generation), editing, deleting, moving one on a retired model to the
//! successor, and generating from one with its placeholders filled (the generate page's picker).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;

use super::cast::form_refusal;
use super::layout::Layout;
use crate::domain::board::Owner;
use crate::domain::catalog::ReferenceRole;
use crate::domain::ids::{AssetId, CastId, GenerationId, PresetId};
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, redirect, redirect_with, render};
use crate::services::ServiceError;
use crate::services::state::AppState;
use crate::services::studio::presets::{self, PresetInput, Visible};
use crate::services::studio::{boards, cast, generations, models};

/// One preset as the list shows it.
pub struct Row {
    pub id: PresetId,
    pub name: String,
    pub model: String,
    pub template: String,
    /// "Mine", or the board's name.
    pub owner: String,
    pub can_change: bool,
    pub retired: Option<String>,
    pub warning: Option<String>,
    pub successor: Option<String>,
}

/// The values of the save or edit form.
#[derive(Default)]
pub struct Values {
    pub name: String,
    pub model: String,
    pub prompt_template: String,
    pub negative_prompt: String,
    /// The parameters as a JSON object.
    pub params: String,
    /// `""` (mine) or a board id.
    pub owner: String,
    /// The cast members picked.
    pub cast: Vec<CastId>,
    /// The reference uploads it keeps, by role (from the generation it was saved from, or the
    /// preset's own), each a checkbox on the form.
    pub references: Vec<(ReferenceRole, AssetId)>,
}

impl Values {
    /// Whether cast member `id` is picked.
    fn has_cast(&self, id: &CastId) -> bool {
        self.cast.contains(id)
    }
}

#[derive(Template)]
#[template(path = "presets/index.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    values: Values,
    /// The models the person may use: (id, label).
    models: Vec<(String, String)>,
    /// The boards the person edits: (id, name).
    boards: Vec<(String, String)>,
    /// The cast members a preset may use: (id, name).
    cast: Vec<(CastId, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "presets/edit.html")]
struct EditPage {
    layout: Layout,
    id: PresetId,
    values: Values,
    models: Vec<(String, String)>,
    cast: Vec<(CastId, String)>,
    error: Option<String>,
}

/// The preset rows the person sees, labelled with their owners.
async fn rows(state: &AppState, who: &SignedIn, mine: &str) -> Result<Vec<Row>, AppError> {
    let names: BTreeMap<String, String> =
        boards::list(state, &who.user).await?.into_iter().map(|b| (b.board.id.to_string(), b.board.name)).collect();
    Ok(presets::list(state, &who.user)
        .await?
        .into_iter()
        .map(|v| {
            let standing = presets::standing(state, &v.preset);
            let p = v.preset;
            let owner = match p.owner {
                Owner::Person(_) => mine.to_string(),
                Owner::Board(b) => names.get(&b.to_string()).cloned().unwrap_or_default(),
            };
            Row {
                id: p.id,
                name: p.name,
                model: p.model,
                template: p.prompt_template,
                owner,
                can_change: v.access.can_change(),
                retired: standing.retired,
                warning: standing.warning,
                successor: standing.successor,
            }
        })
        .collect())
}

/// The cast members the person may pick for a preset: (id, name).
async fn cast_choices(state: &AppState, who: &SignedIn) -> Result<Vec<(CastId, String)>, AppError> {
    Ok(cast::list(state, &who.user).await?.into_iter().map(|v| (v.member.id, v.member.name)).collect())
}

async fn usable_models(state: &AppState, who: &SignedIn) -> Result<Vec<(String, String)>, AppError> {
    Ok(models::usable(state, &who.user).await?.into_iter().map(|o| (o.spec.id.clone(), o.spec.label.clone())).collect())
}

async fn list_page(req: &HttpRequest, who: &SignedIn, values: Values, error: Option<String>, status: StatusCode) -> PageResult {
    let state = state(req)?;
    let layout = Layout::new(req, Some(&who.user));
    let rows = rows(&state, who, &layout.t("presets-mine")).await?;
    let page = ListPage {
        rows,
        values,
        models: usable_models(&state, who).await?,
        boards: boards::editable(&state, &who.user).await?,
        cast: cast_choices(&state, who).await?,
        error,
        layout,
    };
    render(req, status, &page)
}

/// `/presets`; `?from=<generation>` fills the form from one of the person's generations
/// ("Save as preset"), its prompt becoming the template.
pub async fn list(req: HttpRequest, who: SignedIn, query: web::Query<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let mut values = Values::default();
    if let Some(from) = query.get("from").and_then(|f| f.parse::<GenerationId>().ok()) {
        let g = generations::visible(&state, &who.user, from).await?;
        let params: serde_json::Map<String, serde_json::Value> =
            g.params.iter().filter(|(k, _)| k.as_str() != "seed").map(|(k, v)| (k.clone(), v.to_json())).collect();
        // a teammate's files stay theirs: only one's own generation brings its references
        let references = if g.owner == who.user.id {
            g.references.iter().filter(|r| r.role != ReferenceRole::SourceVideo).map(|r| (r.role, r.upload)).collect()
        } else {
            Vec::new()
        };
        values = Values {
            model: g.model.clone(),
            prompt_template: g.prompt.replace('{', "{{").replace('}', "}}"),
            negative_prompt: g.negative_prompt.clone().unwrap_or_default(),
            params: serde_json::Value::Object(params).to_string(),
            references,
            ..Values::default()
        };
    }
    list_page(&req, &who, values, None, StatusCode::OK).await
}

/// The save and edit form's fields (`cast_<id>` for each cast member picked).
pub struct Form {
    name: String,
    model: String,
    prompt_template: String,
    negative_prompt: String,
    params: String,
    owner: String,
    cast: Vec<CastId>,
    /// `reference_<upload>` = its role, for each reference kept.
    references: Vec<(ReferenceRole, AssetId)>,
}

impl From<BTreeMap<String, String>> for Form {
    fn from(mut fields: BTreeMap<String, String>) -> Form {
        let cast = fields.keys().filter_map(|k| k.strip_prefix("cast_")?.parse().ok()).collect();
        let references =
            fields.iter().filter_map(|(k, role)| crate::http::references::parse(role, k.strip_prefix("reference_")?).ok()).collect();
        let mut take = |name: &str| fields.remove(name).unwrap_or_default();
        Form {
            name: take("name"),
            model: take("model"),
            prompt_template: take("prompt_template"),
            negative_prompt: take("negative_prompt"),
            params: take("params"),
            owner: take("owner"),
            cast,
            references,
        }
    }
}

impl Form {
    fn values(&self) -> Values {
        Values {
            name: self.name.clone(),
            model: self.model.clone(),
            prompt_template: self.prompt_template.clone(),
            negative_prompt: self.negative_prompt.clone(),
            params: self.params.clone(),
            owner: self.owner.clone(),
            cast: self.cast.clone(),
            references: self.references.clone(),
        }
    }

    fn input(&self) -> Result<PresetInput, ServiceError> {
        let params = match self.params.trim() {
            "" => BTreeMap::new(),
            text => serde_json::from_str(text).map_err(|_| {
                crate::domain::catalog::InputError::on("params", "the parameters are a JSON object, e.g. {\"aspect_ratio\": \"16:9\"}")
            })?,
        };
        let owner = match self.owner.trim() {
            "" => None,
            id => Some(Owner::Board(id.parse().map_err(|_| ServiceError::NotFound("board"))?)),
        };
        Ok(PresetInput {
            owner,
            name: Some(self.name.clone()),
            model: Some(self.model.clone()),
            params: Some(params),
            prompt_template: Some(self.prompt_template.clone()),
            negative_prompt: Some(Some(self.negative_prompt.clone())),
            references: Some(self.references.clone()),
            cast: Some(self.cast.clone()),
        })
    }
}

/// Whether a refusal is shown on the form (the person can fix it) rather than as an error page.
fn on_form(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Invalid(_)
            | ServiceError::ModelRule(_)
            | ServiceError::InvalidMessage(_)
            | ServiceError::UnknownModel(_)
            | ServiceError::ModelDisabled { .. }
            | ServiceError::NotFound(_)
    )
}

pub async fn create(req: HttpRequest, who: SignedIn, form: web::Form<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let form = Form::from(form.into_inner());
    let outcome = match form.input() {
        Ok(input) => presets::create(&state, &who.ctx(), &who.user, input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(saved(&req, &state)),
        Err(e) if on_form(&e) => {
            let (text, status) = form_refusal(&req, e);
            list_page(&req, &who, form.values(), Some(text), status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Back to the presets list, saying the preset was saved.
fn saved(req: &HttpRequest, state: &AppState) -> actix_web::HttpResponse {
    redirect_with(state.urls().presets(), FlashKind::Success, &crate::http::lang::tr(req).t("flash-preset-saved"))
}

fn values_of(v: &Visible) -> Values {
    let p = &v.preset;
    let params: serde_json::Map<String, serde_json::Value> = p.params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
    Values {
        name: p.name.clone(),
        model: p.model.clone(),
        prompt_template: p.prompt_template.clone(),
        negative_prompt: p.negative_prompt.clone().unwrap_or_default(),
        params: if params.is_empty() { String::new() } else { serde_json::Value::Object(params).to_string() },
        owner: String::new(),
        cast: p.cast.clone(),
        references: p.references.iter().map(|r| (r.role, r.upload)).collect(),
    }
}

pub async fn edit(req: HttpRequest, who: SignedIn, id: web::Path<PresetId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let visible = presets::get(&state, &who.user, id).await?;
    if !visible.access.can_change() {
        return Err(ServiceError::NotEditor.into());
    }
    let page = EditPage {
        layout: Layout::new(&req, Some(&who.user)),
        id,
        values: values_of(&visible),
        models: usable_models(&state, &who).await?,
        cast: cast_choices(&state, &who).await?,
        error: None,
    };
    render(&req, StatusCode::OK, &page)
}

pub async fn save(req: HttpRequest, who: SignedIn, id: web::Path<PresetId>, form: web::Form<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let form = Form::from(form.into_inner());
    let id = id.into_inner();
    let outcome = match form.input() {
        Ok(input) => presets::update(&state, &who.user, id, PresetInput { owner: None, ..input }).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(saved(&req, &state)),
        Err(e) if on_form(&e) => {
            let (text, status) = form_refusal(&req, e);
            let page = EditPage {
                layout: Layout::new(&req, Some(&who.user)),
                id,
                values: form.values(),
                models: usable_models(&state, &who).await?,
                cast: cast_choices(&state, &who).await?,
                error: Some(text),
            };
            render(&req, status, &page)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(req: HttpRequest, who: SignedIn, id: web::Path<PresetId>) -> PageResult {
    let state = state(&req)?;
    presets::delete(&state, &who.ctx(), &who.user, id.into_inner()).await?;
    Ok(redirect_with(state.urls().presets(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-preset-deleted")))
}

pub async fn successor(req: HttpRequest, who: SignedIn, id: web::Path<PresetId>) -> PageResult {
    let state = state(&req)?;
    let preset = presets::use_successor(&state, &who.user, id.into_inner()).await?;
    let message = crate::http::lang::tr(&req).t_args("flash-preset-moved", &[("model", preset.model.into())]);
    Ok(redirect_with(state.urls().presets(), FlashKind::Success, &message))
}

/// Generates from a preset with the form's `value_<placeholder>` fields; refusals go back to
/// the generate page with the preset picked and the reason.
pub async fn generate(req: HttpRequest, who: SignedIn, id: web::Path<PresetId>, form: web::Form<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let values: BTreeMap<String, String> =
        form.iter().filter_map(|(k, v)| k.strip_prefix("value_").map(|name| (name.to_string(), v.clone()))).collect();
    let outcome = async {
        let request = presets::prepare(&state, &who.user, id, &values).await?;
        generations::submit(&state, &who.ctx(), &who.user, request).await
    }
    .await;
    match outcome {
        Ok(g) => Ok(redirect(&state.urls().generation(g.id))),
        Err(e) if on_form(&e) || matches!(e, ServiceError::Credits(_) | ServiceError::SpendLimit(_)) => {
            let (text, _) = form_refusal(&req, e);
            let mut back = format!("{}?preset={id}", state.urls().generate());
            for (name, value) in &values {
                back.push_str(&format!("&value_{name}={}", url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()));
            }
            Ok(redirect_with(&back, FlashKind::Error, &text))
        }
        Err(e) => Err(e.into()),
    }
}
