//! OpenRouter's `GET /videos/models` list as catalog entries: one whole video entry per model,
//! its parameters only from the lists the API gives, read tolerantly (an odd value is left
//! out, an odd model skipped and logged, never the whole list refused).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::domain::catalog::{
    InputEntry, MediaKind, ModelEntry, ParamKind, ParamSpec, Price, PriceRule, PriceUnit, ReferenceRole, Sound, Status,
};
use crate::providers::usage;

/// The provider kind of discovered entries, and their id prefix.
const KIND: &str = "openrouter";

/// The per-second rate (credits, 1 credit = 1 US cent) of a model whose `pricing_skus` cannot
/// be read: UNCONFIRMED, said so in the description; admins can edit it.
const DEFAULT_CENTS_PER_SECOND: u64 = 30;

/// The longest id the catalog takes.
const MAX_ID: usize = 80;

/// The catalog id of OpenRouter model `slug`: `openrouter-<slug>`, lower-cased, every
/// character outside `[a-z0-9._-]` made `-`, at most 80 characters in all.
pub fn discovered_id(slug: &str) -> String {
    let cleaned: String = slug
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c) { c } else { '-' })
        .collect();
    format!("{KIND}-{cleaned}").chars().take(MAX_ID).collect()
}

/// The entries of a `{data: [VideoModel…]}` answer; models without an id, or whose entry the
/// catalog would refuse, are skipped with a warning (as is a second model with the same id).
pub fn entries_from(list: &Value) -> Vec<ModelEntry> {
    let mut entries: Vec<ModelEntry> = Vec::new();
    for model in list.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let Some(entry) = entry_of(model) else {
            let id = model.get("id").map(Value::to_string).unwrap_or_default();
            tracing::warn!(model = %id, "an OpenRouter video model without a usable id is skipped");
            continue;
        };
        if let Err(e) = entry.apply(None) {
            tracing::warn!(model = %entry.id, field = %e.field, "an OpenRouter video model is skipped: {}", e.message);
            continue;
        }
        if entries.iter().any(|e| e.id == entry.id) {
            tracing::warn!(model = %entry.id, "a second OpenRouter video model with this catalog id is skipped");
            continue;
        }
        entries.push(entry);
    }
    entries
}

/// The entry of one model (`None` without an id).
fn entry_of(model: &Value) -> Option<ModelEntry> {
    let upstream = model.get("id").and_then(Value::as_str).map(str::trim).filter(|id| !id.is_empty())?;
    let name = model.get("name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty()).unwrap_or(upstream);
    let label: String = name.chars().take(120).collect();
    let resolutions = words(model.get("supported_resolutions"));
    let ratios = words(model.get("supported_aspect_ratios"));
    let durations = seconds(model.get("supported_durations"));
    let audio = model.get("generate_audio").and_then(Value::as_bool) == Some(true);
    let mut params = Vec::new();
    if !durations.is_empty() {
        let default = if durations.contains(&5) { 5 } else { durations[0] };
        params.push(param("duration", "Duration (seconds)", ParamKind::Number { values: durations, default }));
    }
    if let Some(kind) = choice(&resolutions, "720p") {
        params.push(param("resolution", "Resolution", kind));
    }
    if let Some(kind) = choice(&ratios, "16:9") {
        params.push(param("aspect_ratio", "Aspect ratio", kind));
    }
    if model.get("seed").and_then(Value::as_bool) == Some(true) {
        params.push(param("seed", "Seed", ParamKind::Seed));
    }
    if audio {
        params.push(param("audio", "Sound", ParamKind::Choice { values: vec!["off".into(), "on".into()], default: "on".into() }));
    }
    let (price, read) = match price_of(model.get("pricing_skus"), &resolutions) {
        Some(price) => (price, "price read from OpenRouter's pricing (its shape is UNCONFIRMED)"),
        None => (Price::flat(PriceUnit::Second, DEFAULT_CENTS_PER_SECOND), "price UNCONFIRMED"),
    };
    Some(ModelEntry {
        id: discovered_id(upstream),
        label: Some(label),
        provider: Some(KIND.into()),
        kind: Some(MediaKind::Video),
        upstream: Some(upstream.to_string()),
        description: Some(format!(
            "{name} through OpenRouter's Video API, with the values OpenRouter lists for it; {read}; admins can edit it."
        )),
        sound: audio.then_some(Sound::Optional),
        inputs: Some(frame_inputs(model.get("supported_frame_images"))).filter(|i| !i.is_empty()),
        params: Some(params).filter(|p| !p.is_empty()),
        price: Some(price),
        status: Some(Status::Preview),
        ..ModelEntry::default()
    })
}

fn param(name: &str, label: &str, kind: ParamKind) -> ParamSpec {
    ParamSpec { name: name.into(), label: label.into(), kind }
}

/// A choice of `values`, defaulting to `preferred` when listed (else the first).
fn choice(values: &[String], preferred: &str) -> Option<ParamKind> {
    let first = values.first()?;
    let default = if values.iter().any(|v| v == preferred) { preferred.to_string() } else { first.clone() };
    Some(ParamKind::Choice { values: values.to_vec(), default })
}

/// The short, distinct words of a list (other items left out).
fn words(list: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in list.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::trim) {
        if (1..=20).contains(&word.len()) && !word.chars().any(char::is_control) && !out.iter().any(|w| w == word) {
            out.push(word.to_string());
        }
    }
    out
}

