//! The model catalog: what each model makes, which parameters it takes (and their allowed
//! values), which reference images it accepts, its price in credits and its deadline.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::user::InvalidInput;

mod bfl;
mod comfyui;
pub mod data_use;
mod demo;
mod fal;
mod gemini;
mod kling;
mod luma;
mod luma_agents;
mod minimax;
mod openai;
mod openai_images;
mod replicate;
mod runway;
mod stability;
mod unavailable;

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
    pub const ALL: [ReferenceRole; 6] = [
        ReferenceRole::FirstFrame,
        ReferenceRole::LastFrame,
        ReferenceRole::Reference,
        ReferenceRole::ReferenceVideo,
        ReferenceRole::ReferenceAudio,
        ReferenceRole::DrivingAudio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceRole::FirstFrame => "first_frame",
            ReferenceRole::LastFrame => "last_frame",
            ReferenceRole::Reference => "reference",
            ReferenceRole::ReferenceVideo => "reference_video",
            ReferenceRole::ReferenceAudio => "reference_audio",
            ReferenceRole::DrivingAudio => "driving_audio",
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
        }
    }

    /// The kind of file the role takes.
    pub fn media(self) -> InputMedia {
        match self {
            ReferenceRole::FirstFrame | ReferenceRole::LastFrame | ReferenceRole::Reference => InputMedia::Image,
            ReferenceRole::ReferenceVideo => InputMedia::Video,
            ReferenceRole::ReferenceAudio | ReferenceRole::DrivingAudio => InputMedia::Audio,
        }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        ReferenceRole::ALL.into_iter().find(|r| r.as_str() == text).ok_or(InvalidInput(
            "a reference role must be first_frame, last_frame, reference, reference_video, reference_audio or driving_audio",
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
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// One of a list of words ("16:9").
    Choice { values: Vec<&'static str>, default: &'static str },
    /// One of a list of numbers (durations in seconds).
    Number { values: Vec<i64>, default: i64 },
    /// Any integer in a range.
    Range { min: i64, max: i64, default: i64 },
    /// An optional seed; a random one is chosen when absent.
    Seed,
}

/// One parameter of a model.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    pub label: &'static str,
    #[serde(flatten)]
    pub kind: ParamKind,
}

/// How a model's price in credits is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Price {
    /// Credits per output image (`count` parameter, default 1).
    PerImage { credits: u64 },
    /// Credits per second of video (`duration` parameter).
    PerSecond { credits: u64 },
}

impl Price {
    /// The credits per unit.
    pub fn credits(self) -> u64 {
        match self {
            Price::PerImage { credits } | Price::PerSecond { credits } => credits,
        }
    }

    /// The same shape with another figure (an admin's price override).
    pub fn with_credits(self, credits: u64) -> Price {
        match self {
            Price::PerImage { .. } => Price::PerImage { credits },
            Price::PerSecond { .. } => Price::PerSecond { credits },
        }
    }

    /// What one credit figure buys, in words ("per image", "per second").
    pub fn unit(self) -> &'static str {
        match self {
            Price::PerImage { .. } => "per image",
            Price::PerSecond { .. } => "per second of video",
        }
    }
}

impl std::fmt::Display for Price {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credits = self.credits();
        write!(f, "{credits} credit{} {}", if credits == 1 { "" } else { "s" }, self.unit())
    }
}

/// A model as the catalog declares it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSpec {
    pub id: &'static str,
    pub label: &'static str,
    /// The connection kind that serves it ("demo", "openai_videos", …).
    pub provider: &'static str,
    pub kind: MediaKind,
    pub description: &'static str,
    pub negative_prompt: bool,
    pub references: Vec<ReferenceRole>,
    pub params: Vec<ParamSpec>,
    pub price: Price,
    #[serde(skip)]
    pub deadline: Duration,
    pub max_prompt_chars: usize,
    #[serde(skip)]
    pub max_output_bytes: u64,
    pub demo: bool,
    /// The model's name in the provider's API, when it differs from `id`.
    pub upstream: &'static str,
    /// Why the model cannot be used with any connection (it is listed so people learn why).
    pub unavailable: Option<&'static str>,
}

/// Parameters after validation: every declared parameter has a value.
pub type Params = BTreeMap<String, ParamValue>;

impl ModelSpec {
    /// A model with the usual defaults (no references or parameters, 1 credit, a one-hour
    /// deadline, `upstream` = `id`); declarations override fields with `..ModelSpec::new(…)`.
    pub fn new(id: &'static str, label: &'static str, provider: &'static str, kind: MediaKind) -> ModelSpec {
        ModelSpec {
            id,
            label,
            provider,
            kind,
            description: "",
            negative_prompt: false,
            references: Vec::new(),
            params: Vec::new(),
            price: match kind {
                MediaKind::Image => Price::PerImage { credits: 1 },
                MediaKind::Video => Price::PerSecond { credits: 1 },
            },
            deadline: Duration::from_secs(3600),
            max_prompt_chars: 4000,
            max_output_bytes: match kind {
                MediaKind::Image => 50 * 1024 * 1024,
                MediaKind::Video => 1024 * 1024 * 1024,
            },
            demo: false,
            upstream: id,
            unavailable: None,
        }
    }

