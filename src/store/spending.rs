//! Spending records: the settings, the monthly allowance grants (one per person and month),
//! the approval requests, and what a person spent in a window, summed from the ledger.

use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};

use super::tables::{ALLOWANCE_GRANTS, APPROVALS, LEDGER, LEDGER_BY_USER, SPENDING_SETTINGS};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::approval::{AllowanceGrant, Approval};
use crate::domain::credits::{EntryKind, LedgerEntry};
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::spending::SpendingSettings;
use crate::domain::time::Timestamp;

const SETTINGS_KEY: &str = "settings";

/// The stored settings (the defaults until an admin saves some).
pub fn settings(tx: &impl Tx) -> Result<SpendingSettings, StoreError> {
    Ok(decode_opt(tx.table(SPENDING_SETTINGS)?.get(SETTINGS_KEY)?)?.unwrap_or_default())
}

pub fn put_settings(tx: &WriteTransaction, settings: &SpendingSettings) -> Result<(), StoreError> {
    tx.open_table(SPENDING_SETTINGS)?.insert(SETTINGS_KEY, codec::encode(settings)?.as_slice())?;
    Ok(())
}

/// The allowance granted to `user` for `month` (yyyymm), if any.
pub fn grant(tx: &impl Tx, user: UserId, month: u32) -> Result<Option<AllowanceGrant>, StoreError> {
    decode_opt(tx.table(ALLOWANCE_GRANTS)?.get((user.to_key(), month))?)
}

pub fn put_grant(tx: &WriteTransaction, user: UserId, grant: &AllowanceGrant) -> Result<(), StoreError> {
    tx.open_table(ALLOWANCE_GRANTS)?.insert((user.to_key(), grant.month), codec::encode(grant)?.as_slice())?;
    Ok(())
}

/// Every allowance grant of `user`, oldest month first (for their data export).
pub fn grants_of(tx: &impl Tx, user: UserId) -> Result<Vec<AllowanceGrant>, StoreError> {
    let key = user.to_key();
    let mut out = Vec::new();
    for row in tx.table(ALLOWANCE_GRANTS)?.range((key, 0)..=(key, u32::MAX))? {
        out.push(codec::decode(row?.1.value())?);
    }
    Ok(out)
}

pub fn approval(tx: &impl Tx, generation: GenerationId) -> Result<Option<Approval>, StoreError> {
    decode_opt(tx.table(APPROVALS)?.get(generation.to_key())?)
}

pub fn put_approval(tx: &WriteTransaction, approval: &Approval) -> Result<(), StoreError> {
    tx.open_table(APPROVALS)?.insert(approval.generation.to_key(), codec::encode(approval)?.as_slice())?;
    Ok(())
}

/// Several approval requests by generation, in the order asked.
pub fn approvals(tx: &impl Tx, ids: &[GenerationId]) -> Result<Vec<Option<Approval>>, StoreError> {
    let table = tx.table(APPROVALS)?;
    ids.iter().map(|id| decode_opt(table.get(id.to_key())?)).collect()
}

/// The credits `user` committed since `since`, by generation: what each job held at submit
/// from then on, unless its hold was released (failed, declined, expired, cancelled). Held
/// and settled credits count alike; a job submitted before `since` does not.
pub fn committed_since(tx: &impl Tx, user: UserId, since: Timestamp) -> Result<BTreeMap<GenerationId, u64>, StoreError> {
    let index = tx.table(LEDGER_BY_USER)?;
    let ledger = tx.table(LEDGER)?;
    let key = user.to_key();
    // ledger ids are time-ordered: the first id of the window's first millisecond
    let first = ulid::Ulid::from_parts(u64::try_from(since.millis()).unwrap_or(0), 0).0;
    let mut held = BTreeMap::new();
    // a hold and its release written in the same millisecond may sort either way
    let mut released = std::collections::HashSet::new();
    for row in index.range((key, first)..=(key, u128::MAX))? {
        let (k, _) = row?;
        let Some(entry) = decode_opt::<LedgerEntry>(ledger.get(k.value().1)?)? else { continue };
        let Some(generation) = entry.generation else { continue };
        match entry.kind {
            EntryKind::Hold => {
                held.insert(generation, entry.held_delta.unsigned_abs());
            }
            EntryKind::Release => {
                released.insert(generation);
            }
            _ => {}
        }
    }
    held.retain(|generation, _| !released.contains(generation));
    Ok(held)
}
