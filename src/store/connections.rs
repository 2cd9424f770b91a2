//! Connections added in the admin UI, by name.

use redb::{ReadableTable, WriteTransaction};

use super::tables::CONNECTIONS;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::connection::StoredConnection;

pub fn get(tx: &impl Tx, name: &str) -> Result<Option<StoredConnection>, StoreError> {
    decode_opt(tx.table(CONNECTIONS)?.get(name)?)
}

pub fn put(tx: &WriteTransaction, connection: &StoredConnection) -> Result<(), StoreError> {
    tx.open_table(CONNECTIONS)?.insert(connection.name.as_str(), codec::encode(connection)?.as_slice())?;
    Ok(())
}

pub fn remove(tx: &WriteTransaction, name: &str) -> Result<bool, StoreError> {
    Ok(tx.open_table(CONNECTIONS)?.remove(name)?.is_some())
}

/// Every stored connection, by name.
pub fn list(tx: &impl Tx) -> Result<Vec<StoredConnection>, StoreError> {
    let table = tx.table(CONNECTIONS)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (_, value) = row?;
        out.push(codec::decode(value.value())?);
    }
    Ok(out)
}
