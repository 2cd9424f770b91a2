//! Configuration: built-in defaults < config file < `REELVAULT_*` environment < CLI flags,
//! validated once into typed values. Unknown keys are errors that name the key; secrets
//! may come from files (`*_file`) and are redacted wherever the config is shown.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::domain::catalog::data_use::{DataUseOverride, known_kinds};
use crate::domain::catalog::{Catalog, Layer, Located, ModelEntry};

mod api;
pub use api::{ApiConfig, WebhooksConfig};
mod connections;
pub use connections::{CONNECTION_KINDS, ConnectionConfig, canonical_kind, key_page, parse_base_url};
use connections::{RawConnection, validate_connections};
mod limits;
pub use limits::LimitsConfig;
mod media;
pub use media::{DEFAULT_MEDIA_CACHE, MediaBackendConfig, S3Config};
mod notify;
pub use notify::{ChatEvent, ChatFormat, ChatWebhookConfig, SmtpConfig, SmtpSecurity};
mod oidc;
pub use oidc::{AuthConfig, DEFAULT_SCOPES, OidcConfig};
mod values;
use limits::RawLimits;
pub use values::format_duration;
use values::*;

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/reelvault/config.toml";
/// The prefix of environment variables that set config keys (`__` separates levels).
pub const ENV_PREFIX: &str = "REELVAULT_";

/// A configuration problem, in words that name the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// A secret value: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// What the command line adds on top of file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// The effective, validated settings.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The master key file; created with mode 0600 on first start when missing.
    pub master_key_file: PathBuf,
    pub public_url: Option<url::Url>,
    pub contact: Option<String>,
    pub trusted_proxies: Vec<IpAddr>,
    pub log: String,
    /// HTTP worker threads (default: the number of CPUs, at most 8).
    pub workers: usize,
    pub sessions: SessionsConfig,
    pub accounts: AccountsConfig,
    pub retention: RetentionConfig,
    pub schedule: ScheduleConfig,
    pub limits: LimitsConfig,
    pub search: SearchConfig,
    /// Where media files live: the local disk or an S3-compatible object store.
    pub media: MediaBackendConfig,
    /// Who may read `/metrics` without signing in.
    pub metrics: MetricsConfig,
    /// Limits per personal API token.
    pub api: ApiConfig,
    /// Outbound completion events.
    pub webhooks: WebhooksConfig,
    pub connection: Vec<ConnectionConfig>,
    /// OpenID Connect identity providers people may sign in with.
    pub oidc: Vec<OidcConfig>,
    /// Whether password sign-in is on.
    pub auth: AuthConfig,
    /// The SMTP server e-mail goes through; `None`: no e-mail is sent.
    pub smtp: Option<SmtpConfig>,
    /// The team's chat webhooks (approvals, failures).
    pub chat_webhook: Vec<ChatWebhookConfig>,
    /// Admins' corrections and additions to the catalog's data-use table, by provider kind.
    pub data_use: Vec<DataUseOverride>,
    /// Catalog entries: changes to models and new models on existing provider kinds, over the
    /// shipped (and any imported) catalog.
    pub model: Vec<ModelEntry>,
    /// Where the file layer came from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionsConfig {
    #[serde(serialize_with = "human_duration")]
    pub idle: Duration,
    #[serde(serialize_with = "human_duration")]
    pub absolute: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountsConfig {
    #[serde(serialize_with = "human_duration")]
    pub invitation_expiry: Duration,
    #[serde(serialize_with = "human_duration")]
    pub password_reset_expiry: Duration,
}

/// Retention periods; zero keeps forever.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionConfig {
    #[serde(serialize_with = "human_duration")]
    pub uploads: Duration,
    #[serde(serialize_with = "human_duration")]
    pub outputs: Duration,
    #[serde(serialize_with = "human_duration")]
    pub failed: Duration,
    #[serde(serialize_with = "human_duration")]
    pub audit: Duration,
    #[serde(serialize_with = "human_duration")]
    pub client_addresses: Duration,
    /// How long the copies of the store taken before migrations (`DATA/backups/`) are kept.
    #[serde(serialize_with = "human_duration")]
    pub pre_migration_copies: Duration,
}

