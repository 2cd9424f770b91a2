//! Capability discovery: the models connections' APIs say they serve (OpenRouter's model
//! list), stored as the catalog's discovered layer, refreshed daily by the scheduler and on
//! demand by an admin.

use crate::domain::catalog::ModelEntry;
use crate::services::ServiceResult;
use crate::services::privacy::audit::Context;
use crate::services::state::AppState;
use crate::services::team::catalog;

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The models of the discovered layer now in force.
    pub models: usize,
    /// Connections whose API could not be asked, with why; while any failed, the previous
    /// layer stays in force whole.
    pub failures: Vec<String>,
}

/// Asks every connection whose API discovers for its models and stores their union (the first
/// connection listing an id wins) as the discovered layer, in force at once. A model whose
/// entry the catalog refuses is skipped with a warning. When a connection fails, nothing is
/// stored (the previous layer stays) and the failure is reported; when no connection
/// discovers, nothing changes.
pub async fn refresh(state: &AppState, ctx: &Context) -> ServiceResult<Discovery> {
    let registry = state.registry();
    let mut entries: Vec<ModelEntry> = Vec::new();
    let mut failures = Vec::new();
    let mut asked = false;
    for connection in registry.connections() {
        let name = &connection.config.name;
        match connection.provider.discover().await {
            None => {}
            Some(Err(e)) => failures.push(format!("{name}: {e}")),
            Some(Ok(found)) => {
                asked = true;
                for entry in found {
                    if entries.iter().any(|e| e.id == entry.id) {
                        continue;
                    }
                    match catalog::fits_as_discovered(&entry) {
                        Ok(()) => entries.push(entry),
                        Err(e) => tracing::warn!(connection = %name, "a discovered model is skipped: {e}"),
                    }
                }
            }
        }
    }
    if !failures.is_empty() {
        for failure in &failures {
            tracing::warn!("capability discovery failed, the discovered models stay as they were: {failure}");
        }
        return Ok(Discovery { models: 0, failures });
    }
    if !asked {
        return Ok(Discovery::default());
    }
    let models = entries.len();
    catalog::put_discovered(state, ctx, entries).await?;
    Ok(Discovery { models, failures })
}
