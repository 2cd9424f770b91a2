//! The model catalog: what each model makes, which inputs and parameters it takes (and their
//! allowed values), its price rule, deadline and lifecycle. Models are data: the shipped files
//! under `catalog/` (see [`shipped`]), overridden by an imported catalog, `[[model]]` entries in
//! config and an admin's edits ([`Catalog::build_from`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::user::InvalidInput;

pub mod data_use;
mod entry;
mod in_force;
mod lifecycle;
mod operation;
mod price;
pub mod shipped;

pub use entry::{CatalogFile, InputEntry, ModelEntry};
pub use in_force::{Catalog, CatalogError, Layer, Located};
pub use lifecycle::{CatalogDate, Lifecycle, Status};
pub use operation::Operation;
pub use price::{Price, PriceRule, PriceUnit};

/// What a model produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }
}

/// How a reference (an uploaded image, video or sound) is used. New roles are appended:
/// stored generations name roles by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceRole {
    /// The image the video starts from.
    FirstFrame,
    /// The image the video ends on.
    LastFrame,
    /// An image the output should resemble (a character, a product, a style).
    Reference,
    /// A video whose motion, subject or look the output should follow.
    ReferenceVideo,
    /// A sound or voice the output should use.
    ReferenceAudio,
    /// Speech or music the video is driven by (lip sync, beat).
    DrivingAudio,
    /// The person's own earlier output video that the job extends, edits or enhances (see
    /// [`Operation`]).
    SourceVideo,
}

/// What kind of file a reference role takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMedia {
    Image,
    Video,
    Audio,
}

impl InputMedia {
    pub fn as_str(self) -> &'static str {
        match self {
            InputMedia::Image => "image",
            InputMedia::Video => "video",
            InputMedia::Audio => "audio",
        }
    }

    /// Whether a stored file of `content_type` is of this kind.
    pub fn accepts(self, content_type: &str) -> bool {
        content_type.starts_with(match self {
            InputMedia::Image => "image/",
            InputMedia::Video => "video/",
            InputMedia::Audio => "audio/",
        })
    }
}

impl ReferenceRole {
    pub const ALL: [ReferenceRole; 7] = [
        ReferenceRole::FirstFrame,
        ReferenceRole::LastFrame,
        ReferenceRole::Reference,
        ReferenceRole::ReferenceVideo,
        ReferenceRole::ReferenceAudio,
        ReferenceRole::DrivingAudio,
        ReferenceRole::SourceVideo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceRole::FirstFrame => "first_frame",
            ReferenceRole::LastFrame => "last_frame",
            ReferenceRole::Reference => "reference",
            ReferenceRole::ReferenceVideo => "reference_video",
            ReferenceRole::ReferenceAudio => "reference_audio",
            ReferenceRole::DrivingAudio => "driving_audio",
            ReferenceRole::SourceVideo => "source_video",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReferenceRole::FirstFrame => "First frame",
            ReferenceRole::LastFrame => "Last frame",
            ReferenceRole::Reference => "Reference image",
            ReferenceRole::ReferenceVideo => "Reference video",
            ReferenceRole::ReferenceAudio => "Reference audio",
            ReferenceRole::DrivingAudio => "Driving audio",
            ReferenceRole::SourceVideo => "Source video",
        }
    }

    /// The kind of file the role takes.
    pub fn media(self) -> InputMedia {
        match self {
            ReferenceRole::FirstFrame | ReferenceRole::LastFrame | ReferenceRole::Reference => InputMedia::Image,
            ReferenceRole::ReferenceVideo | ReferenceRole::SourceVideo => InputMedia::Video,
            ReferenceRole::ReferenceAudio | ReferenceRole::DrivingAudio => InputMedia::Audio,
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        ReferenceRole::ALL.into_iter().find(|r| r.as_str() == text).ok_or(InvalidInput(
            "a reference role must be first_frame, last_frame, reference, reference_video, reference_audio, driving_audio or source_video",
        ))
    }
}

/// A parameter value as stored: parameters are small integers or short words.
/// (Externally tagged: the store's codec is not self-describing.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamValue {
    Int(i64),
    Text(String),
}

impl ParamValue {
    /// The plain JSON form used by the API (`3`, `"16:9"`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::Int(n) => serde_json::Value::from(*n),
            ParamValue::Text(t) => serde_json::Value::from(t.as_str()),
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Int(n) => write!(f, "{n}"),
            ParamValue::Text(t) => f.write_str(t),
        }
    }
}

/// The values a parameter accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ParamKind {
    /// One of a list of words ("16:9").
    Choice { values: Vec<String>, default: String },
    /// One of a list of numbers (durations in seconds).
    Number { values: Vec<i64>, default: i64 },
    /// Any integer in a range.
    Range { min: i64, max: i64, default: i64 },
    /// An optional seed; a random one is chosen when absent.
    Seed,
}

/// One parameter of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: ParamKind,
}

