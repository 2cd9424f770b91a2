//! Presets of a person or a board: save (checked against the catalog as a submit is), change,
//! delete, list, the catalog's word on their model (retired: its successor), and the request
//! that generating from one makes once its placeholders are filled.

use std::collections::BTreeMap;

use crate::domain::audit::AuditAction;
use crate::domain::board::Owner;
use crate::domain::cast::{self as cast_rules, CastMember};
use crate::domain::catalog::{CatalogDate, Status};
use crate::domain::catalog::{InputError, ModelSpec, ParamValue, Params, ReferenceRole};
use crate::domain::generation::Reference;
use crate::domain::ids::{AssetId, CastId, PresetId};
use crate::domain::preset::{self, Preset, Template};
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::studio::generations::NewGeneration;
use crate::services::studio::ownership::{self, Access};
use crate::services::studio::{cast, media, models};
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// What a save or an edit gives (on an edit, `None` leaves a field as it is).
#[derive(Debug, Clone, Default)]
pub struct PresetInput {
    /// Who owns it (only on create; the caller when absent).
    pub owner: Option<Owner>,
    pub name: Option<String>,
    pub model: Option<String>,
    /// The parameters by name (numbers or words); those left out take their defaults.
    pub params: Option<BTreeMap<String, serde_json::Value>>,
    pub prompt_template: Option<String>,
    /// `Some(None)` (or an empty text) removes the negative prompt.
    pub negative_prompt: Option<Option<String>>,
    /// Reference uploads by role (the caller's, or ones the preset already had).
    pub references: Option<Vec<(ReferenceRole, AssetId)>>,
    pub cast: Option<Vec<CastId>>,
}

/// One preset with what the caller may do with it.
#[derive(Debug, Clone)]
pub struct Visible {
    pub preset: Preset,
    pub access: Access,
}

/// The catalog's word on a preset's model today.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// Why it cannot be used any more (retired, or gone from the catalog), naming the successor.
    pub retired: Option<String>,
    /// The warning while it is deprecated.
    pub warning: Option<String>,
    /// The successor the catalog names, by id, when it has one.
    pub successor: Option<String>,
}

const WHAT: &str = "preset";

