//! Generations with their owner index, the active set the engine resumes from, and the
//! search outbox row written with every change.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{GENERATIONS, GENERATIONS_ACTIVE, GENERATIONS_BY_OWNER, GENERATIONS_BY_SOURCE, PENDING_DELETIONS, SEARCH_OUTBOX};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::generation::Generation;
use crate::domain::ids::{AssetId, GenerationId, UserId};
use crate::domain::time::Timestamp;

pub fn get(tx: &impl Tx, id: GenerationId) -> Result<Option<Generation>, StoreError> {
    decode_opt(tx.table(GENERATIONS)?.get(id.to_key())?)
}

/// Several generations by id (the table opened once), in the order asked.
pub fn get_many(tx: &impl Tx, ids: &[GenerationId]) -> Result<Vec<Option<Generation>>, StoreError> {
    let table = tx.table(GENERATIONS)?;
    ids.iter().map(|id| decode_opt(table.get(id.to_key())?)).collect()
}

/// Writes a generation and everything that follows from it: the owner index, the active
/// set, and a search-outbox row. Refuses a state change the state machine forbids.
/// After the commit, wake the indexer with [`super::Store::outbox_written`].
pub fn put(tx: &WriteTransaction, generation: &Generation) -> Result<(), StoreError> {
    let key = generation.id.to_key();
    let mut table = tx.open_table(GENERATIONS)?;
    let previous: Option<Generation> = decode_opt(table.get(key)?)?;
    if let Some(previous) = &previous
        && previous.state != generation.state
        && !previous.state.can_become(generation.state)
    {
        return Err(StoreError::Codec(format!("refused transition {} -> {} for {}", previous.state, generation.state, generation.id)));
    }
    table.insert(key, codec::encode(generation)?.as_slice())?;
    // index rows are written only where they change: rewriting a row that is already there
    // still copies its pages, and every page written is one more for the next fsync
    let before = previous.as_ref();
    if before.map(|p| p.owner) != Some(generation.owner) {
        tx.open_table(GENERATIONS_BY_OWNER)?.insert((generation.owner.to_key(), key), ())?;
    }
    if let Some(source) = generation.source
        && before.and_then(|p| p.source) != Some(source)
    {
        tx.open_table(GENERATIONS_BY_SOURCE)?.insert((source.to_key(), key), ())?;
    }
    let was_active = before.is_some_and(|p| !p.state.is_terminal());
    if generation.state.is_terminal() {
        if was_active {
            tx.open_table(GENERATIONS_ACTIVE)?.remove(key)?;
        }
        super::expiry::index_generation(tx, generation)?;
    } else if !was_active {
        tx.open_table(GENERATIONS_ACTIVE)?.insert(key, ())?;
    }
    let mut outbox = tx.open_table(SEARCH_OUTBOX)?;
    let next = outbox.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
    outbox.insert(next, key)?;
    Ok(())
}

/// Rewrites a generation whose state did not change and whose searchable fields did not
/// change either (progress): no index or outbox row to touch.
pub fn put_progress(tx: &WriteTransaction, generation: &Generation) -> Result<(), StoreError> {
    tx.open_table(GENERATIONS)?.insert(generation.id.to_key(), codec::encode(generation)?.as_slice())?;
    Ok(())
}

/// Removes a generation's record and index rows (taking it off every board), and writes an
/// outbox row so the search index drops it too.
pub fn remove(tx: &WriteTransaction, generation: &Generation) -> Result<(), StoreError> {
    let key = generation.id.to_key();
    tx.open_table(GENERATIONS)?.remove(key)?;
    tx.open_table(GENERATIONS_BY_OWNER)?.remove((generation.owner.to_key(), key))?;
    if let Some(source) = generation.source {
        tx.open_table(GENERATIONS_BY_SOURCE)?.remove((source.to_key(), key))?;
    }
    tx.open_table(GENERATIONS_ACTIVE)?.remove(key)?;
    tx.open_table(PENDING_DELETIONS)?.remove(key)?;
    super::expiry::unindex_generation(tx, generation)?;
    super::boards::remove_generation(tx, generation.id)?;
    let mut outbox = tx.open_table(SEARCH_OUTBOX)?;
    let next = outbox.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
    outbox.insert(next, key)?;
    Ok(())
}

/// The generations made from `source`'s output, oldest first (at most `limit`).
pub fn made_from(tx: &impl Tx, source: GenerationId, limit: usize) -> Result<Vec<GenerationId>, StoreError> {
    let key = source.to_key();
    tx.table(GENERATIONS_BY_SOURCE)?
        .range((key, 0)..=(key, u128::MAX))?
        .take(limit)
        .map(|r| r.map(|(k, _)| GenerationId::from_key(k.value().1)).map_err(Into::into))
        .collect()
}

