//! Each user's age identity, stored encrypted to the instance master key.

use redb::{ReadableTable, WriteTransaction};

use super::tables::USER_KEYS;
use super::{StoreError, Tx};
use crate::domain::ids::UserId;

pub fn get(tx: &impl Tx, user: UserId) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tx.table(USER_KEYS)?.get(user.to_key())?.map(|v| v.value().to_vec()))
}

pub fn put(tx: &WriteTransaction, user: UserId, wrapped: &[u8]) -> Result<(), StoreError> {
    tx.open_table(USER_KEYS)?.insert(user.to_key(), wrapped)?;
    Ok(())
}

/// Destroys a user's key: every file encrypted to it becomes unreadable, copies included.
pub fn destroy(tx: &WriteTransaction, user: UserId) -> Result<bool, StoreError> {
    Ok(tx.open_table(USER_KEYS)?.remove(user.to_key())?.is_some())
}