/// When periodic work runs: cron expressions with seconds first ("0 15 3 * * *").
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleConfig {
    /// The retention sweep (and the orphan-file GC that follows it); validated at load.
    pub retention: String,
}

impl ScheduleConfig {
    /// The parsed retention schedule (the expression was validated at load).
    pub fn retention_schedule(&self) -> Option<cron::Schedule> {
        self.retention.parse().ok()
    }
}

/// The retention schedule when the config names none: every day at 03:15 UTC.
pub const DEFAULT_RETENTION_SCHEDULE: &str = "0 15 3 * * *";

/// How the search indexer batches its commits.
#[derive(Debug, Clone, Serialize)]
pub struct SearchConfig {
    /// Pending changes are committed (searchable) at most this long after they were made.
    #[serde(serialize_with = "human_duration")]
    pub commit_interval: Duration,
    /// ... or as soon as this many documents are pending.
    pub commit_docs: usize,
}

/// Access to `/metrics` beyond admins.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsConfig {
    /// Client addresses (see `trusted_proxies`) that may scrape without a token; a request
    /// relayed by a proxy that is not trusted never counts as coming from one of them.
    pub allow: Vec<IpAddr>,
}

// ---- the raw, serde-facing layer ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    master_key_file: Option<PathBuf>,
    public_url: Option<String>,
    contact: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    log: Option<String>,
    workers: Option<usize>,
    #[serde(default)]
    sessions: RawSessions,
    #[serde(default)]
    accounts: RawAccounts,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default)]
    schedule: RawSchedule,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    search: RawSearch,
    #[serde(default)]
    media: media::RawMedia,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    api: api::RawApi,
    #[serde(default)]
    webhooks: api::RawWebhooks,
    connection: Option<Vec<RawConnection>>,
    oidc: Option<Vec<oidc::RawOidc>>,
    #[serde(default)]
    auth: oidc::RawAuth,
    smtp: Option<notify::RawSmtp>,
    chat_webhook: Option<Vec<notify::RawChatWebhook>>,
    data_use: Option<Vec<DataUseOverride>>,
    model: Option<Vec<ModelEntry>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    idle: Option<String>,
    absolute: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccounts {
    invitation_expiry: Option<String>,
    password_reset_expiry: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    uploads: Option<String>,
    outputs: Option<String>,
    failed: Option<String>,
    audit: Option<String>,
    client_addresses: Option<String>,
    pre_migration_copies: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSearch {
    commit_interval: Option<String>,
    commit_docs: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    allow: Option<Vec<String>>,
}

impl Config {
    /// Loads the layers from the real environment.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_from(overrides, std::env::vars())
    }

    /// Loads the layers with the given environment (tests pass their own).
    pub fn load_from(overrides: &Overrides, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
        let env_config_path = env.iter().find(|(k, _)| k == "REELVAULT_CONFIG").map(|(_, v)| PathBuf::from(v));
        let (mut table, source) = match overrides.config.clone().or(env_config_path) {
            Some(path) => (read_file(&path)?, Some(path)),
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                (read_file(Path::new(DEFAULT_CONFIG_PATH))?, Some(PathBuf::from(DEFAULT_CONFIG_PATH)))
            }
            None => (toml::Table::new(), None),
        };
        for (key, value) in &env {
            if key == "REELVAULT_CONFIG" {
                continue;
            }
            apply_env(&mut table, key, value)?;
        }
        if let Some(listen) = &overrides.listen {
            table.insert("listen".into(), toml::Value::String(listen.clone()));
        }
        if let Some(dir) = &overrides.data_dir {
            table.insert("data_dir".into(), toml::Value::String(dir.display().to_string()));
        }
        let raw = Raw::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError(format!("configuration: {}", e.message())))?;
        let mut config = validate(raw)?;
        config.source = source;
        Ok(config)
    }

    /// The effective settings as TOML, with every secret redacted.
    pub fn redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not render: {e}\n"))
    }

    /// Whether cookies must be `Secure` (the instance is reached over https).
    pub fn https(&self) -> bool {
        self.public_url.as_ref().is_some_and(|u| u.scheme() == "https")
    }

    /// A config for tests and benchmarks: defaults with the given data dir, on port 0.
    pub fn for_data_dir(data_dir: &Path) -> Config {
        let overrides = Overrides { config: None, listen: Some("127.0.0.1:0".into()), data_dir: Some(data_dir.to_path_buf()) };
        let mut raw = Raw { listen: overrides.listen, data_dir: overrides.data_dir, ..Raw::default() };
        raw.connection = None;
        // Defaults are valid by construction; a failure here is a bug worth a loud message.
        validate(raw).unwrap_or_else(|e| panic!("built-in defaults do not validate: {e}"))
    }
}