/// Queues a generation (already marked deleted) for the removal of its files and records.
pub fn queue_deletion(tx: &WriteTransaction, id: GenerationId) -> Result<(), StoreError> {
    tx.open_table(PENDING_DELETIONS)?.insert(id.to_key(), ())?;
    Ok(())
}

/// Drops a queue row whose generation is already gone.
pub fn forget_deletion(tx: &WriteTransaction, id: GenerationId) -> Result<(), StoreError> {
    tx.open_table(PENDING_DELETIONS)?.remove(id.to_key())?;
    Ok(())
}

/// Generations whose deletion has begun but not finished.
pub fn pending_deletions(tx: &impl Tx) -> Result<Vec<GenerationId>, StoreError> {
    tx.table(PENDING_DELETIONS)?.iter()?.map(|r| r.map(|(k, _)| GenerationId::from_key(k.value())).map_err(Into::into)).collect()
}

/// Every generation not in a terminal state (bounded by what is in flight).
pub fn active(tx: &impl Tx) -> Result<Vec<Generation>, StoreError> {
    let ids: Vec<u128> = tx.table(GENERATIONS_ACTIVE)?.iter()?.map(|r| r.map(|(k, _)| k.value())).collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(g) = get(tx, GenerationId::from_key(id))? {
            out.push(g);
        }
    }
    Ok(out)
}