/// One kind of reference a model takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputSpec {
    pub role: ReferenceRole,
    /// A submit without it is refused.
    pub required: bool,
    /// How many files of this role one generation may carry.
    pub max: u32,
    /// The file types it accepts (`image/png`, `audio/mpeg`); empty: every type uploads
    /// accept for the role's kind of file.
    pub types: Vec<String>,
}

impl InputSpec {
    /// Whether a stored file of `content_type` fits this input.
    pub fn accepts(&self, content_type: &str) -> bool {
        self.role.media().accepts(content_type) && (self.types.is_empty() || self.types.iter().any(|t| t == content_type))
    }
}

/// Whether a model's outputs have sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sound {
    /// Silent (and every image model).
    #[default]
    None,
    /// Always with sound.
    Always,
    /// The `audio` parameter (`off` / `on`) chooses.
    Optional,
}

impl Sound {
    pub fn as_str(self) -> &'static str {
        match self {
            Sound::None => "none",
            Sound::Always => "always",
            Sound::Optional => "optional",
        }
    }
}

/// A model as the catalog in force declares it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSpec {
    pub id: String,
    pub label: String,
    /// The connection kind that serves it ("demo", "kling", …).
    pub provider: String,
    pub kind: MediaKind,
    pub description: String,
    pub negative_prompt: bool,
    /// The references it takes, by role.
    pub inputs: Vec<InputSpec>,
    pub params: Vec<ParamSpec>,
    pub price: Price,
    #[serde(skip)]
    pub deadline: Duration,
    pub max_prompt_chars: usize,
    #[serde(skip)]
    pub max_output_bytes: u64,
    pub demo: bool,
    /// The model's name in the provider's API.
    pub upstream: String,
    /// Why the model cannot be used with any connection (it is listed so people learn why).
    pub unavailable: Option<String>,
    pub sound: Sound,
    pub lifecycle: Lifecycle,
    /// An admin hid it: it is offered to no one, but history keeps its name.
    pub hidden: bool,
    /// What it does with an earlier output, when it works on one (its `source_video` input).
    pub operation: Option<Operation>,
}

/// Parameters after validation: every declared parameter has a value.
pub type Params = BTreeMap<String, ParamValue>;

impl ModelSpec {
    /// Checks raw parameters against the spec and fills in defaults. Unknown parameters and
    /// values outside the allowed set are refused with a message naming them.
    pub fn resolve_params(&self, raw: &BTreeMap<String, serde_json::Value>, random_seed: i64) -> Result<Params, InputError> {
        if let Some(unknown) = raw.keys().find(|k| !self.params.iter().any(|p| p.name == **k)) {
            return Err(InputError::on(format!("params.{unknown}"), format!("{} does not take the parameter {unknown:?}", self.id)));
        }
        let mut out = Params::new();
        for spec in &self.params {
            let given = raw.get(&spec.name).filter(|v| !v.is_null() && v.as_str() != Some(""));
            let value = match (&spec.kind, given) {
                (ParamKind::Choice { default, .. }, None) => ParamValue::Text(default.clone()),
                (ParamKind::Choice { values, .. }, Some(v)) => {
                    let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    if !values.contains(&text) {
                        return Err(InputError::on(
                            format!("params.{}", spec.name),
                            format!("{} must be one of {}", spec.name, values.join(", ")),
                        ));
                    }
                    ParamValue::Text(text)
                }
                (ParamKind::Number { default, .. }, None) => ParamValue::Int(*default),
                (ParamKind::Number { values, .. }, Some(v)) => {
                    let n = as_int(v).filter(|n| values.contains(n)).ok_or_else(|| {
                        let list: Vec<String> = values.iter().map(i64::to_string).collect();
                        InputError::on(format!("params.{}", spec.name), format!("{} must be one of {}", spec.name, list.join(", ")))
                    })?;
                    ParamValue::Int(n)
                }
                (ParamKind::Range { default, .. }, None) => ParamValue::Int(*default),
                (ParamKind::Range { min, max, .. }, Some(v)) => {
                    let n = as_int(v).filter(|n| (*min..=*max).contains(n)).ok_or_else(|| {
                        InputError::on(format!("params.{}", spec.name), format!("{} must be a whole number from {min} to {max}", spec.name))
                    })?;
                    ParamValue::Int(n)
                }
                (ParamKind::Seed, None) => ParamValue::Int(random_seed),
                (ParamKind::Seed, Some(v)) => {
                    let n = as_int(v)
                        .filter(|n| (0..=u32::MAX as i64).contains(n))
                        .ok_or_else(|| InputError::on("params.seed", format!("seed must be a whole number from 0 to {}", u32::MAX)))?;
                    ParamValue::Int(n)
                }
            };
            out.insert(spec.name.clone(), value);
        }
        Ok(out)
    }

    /// How many outputs a generation with these parameters makes.
    pub fn output_count(&self, params: &Params) -> usize {
        match params.get("count") {
            Some(ParamValue::Int(n)) if *n > 0 => *n as usize,
            _ => 1,
        }
    }

    /// Whether it takes references of `role`.
    pub fn takes(&self, role: ReferenceRole) -> bool {
        self.input(role).is_some()
    }

