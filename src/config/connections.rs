//! `[[connection]]`: the provider accounts an admin configures, their kinds and defaults,
//! and their validation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, duration, secret, size};

/// One upstream provider account, as the admin configured it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionConfig {
    pub name: String,
    pub kind: String,
    pub base_url: Option<url::Url>,
    /// The provider region whose documented host the connection calls (BytePlus, DashScope,
    /// BFL, MiniMax); `base_url` wins over it.
    pub region: Option<String>,
    pub api_key: Option<Secret>,
    pub access_key: Option<String>,
    pub secret_key: Option<Secret>,
    pub max_concurrent: u32,
    pub allow_private_network: bool,
    #[serde(serialize_with = "super::human_duration")]
    pub delay: Duration,
    pub models: Vec<String>,
    /// Cap on one upstream request (downloads included).
    #[serde(serialize_with = "super::human_duration")]
    pub timeout: Duration,
    /// Retries of a temporary upstream error before the job fails.
    pub max_retries: u32,
    /// Overrides the models' deadlines for jobs on this connection.
    #[serde(serialize_with = "super::human_duration_opt")]
    pub deadline: Option<Duration>,
    /// Overrides the models' caps on the size of one output for jobs on this connection.
    #[serde(serialize_with = "super::human_size_opt")]
    pub max_output_bytes: Option<u64>,
    /// A ComfyUI workflow in API format (JSON, from `workflow_file`), with placeholders.
    #[serde(skip)]
    pub workflow: Option<serde_json::Value>,
}

/// The provider kinds a connection may name (`-` is accepted for `_`: `openai-videos`).
pub const CONNECTION_KINDS: &[&str] = &[
    "demo",
    "openai_images",
    "openai_videos",
    "gemini",
    "runway",
    "kling",
    "minimax",
    "luma",
    "luma_agents",
    "bfl",
    "replicate",
    "fal",
    "stability",
    "comfyui",
    "xai",
    "dashscope",
    "byteplus",
    "openrouter",
    "ideogram",
    "recraft",
];

/// Where each provider kind's accounts get their API keys (the connection form links them);
/// `None` for the demo and for ComfyUI, which runs on the team's own machine.
pub fn key_page(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "openai_images" | "openai_videos" => "https://platform.openai.com/api-keys",
        "gemini" => "https://aistudio.google.com/apikey",
        "runway" => "https://dev.runwayml.com/",
        "kling" => "https://app.klingai.com/global/dev/api-key",
        "minimax" => "https://www.minimax.io/platform/user-center/basic-information/interface-key",
        "luma" | "luma_agents" => "https://lumalabs.ai/api/keys",
        "bfl" => "https://dashboard.bfl.ai/",
        "replicate" => "https://replicate.com/account/api-tokens",
        "fal" => "https://fal.ai/dashboard/keys",
        "stability" => "https://platform.stability.ai/account/keys",
        "xai" => "https://console.x.ai/",
        "dashscope" => "https://bailian.console.alibabacloud.com/?tab=model#/api-key",
        "byteplus" => "https://console.byteplus.com/ark/region:ark+ap-southeast-1/apiKey",
        "openrouter" => "https://openrouter.ai/settings/keys",
        "ideogram" => "https://ideogram.ai/manage-api",
        "recraft" => "https://www.recraft.ai/profile/api",
        _ => return None,
    })
}

/// A connection's `base_url`: an http or https URL with a host and neither a query nor a
/// fragment (the adapters add the version segment and paths themselves); the error says why not.
pub fn parse_base_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("the base URL {text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("the base URL {text:?} must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "the base URL {text:?} must not have a query (?…) or a fragment (#…): give the scheme, host and any path prefix only"
        ));
    }
    Ok(url)
}

