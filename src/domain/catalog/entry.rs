//! A catalog entry as written in a catalog file, a `[[model]]` entry of config.toml or an
//! admin's edit: every field but `id` optional, so one shape describes a whole model, a
//! change to one (only the fields it names), or a new model made `like` an existing one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    CatalogDate, InputSpec, Lifecycle, MediaKind, ModelSpec, Operation, ParamKind, ParamSpec, Price, ReferenceRole, Sound, Status,
};

/// A catalog file: a list of `[[model]]` entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub model: Vec<ModelEntry>,
}

/// One reference input as written: `{ role = "first_frame", required = true }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputEntry {
    pub role: ReferenceRole,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// How many files of this role (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

/// A model entry; see the module docs for how a partial one applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub id: String,
    /// A new model starts as a copy of this one (same provider kind and wire format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The connection kind that serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MediaKind>,
    /// The model's name in the provider's API (default: `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<bool>,
    /// The longest prompt, in characters (default 4000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_limit: Option<usize>,
    /// How long a job may run, as `90m` or `2h` (default 1 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// The largest output taken into custody, as `50 MiB` (default 50 MiB for images, 1 GiB for video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<Sound>,
    /// What the model does with an earlier output (`extend`, `edit`, `enhance`); it then takes
    /// a required `source_video` input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<ParamSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_on: Option<CatalogDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated_on: Option<CatalogDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_on: Option<CatalogDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
}

/// A field of an entry that breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn wrong(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), message: message.into() }
}

const DEFAULT_PROMPT_LIMIT: usize = 4000;
const DEFAULT_DEADLINE: Duration = Duration::from_secs(3600);

fn default_max_output(kind: MediaKind) -> u64 {
    match kind {
        MediaKind::Image => 50 * 1024 * 1024,
        MediaKind::Video => 1024 * 1024 * 1024,
    }
}

impl ModelEntry {
    /// Whether the entry changes an existing model rather than describing one whole.
    pub fn is_patch(&self) -> bool {
        self.provider.is_none() || self.kind.is_none()
    }