    pub fn input(&self, role: ReferenceRole) -> Option<&InputSpec> {
        self.inputs.iter().find(|i| i.role == role)
    }

    /// Checks the references of a submit, given with the stored type of each file: every
    /// role is one the model takes, within its count, of a type it accepts, and every
    /// required input is there. The error names the field. A file whose type is not known
    /// (`None`) is checked for everything but its type.
    pub fn check_inputs(&self, given: &[(ReferenceRole, Option<&str>)]) -> Result<(), InputError> {
        for &(role, content_type) in given {
            let field = format!("references.{}", role.as_str());
            let Some(input) = self.input(role) else {
                let takes: Vec<&str> = self.inputs.iter().map(|i| i.role.as_str()).collect();
                let what = if takes.is_empty() { "no references".to_string() } else { takes.join(", ") };
                return Err(InputError {
                    field,
                    message: format!("the model {} does not take a {}; it takes {what}", self.id, role.label().to_lowercase()),
                });
            };
            if let Some(content_type) = content_type
                && !input.accepts(content_type)
            {
                let wanted = if input.types.is_empty() { format!("an {} file", role.media().as_str()) } else { input.types.join(", ") };
                return Err(InputError {
                    field,
                    message: format!("the {} must be {wanted}, not {content_type}", role.label().to_lowercase()),
                });
            }
            let count = given.iter().filter(|(r, _)| *r == role).count();
            if count > input.max as usize {
                let most = if input.max == 1 { "one".to_string() } else { input.max.to_string() };
                return Err(InputError {
                    field,
                    message: format!("the model {} takes at most {most} {}", self.id, role.label().to_lowercase()),
                });
            }
        }
        if let Some(missing) = self.inputs.iter().find(|i| i.required && !given.iter().any(|(r, _)| *r == i.role)) {
            return Err(InputError {
                field: format!("references.{}", missing.role.as_str()),
                message: format!("the model {} needs a {}", self.id, missing.role.label().to_lowercase()),
            });
        }
        Ok(())
    }

    /// Whether a generation with these (resolved) parameters has sound.
    pub fn makes_sound(&self, params: &Params) -> bool {
        match self.sound {
            Sound::None => false,
            Sound::Always => true,
            Sound::Optional => !matches!(params.get("audio"), Some(ParamValue::Text(t)) if t == "off"),
        }
    }
}

/// A submit broke the model's rules (a parameter, a reference, the prompt): which field
/// (`params.duration`, `references.first_frame`, `prompt`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    pub field: String,
    pub message: String,
}

impl InputError {
    pub fn on(field: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError { field: field.into(), message: message.into() }
    }
}

fn as_int(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Output pixel size of an aspect ratio for the demo models.
pub fn demo_size(aspect: &str, kind: MediaKind) -> (u32, u32) {
    match (aspect, kind) {
        ("16:9", _) => (640, 360),
        ("9:16", _) => (360, 640),
        (_, MediaKind::Video) => (480, 480),
        _ => (512, 512),
    }
}

/// Every shipped model, owned (for tests that look for a model of some shape).
#[cfg(test)]
pub fn shipped_models() -> Vec<ModelSpec> {
    Catalog::shipped().models().iter().map(|m| m.as_ref().clone()).collect()
}

#[cfg(test)]
mod readme_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn video() -> ModelSpec {
        Catalog::shipped().model("demo-video").unwrap().as_ref().clone()
    }

    #[test]
    fn defaults_fill_in_and_prices_follow_parameters() {
        let m = video();
        let p = m.resolve_params(&BTreeMap::new(), 42).unwrap();
        assert_eq!(p["duration"], ParamValue::Int(3));
        assert_eq!(p["aspect_ratio"], ParamValue::Text("16:9".into()));
        assert_eq!(p["seed"], ParamValue::Int(42));
        assert_eq!(m.price.of(&p), 0, "the demo is free as shipped");
        let priced = m.price.with_credits(2);
        assert_eq!(priced.of(&p), 6);
        let raw = BTreeMap::from([("duration".to_string(), serde_json::json!("5"))]);
        assert_eq!(priced.of(&m.resolve_params(&raw, 1).unwrap()), 10);
        assert_eq!(m.price.with_credits(7).of(&p), 21, "an override keeps the per-second shape");
        assert_eq!(m.price.with_credits(7).to_string(), "7 credits per second of video");
    }

    #[test]
    fn values_outside_the_spec_are_refused_by_name() {
        let m = video();
        for (k, v) in [
            ("duration", serde_json::json!(7)),
            ("aspect_ratio", serde_json::json!("4:3")),
            ("seed", serde_json::json!(-1)),
            ("steps", serde_json::json!(20)),
        ] {
            let raw = BTreeMap::from([(k.to_string(), v)]);
            let err = m.resolve_params(&raw, 1).unwrap_err();
            assert!(err.message.contains(k), "{err}");
            assert_eq!(err.field, format!("params.{k}"));
        }
    }
}
