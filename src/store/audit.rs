//! The audit log, keyed by time-ordered id so the newest events are read first.

use redb::{ReadableTable, WriteTransaction};

use super::tables::AUDIT;
use super::{StoreError, Tx, codec};
use crate::domain::audit::AuditEvent;

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