/// Saves a new preset, checked against the catalog; audited as `preset.created`.
pub async fn create(state: &AppState, ctx: &Context, user: &User, input: PresetInput) -> ServiceResult<Preset> {
    crate::services::privacy::restriction::ensure_not_frozen(user)?;
    let owner = input.owner.unwrap_or(Owner::Person(user.id));
    ownership::ensure_can_change(state, user, owner, WHAT).await?;
    let now = Timestamp::now();
    let draft = Preset {
        id: PresetId::generate(),
        owner,
        created_by: user.id,
        name: String::new(),
        model: String::new(),
        params: Params::new(),
        prompt_template: String::new(),
        negative_prompt: None,
        references: Vec::new(),
        cast: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    let preset = apply_input(state, user, draft, input).await?;
    let (stored, ctx) = (preset.clone(), ctx.clone());
    state
        .store
        .write(move |tx| {
            check_cast_exists(tx, &stored)?;
            store::presets::put(tx, &stored, None)?;
            let detail = format!("preset {:?} for {}", stored.name, stored.model);
            audit::record(tx, &ctx, AuditAction::PresetCreated, Some(stored.id.to_string()), Some(detail)).map_err(ServiceError::from)
        })
        .await?;
    Ok(preset)
}

/// Changes a preset the caller may change (a board's viewer: 403), checked as on create.
pub async fn update(state: &AppState, user: &User, id: PresetId, input: PresetInput) -> ServiceResult<Preset> {
    let current = changeable(state, user, id).await?;
    let mut preset = apply_input(state, user, current.clone(), PresetInput { owner: None, ..input }).await?;
    preset.updated_at = Timestamp::now();
    store_change(state, preset).await
}

/// Moves a preset whose model is retired (or deprecated) to the successor the catalog names:
/// the parameters the successor also takes are kept, the others dropped; checked as a save.
pub async fn use_successor(state: &AppState, user: &User, id: PresetId) -> ServiceResult<Preset> {
    let current = changeable(state, user, id).await?;
    let successor = standing(state, &current)
        .successor
        .ok_or_else(|| ServiceError::InvalidMessage(format!("the catalog names no successor to {}", current.model)))?;
    let spec = state.registry().model(&successor).cloned().ok_or_else(|| ServiceError::UnknownModel(successor.clone()))?;
    let params: BTreeMap<String, serde_json::Value> = current
        .params
        .iter()
        .filter(|(name, value)| spec.params.iter().any(|p| &p.name == *name) && spec.resolve_params(&one(name, value), 0).is_ok())
        .map(|(name, value)| (name.clone(), value.to_json()))
        .collect();
    let input = PresetInput { model: Some(successor), params: Some(params), ..PresetInput::default() };
    let mut preset = apply_input(state, user, current, input).await?;
    preset.updated_at = Timestamp::now();
    store_change(state, preset).await
}

fn one(name: &str, value: &ParamValue) -> BTreeMap<String, serde_json::Value> {
    BTreeMap::from([(name.to_string(), value.to_json())])
}

/// Writes a changed preset over the stored one (a concurrent delete wins).
async fn store_change(state: &AppState, preset: Preset) -> ServiceResult<Preset> {
    let stored = preset.clone();
    state
        .store
        .write(move |tx| {
            let Some(previous) = store::presets::get(tx, stored.id)? else { return Err(ServiceError::NotFound(WHAT)) };
            check_cast_exists(tx, &stored)?;
            store::presets::put(tx, &stored, Some(&previous)).map_err(ServiceError::from)
        })
        .await?;
    Ok(preset)
}

/// A cast member deleted since the save was checked is not found.
fn check_cast_exists(tx: &redb::WriteTransaction, preset: &Preset) -> ServiceResult<()> {
    if store::cast::get_many(tx, &preset.cast)?.len() != preset.cast.len() {
        return Err(ServiceError::NotFound("cast member"));
    }
    Ok(())
}

/// Deletes a preset the caller may change; audited as `preset.deleted`. Its uploads stop
/// being held and follow the upload class; its cast members stay.
pub async fn delete(state: &AppState, ctx: &Context, user: &User, id: PresetId) -> ServiceResult<()> {
    changeable(state, user, id).await?;
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let Some(preset) = store::presets::get(tx, id)? else { return Err(ServiceError::NotFound(WHAT)) };
            store::presets::remove(tx, &preset)?;
            audit::record(tx, &ctx, AuditAction::PresetDeleted, Some(id.to_string()), Some(format!("preset {:?}", preset.name)))?;
            Ok(())
        })
        .await
}

/// A preset the caller may see (theirs, or a board's they are a member of).
pub async fn get(state: &AppState, user: &User, id: PresetId) -> ServiceResult<Visible> {
    let preset = state.store.read(move |tx| store::presets::get(tx, id)).await?.ok_or(ServiceError::NotFound(WHAT))?;
    let access = ownership::access(state, user, preset.owner, WHAT).await?;
    Ok(Visible { preset, access })
}

async fn changeable(state: &AppState, user: &User, id: PresetId) -> ServiceResult<Preset> {
    let current = get(state, user, id).await?;
    if !current.access.can_change() {
        return Err(ServiceError::NotEditor);
    }
    Ok(current.preset)
}

