//! The dry run: each manifest row checked and priced exactly as a submit would do it
//! ([`generations::prepare`]), its reference files stored as the person's uploads once each.

use std::collections::{BTreeMap, HashMap};

use crate::domain::batch::{BatchRow, RowRequest, RowState};
use crate::domain::catalog::ReferenceRole;
use crate::domain::ids::{AssetId, PresetId};
use crate::domain::user::User;
use crate::services::state::AppState;
use crate::services::studio::generations::{self, NewGeneration};
use crate::services::studio::uploads;
use crate::services::{ServiceError, ServiceResult};

use super::manifest::ManifestRow;

/// The reference files of a ZIP, stored as uploads the first time a row names them.
pub struct ZipFiles {
    files: BTreeMap<String, Vec<u8>>,
    stored: HashMap<String, Result<AssetId, String>>,
}

impl ZipFiles {
    pub fn new(files: BTreeMap<String, Vec<u8>>) -> ZipFiles {
        ZipFiles { files, stored: HashMap::new() }
    }

    /// The upload a file of the ZIP became (stored now if it was not yet), `None` when the
    /// ZIP has no such file; `Err` with the reason when it is no usable reference.
    async fn upload(&mut self, state: &AppState, user: &User, name: &str) -> Option<Result<AssetId, String>> {
        if let Some(done) = self.stored.get(name) {
            return Some(done.clone());
        }
        let bytes = self.files.remove(name)?;
        let result = uploads::upload(state, user, bytes).await.map(|a| a.id).map_err(|e| format!("{name}: {e}"));
        self.stored.insert(name.to_string(), result.clone());
        Some(result)
    }
}

/// Checks and prices one row: a valid row keeps what it submits and its price, an invalid
/// one the reason.
pub async fn check_row(state: &AppState, user: &User, row: ManifestRow, zip: &mut ZipFiles) -> BatchRow {
    let number = row.number;
    match resolve(state, user, row, zip).await {
        Ok((request, price)) => {
            BatchRow { number, state: RowState::Pending, request: Some(request), price, error: None, generation: None, cost: None }
        }
        Err(reason) => {
            BatchRow { number, state: RowState::Invalid, request: None, price: 0, error: Some(reason), generation: None, cost: None }
        }
    }
}

async fn resolve(state: &AppState, user: &User, row: ManifestRow, zip: &mut ZipFiles) -> Result<(RowRequest, u64), String> {
    if let Some(error) = row.error {
        return Err(error);
    }
    let mut request = match &row.preset {
        Some(preset) => {
            let id: PresetId = preset.parse().map_err(|_| format!("{preset:?} is not a preset id"))?;
            let from_preset = from_preset(state, user, id, &row.values).await.map_err(|e| e.to_string())?;
            if row.model.as_ref().is_some_and(|m| *m != from_preset.model) {
                return Err(format!("the preset generates with {}; leave `model` empty or name that model", from_preset.model));
            }
            if row.prompt.is_some() {
                return Err("a preset row takes its prompt from the preset: fill its placeholders with `value.<name>`".into());
            }
            from_preset
        }
        None => {
            if !row.values.is_empty() {
                return Err("placeholder values need a `preset`".into());
            }
            let model = row.model.clone().ok_or("name a model")?;
            NewGeneration { model, prompt: row.prompt.clone().unwrap_or_default(), ..NewGeneration::default() }
        }
    };
    if row.negative_prompt.is_some() {
        request.negative_prompt = row.negative_prompt.clone();
    }
    request.params.extend(row.params.clone());
    let default_role = default_role(state, &request.model);
    for item in &row.references {
        let (role, name) = match item.split_once(':') {
            Some((role, name)) => (ReferenceRole::parse(role.trim()).map_err(|e| format!("{item}: {e}"))?, name.trim()),
            None => (default_role, item.as_str()),
        };
        let upload = match zip.upload(state, user, name).await {
            Some(result) => result?,
            None => name
                .parse::<AssetId>()
                .map_err(|_| format!("missing reference file {name:?}: it is neither in the ZIP nor an upload id"))?,
        };
        request.references.push((role, upload));
    }
    let prepared = generations::prepare(state, user, request.clone()).await.map_err(|e| reason(&e))?;
    let params = request.params.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    let stored = RowRequest {
        model: request.model,
        prompt: request.prompt,
        negative_prompt: request.negative_prompt,
        params,
        references: request.references,
        tags: request.tags,
    };
    Ok((stored, prepared.cost))
}

/// A refusal as a row shows it.
fn reason(e: &ServiceError) -> String {
    match e {
        ServiceError::NotFound("upload") => "a reference is not one of your uploads".into(),
        other => other.to_string(),
    }
}

/// The role of a reference named without one: the model's first input, else `reference`.
fn default_role(state: &AppState, model: &str) -> ReferenceRole {
    state
        .registry()
        .model(model)
        .and_then(|m| m.inputs.iter().map(|i| i.role).find(|r| *r != ReferenceRole::SourceVideo))
        .unwrap_or(ReferenceRole::Reference)
}

/// The request a preset row makes, its placeholders filled.
async fn from_preset(state: &AppState, user: &User, id: PresetId, values: &BTreeMap<String, String>) -> ServiceResult<NewGeneration> {
    crate::services::studio::presets::prepare(state, user, id, values).await
}

/// What a stored row submits, as a request for `generations::submit`.
pub fn to_request(row: &RowRequest) -> NewGeneration {
    NewGeneration {
        model: row.model.clone(),
        prompt: row.prompt.clone(),
        negative_prompt: row.negative_prompt.clone(),
        params: row
            .params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.clone()))))
            .collect(),
        references: row.references.clone(),
        tags: row.tags.clone(),
        ..NewGeneration::default()
    }
}
