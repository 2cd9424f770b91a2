//! The stored layers of catalog entries: the discovered models, an imported catalog and
//! admins' edits.

use redb::{ReadableTable, WriteTransaction};

use super::tables::CATALOG_LAYERS;
use super::{StoreError, Tx};
use crate::domain::catalog::{Layer, ModelEntry};

fn key(layer: Layer) -> &'static str {
    layer.as_str()
}

/// The entries stored for `layer` (none when it was never written).
pub fn get(tx: &impl Tx, layer: Layer) -> Result<Vec<ModelEntry>, StoreError> {
    match tx.table(CATALOG_LAYERS)?.get(key(layer))? {
        Some(bytes) => serde_json::from_slice(bytes.value()).map_err(|e| StoreError::Codec(format!("catalog layer {}: {e}", key(layer)))),
        None => Ok(Vec::new()),
    }
}

/// Replaces the entries of `layer`.
pub fn put(tx: &WriteTransaction, layer: Layer, entries: &[ModelEntry]) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(entries).map_err(|e| StoreError::Codec(format!("catalog layer {}: {e}", key(layer))))?;
    tx.open_table(CATALOG_LAYERS)?.insert(key(layer), bytes.as_slice())?;
    Ok(())
}

/// Every stored layer, lowest first.
pub fn all(tx: &impl Tx) -> Result<Vec<(Layer, Vec<ModelEntry>)>, StoreError> {
    [Layer::Discovered, Layer::Imported, Layer::Edited].into_iter().map(|layer| Ok((layer, get(tx, layer)?))).collect()
}