    /// The model this entry makes: applied over `base` (the model it changes, or the one it
    /// is `like`) or, without a base, standing alone.
    pub fn apply(&self, base: Option<&ModelSpec>) -> Result<ModelSpec, FieldError> {
        let mut m = match base {
            Some(base) => ModelSpec { id: self.id.clone(), ..base.clone() },
            None => self.standalone()?,
        };
        if base.is_some_and(|b| b.id != self.id) {
            // a new model made like another: its own upstream id unless it names one
            m.upstream = self.id.clone();
        }
        let set = |target: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                *target = v.clone();
            }
        };
        set(&mut m.label, &self.label);
        set(&mut m.provider, &self.provider);
        set(&mut m.upstream, &self.upstream);
        set(&mut m.description, &self.description);
        if let Some(kind) = self.kind {
            m.kind = kind;
        }
        if let Some(reason) = &self.unavailable {
            m.unavailable = Some(reason.clone()).filter(|r| !r.trim().is_empty());
        }
        m.demo = self.demo.unwrap_or(m.demo);
        m.hidden = self.hidden.unwrap_or(m.hidden);
        m.negative_prompt = self.negative_prompt.unwrap_or(m.negative_prompt);
        m.max_prompt_chars = self.prompt_limit.unwrap_or(m.max_prompt_chars);
        if let Some(text) = &self.deadline {
            m.deadline = humantime::parse_duration(text)
                .map_err(|e| wrong("deadline", format!("{text:?} is not a duration such as 90m or 2h ({e})")))?;
        }
        if let Some(text) = &self.max_output {
            m.max_output_bytes = text
                .parse::<bytesize::ByteSize>()
                .map_err(|e| wrong("max_output", format!("{text:?} is not a size such as 50 MiB ({e})")))?
                .as_u64();
        }
        m.sound = self.sound.unwrap_or(m.sound);
        if self.operation.is_some() {
            m.operation = self.operation;
        }
        if let Some(inputs) = &self.inputs {
            m.inputs = inputs
                .iter()
                .map(|i| InputSpec { role: i.role, required: i.required, max: i.max.unwrap_or(1), types: i.types.clone() })
                .collect();
        }
        if let Some(params) = &self.params {
            m.params = params.clone();
        }
        if let Some(price) = &self.price {
            m.price = price.clone();
        }
        let life = &mut m.lifecycle;
        life.status = self.status.unwrap_or(life.status);
        life.released_on = self.released_on.or(life.released_on);
        life.deprecated_on = self.deprecated_on.or(life.deprecated_on);
        life.shutdown_on = self.shutdown_on.or(life.shutdown_on);
        if let Some(successor) = &self.successor {
            life.successor = Some(successor.clone()).filter(|s| !s.trim().is_empty());
        }
        validate(&m)?;
        Ok(m)
    }

    /// A whole model from this entry alone (its required fields present).
    fn standalone(&self) -> Result<ModelSpec, FieldError> {
        let missing = |field: &str| wrong(field, format!("a new model needs `{field}` (or `like = \"<an existing model id>\"`)"));
        let kind = self.kind.ok_or_else(|| missing("kind"))?;
        let price = match (&self.price, &self.unavailable) {
            (Some(p), _) => p.clone(),
            (None, Some(_)) => Price::flat(default_unit(kind), 0),
            (None, None) => return Err(missing("price")),
        };
        Ok(ModelSpec {
            id: self.id.clone(),
            label: self.label.clone().ok_or_else(|| missing("label"))?,
            provider: self.provider.clone().ok_or_else(|| missing("provider"))?,
            kind,
            description: String::new(),
            negative_prompt: false,
            inputs: Vec::new(),
            params: Vec::new(),
            price,
            deadline: DEFAULT_DEADLINE,
            max_prompt_chars: DEFAULT_PROMPT_LIMIT,
            max_output_bytes: default_max_output(kind),
            demo: false,
            upstream: self.id.clone(),
            unavailable: None,
            sound: Sound::None,
            lifecycle: Lifecycle::default(),
            hidden: false,
            operation: None,
        })
    }

    /// This entry with `later`'s fields over it (an admin's second edit of a model keeps
    /// what the first one set and did not change).
    pub fn merged(self, later: ModelEntry) -> ModelEntry {
        ModelEntry {
            id: later.id,
            like: later.like.or(self.like),
            label: later.label.or(self.label),
            provider: later.provider.or(self.provider),
            kind: later.kind.or(self.kind),
            upstream: later.upstream.or(self.upstream),
            description: later.description.or(self.description),
            unavailable: later.unavailable.or(self.unavailable),
            demo: later.demo.or(self.demo),
            hidden: later.hidden.or(self.hidden),
            negative_prompt: later.negative_prompt.or(self.negative_prompt),
            prompt_limit: later.prompt_limit.or(self.prompt_limit),
            deadline: later.deadline.or(self.deadline),
            max_output: later.max_output.or(self.max_output),
            sound: later.sound.or(self.sound),
            operation: later.operation.or(self.operation),
            inputs: later.inputs.or(self.inputs),
            params: later.params.or(self.params),
            price: later.price.or(self.price),
            status: later.status.or(self.status),
            released_on: later.released_on.or(self.released_on),
            deprecated_on: later.deprecated_on.or(self.deprecated_on),
            shutdown_on: later.shutdown_on.or(self.shutdown_on),
            successor: later.successor.or(self.successor),
        }
    }

    /// The whole entry of `m`, as `catalog export` writes it.
    pub fn whole(m: &ModelSpec) -> ModelEntry {
        let life = &m.lifecycle;
        ModelEntry {
            id: m.id.clone(),
            like: None,
            label: Some(m.label.clone()),
            provider: Some(m.provider.clone()),
            kind: Some(m.kind),
            upstream: (m.upstream != m.id).then(|| m.upstream.clone()),
            description: Some(m.description.clone()).filter(|d| !d.is_empty()),
            unavailable: m.unavailable.clone(),
            demo: m.demo.then_some(true),
            hidden: m.hidden.then_some(true),
            negative_prompt: m.negative_prompt.then_some(true),
            prompt_limit: (m.max_prompt_chars != DEFAULT_PROMPT_LIMIT).then_some(m.max_prompt_chars),
            deadline: (m.deadline != DEFAULT_DEADLINE).then(|| humantime::format_duration(m.deadline).to_string()),
            max_output: (m.max_output_bytes != default_max_output(m.kind))
                .then(|| bytesize::ByteSize(m.max_output_bytes).display().iec().to_string()),
            sound: (m.sound != Sound::None).then_some(m.sound),
            operation: m.operation,
            inputs: (!m.inputs.is_empty()).then(|| {
                m.inputs
                    .iter()
                    .map(|i| InputEntry { role: i.role, required: i.required, max: (i.max != 1).then_some(i.max), types: i.types.clone() })
                    .collect()
            }),
            params: (!m.params.is_empty()).then(|| m.params.clone()),
            price: Some(m.price.clone()),
            status: (life.status != Status::Ga).then_some(life.status),
            released_on: life.released_on,
            deprecated_on: life.deprecated_on,
            shutdown_on: life.shutdown_on,
            successor: life.successor.clone(),
        }
    }
}

