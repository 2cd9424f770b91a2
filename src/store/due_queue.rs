//! Queues keyed by (due ms, id): what is due now, and when the next entry falls due.

use redb::{ReadableTable, TableDefinition};

use super::{StoreError, Tx};
use crate::domain::time::Timestamp;

/// Up to `limit` keys of `queue` due at `now`, earliest first, and when the next one after
/// them is due.
pub(super) fn due(
    tx: &impl Tx,
    queue: TableDefinition<(i64, u128), ()>,
    now: Timestamp,
    limit: usize,
) -> Result<(Vec<u128>, Option<Timestamp>), StoreError> {
    let queue = tx.table(queue)?;
    let mut out = Vec::new();
    for row in queue.iter()? {
        let (at, id) = row?.0.value();
        if at > now.millis() || out.len() >= limit {
            return Ok((out, Some(Timestamp(at))));
        }
        out.push(id);
    }
    Ok((out, None))
}
