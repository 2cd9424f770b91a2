//! Model policies set by admins, by catalog model id.

use redb::{ReadableTable, WriteTransaction};

use super::tables::MODEL_POLICIES;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::model_policy::ModelPolicy;

pub fn get(tx: &impl Tx, model: &str) -> Result<Option<ModelPolicy>, StoreError> {
    decode_opt(tx.table(MODEL_POLICIES)?.get(model)?)
}

pub fn put(tx: &WriteTransaction, policy: &ModelPolicy) -> Result<(), StoreError> {
    tx.open_table(MODEL_POLICIES)?.insert(policy.model.as_str(), codec::encode(policy)?.as_slice())?;
    Ok(())
}

/// Every stored policy, by model id.
pub fn list(tx: &impl Tx) -> Result<Vec<ModelPolicy>, StoreError> {
    let table = tx.table(MODEL_POLICIES)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (_, value) = row?;
        out.push(codec::decode(value.value())?);
    }
    Ok(out)
}

/// Removes the policy of `model`; `true` when there was one.
pub fn remove(tx: &WriteTransaction, model: &str) -> Result<bool, StoreError> {
    Ok(tx.open_table(MODEL_POLICIES)?.remove(model)?.is_some())
}
