//! Accounts and the email index, written together.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{USERS, USERS_BY_EMAIL};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::ids::UserId;
use crate::domain::user::{Email, User};

pub fn get(tx: &impl Tx, id: UserId) -> Result<Option<User>, StoreError> {
    decode_opt(tx.table(USERS)?.get(id.to_key())?)
}

pub fn find_by_email(tx: &impl Tx, email: &Email) -> Result<Option<User>, StoreError> {
    let Some(id) = tx.table(USERS_BY_EMAIL)?.get(email.as_str())?.map(|v| v.value()) else {
        return Ok(None);
    };
    get(tx, UserId::from_key(id))
}

pub fn email_taken(tx: &impl Tx, email: &Email) -> Result<bool, StoreError> {
    Ok(tx.table(USERS_BY_EMAIL)?.get(email.as_str())?.is_some())
}

/// Inserts or replaces a user, keeping the email index in step.
pub fn put(tx: &WriteTransaction, user: &User) -> Result<(), StoreError> {
    let mut users = tx.open_table(USERS)?;
    let previous: Option<User> = decode_opt(users.get(user.id.to_key())?)?;
    let mut index = tx.open_table(USERS_BY_EMAIL)?;
    if let Some(previous) = previous.filter(|p| p.email != user.email) {
        index.remove(previous.email.as_str())?;
    }
    index.insert(user.email.as_str(), user.id.to_key())?;
    users.insert(user.id.to_key(), codec::encode(user)?.as_slice())?;
    Ok(())
}

/// Every user, oldest first (admin lists; small by nature).
pub fn list(tx: &impl Tx) -> Result<Vec<User>, StoreError> {
    let table = tx.table(USERS)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (_, value) = row?;
        out.push(codec::decode(value.value())?);
    }
    Ok(out)
}

/// Removes an account and its email index entry (account erasure).
pub fn remove(tx: &WriteTransaction, user: &User) -> Result<(), StoreError> {
    tx.open_table(USERS)?.remove(user.id.to_key())?;
    tx.open_table(USERS_BY_EMAIL)?.remove(user.email.as_str())?;
    Ok(())
}
