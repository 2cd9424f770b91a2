//! What the generate form offers from the person's library: the cast picker (members whose
//! images become the chosen model's references, or the sentence why the model takes none)
//! and the preset picker (a preset's placeholders as fields, generating from it).

use std::collections::BTreeMap;

use crate::domain::cast::takes_cast;
use crate::domain::catalog::ModelSpec;
use crate::domain::ids::{CastId, PresetId};
use crate::domain::user::User;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::services::state::AppState;
use crate::services::studio::{cast, media, presets};

/// One cast member in the picker.
pub struct CastChoice {
    pub id: String,
    pub name: String,
    /// A signed link to its first image.
    pub thumb: Option<String>,
    pub checked: bool,
}

/// One preset in the picker.
pub struct PresetChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// The preset picked, with its placeholders as fields.
pub struct FromPreset {
    pub name: String,
    pub model: String,
    /// Where the filled form is posted.
    pub action: String,
    /// (placeholder, value given so far).
    pub fields: Vec<(String, String)>,
    /// Why its model cannot be used any more (the list offers the successor).
    pub retired: Option<String>,
}

/// What the generate form offers from the library.
#[derive(Default)]
pub struct Picks {
    pub cast: Vec<CastChoice>,
    /// Why the chosen model takes no cast member (the picker is disabled and says so).
    pub cast_refused: Option<String>,
    pub presets: Vec<PresetChoice>,
    pub from_preset: Option<FromPreset>,
}

/// The cast members a form's `cast_<id>` fields pick.
pub fn picked_cast(fields: &BTreeMap<String, String>) -> Vec<CastId> {
    fields.iter().filter(|(_, v)| !v.is_empty()).filter_map(|(k, _)| k.strip_prefix("cast_")?.parse().ok()).collect()
}

/// The picks for `model`, with the cast members `checked` and the preset `?preset=` names
/// (its placeholders filled from `value_<name>` fields).
pub async fn picks(state: &AppState, user: &User, model: &ModelSpec, query: &BTreeMap<String, String>, tr: &Tr) -> Result<Picks, AppError> {
    let checked = picked_cast(query);
    let mut out = Picks::default();
    for v in cast::list(state, user).await? {
        let thumb = match v.member.images.first() {
            Some(id) => media::assets(state, vec![*id]).await?.first().map(|a| media::signed_path(state, a)),
            None => None,
        };
        out.cast.push(CastChoice {
            id: v.member.id.to_string(),
            name: v.member.name.clone(),
            thumb,
            checked: checked.contains(&v.member.id),
        });
    }
    if !takes_cast(model) {
        out.cast_refused = Some(tr.t_args("generate-cast-refused", &[("model", model.label.clone().into())]));
    }
    let asked: Option<PresetId> = query.get("preset").and_then(|p| p.parse().ok());
    for v in presets::list(state, user).await? {
        let selected = asked == Some(v.preset.id);
        if selected {
            out.from_preset = Some(FromPreset {
                name: v.preset.name.clone(),
                model: v.preset.model.clone(),
                action: state.urls().preset_generate(v.preset.id),
                fields: presets::placeholders(&v.preset)
                    .into_iter()
                    .map(|name| {
                        let value = query.get(&format!("value_{name}")).cloned().unwrap_or_default();
                        (name, value)
                    })
                    .collect(),
                retired: presets::standing(state, &v.preset).retired,
            });
        }
        out.presets.push(PresetChoice { id: v.preset.id.to_string(), name: v.preset.name.clone(), selected });
    }
    Ok(out)
}