fn validate(raw: Raw) -> Result<Config, ConfigError> {
    let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_text
        .parse()
        .map_err(|_| ConfigError(format!("listen = {listen_text:?}: expected an address and port, like \"127.0.0.1:8080\"")))?;
    let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("./reelvault-data"));
    if data_dir.as_os_str().is_empty() {
        return Err(ConfigError("data_dir must not be empty".into()));
    }
    // a key systemd hands over (LoadCredential=master-key:…) wins over the file setting, which
    // then serves the command line run outside the service
    let master_key_file = credential_master_key().or(raw.master_key_file).unwrap_or_else(|| default_master_key_file(&data_dir));
    let public_url = match raw.public_url {
        Some(text) => {
            let url = url::Url::parse(&text).map_err(|e| ConfigError(format!("public_url = {text:?}: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(ConfigError(format!("public_url = {text:?}: expected an http or https URL")));
            }
            Some(url)
        }
        None => None,
    };
    let trusted_proxies = ip_addresses("trusted_proxies", raw.trusted_proxies)?;
    let sessions = SessionsConfig {
        idle: duration("sessions.idle", raw.sessions.idle, "7d")?,
        absolute: duration("sessions.absolute", raw.sessions.absolute, "30d")?,
    };
    if sessions.idle.is_zero() || sessions.absolute.is_zero() {
        return Err(ConfigError("sessions.idle and sessions.absolute must be longer than 0".into()));
    }
    let accounts = AccountsConfig {
        invitation_expiry: duration("accounts.invitation_expiry", raw.accounts.invitation_expiry, "7d")?,
        password_reset_expiry: duration("accounts.password_reset_expiry", raw.accounts.password_reset_expiry, "1d")?,
    };
    let retention = RetentionConfig {
        uploads: duration("retention.uploads", raw.retention.uploads, "30d")?,
        outputs: duration("retention.outputs", raw.retention.outputs, "180d")?,
        failed: duration("retention.failed", raw.retention.failed, "30d")?,
        audit: duration("retention.audit", raw.retention.audit, "365d")?,
        client_addresses: duration("retention.client_addresses", raw.retention.client_addresses, "30d")?,
        pre_migration_copies: duration("retention.pre_migration_copies", raw.retention.pre_migration_copies, "30d")?,
    };
    let schedule = ScheduleConfig { retention: cron_expression("schedule.retention", raw.schedule.retention)? };
    let limits = raw.limits.validate()?;
    let search = SearchConfig {
        commit_interval: duration("search.commit_interval", raw.search.commit_interval, "1s")?,
        commit_docs: raw.search.commit_docs.unwrap_or(1000),
    };
    if search.commit_interval.is_zero() || search.commit_docs == 0 {
        return Err(ConfigError("search.commit_interval and search.commit_docs must be more than 0".into()));
    }
    let media = media::validate_media(raw.media)?;
    let metrics = MetricsConfig { allow: ip_addresses("metrics.allow", raw.metrics.allow)? };
    let api = api::validate_api(raw.api)?;
    let webhooks = api::validate_webhooks(raw.webhooks)?;
    let connection = match raw.connection {
        None => vec![default_demo_connection()],
        Some(list) => validate_connections(list)?,
    };
    let oidc = oidc::validate_oidc(raw.oidc.unwrap_or_default())?;
    let auth = oidc::validate_auth(raw.auth, &oidc)?;
    let smtp = notify::validate_smtp(raw.smtp)?;
    let chat_webhook = notify::validate_chat_webhooks(raw.chat_webhook.unwrap_or_default())?;
    let data_use = validate_data_use(raw.data_use.unwrap_or_default())?;
    let model = validate_models(raw.model.unwrap_or_default())?;
    Ok(Config {
        listen,
        data_dir,
        master_key_file,
        public_url,
        contact: raw.contact,
        trusted_proxies,
        log: raw.log.unwrap_or_else(|| "info".into()),
        workers: raw.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get().min(8))).clamp(1, 64),
        sessions,
        accounts,
        retention,
        schedule,
        limits,
        search,
        media,
        metrics,
        api,
        webhooks,
        connection,
        oidc,
        auth,
        smtp,
        chat_webhook,
        data_use,
        model,
        source: None,
    })
}

