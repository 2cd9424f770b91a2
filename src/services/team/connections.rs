//! Provider connections: those declared in config.toml (read-only here) and those admins
//! add in the UI (stored with their keys sealed to the master key). Every change rebuilds
//! the registry at once; jobs already running keep the connection they started on.

use crate::config::{CONNECTION_KINDS, ConnectionConfig, canonical_kind, parse_base_url};
use crate::domain::audit::AuditAction;
use crate::domain::connection::{StoredConnection, hint_of};
use crate::domain::time::Timestamp;
use crate::domain::user::InvalidInput;
use crate::providers::registry::Registry;
use crate::services::privacy::audit::{self, Context};
use crate::services::privacy::privacy_notice;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;
use crate::vault::master_key::MasterKey;
use crate::vault::sealed;

/// Where a connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Admin,
}

/// A connection as the admin page lists it (keys never included).
#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub name: String,
    pub kind: String,
    pub base_url: Option<String>,
    pub region: Option<String>,
    /// "••••" and the key's last four characters, or "none".
    pub key: String,
    pub max_concurrent: u32,
    pub allow_private_network: bool,
    pub models: Vec<String>,
    pub source: Source,
}

/// What the add form carries.
#[derive(Debug, Clone, Default)]
pub struct NewConnection {
    pub name: String,
    pub kind: String,
    pub base_url: String,
    /// The provider region (BytePlus, DashScope, BFL, MiniMax); empty for the default.
    pub region: String,
    pub api_key: String,
    pub access_key: String,
    pub secret_key: String,
    pub max_concurrent: Option<u32>,
    pub allow_private_network: bool,
    pub models: String,
}

/// The config connections, then the stored ones (a stored connection whose key no longer
/// opens is skipped with an error in the log: its models show as unavailable).
pub fn all_configs(config: &[ConnectionConfig], stored: &[StoredConnection], master: &MasterKey) -> Vec<ConnectionConfig> {
    let mut all = config.to_vec();
    for s in stored {
        if all.iter().any(|c| c.name == s.name) {
            tracing::warn!(connection = %s.name, "a stored connection has the name of one in config.toml; the config one wins");
            continue;
        }
        match to_config(s, master) {
            Ok(c) => all.push(c),
            Err(e) => tracing::error!(connection = %s.name, error = %e, "a stored connection cannot be opened; its models are unavailable"),
        }
    }
    all
}

fn to_config(s: &StoredConnection, master: &MasterKey) -> Result<ConnectionConfig, sealed::SealError> {
    let open = |sealed: &Option<Vec<u8>>| sealed.as_deref().map(|b| sealed::open(master, b)).transpose();
    Ok(ConnectionConfig {
        base_url: s.base_url.as_deref().and_then(|u| url::Url::parse(u).ok()),
        region: s.region.clone(),
        api_key: open(&s.api_key)?,
        access_key: s.access_key.clone(),
        secret_key: open(&s.secret_key)?,
        max_concurrent: s.max_concurrent,
        allow_private_network: s.allow_private_network,
        models: s.models.clone(),
        ..ConnectionConfig::new(&s.name, &s.kind)
    })
}

