//! A bounded cache of recent ciphertext blocks read from an object store, least recently used
//! first out, shared by every read of one backend: opening an object needs its header and its
//! last block, so a second range of the same object costs only the blocks it needs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;

/// Ciphertext bytes per block: reads of an object are cut on these boundaries.
pub const BLOCK: u64 = 1024 * 1024;

/// The byte range of `block` in an object of `size` bytes.
pub fn block_range(block: u64, size: u64) -> std::ops::Range<u64> {
    let start = block.saturating_mul(BLOCK).min(size);
    start..start.saturating_add(BLOCK).min(size)
}

/// One cached block and the size of its whole object.
struct Entry {
    bytes: Bytes,
    object_size: u64,
    used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<(String, u64), Entry>,
    /// Last use -> key, oldest first.
    by_use: BTreeMap<u64, (String, u64)>,
    held: u64,
    tick: u64,
}

/// Blocks by (object id, block index), holding at most `capacity` bytes.
pub struct BlockCache {
    capacity: u64,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl BlockCache {
    pub fn new(capacity: u64) -> BlockCache {
        BlockCache { capacity, inner: Mutex::new(Inner::default()) }
    }

    /// The cached block and its object's size, marked as just used.
    pub fn get(&self, id: &str, block: u64) -> Option<(Bytes, u64)> {
        let mut inner = self.inner.lock().ok()?;
        let inner = &mut *inner;
        inner.tick += 1;
        let tick = inner.tick;
        let key = (id.to_string(), block);
        let entry = inner.entries.get_mut(&key)?;
        inner.by_use.remove(&entry.used);
        entry.used = tick;
        inner.by_use.insert(tick, key);
        Some((entry.bytes.clone(), entry.object_size))
    }

    /// Keeps `bytes` as `block` of `id`, dropping the least recently used blocks to make room.
    /// A block larger than the whole cache is not kept.
    pub fn insert(&self, id: &str, block: u64, bytes: Bytes, object_size: u64) {
        let len = bytes.len() as u64;
        if len > self.capacity {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else { return };
        let inner = &mut *inner;
        inner.tick += 1;
        let tick = inner.tick;
        let key = (id.to_string(), block);
        if let Some(old) = inner.entries.remove(&key) {
            inner.by_use.remove(&old.used);
            inner.held -= old.bytes.len() as u64;
        }
        while inner.held + len > self.capacity {
            let Some((_, oldest)) = inner.by_use.pop_first() else { break };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.held -= gone.bytes.len() as u64;
            }
        }
        inner.held += len;
        inner.by_use.insert(tick, key.clone());
        inner.entries.insert(key, Entry { bytes, object_size, used: tick });
    }

    /// Drops every block of `id` (its object was deleted or replaced).
    pub fn forget(&self, id: &str) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let inner = &mut *inner;
        let keys: Vec<(String, u64)> = inner.entries.keys().filter(|(i, _)| i == id).cloned().collect();
        for key in keys {
            if let Some(gone) = inner.entries.remove(&key) {
                inner.by_use.remove(&gone.used);
                inner.held -= gone.bytes.len() as u64;
            }
        }
    }

    /// Bytes held now.
    #[cfg(test)]
    pub fn held(&self) -> u64 {
        self.inner.lock().map(|i| i.held).unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_block_goes_first_and_the_total_stays_bounded() {
        let cache = BlockCache::new(3 * 10);
        for block in 0..3 {
            cache.insert("a", block, Bytes::from(vec![block as u8; 10]), 100);
        }
        assert!(cache.get("a", 0).is_some()); // 0 is now the most recent; 1 the oldest
        cache.insert("b", 0, Bytes::from(vec![9; 10]), 50);
        assert!(cache.get("a", 1).is_none());
        assert_eq!(cache.get("a", 0).unwrap(), (Bytes::from(vec![0; 10]), 100));
        assert_eq!(cache.get("b", 0).unwrap().1, 50);
        assert_eq!(cache.held(), 30);
        cache.insert("c", 0, Bytes::from(vec![1; 31]), 31);
        assert_eq!(cache.held(), 30, "a block larger than the cache is not kept");
        cache.forget("a");
        assert!(cache.get("a", 0).is_none() && cache.get("a", 2).is_none());
        assert_eq!(cache.held(), 10);
        cache.insert("b", 0, Bytes::from(vec![2; 5]), 50);
        assert_eq!(cache.held(), 5, "replacing a block counts the new one only");
    }

    #[test]
    fn a_block_covers_its_mebibyte_cut_at_the_object_end() {
        assert_eq!(block_range(0, 10), 0..10);
        assert_eq!(block_range(1, BLOCK + 7), BLOCK..BLOCK + 7);
        assert_eq!(block_range(2, 2 * BLOCK), 2 * BLOCK..2 * BLOCK);
        assert_eq!(block_range(3, 10 * BLOCK), 3 * BLOCK..4 * BLOCK);
    }
}