/// Under systemd, the credential `master-key` when one is passed in.
fn credential_master_key() -> Option<PathBuf> {
    let credential = Path::new(&std::env::var_os("CREDENTIALS_DIRECTORY")?).join("master-key");
    credential.exists().then_some(credential)
}

/// Beside the data directory, never inside it: `./reelvault-data` -> `./reelvault-data.key`.
fn default_master_key_file(data_dir: &Path) -> PathBuf {
    let mut name = data_dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "reelvault".into());
    name.push(".key");
    data_dir.with_file_name(name)
}

fn default_demo_connection() -> ConnectionConfig {
    ConnectionConfig::new("demo", "demo")
}

/// Checks `[[model]]` entries over the shipped catalog. An entry for a model the shipped
/// catalog lacks may change one an imported catalog adds: that is checked at start, over
/// the catalog in force.
fn validate_models(list: Vec<ModelEntry>) -> Result<Vec<ModelEntry>, ConfigError> {
    let shipped = Catalog::shipped();
    let checkable: Vec<Located> = list
        .iter()
        .filter(|e| shipped.model(&e.id).is_some() || e.like.as_deref().is_some_and(|l| shipped.model(l).is_some()) || !e.is_patch())
        .map(|e| Located::new(e.clone(), "config [[model]]"))
        .collect();
    shipped.build_from(Layer::Config, checkable).map_err(|e| ConfigError(e.to_string()))?;
    Ok(list)
}

/// Checks `[[data_use]]` entries: a known provider kind each, at most once, http(s) links.
fn validate_data_use(list: Vec<DataUseOverride>) -> Result<Vec<DataUseOverride>, ConfigError> {
    let known = known_kinds();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for mut entry in list {
        entry.kind = canonical_kind(&entry.kind);
        let at = format!("data_use {:?}", entry.kind);
        if !known.contains(&entry.kind.as_str()) {
            return Err(ConfigError(format!("{at}: kind is unknown; expected one of {}", known.join(", "))));
        }
        if !seen.insert(entry.kind.clone()) {
            return Err(ConfigError(format!("{at}: the kind has two [[data_use]] entries")));
        }
        for (key, value) in [("terms_url", &entry.terms_url), ("privacy_url", &entry.privacy_url)] {
            let Some(text) = value.as_deref().map(str::trim).filter(|t| !t.is_empty()) else { continue };
            let url = url::Url::parse(text).map_err(|e| ConfigError(format!("{at}: {key} {text:?}: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ConfigError(format!("{at}: {key} {text:?}: expected an http or https URL")));
            }
        }
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