/// A user's generations, newest first, before `before` (exclusive), at most `limit`.
pub fn list_for_owner(tx: &impl Tx, owner: UserId, before: Option<GenerationId>, limit: usize) -> Result<Vec<Generation>, StoreError> {
    let index = tx.table(GENERATIONS_BY_OWNER)?;
    let key = owner.to_key();
    let upper = before.map(GenerationId::to_key).unwrap_or(u128::MAX);
    let mut out = Vec::new();
    for row in index.range((key, 0)..(key, upper))?.rev() {
        let (k, _) = row?;
        if let Some(g) = get(tx, GenerationId::from_key(k.value().1))?.filter(|g| g.deleted_at.is_none()) {
            out.push(g);
        }
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

/// Whether one of `owner`'s generations made at or after `since` is on legal hold and was made
/// from the upload `upload` (a held generation keeps its references). Generation ids begin
/// with their creation time, so only those made since are read.
pub fn held_one_uses(tx: &impl Tx, owner: UserId, upload: AssetId, since: Timestamp) -> Result<bool, StoreError> {
    let index = tx.table(GENERATIONS_BY_OWNER)?;
    let (key, from) = (owner.to_key(), (since.millis().max(0) as u128) << 80);
    for row in index.range((key, from)..=(key, u128::MAX))? {
        let (k, _) = row?;
        if let Some(g) = get(tx, GenerationId::from_key(k.value().1))?
            && g.legal_hold
            && g.references.iter().any(|r| r.upload == upload)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One page of an owner's generations that `keep` accepts, after the id `after` (exclusive)
/// in creation order, newest first unless `ascending`; up to `limit` plus whether more follow.
pub fn page_for_owner(
    tx: &impl Tx,
    owner: UserId,
    after: Option<GenerationId>,
    ascending: bool,
    limit: usize,
    keep: impl Fn(&Generation) -> bool,
) -> Result<(Vec<Generation>, bool), StoreError> {
    let index = tx.table(GENERATIONS_BY_OWNER)?;
    let key = owner.to_key();
    let mut rows = match (after.map(GenerationId::to_key), ascending) {
        (None, _) => index.range((key, 0)..=(key, u128::MAX))?,
        (Some(a), true) => index.range((key, a.saturating_add(1))..=(key, u128::MAX))?,
        (Some(a), false) => index.range((key, 0)..(key, a))?,
    };
    let mut out = Vec::new();
    loop {
        let row = if ascending { rows.next() } else { rows.next_back() };
        let Some(row) = row else { return Ok((out, false)) };
        let (k, _) = row?;
        if let Some(g) = get(tx, GenerationId::from_key(k.value().1))?.filter(|g| g.deleted_at.is_none() && keep(g)) {
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(g);
        }
    }
}

/// The last sequence number of the search outbox (0 when it is empty).
pub fn outbox_last(tx: &impl Tx) -> Result<u64, StoreError> {
    Ok(tx.table(SEARCH_OUTBOX)?.last()?.map(|(k, _)| k.value()).unwrap_or(0))
}

/// Up to `limit` outbox rows after `seq`, in order: (sequence, generation).
pub fn outbox_after(tx: &impl Tx, seq: u64, limit: usize) -> Result<Vec<(u64, GenerationId)>, StoreError> {
    let table = tx.table(SEARCH_OUTBOX)?;
    let mut out = Vec::new();
    for row in table.range(seq.saturating_add(1)..)?.take(limit) {
        let (k, v) = row?;
        out.push((k.value(), GenerationId::from_key(v.value())));
    }
    Ok(out)
}

/// Removes the outbox rows before `applied`, which the index has durably taken in. The row
/// `applied` itself stays: [`put`] numbers each row after the last one, so the sequence
/// never goes back below what the index has seen.
pub fn trim_outbox(tx: &WriteTransaction, applied: u64) -> Result<(), StoreError> {
    tx.open_table(SEARCH_OUTBOX)?.retain_in(..applied, |_, _| false)?;
    Ok(())
}

/// How many generations the store holds (deleted ones included).
pub fn count(tx: &impl Tx) -> Result<u64, StoreError> {
    use redb::ReadableTableMetadata;
    Ok(tx.table(GENERATIONS)?.len()?)
}

/// Calls `f` with every generation, in id (creation) order.
pub fn each<E: From<StoreError>>(tx: &impl Tx, mut f: impl FnMut(Generation) -> Result<(), E>) -> Result<(), E> {
    for row in tx.table(GENERATIONS)?.iter().map_err(StoreError::from)? {
        let (_, value) = row.map_err(StoreError::from)?;
        f(codec::decode(value.value())?)?;
    }
    Ok(())
}

/// Calls `f` with the generations created from `from` to `to` (inclusive, by the time in
/// their id), oldest first, reading at most `limit`; returns whether more were left unread.
pub fn each_created_between(
    tx: &impl Tx,
    from: Timestamp,
    to: Timestamp,
    limit: usize,
    mut f: impl FnMut(Generation),
) -> Result<bool, StoreError> {
    // an id's top 48 bits are its creation time in milliseconds
    let millis = |t: Timestamp| u128::try_from(t.millis().clamp(0, (1 << 48) - 1)).unwrap_or(0);
    let (low, high) = (millis(from) << 80, (millis(to) << 80) | ((1u128 << 80) - 1));
    if low > high {
        return Ok(false);
    }
    for (read, row) in tx.table(GENERATIONS)?.range(low..=high)?.enumerate() {
        if read == limit {
            return Ok(true);
        }
        let (_, value) = row?;
        f(codec::decode(value.value())?);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A generation whose id says it was created at `millis`.
    fn created_at(millis: u128) -> Generation {
        let json = serde_json::json!({
            "id": GenerationId::from_key((millis << 80) | 7), "owner": UserId::generate(), "model": "m", "kind": "image",
            "connection": "c", "prompt": "p", "negative_prompt": null, "params": {}, "references": [], "state": "queued",
            "reason": null, "progress": null, "cost": 1, "created_at": millis as i64, "updated_at": 1, "submitted_at": null,
            "finished_at": null, "deadline_at": 2, "upstream": null, "pending_outputs": [], "outputs": [],
            "cancel_requested": false, "kept": false, "shared": false, "legal_hold": false,
            "upstream_deleted_at": null, "deleted_at": null
        });
        serde_json::from_value(json).unwrap()
    }

    #[tokio::test]
    async fn generations_are_read_by_when_they_were_created_up_to_a_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.write(|tx| [1_000, 2_000, 3_000, 4_000].into_iter().try_for_each(|millis| put(tx, &created_at(millis)))).await.unwrap();
        let read = |from: i64, to: i64, limit: usize| {
            store.read(move |tx| {
                let mut seen = Vec::new();
                let more = each_created_between(tx, Timestamp(from), Timestamp(to), limit, |g| seen.push(g.created_at.millis()))?;
                Ok::<_, StoreError>((seen, more))
            })
        };
        assert_eq!(read(1_500, 3_000, 10).await.unwrap(), (vec![2_000, 3_000], false), "both ends inclusive");
        assert_eq!(read(0, 5_000, 3).await.unwrap(), (vec![1_000, 2_000, 3_000], true), "the oldest, and word of more");
        assert_eq!(read(3_000, 1_000, 10).await.unwrap(), (vec![], false));
        assert_eq!(read(-5, 500, 10).await.unwrap(), (vec![], false));
    }
}