/// A connection kind in its canonical spelling (`openai-videos` -> `openai_videos`).
pub fn canonical_kind(kind: &str) -> String {
    kind.trim().to_ascii_lowercase().replace('-', "_")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    name: String,
    kind: String,
    base_url: Option<String>,
    region: Option<String>,
    api_key: Option<String>,
    api_key_file: Option<PathBuf>,
    access_key: Option<String>,
    secret_key: Option<String>,
    secret_key_file: Option<PathBuf>,
    max_concurrent: Option<u32>,
    allow_private_network: Option<bool>,
    delay: Option<String>,
    models: Option<Vec<String>>,
    timeout: Option<String>,
    max_retries: Option<u32>,
    deadline: Option<String>,
    max_output_bytes: Option<String>,
    workflow_file: Option<PathBuf>,
}

impl ConnectionConfig {
    /// A connection with the defaults a `[[connection]]` table gets when it names only these.
    pub fn new(name: &str, kind: &str) -> ConnectionConfig {
        ConnectionConfig {
            name: name.into(),
            kind: canonical_kind(kind),
            base_url: None,
            region: None,
            api_key: None,
            access_key: None,
            secret_key: None,
            max_concurrent: 4,
            allow_private_network: false,
            delay: Duration::from_secs(3),
            models: Vec::new(),
            timeout: Duration::from_secs(120),
            max_retries: 5,
            deadline: None,
            max_output_bytes: None,
            workflow: None,
        }
    }
}

/// Reads a ComfyUI workflow (API format: a JSON object of nodes).
fn workflow(at: &str, path: &Path) -> Result<serde_json::Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("{at}: cannot read {}: {e}", path.display())))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ConfigError(format!("{at}: {} is not JSON: {e}", path.display())))?;
    if !value.is_object() {
        return Err(ConfigError(format!("{at}: {} must hold a workflow in API format (a JSON object of nodes)", path.display())));
    }
    Ok(value)
}

pub(super) fn validate_connections(list: Vec<RawConnection>) -> Result<Vec<ConnectionConfig>, ConfigError> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for raw in list {
        let at = format!("connection {:?}", raw.name);
        if raw.name.trim().is_empty() {
            return Err(ConfigError("every [[connection]] needs a name".into()));
        }
        if !names.insert(raw.name.clone()) {
            return Err(ConfigError(format!("{at}: the name is used twice")));
        }
        let kind = canonical_kind(&raw.kind);
        if !CONNECTION_KINDS.contains(&kind.as_str()) {
            return Err(ConfigError(format!("{at}: kind {:?} is unknown; expected one of {}", raw.kind, CONNECTION_KINDS.join(", "))));
        }
        let base_url = raw.base_url.map(|u| parse_base_url(&u).map_err(|e| ConfigError(format!("{at}: base_url: {e}")))).transpose()?;
        out.push(ConnectionConfig {
            api_key: secret(&format!("{at}: api_key"), raw.api_key, raw.api_key_file)?,
            secret_key: secret(&format!("{at}: secret_key"), raw.secret_key, raw.secret_key_file)?,
            delay: duration(&format!("{at}: delay"), raw.delay, "3s")?,
            timeout: duration(&format!("{at}: timeout"), raw.timeout, "120s")?.max(Duration::from_millis(100)),
            max_retries: raw.max_retries.unwrap_or(5).min(20),
            deadline: match raw.deadline {
                Some(text) => Some(duration(&format!("{at}: deadline"), Some(text), "0")?).filter(|d| !d.is_zero()),
                None => None,
            },
            max_output_bytes: raw.max_output_bytes.map(|text| size(&format!("{at}: max_output_bytes"), &text)).transpose()?,
            workflow: raw.workflow_file.map(|path| workflow(&format!("{at}: workflow_file"), &path)).transpose()?,
            name: raw.name,
            kind,
            base_url,
            region: raw.region.map(|r| r.trim().to_ascii_lowercase()).filter(|r| !r.is_empty()),
            access_key: raw.access_key,
            max_concurrent: raw.max_concurrent.unwrap_or(4).max(1),
            allow_private_network: raw.allow_private_network.unwrap_or(false),
            models: raw.models.unwrap_or_default(),
        });
    }
    Ok(out)
}
