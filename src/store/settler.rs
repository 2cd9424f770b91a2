//! The settler: after commits, one empty durable commit a round (at most one fsync a second,
//! none when idle).
//!
//! A durable commit that frees pages is followed by a non-durable one of redb's own, whose
//! pages stay in redb's write buffer until the next durable commit; until then every read that
//! misses redb's cache first walks all of that buffer's locks (a tenth of a search's CPU when
//! nothing else is written). The "settler" worker calls [`Settler::settle`] every
//! [`SETTLE_EVERY`]; the settler holds no handle between its rounds, so closing the store is
//! never held up by it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::StoreError;

/// How often the settler looks whether the store needs settling.
pub const SETTLE_EVERY: Duration = Duration::from_secs(1);

/// The settler's handle on a store (from [`super::Store::settler`]).
#[derive(Clone)]
pub struct Settler {
    db: Weak<redb::Database>,
    unsettled: Arc<AtomicBool>,
    /// The store's write lock (see `Store::writing`).
    writing: Arc<Mutex<()>>,
}

impl Settler {
    pub(super) fn new(db: Weak<redb::Database>, unsettled: Arc<AtomicBool>, writing: Arc<Mutex<()>>) -> Settler {
        Settler { db, unsettled, writing }
    }

    /// One round: when something was committed since the last round, one empty durable commit.
    /// `Ok(false)` once the store is closed (there is nothing left to settle).
    pub async fn settle(&self) -> Result<bool, StoreError> {
        if self.db.strong_count() == 0 {
            return Ok(false);
        }
        if !self.unsettled.swap(false, Ordering::AcqRel) {
            return Ok(true);
        }
        let (db, writing) = (self.db.clone(), self.writing.clone());
        match tokio::task::spawn_blocking(move || db.upgrade().map(|db| settle(&db, &writing))).await {
            Ok(Some(settled)) => settled.map(|()| true),
            Ok(None) => Ok(false),
            Err(_) => Err(StoreError::TaskFailed),
        }
    }
}

/// One empty durable commit.
fn settle(db: &redb::Database, writing: &Mutex<()>) -> Result<(), StoreError> {
    let _writing = super::lock(writing);
    db.begin_write().map_err(StoreError::from)?.commit().map_err(StoreError::from)
}

#[cfg(test)]
mod tests {
    use super::super::{Commit, Store, meta};
    use super::*;

    #[tokio::test]
    async fn settling_keeps_every_commit_and_the_settler_lets_the_store_close() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let settler = store.settler();
        for n in 0..20u8 {
            store.write(move |tx| meta::set_setup_token_hash(tx, &[n; 32])).await.unwrap();
            store.write_with(Commit::Advisory, |tx| meta::set_forbid_training(tx, true)).await.unwrap();
        }
        assert!(store.unsettled.load(Ordering::Acquire), "commits leave the store to be settled");
        assert!(settler.settle().await.unwrap(), "the store is open");
        assert!(!store.unsettled.load(Ordering::Acquire), "the settler settled the store");
        store.close().await;
        assert!(!settler.settle().await.unwrap(), "a closed store has nothing to settle");
        // the settler holds no handle: the file can be opened again in this process
        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!(reopened.read_now(meta::setup_token_hash).unwrap(), Some([19; 32]));
        assert!(reopened.read_now(meta::forbid_training).unwrap(), "the advisory commit survives too");
    }
}