    /// Checks raw parameters against the spec and fills in defaults. Unknown parameters and
    /// values outside the allowed set are refused with a message naming them.
    pub fn resolve_params(&self, raw: &BTreeMap<String, serde_json::Value>, random_seed: i64) -> Result<Params, ParamError> {
        if let Some(unknown) = raw.keys().find(|k| !self.params.iter().any(|p| p.name == k.as_str())) {
            return Err(ParamError(format!("{} does not take the parameter {unknown:?}", self.id)));
        }
        let mut out = Params::new();
        for spec in &self.params {
            let given = raw.get(spec.name).filter(|v| !v.is_null() && v.as_str() != Some(""));
            let value = match (&spec.kind, given) {
                (ParamKind::Choice { default, .. }, None) => ParamValue::Text(default.to_string()),
                (ParamKind::Choice { values, .. }, Some(v)) => {
                    let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    if !values.contains(&text.as_str()) {
                        return Err(ParamError(format!("{} must be one of {}", spec.name, values.join(", "))));
                    }
                    ParamValue::Text(text)
                }
                (ParamKind::Number { default, .. }, None) => ParamValue::Int(*default),
                (ParamKind::Number { values, .. }, Some(v)) => {
                    let n = as_int(v).filter(|n| values.contains(n)).ok_or_else(|| {
                        let list: Vec<String> = values.iter().map(i64::to_string).collect();
                        ParamError(format!("{} must be one of {}", spec.name, list.join(", ")))
                    })?;
                    ParamValue::Int(n)
                }
                (ParamKind::Range { default, .. }, None) => ParamValue::Int(*default),
                (ParamKind::Range { min, max, .. }, Some(v)) => {
                    let n = as_int(v)
                        .filter(|n| (*min..=*max).contains(n))
                        .ok_or_else(|| ParamError(format!("{} must be a whole number from {min} to {max}", spec.name)))?;
                    ParamValue::Int(n)
                }
                (ParamKind::Seed, None) => ParamValue::Int(random_seed),
                (ParamKind::Seed, Some(v)) => {
                    let n = as_int(v)
                        .filter(|n| (0..=u32::MAX as i64).contains(n))
                        .ok_or_else(|| ParamError(format!("seed must be a whole number from 0 to {}", u32::MAX)))?;
                    ParamValue::Int(n)
                }
            };
            out.insert(spec.name.to_string(), value);
        }
        Ok(out)
    }

    /// The price in credits of one generation with these (resolved) parameters, at `price`:
    /// the effective price (the catalog's [`ModelSpec::price`] or an admin's override).
    pub fn price_of(&self, price: Price, params: &Params) -> u64 {
        let int = |name: &str| match params.get(name) {
            Some(ParamValue::Int(n)) => u64::try_from(*n).unwrap_or(0).max(1),
            _ => 1,
        };
        match price {
            Price::PerImage { credits } => credits.saturating_mul(int("count")),
            Price::PerSecond { credits } => credits.saturating_mul(int("duration")),
        }
    }

    /// How many outputs a generation with these parameters makes.
    pub fn output_count(&self, params: &Params) -> usize {
        match params.get("count") {
            Some(ParamValue::Int(n)) if *n > 0 => *n as usize,
            _ => 1,
        }
    }

    pub fn takes(&self, role: ReferenceRole) -> bool {
        self.references.contains(&role)
    }
}

fn as_int(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A parameter that broke its model's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// Output pixel size of an aspect ratio for the demo models.
pub fn demo_size(aspect: &str, kind: MediaKind) -> (u32, u32) {
    match (aspect, kind) {
        ("16:9", _) => (640, 360),
        ("9:16", _) => (360, 640),
        (_, MediaKind::Video) => (480, 480),
        _ => (512, 512),
    }
}

/// Every model this build knows, in catalog order (one file per provider API).
pub fn builtin_models() -> Vec<ModelSpec> {
    let per_api = [
        demo::models(),
        openai::models(),
        openai_images::models(),
        gemini::models(),
        runway::models(),
        kling::models(),
        minimax::models(),
        luma::models(),
        luma_agents::models(),
        bfl::models(),
        replicate::models(),
        fal::models(),
        stability::models(),
        comfyui::models(),
        // (one line per provider API; keep `unavailable` last)
        unavailable::models(),
    ];
    per_api.into_iter().flatten().collect()
}

#[cfg(test)]
mod readme_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn video() -> ModelSpec {
        builtin_models().into_iter().find(|m| m.id == "demo-video").unwrap()
    }

    #[test]
    fn defaults_fill_in_and_prices_follow_parameters() {
        let m = video();
        let p = m.resolve_params(&BTreeMap::new(), 42).unwrap();
        assert_eq!(p["duration"], ParamValue::Int(3));
        assert_eq!(p["aspect_ratio"], ParamValue::Text("16:9".into()));
        assert_eq!(p["seed"], ParamValue::Int(42));
        assert_eq!(m.price_of(m.price, &p), 6);
        let raw = BTreeMap::from([("duration".to_string(), serde_json::json!("5"))]);
        assert_eq!(m.price_of(m.price, &m.resolve_params(&raw, 1).unwrap()), 10);
        assert_eq!(m.price_of(m.price.with_credits(7), &p), 21, "an override keeps the per-second shape");
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
            assert!(err.0.contains(k), "{err}");
        }
    }
}
