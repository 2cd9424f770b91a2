//! The audit log, keyed by time-ordered id so the newest events are read first.

use redb::{ReadableTable, WriteTransaction};

use super::tables::AUDIT;
use super::{StoreError, Tx, codec};
use crate::domain::audit::AuditEvent;

/// Writes an event under its id (a new row, or the same row rewritten).
pub fn append(tx: &WriteTransaction, event: &AuditEvent) -> Result<(), StoreError> {
    tx.open_table(AUDIT)?.insert(event.id.to_key(), codec::encode(event)?.as_slice())?;
    Ok(())
}

/// Events newest first, older than `before` (a key), keeping those `keep` accepts, until
/// `limit` are found or `scan_limit` rows were looked at. Returns the events and the key
/// to continue from when the scan stopped early.
pub fn page(
    tx: &impl Tx,
    before: Option<u128>,
    limit: usize,
    scan_limit: usize,
    keep: impl Fn(&AuditEvent) -> bool,
) -> Result<(Vec<AuditEvent>, Option<u128>), StoreError> {
    let table = tx.table(AUDIT)?;
    let upper = before.unwrap_or(u128::MAX);
    let mut out = Vec::new();
    let mut scanned = 0;
    for row in table.range(..upper)?.rev() {
        let (key, value) = row?;
        scanned += 1;
        let event: AuditEvent = codec::decode(value.value())?;
        if keep(&event) {
            out.push(event);
        }
        if out.len() == limit || scanned == scan_limit {
            return Ok((out, Some(key.value())));
        }
    }
    Ok((out, None))
}

/// Removes up to `limit` events with keys below `until` (oldest first); returns how many.
pub fn remove_before(tx: &WriteTransaction, until: u128, limit: usize) -> Result<usize, StoreError> {
    let mut table = tx.open_table(AUDIT)?;
    let keys: Vec<u128> = table.range(..until)?.take(limit).map(|r| r.map(|(k, _)| k.value())).collect::<Result<_, _>>()?;
    for key in &keys {
        table.remove(*key)?;
    }
    Ok(keys.len())
}

/// Rewrites the client address of events with keys in `from..until` through `truncate`, up
/// to `limit` rows; returns how many changed and the key to continue from (`None` at `until`).
pub fn truncate_addresses(
    tx: &WriteTransaction,
    from: u128,
    until: u128,
    limit: usize,
    truncate: impl Fn(&str) -> Option<String>,
) -> Result<(usize, Option<u128>), StoreError> {
    let mut table = tx.open_table(AUDIT)?;
    let mut changed = Vec::new();
    let mut next = None;
    for (seen, row) in table.range(from..until)?.enumerate() {
        let (key, value) = row?;
        if seen == limit {
            next = Some(key.value());
            break;
        }
        let mut event: AuditEvent = codec::decode(value.value())?;
        if let Some(address) = event.client.address.take() {
            event.client.address = truncate(&address);
            if event.client.address.as_deref() != Some(address.as_str()) {
                changed.push((key.value(), event));
            }
        }
    }
    for (key, event) in &changed {
        table.insert(*key, codec::encode(event)?.as_slice())?;
    }
    Ok((changed.len(), next))
}

/// Rewrites events with keys from `from` on through `change` (which says whether it changed
/// one), up to `limit` rows; returns how many changed and the key to continue from (`None`
/// at the end of the log).
pub fn rewrite(
    tx: &WriteTransaction,
    from: u128,
    limit: usize,
    mut change: impl FnMut(&mut AuditEvent) -> bool,
) -> Result<(usize, Option<u128>), StoreError> {
    let mut table = tx.open_table(AUDIT)?;
    let mut changed = Vec::new();
    let mut next = None;
    for (seen, row) in table.range(from..)?.enumerate() {
        let (key, value) = row?;
        if seen == limit {
            next = Some(key.value());
            break;
        }
        let mut event: AuditEvent = codec::decode(value.value())?;
        if change(&mut event) {
            changed.push((key.value(), event));
        }
    }
    for (key, event) in &changed {
        table.insert(*key, codec::encode(event)?.as_slice())?;
    }
    Ok((changed.len(), next))
}

/// Calls `f` with every event, oldest first.
pub fn each(tx: &impl Tx, mut f: impl FnMut(AuditEvent)) -> Result<(), StoreError> {
    for row in tx.table(AUDIT)?.iter()? {
        f(codec::decode(row?.1.value())?);
    }
    Ok(())
}

/// How many events have keys below `until`.
pub fn count_before(tx: &impl Tx, until: u128) -> Result<u64, StoreError> {
    Ok(tx.table(AUDIT)?.range(..until)?.count() as u64)
}

/// How many events with keys in `from..until` have an address `truncate` would change.
pub fn count_untruncated(tx: &impl Tx, from: u128, until: u128, truncate: impl Fn(&str) -> Option<String>) -> Result<u64, StoreError> {
    let mut n = 0;
    for row in tx.table(AUDIT)?.range(from..until.max(from))? {
        let event: AuditEvent = codec::decode(row?.1.value())?;
        if event.client.address.as_deref().is_some_and(|a| truncate(a).as_deref() != Some(a)) {
            n += 1;
        }
    }
    Ok(n)
}
