//! The catalog in force and how admins change it: installing a catalog file, editing or
//! adding models, reverting an edit, storing what connections discover, and what is due when
//! models shut down. Every change is
//! checked whole before it is stored (an invalid catalog never replaces a valid one), stored
//! and audited in one transaction, then put in force without a restart.

use crate::config::Config;
use crate::domain::audit::AuditAction;
use crate::domain::catalog::{Catalog, CatalogDate, CatalogError, Layer, Located, ModelEntry, ModelSpec};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Store, StoreError};

/// The layers over the shipped catalog, as stored and configured.
struct Layers {
    discovered: Vec<ModelEntry>,
    imported: Vec<ModelEntry>,
    config: Vec<ModelEntry>,
    edited: Vec<ModelEntry>,
}

/// Where each layer's entries are said to come from, in errors.
const DISCOVERED: &str = "the discovered models";
const IMPORTED: &str = "the imported catalog";
const CONFIGURED: &str = "config [[model]]";
const EDITED: &str = "an admin's edit";

fn located(entries: &[ModelEntry], source: &str) -> Vec<Located> {
    entries.iter().map(|e| Located::new(e.clone(), source)).collect()
}

impl Layers {
    /// The catalog these layers make over the shipped one; the first error names its place.
    fn build(&self) -> Result<Catalog, CatalogError> {
        Catalog::shipped()
            .build_from(Layer::Discovered, located(&self.discovered, DISCOVERED))?
            .build_from(Layer::Imported, located(&self.imported, IMPORTED))?
            .build_from(Layer::Config, located(&self.config, CONFIGURED))?
            .build_from(Layer::Edited, located(&self.edited, EDITED))
    }
}

/// The catalog at start: shipped, discovered, imported, config, edits. A stored layer that no longer
/// fits (a newer shipped catalog removed what it named) is left out with a warning rather
/// than keeping the service from starting; config's entries must fit.
pub fn load_now(store: &Store, config: &Config) -> Result<Catalog, CatalogError> {
    let stored = store.read_now(store::catalog_layers::all).unwrap_or_else(|e| {
        tracing::warn!("cannot read the stored catalog changes: {e}; starting with the shipped catalog");
        Vec::new()
    });
    let layer = |wanted: Layer| stored.iter().find(|(l, _)| *l == wanted).map(|(_, e)| e.clone()).unwrap_or_default();
    let shipped = Catalog::shipped();
    let discovered = shipped.build_from(Layer::Discovered, located(&layer(Layer::Discovered), DISCOVERED)).unwrap_or_else(|e| {
        tracing::warn!("the discovered models no longer fit this release and are not used until the next refresh: {e}");
        shipped.clone()
    });
    let imported = discovered.build_from(Layer::Imported, located(&layer(Layer::Imported), IMPORTED)).unwrap_or_else(|e| {
        tracing::warn!("the imported catalog no longer fits this release and is not used: {e}");
        discovered.clone()
    });
    let configured = imported.build_from(Layer::Config, located(&config.model, CONFIGURED))?;
    Ok(configured.build_from(Layer::Edited, located(&layer(Layer::Edited), EDITED)).unwrap_or_else(|e| {
        tracing::warn!("admins' catalog edits no longer fit and are not used: {e}");
        configured.clone()
    }))
}

async fn layers(state: &AppState) -> ServiceResult<Layers> {
    let (discovered, imported, edited) = state
        .store
        .read(|tx| {
            let get = |layer| store::catalog_layers::get(tx, layer);
            Ok::<_, StoreError>((get(Layer::Discovered)?, get(Layer::Imported)?, get(Layer::Edited)?))
        })
        .await?;
    Ok(Layers { discovered, imported, config: state.config.model.clone(), edited })
}

/// Checks a catalog file over the shipped catalog, as `catalog check` and an import do:
/// the models it holds, or the first error with its line and field.
pub fn check_file(source: &str, text: &str) -> Result<Vec<Located>, CatalogError> {
    let entries = Catalog::parse(source, text)?;
    Catalog::shipped().build_from(Layer::Imported, entries.clone())?;
    Ok(entries)
}

fn refused(e: CatalogError) -> ServiceError {
    ServiceError::InvalidMessage(e.to_string())
}

