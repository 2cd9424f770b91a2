//! People's preferences: one record per person, absent while every setting is its default.

use redb::{ReadableTable, WriteTransaction};

use super::tables::PREFERENCES;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::ids::UserId;
use crate::domain::preferences::Preferences;

/// A person's preferences (the defaults when they never changed one).
pub fn get(tx: &impl Tx, person: UserId) -> Result<Preferences, StoreError> {
    Ok(decode_opt(tx.table(PREFERENCES)?.get(person.to_key())?)?.unwrap_or_default())
}

/// Writes a person's preferences; all defaults remove the row.
pub fn put(tx: &WriteTransaction, person: UserId, preferences: &Preferences) -> Result<(), StoreError> {
    let mut table = tx.open_table(PREFERENCES)?;
    if *preferences == Preferences::default() {
        table.remove(person.to_key())?;
    } else {
        table.insert(person.to_key(), codec::encode(preferences)?.as_slice())?;
    }
    Ok(())
}

/// Removes a person's preferences (their account is erased).
pub fn remove(tx: &WriteTransaction, person: UserId) -> Result<(), StoreError> {
    tx.open_table(PREFERENCES)?.remove(person.to_key())?;
    Ok(())
}