/// The caller's presets and those of every board they are a member of, oldest first within each.
pub async fn list(state: &AppState, user: &User) -> ServiceResult<Vec<Visible>> {
    let me = user.id;
    let (mine, boards) = state
        .store
        .read(move |tx| Ok::<_, ServiceError>((store::presets::list_for_owner(tx, Owner::Person(me))?, store::presets::boards(tx)?)))
        .await?;
    let mut out: Vec<Visible> = mine.into_iter().map(|preset| Visible { preset, access: Access::Change }).collect();
    for board in boards {
        let Ok(access) = ownership::access(state, user, Owner::Board(board), WHAT).await else { continue };
        let presets = state.store.read(move |tx| store::presets::list_for_owner(tx, Owner::Board(board))).await?;
        out.extend(presets.into_iter().map(|preset| Visible { preset, access }));
    }
    Ok(out)
}

/// The placeholders of a stored preset's template, in order.
pub fn placeholders(preset: &Preset) -> Vec<String> {
    Template::parse(&preset.prompt_template).map(|t| t.placeholders()).unwrap_or_default()
}

/// What the catalog says today of a preset's model: retired (with the successor), deprecated
/// (a warning), or nothing.
pub fn standing(state: &AppState, preset: &Preset) -> Standing {
    let registry = state.registry();
    let Some(spec) = registry.model(&preset.model) else {
        return Standing { retired: Some(format!("The catalog has no model {} any more.", preset.model)), ..Standing::default() };
    };
    let today = CatalogDate::today();
    let life = &spec.lifecycle;
    let successor = life.successor.clone().filter(|s| registry.model(s).is_some());
    let successor_label = successor.as_deref().and_then(|s| registry.model(s)).map(|m| m.label.clone());
    match life.status_on(today) {
        Status::Retired => Standing { retired: life.retirement(today, successor_label.as_deref()), warning: None, successor },
        Status::Deprecated => Standing { retired: None, warning: life.warning(today), successor },
        _ => Standing::default(),
    }
}

/// The generation that generating from a preset the caller may use makes, with every
/// placeholder filled from `values` (422 naming a missing one). References of a teammate's are
/// copied as the caller's; cast members become references of the model. The caller submits it.
pub async fn prepare(state: &AppState, user: &User, id: PresetId, values: &BTreeMap<String, String>) -> ServiceResult<NewGeneration> {
    let preset = get(state, user, id).await?.preset;
    let standing = standing(state, &preset);
    if let Some(why) = standing.retired {
        return Err(ServiceError::ModelDisabled { model: preset.model.clone(), reason: why });
    }
    let prompt = Template::parse(&preset.prompt_template)?.fill(values)?;
    let references = preset.references.iter().map(|r| (r.role, r.upload)).collect();
    let mut request = NewGeneration {
        model: preset.model.clone(),
        prompt,
        negative_prompt: preset.negative_prompt.clone(),
        params: preset.params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
        references: cast::own_copies(state, user, references).await?,
        ..NewGeneration::default()
    };
    cast::apply(state, user, &mut request, &preset.cast).await?;
    Ok(request)
}

/// `preset` with `input` applied and the whole checked against the catalog and the caller's
/// rights: the model usable by the caller, its parameters, template, negative prompt and
/// references (uploads and cast) as a submit checks them.
async fn apply_input(state: &AppState, user: &User, mut preset: Preset, input: PresetInput) -> ServiceResult<Preset> {
    if let Some(name) = input.name {
        preset.name = name;
    }
    preset.name = preset::check_name(&preset.name)?;
    if let Some(model) = input.model {
        preset.model = model.trim().to_string();
    }
    let offer = models::offer(state, user, &preset.model).await?;
    offer.check()?;
    let spec = offer.spec.clone();
    if let Some(params) = input.params {
        preset.params = param_values(&params)?;
    }
    let raw: BTreeMap<String, serde_json::Value> = preset.params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
    spec.resolve_params(&raw, 0)?;
    if let Some(template) = input.prompt_template {
        preset.prompt_template = template.trim().to_string();
    }
    check_template(&spec, &preset.prompt_template)?;
    if let Some(negative) = input.negative_prompt {
        preset.negative_prompt = negative.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    }
    if let Some(n) = &preset.negative_prompt {
        if !spec.negative_prompt {
            return Err(InputError::on("negative_prompt", format!("{} does not take a negative prompt", spec.id)).into());
        }
        if n.chars().count() > spec.max_prompt_chars {
            return Err(InputError::on(
                "negative_prompt",
                format!("the negative prompt is longer than {} characters", spec.max_prompt_chars),
            )
            .into());
        }
    }
    let had: Vec<AssetId> = preset.references.iter().map(|r| r.upload).collect();
    if let Some(references) = input.references {
        preset.references = references.into_iter().map(|(role, upload)| Reference { role, upload, tag: None }).collect();
    }
    if let Some(ids) = input.cast {
        preset.cast = Vec::new();
        for id in ids {
            if !preset.cast.contains(&id) {
                preset.cast.push(id);
            }
        }
    }
    let members = cast::picked(state, user, &preset.cast).await?;
    check_cast_owners(&preset, &members)?;
    check_references(state, user, &spec, &preset, &members, &had).await?;
    Ok(preset)
}

