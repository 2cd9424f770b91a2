//! The instance's privacy notice: the privacy-relevant settings in force (retention periods,
//! enabled providers with their data-use facts, contact) and when they last changed. A change
//! is noticed at start and when admins add or remove a connection, and is audited.

use std::time::Duration;

use crate::config::{Config, RetentionConfig};
use crate::domain::audit::AuditAction;
use crate::domain::catalog::data_use::{DataUse, DataUseTable, Input};
use crate::domain::privacy::{PrivacySettings, ProviderFacts, RETENTION_SETTINGS, RetentionSetting};
use crate::domain::time::Timestamp;
use crate::providers::registry::Registry;
use crate::services::ServiceResult;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::store::{self, StoreError, Tx};

/// One enabled connection as the notice shows it.
#[derive(Debug, Clone)]
pub struct ProviderEntry {
    pub connection: String,
    pub kind: String,
    /// The models it serves on this instance.
    pub models: Vec<String>,
    /// What generations through it may send (what its models take of what the provider receives).
    pub sends: Vec<Input>,
    pub data_use: Option<DataUse>,
}

/// One retention period in force.
#[derive(Debug, Clone)]
pub struct RetentionLine {
    pub setting: RetentionSetting,
    /// The period (zero: no time limit); pages state it in their language.
    pub length: std::time::Duration,
}

/// Everything the notice states from the settings.
#[derive(Debug, Clone)]
pub struct Notice {
    pub retention: Vec<RetentionLine>,
    pub providers: Vec<ProviderEntry>,
    pub contact: Option<String>,
    /// Only providers that rule out training on inputs receive content.
    pub forbid_training: bool,
    /// When any of these settings last changed.
    pub updated: Timestamp,
}

fn period(r: &RetentionConfig, key: &str) -> Duration {
    match key {
        "uploads" => r.uploads,
        "outputs" => r.outputs,
        "failed" => r.failed,
        "audit" => r.audit,
        "client_addresses" => r.client_addresses,
        _ => Duration::ZERO,
    }
}

/// The enabled connections, by name, with their providers' facts.
fn providers(registry: &Registry, table: &DataUseTable) -> Vec<ProviderEntry> {
    registry
        .connections()
        .map(|c| {
            let name = c.config.name.clone();
            let models = registry.models_of(&name);
            let data_use = table.get(&c.config.kind).cloned();
            let mut sends: Vec<Input> = match &data_use {
                Some(d) if models.is_empty() => d.receives.clone(),
                Some(d) => models.iter().filter_map(|m| registry.model(m)).flat_map(|m| d.receives_for(m)).collect(),
                None => Vec::new(),
            };
            sends.sort();
            sends.dedup();
            ProviderEntry { connection: name, kind: c.config.kind.clone(), models, sends, data_use }
        })
        .collect()
}

/// The settings whose fingerprint dates the notice: exactly what it states.
fn settings(config: &Config, providers: &[ProviderEntry], forbid_training: bool) -> PrivacySettings {
    PrivacySettings {
        retention: RETENTION_SETTINGS
            .iter()
            .map(|s| (s.key.to_string(), u64::try_from(period(&config.retention, s.key).as_millis()).unwrap_or(u64::MAX)))
            .collect(),
        providers: providers
            .iter()
            .map(|p| ProviderFacts {
                connection: p.connection.clone(),
                kind: p.kind.clone(),
                sends: p.sends.clone(),
                facts: p.data_use.as_ref().and_then(|d| serde_json::to_value(d).ok()).unwrap_or_default(),
            })
            .collect(),
        contact: config.contact.clone(),
        forbid_training,
    }
}

fn current(state: &AppState, tx: &impl Tx) -> Result<(Vec<ProviderEntry>, PrivacySettings), StoreError> {
    let providers = providers(&state.registry(), &state.data_use);
    let settings = settings(&state.config, &providers, store::meta::forbid_training(tx)?);
    Ok((providers, settings))
}

/// Compares the settings in force with those last recorded; on a difference records the new
/// ones as of now with a `settings.changed` audit event saying what changed, in one
/// transaction. Returns when the settings in force were first seen.
pub async fn refresh(state: &AppState, ctx: &Context) -> ServiceResult<Timestamp> {
    let state = state.clone();
    let ctx = ctx.clone();
    let store = state.store.clone();
    let since = store
        .write(move |tx| {
            // computed inside the write lock, so concurrent refreshes record the latest registry
            let (_, settings) = current(&state, tx)?;
            let stored = store::meta::privacy_settings(tx)?;
            let fingerprint = settings.fingerprint();
            if let Some(seen) = stored.as_ref().filter(|s| s.fingerprint == fingerprint) {
                return Ok::<_, crate::services::ServiceError>(seen.since);
            }
            let detail = settings.changes_from(stored.as_ref().map(|s| s.canonical.as_str())).join("; ");
            let seen = settings.seen(Timestamp::now());
            store::meta::set_privacy_settings(tx, &seen)?;
            audit::record(tx, &ctx, AuditAction::SettingsChanged, Some("privacy notice".into()), Some(detail))?;
            Ok(seen.since)
        })
        .await?;
    Ok(since)
}

/// The notice as it stands, dated by the last change of its settings.
pub async fn notice(state: &AppState) -> ServiceResult<Notice> {
    let reading = state.clone();
    let (providers, settings, stored) = state
        .store
        .read(move |tx| {
            let (providers, settings) = current(&reading, tx)?;
            Ok::<_, StoreError>((providers, settings, store::meta::privacy_settings(tx)?))
        })
        .await?;
    let fingerprint = settings.fingerprint();
    let updated = match stored.filter(|s| s.fingerprint == fingerprint) {
        Some(seen) => seen.since,
        // every change is refreshed where it happens; this covers one that was not
        None => refresh(state, &Context::system()).await?,
    };
    let retention =
        RETENTION_SETTINGS.iter().map(|s| RetentionLine { setting: *s, length: period(&state.config.retention, s.key) }).collect();
    Ok(Notice { retention, providers, contact: state.config.contact.clone(), forbid_training: settings.forbid_training, updated })
}