/// Puts `layers` in force if they make a valid catalog, storing `layer` with `audit_event`
/// in one transaction first.
async fn put_in_force(
    state: &AppState,
    layers: Layers,
    layer: Layer,
    ctx: &Context,
    event: (AuditAction, Option<String>, String),
) -> ServiceResult<Catalog> {
    let catalog = layers.build().map_err(refused)?;
    let entries = match layer {
        Layer::Discovered => layers.discovered,
        Layer::Imported => layers.imported,
        Layer::Edited => layers.edited,
        Layer::Shipped | Layer::Config => {
            return Err(ServiceError::Internal("only the discovered, imported and edited layers are stored".into()));
        }
    };
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            store::catalog_layers::put(tx, layer, &entries)?;
            audit::record(tx, &ctx, event.0, event.1, Some(event.2))
        })
        .await?;
    let registry = state.registry().with_catalog(catalog.clone()).map_err(|e| ServiceError::Internal(e.to_string()))?;
    state.replace_registry(registry);
    Ok(catalog)
}

/// Installs a catalog file: its models replace the imported ones with the same id (and
/// add new ones). Refused whole, with the line and field, when it or the catalog it would
/// make is invalid. Returns how many models the file held.
pub async fn import(state: &AppState, ctx: &Context, source: &str, text: &str) -> ServiceResult<usize> {
    let entries = check_file(source, text).map_err(refused)?;
    let count = entries.len();
    let mut layers = layers(state).await?;
    for located in entries {
        layers.imported.retain(|e| e.id != located.entry.id);
        layers.imported.push(located.entry);
    }
    let detail = format!("{source}: {count} models");
    put_in_force(state, layers, Layer::Imported, ctx, (AuditAction::CatalogImported, None, detail)).await?;
    Ok(count)
}

/// Replaces the discovered layer with `entries` (each already checked on its own) and puts
/// the catalog in force, audited as `catalog.discovered`; refused whole, the layer unchanged,
/// when the catalog it would make is invalid.
pub async fn put_discovered(state: &AppState, ctx: &Context, entries: Vec<ModelEntry>) -> ServiceResult<()> {
    let mut layers = layers(state).await?;
    let detail = format!("{} models", entries.len());
    layers.discovered = entries;
    put_in_force(state, layers, Layer::Discovered, ctx, (AuditAction::CatalogDiscovered, None, detail)).await?;
    Ok(())
}

/// Whether `entry` fits over the shipped catalog as a discovered model on its own.
pub fn fits_as_discovered(entry: &ModelEntry) -> Result<(), CatalogError> {
    Catalog::shipped().build_from(Layer::Discovered, located(std::slice::from_ref(entry), DISCOVERED)).map(drop)
}

/// The catalog in force as one TOML file.
pub fn export(state: &AppState) -> String {
    state.registry().catalog().to_toml()
}

/// An admin's change to model `entry.id` (or a new model), over their earlier edit of it:
/// the fields it names replace those. Returns the model as it now is.
pub async fn edit(state: &AppState, ctx: &Context, entry: ModelEntry) -> ServiceResult<std::sync::Arc<ModelSpec>> {
    let id = entry.id.clone();
    let mut layers = layers(state).await?;
    let entry = match layers.edited.iter().position(|e| e.id == id) {
        Some(i) => layers.edited.remove(i).merged(entry),
        None => entry,
    };
    layers.edited.push(entry);
    let detail = "edited on the Models admin page or API".to_string();
    let catalog = put_in_force(state, layers, Layer::Edited, ctx, (AuditAction::ModelEdited, Some(id.clone()), detail)).await?;
    catalog.model(&id).cloned().ok_or(ServiceError::NotFound("model"))
}

/// Removes an admin's edit of model `id`: it is again as the lower layers say (a model
/// only the edit added is gone from the catalog; generations keep their snapshot).
pub async fn revert(state: &AppState, ctx: &Context, id: &str) -> ServiceResult<()> {
    let mut layers = layers(state).await?;
    let before = layers.edited.len();
    layers.edited.retain(|e| e.id != id);
    if layers.edited.len() == before {
        return Err(ServiceError::NotFound("edit"));
    }
    put_in_force(state, layers, Layer::Edited, ctx, (AuditAction::ModelEdited, Some(id.to_string()), "edit reverted".into())).await?;
    Ok(())
}

