//! The "New generation" page: write a prompt, pick a model, set the model's parameters,
//! attach reference images, see the price, submit; with its script, results appear on the
//! page as they progress, and one prompt can go to several models at once ([`compare`]).

pub mod compare;
mod library_picks;
mod picker;
mod recent;
mod result;

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use self::picker::Choice;
use super::layout::Layout;
use crate::domain::catalog::{InputError, InputMedia, InputSpec, ModelSpec, ParamKind, Price, ReferenceRole};
use crate::domain::credits::Balance;
use crate::domain::ids::AssetId;
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::multipart::{self, Expected, Fields};
use crate::http::responses::{PageResult, redirect, render};
use crate::i18n::Tr;
use crate::services::state::AppState;
use crate::services::studio::generations::{self, NewGeneration};
use crate::services::studio::lineage;
use crate::services::studio::models::{self, Offer};
use crate::services::{ServiceError, studio::media, studio::uploads, team::credits};

/// A parameter as the form shows it.
pub struct Field {
    pub name: String,
    pub label: String,
    /// Options for a select; empty for a number input.
    pub options: Vec<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub value: String,
    pub hint: String,
}

#[derive(Template)]
#[template(path = "generations/new.html")]
struct NewPage {
    layout: Layout,
    /// The models the person may use, for the picker and the compare list.
    models: Vec<Choice>,
    model: std::sync::Arc<ModelSpec>,
    prompt: String,
    negative_prompt: String,
    fields: Vec<Field>,
    inputs: Vec<InputSpec>,
    price: u64,
    balance: Balance,
    /// This month's allowance and today's spend against the daily limits, beside the balance.
    standing: crate::services::team::spending::Standing,
    error: Option<String>,
    /// Reference images carried over from an earlier generation ("use these settings again").
    reuse: Vec<Reused>,
    /// The person's recent uploads the chosen model could take.
    recent: Vec<recent::RecentUpload>,
    /// The earlier output the model extends, edits or enhances, when the form works on one.
    source: Option<SourcePreview>,
    /// The board the new generation goes to, when the form was opened from one the person edits.
    board: Option<BoardTarget>,
    /// The cast and preset pickers.
    picks: library_picks::Picks,
}

/// The board a generation is made for ("generate into this board").
pub struct BoardTarget {
    pub id: String,
    pub name: String,
    pub href: String,
}

/// The board `text` names, when `user` edits it (otherwise the form carries none).
async fn board_target(
    state: &crate::services::state::AppState,
    user: &crate::domain::user::User,
    text: Option<&String>,
) -> Option<BoardTarget> {
    let id = text?.trim().parse().ok()?;
    let view = crate::services::studio::boards::get(state, user, id).await.ok().filter(|v| v.role.can_edit())?;
    Some(BoardTarget { id: id.to_string(), name: view.board.name, href: state.urls().board(id) })
}

impl NewPage {
    /// The chosen model's deprecation warning, as of today.
    fn warning(&self) -> Option<String> {
        self.layout.tr.lifecycle_warning(&self.model.lifecycle, crate::domain::catalog::CatalogDate::today())
    }

    /// The file types the form's picker offers for an input of `media` (uploads check the
    /// bytes whatever the picker lets through).
    fn accept(&self, media: InputMedia) -> &'static str {
        crate::domain::media_type::upload_accept(media)
    }
}

/// The person's earlier generation the form works on (Extend, Edit, Enhance).
pub struct SourcePreview {
    pub id: String,
    /// The signed URL of its video.
    pub url: String,
    /// Its generation page.
    pub href: String,
}

/// The source `text` names, when it is one of `user`'s finished videos and `model` works on
/// an earlier output (otherwise the form carries no source).
async fn source_preview(
    state: &AppState,
    user: &User,
    model: &ModelSpec,
    text: Option<&String>,
) -> Result<Option<SourcePreview>, AppError> {
    let Some(id) = text.filter(|t| !t.trim().is_empty()) else { return Ok(None) };
    let id = id.trim().parse().map_err(|_| AppError::bad_parameter("source", "source must be a generation id."))?;
    if model.operation.is_none() {
        return Ok(None);
    }
    let source = lineage::source_of(state, user, model, id, &[]).await?;
    Ok(Some(SourcePreview {
        id: id.to_string(),
        url: media::signed_path(state, &source.video),
        href: state.urls().generation(id).to_string(),
    }))
}