/// Every connection, config ones first, then by name.
pub async fn list(state: &AppState) -> ServiceResult<Vec<ConnectionRow>> {
    let stored = state.store.read(store::connections::list).await?;
    let registry = state.registry();
    let mut rows: Vec<ConnectionRow> = state
        .config
        .connection
        .iter()
        .map(|c| ConnectionRow {
            name: c.name.clone(),
            kind: canonical_kind(&c.kind),
            base_url: c.base_url.as_ref().map(|u| u.to_string()),
            region: c.region.clone(),
            key: crate::domain::connection::masked(
                c.api_key.as_ref().or(c.secret_key.as_ref()).and_then(|k| hint_of(k.expose())).as_deref(),
            ),
            max_concurrent: c.max_concurrent,
            allow_private_network: c.allow_private_network,
            models: registry.models_of(&c.name),
            source: Source::Config,
        })
        .collect();
    let mut added: Vec<ConnectionRow> = stored
        .into_iter()
        .filter(|s| !rows.iter().any(|r| r.name == s.name))
        .map(|s| ConnectionRow {
            models: registry.models_of(&s.name),
            key: crate::domain::connection::masked(s.key_hint.as_deref()),
            name: s.name,
            kind: s.kind,
            base_url: s.base_url,
            region: s.region,
            max_concurrent: s.max_concurrent,
            allow_private_network: s.allow_private_network,
            source: Source::Admin,
        })
        .collect();
    added.sort_by(|a, b| a.name.cmp(&b.name));
    rows.extend(added);
    Ok(rows)
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::InvalidMessage(message.into())
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// Validates and stores a new connection, then puts it in force.
pub async fn add(state: &AppState, ctx: &Context, form: NewConnection) -> ServiceResult<()> {
    let name = form.name.trim().to_string();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(InvalidInput("a connection name is 1 to 64 letters, digits, '-' or '_'").into());
    }
    let kind = canonical_kind(&form.kind);
    if kind == "demo" || !CONNECTION_KINDS.contains(&kind.as_str()) {
        let kinds: Vec<&str> = CONNECTION_KINDS.iter().copied().filter(|k| *k != "demo").collect();
        return Err(invalid(format!("choose a provider kind: {}", kinds.join(", "))));
    }
    let base_url = match optional(&form.base_url) {
        Some(text) => Some(parse_base_url(&text).map_err(invalid)?.to_string()),
        None => None,
    };
    let max_concurrent = form.max_concurrent.unwrap_or(4);
    if !(1..=1000).contains(&max_concurrent) {
        return Err(invalid("jobs at once must be between 1 and 1000"));
    }
    let registry = state.registry();
    let models: Vec<String> = form.models.split([',', ' ', '\n']).map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect();
    for model in &models {
        match registry.model(model) {
            Some(spec) if spec.provider == kind => {}
            Some(spec) => return Err(invalid(format!("the model {model} is served by {} connections, not {kind}", spec.provider))),
            None => return Err(invalid(format!("there is no model called {model:?}"))),
        }
    }
    let api_key = optional(&form.api_key);
    let secret_key = optional(&form.secret_key);
    let access_key = optional(&form.access_key);
    if kind == "kling" && (access_key.is_none() || secret_key.is_none()) {
        return Err(invalid("a Kling connection needs its access key and secret key"));
    }
    if kind != "kling" && kind != "comfyui" && api_key.is_none() {
        return Err(invalid("enter the provider's API key"));
    }
    if state.config.connection.iter().any(|c| c.name == name) {
        return Err(ServiceError::Conflict("a connection with this name is declared in config.toml"));
    }
    let master = state.keyring.master();
    let seal = |key: &Option<String>| key.as_deref().map(|k| sealed::seal(master, k)).transpose();
    let sealing = |e: sealed::SealError| ServiceError::Internal(e.to_string());
    let stored = StoredConnection {
        key_hint: api_key.as_deref().or(secret_key.as_deref()).and_then(hint_of),
        api_key: seal(&api_key).map_err(sealing)?,
        secret_key: seal(&secret_key).map_err(sealing)?,
        name: name.clone(),
        kind: kind.clone(),
        base_url,
        region: optional(&form.region).map(|r| r.to_ascii_lowercase()),
        access_key,
        max_concurrent,
        allow_private_network: form.allow_private_network,
        models,
        created_at: Timestamp::now(),
    };
    // the adapter must build before anything is stored
    let config = to_config(&stored, master).map_err(sealing)?;
    let mut candidate = collect(state).await?;
    candidate.push(config);
    let rebuilt = Registry::build(registry.catalog().clone(), &candidate, Some(&registry)).map_err(|e| invalid(e.message))?;
    let audit_ctx = ctx.clone();
    let detail = format!("{kind} connection");
    state
        .store
        .write(move |tx| {
            if store::connections::get(tx, &stored.name)?.is_some() {
                return Err(ServiceError::Conflict("a connection with this name already exists"));
            }
            store::connections::put(tx, &stored)?;
            audit::record(tx, &audit_ctx, AuditAction::ConnectionAdded, Some(stored.name.clone()), Some(detail))?;
            Ok(())
        })
        .await?;
    state.replace_registry(rebuilt);
    tracing::info!(connection = %name, kind = %kind, "connection added");
    refresh_notice(state, ctx).await;
    Ok(())
}

/// Removes a connection added in the UI (config ones are changed in config.toml).
pub async fn remove(state: &AppState, ctx: &Context, name: &str) -> ServiceResult<()> {
    if state.config.connection.iter().any(|c| c.name == name) {
        return Err(ServiceError::Conflict("this connection is declared in config.toml; remove it there and restart"));
    }
    let audit_ctx = ctx.clone();
    let owned = name.to_string();
    let removed = state
        .store
        .write(move |tx| {
            let removed = store::connections::remove(tx, &owned)?;
            if removed {
                audit::record(tx, &audit_ctx, AuditAction::ConnectionRemoved, Some(owned), None)?;
            }
            Ok::<_, ServiceError>(removed)
        })
        .await?;
    if !removed {
        return Err(ServiceError::NotFound("connection"));
    }
    reload(state).await?;
    refresh_notice(state, ctx).await;
    Ok(())
}

/// Dates the privacy notice after a change of the enabled providers. The change itself is
/// already stored; a failure here is logged, and the notice page records it on its next view.
async fn refresh_notice(state: &AppState, ctx: &Context) {
    if let Err(e) = privacy_notice::refresh(state, ctx).await {
        tracing::error!(error = %e, "recording the privacy settings after a connection change failed");
    }
}

/// Calls the provider's cheapest authenticated endpoint; `Ok` carries what it said.
pub async fn test(state: &AppState, ctx: &Context, name: &str) -> ServiceResult<Result<String, String>> {
    let connection = state.registry().connection(name).ok_or(ServiceError::NotFound("connection"))?;
    let outcome = connection.provider.test_connection().await.map_err(|e| {
        let text = e.to_string();
        let mut c = text.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
    });
    let ctx = ctx.clone();
    let detail = match &outcome {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("failed: {e}"),
    };
    let owned = name.to_string();
    state.store.write(move |tx| audit::record(tx, &ctx, AuditAction::ConnectionTested, Some(owned), Some(detail))).await?;
    Ok(outcome)
}

async fn collect(state: &AppState) -> ServiceResult<Vec<ConnectionConfig>> {
    let stored = state.store.read(store::connections::list).await?;
    Ok(all_configs(&state.config.connection, &stored, state.keyring.master()))
}

/// Rebuilds the registry from the stored and configured connections (after a change that
/// touched stored connections outside this module).
pub async fn reload(state: &AppState) -> ServiceResult<()> {
    let all = collect(state).await?;
    let current = state.registry();
    let registry = Registry::build(current.catalog().clone(), &all, Some(&current)).map_err(|e| ServiceError::Internal(e.to_string()))?;
    state.replace_registry(registry);
    Ok(())
}