/// An admin's stored edit of model `id`, if any.
pub async fn edit_of(state: &AppState, id: &str) -> ServiceResult<Option<ModelEntry>> {
    Ok(layers(state).await?.edited.into_iter().find(|e| e.id == id))
}

/// A model that shuts down soon, and what still names it.
#[derive(Debug, Clone)]
pub struct Due {
    pub model: std::sync::Arc<ModelSpec>,
    pub shutdown_on: CatalogDate,
    pub days_left: i64,
    pub successor: Option<std::sync::Arc<ModelSpec>>,
    /// Whether an admin's model policy (roles, people, price) names it.
    pub policy: bool,
    /// Connections added on the admin page that list it among their models.
    pub connections: Vec<String>,
    /// Connections in config.toml that list it (only config.toml can change them).
    pub config_connections: Vec<String>,
}

/// How far ahead the admin home looks for shutdowns.
pub const DUE_WITHIN_DAYS: i64 = 30;

/// Models that shut down within [`DUE_WITHIN_DAYS`], soonest first, with what names them.
pub async fn due(state: &AppState) -> ServiceResult<Vec<Due>> {
    let registry = state.registry();
    let catalog = registry.catalog();
    let today = CatalogDate::today();
    let soon = catalog.shutting_down(today, DUE_WITHIN_DAYS);
    if soon.is_empty() {
        return Ok(Vec::new());
    }
    let (policies, stored) =
        state.store.read(|tx| Ok::<_, StoreError>((store::model_policies::list(tx)?, store::connections::list(tx)?))).await?;
    Ok(soon
        .into_iter()
        .map(|m| {
            let shutdown_on = m.lifecycle.shutdown_on.unwrap_or(today);
            Due {
                model: m.clone(),
                shutdown_on,
                days_left: today.days_until(shutdown_on),
                successor: m.lifecycle.successor.as_deref().and_then(|s| catalog.model(s)).cloned(),
                policy: policies.iter().any(|p| p.model == m.id),
                connections: stored.iter().filter(|c| c.models.contains(&m.id)).map(|c| c.name.clone()).collect(),
                config_connections: state.config.connection.iter().filter(|c| c.models.contains(&m.id)).map(|c| c.name.clone()).collect(),
            }
        })
        .collect())
}

/// Moves what names model `id` to its successor: its policy (unless the successor has one
/// of its own) and the model lists of connections added on the admin page. Returns what
/// moved, in words.
pub async fn remap(state: &AppState, ctx: &Context, id: &str) -> ServiceResult<String> {
    let registry = state.registry();
    let model = registry.model(id).ok_or(ServiceError::NotFound("model"))?.clone();
    let successor = model
        .lifecycle
        .successor
        .clone()
        .ok_or_else(|| ServiceError::InvalidMessage(format!("{} names no successor to move to", model.id)))?;
    let (old, new) = (model.id.clone(), successor.clone());
    let ctx = ctx.clone();
    let summary = state
        .store
        .write(move |tx| {
            let mut moved = Vec::new();
            if let Some(mut policy) = store::model_policies::get(tx, &old)? {
                if store::model_policies::get(tx, &new)?.is_none() {
                    policy.model = new.clone();
                    store::model_policies::put(tx, &policy)?;
                    moved.push("its model policy".to_string());
                }
                store::model_policies::remove(tx, &old)?;
            }
            for mut connection in store::connections::list(tx)? {
                if connection.models.contains(&old) {
                    connection.models.retain(|m| *m != old);
                    if !connection.models.contains(&new) {
                        connection.models.push(new.clone());
                    }
                    store::connections::put(tx, &connection)?;
                    moved.push(format!("connection {}", connection.name));
                }
            }
            let summary = if moved.is_empty() { "nothing named it".to_string() } else { moved.join(", ") };
            audit::record(tx, &ctx, AuditAction::ModelRemapped, Some(old.clone()), Some(format!("to {new}: {summary}")))?;
            Ok::<_, StoreError>(summary)
        })
        .await?;
    crate::services::team::connections::reload(state).await?;
    Ok(summary)
}