/// An earlier upload the form sends again unless a new file replaces it.
pub struct Reused {
    pub role: &'static str,
    pub upload: String,
    pub url: String,
    /// `image`, `video` or `audio`.
    pub shown_as: &'static str,
}

/// `user`'s own uploads among `refs` (role, upload id), with signed URLs for the form.
async fn reused(state: &AppState, user: &User, refs: Vec<(ReferenceRole, AssetId)>) -> Result<Vec<Reused>, AppError> {
    let assets = media::assets(state, refs.iter().map(|(_, id)| *id).collect()).await?;
    Ok(refs
        .into_iter()
        .filter_map(|(role, id)| {
            let a = assets.iter().find(|a| a.id == id && a.owner == user.id && a.usable_as_reference())?;
            Some(Reused { role: role.as_str(), upload: id.to_string(), url: media::signed_path(state, a), shown_as: a.shown_as() })
        })
        .collect())
}

/// The `reuse_<role>` fields of a query or form, parsed (malformed ones dropped).
fn reuse_fields(fields: &BTreeMap<String, String>) -> Vec<(ReferenceRole, AssetId)> {
    fields.iter().filter_map(|(k, v)| Some((ReferenceRole::parse(k.strip_prefix("reuse_")?).ok()?, v.parse().ok()?))).collect()
}

/// What `?from=<generation>` prefills: its model, prompts, parameters and (for its owner)
/// reference images; the query's own values win (`seed=` clears the seed for a variation).
async fn prefill(state: &AppState, user: &User, query: &mut BTreeMap<String, String>) -> Result<Vec<(ReferenceRole, AssetId)>, AppError> {
    let Some(from) = query.remove("from").filter(|f| !f.is_empty()) else { return Ok(reuse_fields(query)) };
    let id = from.parse().map_err(|_| AppError::bad_parameter("from", "from must be a generation id."))?;
    let g = generations::visible(state, user, id).await?;
    let mut filled: BTreeMap<String, String> = g.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    filled.insert("model".into(), g.model.clone());
    filled.insert("prompt".into(), g.prompt.clone());
    filled.insert("negative_prompt".into(), g.negative_prompt.clone().unwrap_or_default());
    filled.extend(std::mem::take(query));
    *query = filled;
    Ok(if g.owner == user.id { g.references.iter().map(|r| (r.role, r.upload)).collect() } else { Vec::new() })
}

fn fields(model: &ModelSpec, values: &BTreeMap<String, String>, tr: &Tr) -> Vec<Field> {
    model
        .params
        .iter()
        .map(|p| {
            let given = values.get(&p.name).cloned();
            let (options, min, max, default, hint) = match &p.kind {
                ParamKind::Choice { values, default } => {
                    (values.iter().map(|v| v.to_string()).collect(), None, None, default.to_string(), String::new())
                }
                ParamKind::Number { values, default } => {
                    (values.iter().map(i64::to_string).collect(), None, None, default.to_string(), String::new())
                }
                ParamKind::Range { min, max, default } => (Vec::new(), Some(*min), Some(*max), default.to_string(), String::new()),
                ParamKind::Seed => (Vec::new(), Some(0), Some(i64::from(u32::MAX)), String::new(), tr.t("generate-seed-hint")),
            };
            Field { name: p.name.clone(), label: tr.param_label(&p.label), options, min, max, value: given.unwrap_or(default), hint }
        })
        .collect()
}

/// What the form's values cost at `price` (0 while they are incomplete or invalid).
fn price(model: &ModelSpec, price: &Price, values: &BTreeMap<String, String>) -> u64 {
    let raw: BTreeMap<String, serde_json::Value> = values
        .iter()
        .filter(|(k, _)| model.params.iter().any(|p| p.name == **k))
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    model.resolve_params(&raw, 0).map(|p| price.of(&p)).unwrap_or(0)
}

/// Parameter values from a query or form: `param_<name>` fields (the form's names), or
/// plain `<name>` (links that prefill the form).
fn param_values(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> =
        fields.iter().filter(|(k, _)| !k.starts_with("param_")).map(|(k, v)| (k.clone(), v.clone())).collect();
    out.extend(form_params(fields));
    out
}

/// Only the form's `param_<name>` fields, by parameter name.
fn form_params(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields.iter().filter_map(|(k, v)| k.strip_prefix("param_").map(|p| (p.to_string(), v.clone()))).collect()
}

/// The models a person may use, and the one the form shows.
struct Picked {
    usable: Vec<Offer>,
    chosen: Offer,
    /// Why the model asked for is not the one shown, when it is not.
    notice: Option<String>,
}

