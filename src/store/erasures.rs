//! The queue of people whose content (or whole account) is being erased, and when a
//! content erasure was asked (it covers only what existed then).

use redb::{ReadableTable, WriteTransaction};

use super::tables::{META, PENDING_ERASURES};
use super::{StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;

/// What an erasure destroys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// Every generation, upload and picture; the account stays.
    Content,
    /// The content, then the person's key and account (the ledger stays, anonymised).
    Account,
}

impl Erasure {
    fn code(self) -> u8 {
        match self {
            Erasure::Content => 0,
            Erasure::Account => 1,
        }
    }

    fn from_code(code: u8) -> Erasure {
        if code == 1 { Erasure::Account } else { Erasure::Content }
    }
}

/// Queues an erasure asked `at`; an account erasure is never downgraded to a content one.
/// A content erasure covers what existed when it was last asked; an account one, everything.
pub fn queue(tx: &WriteTransaction, user: UserId, kind: Erasure, at: Timestamp) -> Result<(), StoreError> {
    let mut table = tx.open_table(PENDING_ERASURES)?;
    let existing = table.get(user.to_key())?.map(|v| Erasure::from_code(v.value()));
    if existing != Some(Erasure::Account) {
        table.insert(user.to_key(), kind.code())?;
        let mut meta = tx.open_table(META)?;
        match kind {
            Erasure::Content => meta.insert(asked_key(user).as_str(), at.millis().to_le_bytes().as_slice()).map(drop)?,
            Erasure::Account => meta.remove(asked_key(user).as_str()).map(drop)?,
        }
    }
    Ok(())
}

/// The instant a pending content erasure was asked: it removes only what was made up to
/// then (`None` for an account erasure, or a queue row from an older build: everything).
pub fn asked_at(tx: &impl Tx, user: UserId) -> Result<Option<Timestamp>, StoreError> {
    let meta = tx.table(META)?;
    let value = meta.get(asked_key(user).as_str())?;
    Ok(value.and_then(|v| <[u8; 8]>::try_from(v.value()).ok()).map(|b| Timestamp(i64::from_le_bytes(b))))
}

/// The meta key holding when `user`'s content erasure was asked.
fn asked_key(user: UserId) -> String {
    format!("erasure_asked_at/{user}")
}

pub fn get(tx: &impl Tx, user: UserId) -> Result<Option<Erasure>, StoreError> {
    Ok(tx.table(PENDING_ERASURES)?.get(user.to_key())?.map(|v| Erasure::from_code(v.value())))
}

pub fn done(tx: &WriteTransaction, user: UserId) -> Result<(), StoreError> {
    tx.open_table(PENDING_ERASURES)?.remove(user.to_key())?;
    tx.open_table(META)?.remove(asked_key(user).as_str())?;
    Ok(())
}

/// Every queued erasure.
pub fn pending(tx: &impl Tx) -> Result<Vec<(UserId, Erasure)>, StoreError> {
    tx.table(PENDING_ERASURES)?
        .iter()?
        .map(|r| r.map(|(k, v)| (UserId::from_key(k.value()), Erasure::from_code(v.value()))).map_err(Into::into))
        .collect()
}