/// The whole seconds of a duration list (`5`, `5.0`, `"5"`, `"5s"`), distinct and sorted;
/// other items left out.
fn seconds(list: Option<&Value>) -> Vec<i64> {
    let mut out: Vec<i64> = list
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| match v {
            Value::String(s) => usage::number(Some(&Value::String(s.trim().trim_end_matches('s').to_string()))),
            other => usage::number(Some(other)),
        })
        .filter(|n| n.fract() == 0.0 && (1.0..=600.0).contains(n))
        .map(|n| n as i64)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// First and last frames as `supported_frame_images` names them (a list of frame types;
/// `true` alone means a first frame). UNCONFIRMED shape.
fn frame_inputs(frames: Option<&Value>) -> Vec<InputEntry> {
    let input = |role| InputEntry { role, required: false, max: None, types: Vec::new() };
    match frames {
        Some(Value::Bool(true)) => vec![input(ReferenceRole::FirstFrame)],
        Some(Value::Array(list)) => {
            let named = |word: &str| list.iter().any(|v| v.as_str() == Some(word));
            [("first_frame", ReferenceRole::FirstFrame), ("last_frame", ReferenceRole::LastFrame)]
                .into_iter()
                .filter(|(word, _)| named(word))
                .map(|(_, role)| input(role))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A per-second price from `pricing_skus` (US dollars; UNCONFIRMED shape): an object of
/// `sku: price` or a list of `{sku|name|id, price|unit_price|cost}`. Only SKUs that speak of
/// seconds count; the dearest is the base rate (never under-charge), and a SKU naming one of
/// `resolutions` becomes that resolution's rule.
fn price_of(skus: Option<&Value>, resolutions: &[String]) -> Option<Price> {
    let pairs: Vec<(String, f64)> = match skus? {
        Value::Object(map) => map.iter().filter_map(|(sku, price)| Some((sku.clone(), usage::number(Some(price))?))).collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|item| {
                let name = ["sku", "name", "id", "unit"].iter().find_map(|k| item.get(*k).and_then(Value::as_str))?;
                let unit = item.get("unit").and_then(Value::as_str).unwrap_or_default();
                let price = ["price", "unit_price", "cost"].iter().find_map(|k| usage::number(item.get(*k)))?;
                Some((format!("{name} {unit}"), price))
            })
            .collect(),
        _ => return None,
    };
    let per_second: Vec<(String, u64)> = pairs
        .into_iter()
        .filter(|(sku, _)| sku.to_lowercase().contains("second"))
        .map(|(sku, usd)| (sku.to_lowercase(), (usd * 100.0).ceil().max(1.0) as u64))
        .collect();
    let credits = per_second.iter().map(|(_, c)| *c).max()?;
    let rules = resolutions
        .iter()
        .filter_map(|r| {
            let credits = per_second.iter().filter(|(sku, _)| sku.contains(&r.to_lowercase())).map(|(_, c)| *c).max()?;
            Some(PriceRule { when: BTreeMap::from([("resolution".to_string(), r.clone())]), credits })
        })
        .collect();
    Some(Price { per: PriceUnit::Second, credits, rules, minimum: 0 })
}