/// A template that parses, is not blank, and whose fixed text fits the model's prompt limit.
fn check_template(spec: &ModelSpec, text: &str) -> ServiceResult<()> {
    Template::parse(text)?;
    if text.trim().is_empty() {
        return Err(InputError::on("prompt_template", "write a prompt template").into());
    }
    if text.chars().count() > spec.max_prompt_chars {
        return Err(InputError::on("prompt_template", format!("the template is longer than {} characters", spec.max_prompt_chars)).into());
    }
    Ok(())
}

/// A board's preset may use only that board's cast (its members could not use anyone
/// else's); a person's may use their own and their boards'.
fn check_cast_owners(preset: &Preset, members: &[CastMember]) -> ServiceResult<()> {
    if let Owner::Board(board) = preset.owner
        && let Some(other) = members.iter().find(|m| m.owner != Owner::Board(board))
    {
        return Err(
            InputError::on("cast", format!("a board's preset may use only the board's cast; {:?} is not the board's", other.name)).into()
        );
    }
    Ok(())
}

/// The preset's uploads are the caller's (or were already the preset's) reference files, and
/// with the cast's files they fit the model's inputs.
async fn check_references(
    state: &AppState,
    user: &User,
    spec: &ModelSpec,
    preset: &Preset,
    members: &[CastMember],
    had: &[AssetId],
) -> ServiceResult<()> {
    let given: Vec<(ReferenceRole, AssetId)> = preset.references.iter().map(|r| (r.role, r.upload)).collect();
    let from_cast = cast_rules::references(spec, members, &given)?;
    let all: Vec<(ReferenceRole, AssetId)> = given.iter().copied().chain(from_cast).collect();
    let assets = media::assets(state, all.iter().map(|(_, id)| *id).collect()).await?;
    let mut typed = Vec::with_capacity(all.len());
    for (n, (role, id)) in all.iter().enumerate() {
        let own_or_kept = |a: &&crate::domain::asset::Asset| n >= given.len() || a.owner == user.id || had.contains(id);
        let asset =
            assets.iter().filter(own_or_kept).find(|a| a.id == *id && a.usable_as_reference()).ok_or(ServiceError::NotFound("upload"))?;
        typed.push((*role, Some(asset.content_type.as_str())));
    }
    spec.check_inputs(&typed)?;
    Ok(())
}

/// Parameters as JSON (numbers or words) in the stored form.
fn param_values(raw: &BTreeMap<String, serde_json::Value>) -> ServiceResult<Params> {
    let mut out = Params::new();
    for (name, value) in raw {
        let stored = match value {
            serde_json::Value::Number(n) => n.as_i64().map(ParamValue::Int),
            serde_json::Value::String(s) => Some(ParamValue::Text(s.clone())),
            _ => None,
        };
        let stored = stored.ok_or_else(|| InputError::on(format!("params.{name}"), "a parameter is a whole number or a word"))?;
        out.insert(name.clone(), stored);
    }
    Ok(out)
}
