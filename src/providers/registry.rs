//! The configured connections and which catalog models each one serves.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::Provider;
use super::http::OutboundError;
use crate::config::{ConnectionConfig, canonical_kind};
use crate::domain::catalog::{Catalog, CatalogDate, ModelSpec};

/// One configured provider account.
pub struct Connection {
    pub config: ConnectionConfig,
    pub provider: Arc<dyn Provider>,
    /// Jobs this connection may run at once.
    pub permits: Arc<Semaphore>,
}

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("connection {name:?}: {message}")]
pub struct ConnectionError {
    pub name: String,
    pub message: String,
}

impl ConnectionError {
    /// The stored connections could not be read.
    pub fn stored(e: impl std::fmt::Display) -> ConnectionError {
        ConnectionError { name: "(stored)".into(), message: format!("cannot read the stored connections: {e}") }
    }
}

/// The catalog in force and the connections that serve its models.
pub struct Registry {
    catalog: Catalog,
    connections: HashMap<String, Arc<Connection>>,
    /// model id -> connection name
    routes: HashMap<String, String>,
}

impl Registry {
    /// Builds adapters for every configured connection, serving the shipped catalog. Kinds
    /// without an adapter in this build are skipped with a warning, so their models show as
    /// unavailable.
    pub fn from_config(connections: &[ConnectionConfig]) -> Result<Registry, ConnectionError> {
        Registry::build(Catalog::shipped(), connections, None)
    }

    /// A registry serving `catalog` through `connections`, keeping the adapters (and their
    /// concurrency permits) of `previous` connections whose settings did not change.
    pub fn build(catalog: Catalog, connections: &[ConnectionConfig], previous: Option<&Registry>) -> Result<Registry, ConnectionError> {
        let models = catalog.models();
        let mut built = HashMap::new();
        let mut routes = HashMap::new();
        for config in connections {
            let mut config = config.clone();
            config.kind = canonical_kind(&config.kind);
            let config = &config;
            if let Some(kept) = previous.and_then(|p| p.connections.get(&config.name)).filter(|c| same_settings(&c.config, config)) {
                route(models, config, &mut routes);
                built.insert(config.name.clone(), kept.clone());
                continue;
            }
            let failed = |e: OutboundError| ConnectionError { name: config.name.clone(), message: e.to_string() };
            let provider: Arc<dyn Provider> = match config.kind.as_str() {
                "demo" => Arc::new(super::demo::Demo::new(config.delay)),
                "gemini" => Arc::new(super::gemini::Gemini::new(config).map_err(failed)?),
                "runway" => Arc::new(super::runway::Runway::new(config).map_err(failed)?),
                "openai_images" => Arc::new(super::openai_images::OpenAiImages::new(config).map_err(failed)?),
                "openai_videos" => Arc::new(super::openai_videos::OpenAiVideos::new(config).map_err(failed)?),
                "bfl" => Arc::new(super::bfl::Bfl::new(config).map_err(failed)?),
                "stability" => Arc::new(super::stability::Stability::new(config).map_err(failed)?),
                "kling" => Arc::new(super::kling::Kling::new(config).map_err(failed)?),
                "minimax" => Arc::new(super::minimax::MiniMax::new(config).map_err(failed)?),
                "luma" => Arc::new(super::luma::Luma::new(config).map_err(failed)?),
                "luma_agents" => Arc::new(super::luma_agents::LumaAgents::new(config).map_err(failed)?),
                "comfyui" => Arc::new(super::comfyui::ComfyUi::new(config).map_err(failed)?),
                "fal" => Arc::new(super::fal::Fal::new(config).map_err(failed)?),
                "replicate" => Arc::new(super::replicate::Replicate::new(config).map_err(failed)?),
                "xai" => Arc::new(super::xai::Xai::new(config).map_err(failed)?),
                "dashscope" => Arc::new(super::dashscope::DashScope::new(config).map_err(failed)?),
                "byteplus" => Arc::new(super::byteplus::BytePlus::new(config).map_err(failed)?),
                "openrouter" => Arc::new(super::openrouter::OpenRouter::new(config).map_err(failed)?),
                "ideogram" => Arc::new(super::ideogram::Ideogram::new(config).map_err(failed)?),
                "recraft" => Arc::new(super::recraft::Recraft::new(config).map_err(failed)?),
                other => {
                    tracing::warn!(connection = %config.name, kind = other, "no adapter for this provider kind in this build; its models are unavailable");
                    continue;
                }
            };
            route(models, config, &mut routes);
            let permits = Arc::new(Semaphore::new(config.max_concurrent as usize));
            built.insert(config.name.clone(), Arc::new(Connection { config: config.clone(), provider, permits }));
        }
        Ok(Registry { catalog, connections: built, routes })
    }

    /// Every connection, by name.
    pub fn connections(&self) -> impl Iterator<Item = &Arc<Connection>> {
        let mut all: Vec<&Arc<Connection>> = self.connections.values().collect();
        all.sort_by(|a, b| a.config.name.cmp(&b.config.name));
        all.into_iter()
    }

    /// This registry's connections serving `catalog` instead (the connections' adapters and
    /// permits are kept).
    pub fn with_catalog(&self, catalog: Catalog) -> Result<Registry, ConnectionError> {
        let configs: Vec<ConnectionConfig> = self.connections().map(|c| c.config.clone()).collect();
        Registry::build(catalog, &configs, Some(self))
    }

