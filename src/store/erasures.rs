//! The queue of people whose content (or whole account) is being erased.

use redb::{ReadableTable, WriteTransaction};

use super::tables::PENDING_ERASURES;
use super::{StoreError, Tx};
use crate::domain::ids::UserId;

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

/// Queues an erasure; an account erasure is never downgraded to a content one.
pub fn queue(tx: &WriteTransaction, user: UserId, kind: Erasure) -> Result<(), StoreError> {
    let mut table = tx.open_table(PENDING_ERASURES)?;
    let existing = table.get(user.to_key())?.map(|v| Erasure::from_code(v.value()));
    if existing != Some(Erasure::Account) {
        table.insert(user.to_key(), kind.code())?;
    }
    Ok(())
}

pub fn get(tx: &impl Tx, user: UserId) -> Result<Option<Erasure>, StoreError> {
    Ok(tx.table(PENDING_ERASURES)?.get(user.to_key())?.map(|v| Erasure::from_code(v.value())))
}

pub fn done(tx: &WriteTransaction, user: UserId) -> Result<(), StoreError> {
    tx.open_table(PENDING_ERASURES)?.remove(user.to_key())?;
    Ok(())
}

/// Every queued erasure.
pub fn pending(tx: &impl Tx) -> Result<Vec<(UserId, Erasure)>, StoreError> {
    tx.table(PENDING_ERASURES)?
        .iter()?
        .map(|r| r.map(|(k, v)| (UserId::from_key(k.value()), Erasure::from_code(v.value()))).map_err(Into::into))
        .collect()
}
