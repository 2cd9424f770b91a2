//! The credit ledger and the per-user balances it sums to, always written together.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{BALANCES, LEDGER, LEDGER_BY_USER};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::credits::{Balance, CreditError, EntryKind, LedgerEntry};
use crate::domain::ids::{GenerationId, LedgerId, UserId};
use crate::domain::time::Timestamp;

pub fn balance(tx: &impl Tx, user: UserId) -> Result<Balance, StoreError> {
    Ok(decode_opt(tx.table(BALANCES)?.get(user.to_key())?)?.unwrap_or_default())
}

/// Appends a ledger entry and applies it to the balance, in the caller's transaction.
/// The inner error says why credits could not move; nothing is written then.
pub fn post(
    tx: &WriteTransaction,
    user: UserId,
    kind: EntryKind,
    generation: Option<GenerationId>,
    available_delta: i64,
    held_delta: i64,
    note: Option<String>,
) -> Result<Result<Balance, CreditError>, StoreError> {
    let current = balance(tx, user)?;
    let next = match current.apply(available_delta, held_delta) {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    let entry = LedgerEntry { id: LedgerId::generate(), user, at: Timestamp::now(), kind, generation, available_delta, held_delta, note };
    tx.open_table(LEDGER)?.insert(entry.id.to_key(), codec::encode(&entry)?.as_slice())?;
    tx.open_table(LEDGER_BY_USER)?.insert((user.to_key(), entry.id.to_key()), ())?;
    tx.open_table(BALANCES)?.insert(user.to_key(), codec::encode(&next)?.as_slice())?;
    Ok(Ok(next))
}

/// A user's ledger, oldest first.
pub fn entries_for_user(tx: &impl Tx, user: UserId) -> Result<Vec<LedgerEntry>, StoreError> {
    let index = tx.table(LEDGER_BY_USER)?;
    let ledger = tx.table(LEDGER)?;
    let key = user.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))? {
        let (k, _) = row?;
        if let Some(e) = decode_opt::<LedgerEntry>(ledger.get(k.value().1)?)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Every stored balance (for the invariant check).
pub fn all_balances(tx: &impl Tx) -> Result<Vec<(UserId, Balance)>, StoreError> {
    let mut out = Vec::new();
    for row in tx.table(BALANCES)?.iter()? {
        let (k, v) = row?;
        out.push((UserId::from_key(k.value()), codec::decode(v.value())?));
    }
    Ok(out)
}

/// A page of a user's ledger, newest first: at most `limit` entries older than `before` (a
/// ledger id key), and whether more follow.
pub fn entries_page(tx: &impl Tx, user: UserId, before: Option<u128>, limit: usize) -> Result<(Vec<LedgerEntry>, bool), StoreError> {
    let index = tx.table(LEDGER_BY_USER)?;
    let ledger = tx.table(LEDGER)?;
    let key = user.to_key();
    let end = before.unwrap_or(u128::MAX);
    let mut out = Vec::new();
    for row in index.range((key, 0)..(key, end))?.rev() {
        let (k, _) = row?;
        if out.len() == limit {
            return Ok((out, true));
        }
        if let Some(e) = decode_opt::<LedgerEntry>(ledger.get(k.value().1)?)? {
            out.push(e);
        }
    }
    Ok((out, false))
}