fn default_unit(kind: MediaKind) -> super::PriceUnit {
    match kind {
        MediaKind::Image => super::PriceUnit::Image,
        MediaKind::Video => super::PriceUnit::Second,
    }
}

/// Whether `text` is a usable id: lower-case letters, digits, `.`, `-`, `_`, 1–80 long.
pub fn valid_id(text: &str) -> bool {
    (1..=80).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// The rules one model must keep on its own (the catalog checks ids across models).
fn validate(m: &ModelSpec) -> Result<(), FieldError> {
    if !valid_id(&m.id) {
        return Err(wrong("id", format!("{:?} is not an id: use 1–80 lower-case letters, digits, '.', '-' or '_'", m.id)));
    }
    if m.label.trim().is_empty() || m.label.len() > 120 {
        return Err(wrong("label", "a label is 1–120 characters"));
    }
    if !(1..=40).contains(&m.provider.len()) || !m.provider.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(wrong("provider", format!("{:?} is not a connection kind (lower-case letters, digits, '_')", m.provider)));
    }
    if m.upstream.trim().is_empty() || m.upstream.len() > 200 {
        return Err(wrong("upstream", "the upstream model name is 1–200 characters"));
    }
    if !(1..=100_000).contains(&m.max_prompt_chars) {
        return Err(wrong("prompt_limit", "a prompt limit is from 1 to 100000 characters"));
    }
    if m.deadline < Duration::from_secs(10) || m.deadline > Duration::from_secs(7 * 24 * 3600) {
        return Err(wrong("deadline", "a deadline is from 10 seconds to 7 days"));
    }
    if m.max_output_bytes == 0 {
        return Err(wrong("max_output", "the largest output must be more than 0 bytes"));
    }
    for (i, input) in m.inputs.iter().enumerate() {
        let field = format!("inputs[{i}]");
        if m.inputs[..i].iter().any(|o| o.role == input.role) {
            return Err(wrong(field, format!("the role {} is listed twice", input.role.as_str())));
        }
        if !(1..=16).contains(&input.max) {
            return Err(wrong(format!("{field}.max"), "an input takes from 1 to 16 files"));
        }
        if let Some(t) = input.types.iter().find(|t| !input.role.media().accepts(t)) {
            return Err(wrong(format!("{field}.types"), format!("{t} is not a {} type", input.role.media().as_str())));
        }
    }
    validate_params(m)?;
    validate_price(m)?;
    if m.sound == Sound::Optional && !m.params.iter().any(|p| {
        p.name == "audio"
            && matches!(&p.kind, ParamKind::Choice { values, .. } if values.iter().any(|v| v == "on") && values.iter().any(|v| v == "off"))
    }) {
        return Err(wrong("sound", "sound = \"optional\" needs an `audio` parameter with the choices \"off\" and \"on\""));
    }
    let source = m.inputs.iter().find(|i| i.role == ReferenceRole::SourceVideo);
    match (m.operation, source) {
        (Some(op), Some(input)) if !input.required || input.max != 1 || m.kind != MediaKind::Video => {
            return Err(wrong(
                "operation",
                format!("a video model that can {} takes exactly one required source_video input", op.as_str()),
            ));
        }
        (Some(op), None) => {
            return Err(wrong("inputs", format!("operation = {:?} needs a required source_video input", op.as_str())));
        }
        (None, Some(_)) => return Err(wrong("operation", "a source_video input needs an operation (extend, edit or enhance)")),
        _ => {}
    }
    if m.sound != Sound::None && m.kind == MediaKind::Image {
        return Err(wrong("sound", "an image model makes no sound"));
    }
    let life = &m.lifecycle;
    if let (Some(from), Some(to)) = (life.deprecated_on, life.shutdown_on)
        && from > to
    {
        return Err(wrong("deprecated_on", format!("the deprecation ({from}) comes after the shutdown ({to})")));
    }
    if life.successor.as_deref() == Some(m.id.as_str()) {
        return Err(wrong("successor", "a model cannot succeed itself"));
    }
    Ok(())
}