/// Picks model `id` when `user` may use it, else their first usable model, saying why.
async fn pick(state: &AppState, user: &User, id: Option<&str>, tr: &Tr) -> Result<Picked, AppError> {
    let offers = models::offers(state, user).await?;
    let asked = id.filter(|id| !id.is_empty());
    let notice = asked.and_then(|id| match offers.iter().find(|o| o.spec.id == id) {
        None => Some(tr.t_args("generate-no-such-model", &[("model", id.into())])),
        Some(offer) => offer.refusal().map(|why| {
            tr.t_args("generate-model-refused", &[("model", offer.spec.label.to_string().into()), ("reason", why.to_string().into())])
        }),
    });
    let usable: Vec<Offer> = offers.into_iter().filter(Offer::usable).collect();
    let chosen = asked.and_then(|id| usable.iter().find(|o| o.spec.id == id)).or(usable.first()).cloned().ok_or_else(|| {
        AppError::new(StatusCode::SERVICE_UNAVAILABLE, "generation.no_models", notice.clone().unwrap_or_else(|| tr.t("generate-no-models")))
    })?;
    Ok(Picked { usable, chosen, notice })
}

#[allow(clippy::too_many_arguments)]
async fn page(
    req: &HttpRequest,
    who: &SignedIn,
    picked: Picked,
    prompt: String,
    negative_prompt: String,
    values: BTreeMap<String, String>,
    reuse: Vec<Reused>,
    (source, board): (Option<&String>, Option<&String>),
    asked: &BTreeMap<String, String>,
    error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let state = state(req)?;
    let today = crate::domain::catalog::CatalogDate::today();
    let tr = crate::http::lang::tr(req);
    let models = picked.usable.iter().map(|o| Choice::of(o, today, &tr)).collect();
    let balance = credits::balance(&state, who.user.id).await?;
    let standing = crate::services::team::spending::standing(&state, &who.user, crate::domain::time::Timestamp::now()).await?;
    let Offer { spec: model, price: effective, .. } = picked.chosen;
    let source = source_preview(&state, &who.user, &model, source).await?;
    let board = board_target(&state, &who.user, board).await;
    let recent = recent::recent_uploads(&state, &who.user, &model, &tr).await?;
    let layout = Layout::new(req, Some(&who.user));
    let fields = fields(&model, &values, &layout.tr);
    let picks = library_picks::picks(&state, &who.user, &model, asked, &layout.tr).await?;
    let page = NewPage {
        picks,
        layout,
        models,
        fields,
        inputs: model.inputs.clone(),
        price: price(&model, &effective, &values),
        model,
        prompt,
        negative_prompt,
        balance,
        standing,
        error: error.or(picked.notice),
        reuse,
        recent,
        source,
        board,
    };
    render(req, status, &page)
}

pub async fn show(req: HttpRequest, who: SignedIn, query: web::Query<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let mut query = query.into_inner();
    let refs = prefill(&state, &who.user, &mut query).await?;
    let reuse = reused(&state, &who.user, refs).await?;
    let picked = pick(&state, &who.user, query.get("model").map(String::as_str), &crate::http::lang::tr(&req)).await?;
    let mut prompt = query.get("prompt").cloned().unwrap_or_default();
    if prompt.is_empty()
        && let Some(source) = query.get("source").and_then(|s| s.parse().ok())
        && let Ok(g) = generations::get(&state, &who.user, source).await
    {
        // working on an earlier output starts from its prompt (an enhance keeps it as it is)
        prompt = g.prompt;
    }
    let negative = query.get("negative_prompt").cloned().unwrap_or_default();
    let carried = (query.get("source"), query.get("board"));
    page(&req, &who, picked, prompt, negative, param_values(&query), reuse, carried, &query, None, StatusCode::OK).await
}

/// The price line, recomputed as the form changes (htmx).
pub async fn price_line(req: HttpRequest, who: SignedIn, query: web::Query<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let chosen = pick(&state, &who.user, query.get("model").map(String::as_str), &crate::http::lang::tr(&req)).await?.chosen;
    let credits = price(&chosen.spec, &chosen.price, &param_values(&query));
    let line = crate::http::lang::tr(&req).t_args("generate-price-credits", &[("price", credits.to_string().into())]);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(askama::filters::escape(line, askama::filters::Html).map(|e| e.to_string()).unwrap_or_default()))
}

