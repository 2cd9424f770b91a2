//! One-time links (invitations, password resets) keyed by the hash of their secret.

use redb::{ReadableTable, WriteTransaction};

use super::tables::LINKS;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::auth::OneTimeLink;

pub fn get(tx: &impl Tx, hash: &[u8; 32]) -> Result<Option<OneTimeLink>, StoreError> {
    decode_opt(tx.table(LINKS)?.get(hash)?)
}

pub fn put(tx: &WriteTransaction, hash: &[u8; 32], link: &OneTimeLink) -> Result<(), StoreError> {
    tx.open_table(LINKS)?.insert(hash, codec::encode(link)?.as_slice())?;
    Ok(())
}

pub fn remove(tx: &WriteTransaction, hash: &[u8; 32]) -> Result<(), StoreError> {
    tx.open_table(LINKS)?.remove(hash)?;
    Ok(())
}