fn validate_params(m: &ModelSpec) -> Result<(), FieldError> {
    for (i, p) in m.params.iter().enumerate() {
        let field = format!("params.{}", p.name);
        if !valid_id(&p.name) || p.name.contains('.') {
            return Err(wrong(format!("params[{i}].name"), format!("{:?} is not a parameter name", p.name)));
        }
        if m.params[..i].iter().any(|o| o.name == p.name) {
            return Err(wrong(field, "the parameter is listed twice"));
        }
        match &p.kind {
            ParamKind::Choice { values, default } if !values.contains(default) => {
                return Err(wrong(format!("{field}.default"), format!("{default:?} is not one of {}", values.join(", "))));
            }
            ParamKind::Number { values, default } if !values.contains(default) => {
                let list: Vec<String> = values.iter().map(i64::to_string).collect();
                return Err(wrong(format!("{field}.default"), format!("{default} is not one of {}", list.join(", "))));
            }
            ParamKind::Range { min, max, default } if !(min <= default && default <= max) => {
                return Err(wrong(format!("{field}.default"), format!("{default} is not from {min} to {max}")));
            }
            ParamKind::Choice { values, .. } if values.is_empty() => return Err(wrong(format!("{field}.values"), "a choice needs values")),
            _ => {}
        }
    }
    Ok(())
}

fn validate_price(m: &ModelSpec) -> Result<(), FieldError> {
    for (i, rule) in m.price.rules.iter().enumerate() {
        let field = format!("price.rules[{i}]");
        if rule.when.is_empty() {
            return Err(wrong(field, "a rule names at least one parameter in `when`"));
        }
        for (name, value) in &rule.when {
            let Some(param) = m.params.iter().find(|p| p.name == *name) else {
                return Err(wrong(format!("{field}.when.{name}"), format!("{} has no parameter {name:?}", m.id)));
            };
            let allowed = match &param.kind {
                ParamKind::Choice { values, .. } => values.contains(value),
                ParamKind::Number { values, .. } => value.parse::<i64>().is_ok_and(|n| values.contains(&n)),
                ParamKind::Range { min, max, .. } => value.parse::<i64>().is_ok_and(|n| (*min..=*max).contains(&n)),
                ParamKind::Seed => false,
            };
            if !allowed {
                return Err(wrong(format!("{field}.when.{name}"), format!("{value:?} is not a value {name} takes")));
            }
        }
    }
    Ok(())
}