/// The generate form: its fields, and a reference file per role (`ref_first_frame` …).
const FORM: Expected = Expected { fields: Fields::Any, files: &REFERENCE_FILES, max_files: REFERENCE_FILES.len() };
/// The file inputs of the generate form, one per reference role.
const REFERENCE_FILES: [&str; 7] = [
    "ref_first_frame",
    "ref_last_frame",
    "ref_reference",
    "ref_reference_video",
    "ref_reference_audio",
    "ref_driving_audio",
    "ref_source_video",
];

pub async fn submit(req: HttpRequest, who: SignedIn, payload: Multipart) -> PageResult {
    let state = state(&req)?;
    let mut form = multipart::Reader::new(payload, FORM, state.config.limits.largest_upload());
    let mut fields = BTreeMap::new();
    // each file is cleaned and stored as it arrives; after a refused one the rest are dropped
    let mut uploaded: Result<Vec<(ReferenceRole, AssetId)>, ServiceError> = Ok(Vec::new());
    while let Some(part) = form.next().await? {
        match part {
            multipart::Part::Text { name, value } => {
                fields.insert(name, value);
            }
            multipart::Part::File(file) => {
                if let Ok(references) = &mut uploaded {
                    let role = ReferenceRole::parse(file.field.strip_prefix("ref_").unwrap_or(&file.field));
                    let stored = match role {
                        Ok(role) => uploads::upload_reference(&state, &who.user, role, file.bytes).await,
                        Err(e) => Err(e.into()),
                    };
                    match stored {
                        Ok(reference) => references.push(reference),
                        Err(e) => uploaded = Err(e),
                    }
                }
            }
        }
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let requested = get("model");
    let values = form_params(&fields);
    let (prompt, negative) = (get("prompt"), get("negative_prompt"));
    let result = async {
        let mut references = uploaded?;
        for (role, upload) in reuse_fields(&fields) {
            if !references.iter().any(|(r, _)| *r == role) {
                references.push((role, upload));
            }
        }
        let params = values.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        let source = match fields.get("source").map(|s| s.trim()).filter(|s| !s.is_empty()) {
            Some(id) => Some(id.parse().map_err(|_| ServiceError::from(InputError::on("source", "source must be a generation id")))?),
            None => None,
        };
        let mut request = NewGeneration {
            model: requested.clone(),
            prompt: prompt.clone(),
            negative_prompt: Some(negative.clone()),
            params,
            references,
            source,
            awaited: false,
            tags: Default::default(),
            id: None,
            hands_over_outputs: false,
            board: match fields.get("board").map(|b| b.trim()).filter(|b| !b.is_empty()) {
                Some(id) => Some(id.parse().map_err(|_| ServiceError::NotFound("board"))?),
                None => None,
            },
        };
        crate::services::studio::cast::apply(&state, &who.user, &mut request, &library_picks::picked_cast(&fields)).await?;
        generations::submit(&state, &who.ctx(), &who.user, request).await
    }
    .await;
    let script = result::from_script(&req);
    match result {
        Ok(g) if script => Ok(result::cards_answer(&state, &who.user, result::cards(&req, &state, &[g])).await),
        Ok(g) => match fields.get("board").and_then(|b| b.trim().parse::<crate::domain::ids::BoardId>().ok()) {
            // made for a board: back to the board, where it now is
            Some(board) => Ok(redirect(&state.urls().board(board))),
            None => Ok(redirect(&state.urls().generation(g.id))),
        },
        Err(e) if shown_on_form(&e) => {
            let error = AppError::from(e);
            if script {
                return Ok(result::error(&error, &crate::http::lang::tr(&req)));
            }
            let values = values.into_iter().collect();
            let picked = pick(&state, &who.user, Some(&requested), &crate::http::lang::tr(&req)).await?;
            let reuse = reused(&state, &who.user, reuse_fields(&fields)).await?;
            let carried = (fields.get("source"), fields.get("board"));
            page(
                &req,
                &who,
                picked,
                prompt,
                negative,
                values,
                reuse,
                carried,
                &fields,
                Some(crate::http::responses::error_text(&crate::http::lang::tr(&req), &error)),
                error.status,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the form shows `e` next to itself (the person can fix it), rather than as an
/// error page.
fn shown_on_form(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Invalid(_)
            | ServiceError::ModelRule(_)
            | ServiceError::InvalidMessage(_)
            | ServiceError::Credits(_)
            | ServiceError::TooLarge(_)
            | ServiceError::Busy { .. }
            | ServiceError::NotFound(_)
            | ServiceError::UnknownModel(_)
            | ServiceError::ModelDisabled { .. }
    )
}
