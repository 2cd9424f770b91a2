//! The configured connections and which catalog models each one serves.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::Provider;
use super::http::OutboundError;
use crate::config::{ConnectionConfig, canonical_kind};
use crate::domain::catalog::{ModelSpec, builtin_models};

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

/// Models and the connections that serve them.
pub struct Registry {
    models: Vec<ModelSpec>,
    connections: HashMap<String, Arc<Connection>>,
    /// model id -> connection name
    routes: HashMap<&'static str, String>,
}

impl Registry {
    /// Builds adapters for every configured connection. Kinds without an adapter in this
    /// build are skipped with a warning, so their models show as unavailable.
    pub fn from_config(connections: &[ConnectionConfig]) -> Result<Registry, ConnectionError> {
        let models = builtin_models();
        let mut built = HashMap::new();
        let mut routes = HashMap::new();
        for config in connections {
            let mut config = config.clone();
            config.kind = canonical_kind(&config.kind);
            let config = &config;
            let failed = |e: OutboundError| ConnectionError { name: config.name.clone(), message: e.to_string() };
            let provider: Arc<dyn Provider> = match config.kind.as_str() {
                "demo" => Arc::new(super::demo::Demo::new(config.delay)),
                "openai_videos" => Arc::new(super::openai_videos::OpenAiVideos::new(config).map_err(failed)?),
                "comfyui" => Arc::new(super::comfyui::ComfyUi::new(config).map_err(failed)?),
                "fal" => Arc::new(super::fal::Fal::new(config).map_err(failed)?),
                "replicate" => Arc::new(super::replicate::Replicate::new(config).map_err(failed)?),
                other => {
                    tracing::warn!(connection = %config.name, kind = other, "no adapter for this provider kind in this build; its models are unavailable");
                    continue;
                }
            };
            for model in models.iter().filter(|m| m.provider == config.kind && m.unavailable.is_none()) {
                let listed = config.models.is_empty() || config.models.iter().any(|m| m == model.id);
                if listed {
                    routes.entry(model.id).or_insert_with(|| config.name.clone());
                }
            }
            let permits = Arc::new(Semaphore::new(config.max_concurrent as usize));
            built.insert(config.name.clone(), Arc::new(Connection { config: config.clone(), provider, permits }));
        }
        Ok(Registry { models, connections: built, routes })
    }

    /// Every model in the catalog, available or not.
    pub fn models(&self) -> &[ModelSpec] {
        &self.models
    }

    pub fn model(&self, id: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id == id)
    }

    /// The connection that serves `model`, if one is configured.
    pub fn connection_for(&self, model: &str) -> Option<Arc<Connection>> {
        self.routes.get(model).and_then(|name| self.connections.get(name)).cloned()
    }

    pub fn connection(&self, name: &str) -> Option<Arc<Connection>> {
        self.connections.get(name).cloned()
    }

    /// Models that have a connection, in catalog order.
    pub fn available(&self) -> impl Iterator<Item = &ModelSpec> {
        self.models.iter().filter(|m| self.routes.contains_key(m.id))
    }
}