    /// The catalog in force.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The model ids `connection` serves.
    pub fn models_of(&self, connection: &str) -> Vec<String> {
        self.catalog.models().iter().filter(|m| self.routes.get(&m.id).is_some_and(|c| c == connection)).map(|m| m.id.clone()).collect()
    }

    /// Every model in the catalog, available or not.
    pub fn models(&self) -> &[Arc<ModelSpec>] {
        self.catalog.models()
    }

    pub fn model(&self, id: &str) -> Option<&Arc<ModelSpec>> {
        self.catalog.model(id)
    }

    /// The connection that serves `model`, if one is configured.
    pub fn connection_for(&self, model: &str) -> Option<Arc<Connection>> {
        self.routes.get(model).and_then(|name| self.connections.get(name)).cloned()
    }

    pub fn connection(&self, name: &str) -> Option<Arc<Connection>> {
        self.connections.get(name).cloned()
    }

    /// The connection serving `model`, or why none does, in words for people.
    pub fn availability(&self, model: &ModelSpec) -> Result<&str, String> {
        if let Some(reason) = &model.unavailable {
            return Err(reason.clone());
        }
        if model.hidden {
            return Err("An admin has withdrawn this model.".into());
        }
        if let Some(reason) = self.catalog.retirement(model, CatalogDate::today()) {
            return Err(reason);
        }
        match self.routes.get(&model.id) {
            Some(connection) => Ok(connection.as_str()),
            None => Err(format!("No {} connection on this instance serves this model; an admin can add one.", model.provider)),
        }
    }

    /// Models that have a connection, in catalog order.
    pub fn available(&self) -> impl Iterator<Item = &Arc<ModelSpec>> {
        self.models().iter().filter(|m| self.availability(m).is_ok())
    }
}

/// Routes `config`'s models to it (the first connection to claim a model serves it).
fn route(models: &[Arc<ModelSpec>], config: &ConnectionConfig, routes: &mut HashMap<String, String>) {
    for model in models.iter().filter(|m| m.provider == config.kind && m.unavailable.is_none()) {
        let listed = config.models.is_empty() || config.models.iter().any(|m| *m == model.id);
        if listed {
            routes.entry(model.id.clone()).or_insert_with(|| config.name.clone());
        }
    }
}

/// Whether two connection settings would build the same adapter.
fn same_settings(a: &ConnectionConfig, b: &ConnectionConfig) -> bool {
    let key = |s: &Option<crate::config::Secret>| s.as_ref().map(|s| s.expose().to_string());
    a.kind == b.kind
        && a.base_url == b.base_url
        && key(&a.api_key) == key(&b.api_key)
        && a.access_key == b.access_key
        && key(&a.secret_key) == key(&b.secret_key)
        && a.max_concurrent == b.max_concurrent
        && a.allow_private_network == b.allow_private_network
        && a.delay == b.delay
        && a.models == b.models
        && a.timeout == b.timeout
        && a.max_retries == b.max_retries
        && a.deadline == b.deadline
        && a.max_output_bytes == b.max_output_bytes
        && a.workflow == b.workflow
}

/// The registry in force, replaceable at run time (admins change connections and models);
/// cheap to clone. Running jobs keep the connection they started on.
#[derive(Clone)]
pub struct SharedRegistry(Arc<std::sync::RwLock<Arc<Registry>>>);

impl SharedRegistry {
    pub fn new(registry: Registry) -> Self {
        Self(Arc::new(std::sync::RwLock::new(Arc::new(registry))))
    }

    /// The catalog and the connections in force now.
    pub fn current(&self) -> Arc<Registry> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts a rebuilt registry in force.
    pub fn replace(&self, registry: Registry) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(registry);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::CONNECTION_KINDS;
    use crate::providers::*;

    /// Each HTTP kind's base-URL convention, as its adapter declares it.
    const CONVENTIONS: &[(&str, kit::BaseUrl)] = &[
        ("openai_images", openai_images::BASE),
        ("openai_videos", openai_videos::BASE),
        ("gemini", gemini::BASE),
        ("runway", runway::BASE),
        ("kling", kling::BASE),
        ("minimax", minimax::BASE),
        ("luma", luma::BASE),
        ("luma_agents", luma_agents::BASE),
        ("bfl", bfl::BASE),
        ("replicate", replicate::BASE),
        ("fal", fal::BASE),
        ("stability", stability::BASE),
        ("comfyui", comfyui::BASE),
        ("xai", xai::BASE),
        ("dashscope", dashscope::BASE),
        ("byteplus", byteplus::BASE),
        ("openrouter", openrouter::BASE),
        ("ideogram", ideogram::BASE),
        ("recraft", recraft::BASE),
    ];

    #[test]
    fn readme_lists_every_kinds_default_base_url_and_where_its_version_lives() {
        let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md");
        let row = |kind: &str| readme.lines().find(|l| l.starts_with(&format!("| `{kind}` |"))).map(str::to_string);
        for kind in CONNECTION_KINDS {
            assert!(row(kind).is_some(), "README's base-URL table has no row for {kind}");
        }
        for (kind, base) in CONVENTIONS {
            let row = row(kind).unwrap_or_default();
            assert!(row.starts_with(&format!("| `{kind}` | `{}`", base.default)), "README's default for {kind}: {row}");
            assert!(row.contains(&base.describe()), "README's version segment for {kind} is {:?}: {row}", base.describe());
            assert_eq!(
                base.resolve(None).as_str().trim_end_matches('/'),
                base.default.trim_end_matches('/'),
                "{kind}'s default is its own base"
            );
        }
    }
}
