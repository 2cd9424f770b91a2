//! The redb store: the only module that knows table names and key bytes.
//!
//! Services call [`Store::read`] and [`Store::write`] with a closure that runs the
//! repository functions of the sub-modules inside one transaction, off the async executor
//! (the blocking pool for reads; writes in their runtime worker's place, see
//! [`crate::blocking`]). One write transaction runs at a time, under [`Store`]'s write lock.

pub mod assets;
pub mod audit;
pub mod backup;
pub mod batches;
pub mod boards;
pub mod cast;
pub mod catalog_layers;
pub mod codec;
pub mod connections;
pub mod credits;
mod due_queue;
pub mod erasures;
pub mod expiry;
pub mod exports;
pub mod generations;
pub mod legacy;
pub mod links;
pub mod media_uploads;
pub mod meta;
pub mod migrations;
pub mod model_policies;
pub mod notices;
pub mod oidc;
pub mod preferences;
pub mod presets;
pub mod retention_runs;
pub mod sealed_media;
pub mod sessions;
mod settler;
pub mod shares;
pub mod spending;
pub mod tables;
pub mod tokens;
pub mod user_keys;
pub mod users;
pub mod webhooks;

pub use settler::{SETTLE_EVERY, Settler};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use redb::{Key, ReadOnlyTable, ReadTransaction, ReadableDatabase, Table, TableDefinition, Value, WriteTransaction};

/// The store file inside the data directory.
pub const STORE_FILE: &str = "reelvault.redb";

/// What can go wrong below the services.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is in use by another process (is reelvault already running?)")]
    Locked,
    #[error(
        "this data directory was written by a newer reelvault (store schema {found}; this reelvault {version} understands up to \
         schema {supported}); run the newer version, or restore a backup made for this one",
        version = env!("CARGO_PKG_VERSION")
    )]
    TooNew { found: u32, supported: u32 },
    #[error("stored data is malformed: {0}")]
    Codec(String),
    #[error("store: {0}")]
    Redb(#[from] redb::Error),
    #[error("the store task stopped unexpectedly")]
    TaskFailed,
    #[error("{0}")]
    Backup(String),
}

macro_rules! redb_errors {
    ($($ty:ty),*) => {
        $(impl From<$ty> for StoreError {
            fn from(e: $ty) -> Self {
                StoreError::Redb(e.into())
            }
        })*
    };
}
redb_errors!(redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError, redb::SetDurabilityError);

impl From<redb::DatabaseError> for StoreError {
    fn from(e: redb::DatabaseError) -> Self {
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked,
            other => StoreError::Redb(other.into()),
        }
    }
}

/// A transaction that tables can be read from: both read and write transactions.
pub trait Tx {
    type Table<'t, K: Key + 'static, V: Value + 'static>: redb::ReadableTable<K, V>
    where
        Self: 't;
    fn table<K: Key + 'static, V: Value + 'static>(&self, def: TableDefinition<K, V>) -> Result<Self::Table<'_, K, V>, StoreError>;
}

impl Tx for ReadTransaction {
    type Table<'t, K: Key + 'static, V: Value + 'static> = ReadOnlyTable<K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(&self, def: TableDefinition<K, V>) -> Result<ReadOnlyTable<K, V>, StoreError> {
        Ok(self.open_table(def)?)
    }
}

impl Tx for WriteTransaction {
    type Table<'t, K: Key + 'static, V: Value + 'static> = Table<'t, K, V>;
    fn table<K: Key + 'static, V: Value + 'static>(&self, def: TableDefinition<K, V>) -> Result<Table<'_, K, V>, StoreError> {
        Ok(self.open_table(def)?)
    }
}

/// A handle to the open store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<redb::Database>,
    path: PathBuf,
    /// Woken after a commit that added search-outbox rows (the search indexer waits on it).
    outbox: Arc<tokio::sync::Notify>,
    /// Woken after a commit that queued webhook deliveries (the delivery worker waits on it).
    webhooks: Arc<tokio::sync::Notify>,
    /// Set by every commit until the settler has settled it: see [`settler`].
    unsettled: Arc<AtomicBool>,
    /// Commits made through this handle's clones: see [`Store::commits`].
    commits: Arc<AtomicU64>,
    /// Held by every write transaction from its start to its end (redb allows one at a time):
    /// [`Store::decide`] tries it to learn, without waiting, whether the store is free.
    writing: Arc<Mutex<()>>,
}

impl Store {
    /// Opens (or creates) the store in `data_dir` and brings its schema up to date, after
    /// copying it to `data_dir/backups/` when a migration step is due.
    /// Never scans tables: start-up cost does not grow with the data.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(STORE_FILE);
        let db = redb::Database::builder()
            .set_cache_size(16 * 1024 * 1024)
            .set_repair_callback(|_| tracing::warn!("the store was not closed cleanly; checking it"))
            .create(&path)?;
        let found = migrations::stored_version(&db)?;
        if found > 0 && found < migrations::CURRENT {
            let copy = backup::before_upgrade(&path, found)?;
            tracing::info!(from = found, to = migrations::CURRENT, backup = %copy.display(), "copied the store before migrating it");
        }
        migrations::run(&db)?;
        Ok(Store {
            db: Arc::new(db),
            path,
            outbox: Arc::default(),
            webhooks: Arc::default(),
            unsettled: Arc::new(AtomicBool::new(true)),
            commits: Arc::default(),
            writing: Arc::default(),
        })
    }

    /// Wakes the search indexer: call after committing a write that added outbox rows
    /// (every [`generations::put`]). Cheap; wakes that arrive while it works are coalesced.
    pub fn outbox_written(&self) {
        self.outbox.notify_one();
    }

    /// What [`Store::outbox_written`] wakes.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox.clone()
    }

    /// Wakes the webhook delivery worker: call after committing a write that queued
    /// deliveries. Cheap; wakes that arrive while it works are coalesced.
    pub fn webhooks_queued(&self) {
        self.webhooks.notify_one();
    }

    /// What [`Store::webhooks_queued`] wakes.
    pub fn webhooks_signal(&self) -> Arc<tokio::sync::Notify> {
        self.webhooks.clone()
    }

    /// Closes the store once every other handle is gone, so the next start needs no
    /// repair. Waits up to five seconds for in-flight work to drop its handles.
    pub async fn close(self) {
        let mut db = self.db;
        for _ in 0..100 {
            match Arc::try_unwrap(db) {
                Ok(db) => {
                    drop(db);
                    tracing::info!("store closed cleanly");
                    return;
                }
                Err(shared) => db = shared,
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        tracing::warn!("store still in use at shutdown; it will be checked at the next start");
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settler's handle on this store (see the `settler` module): it holds no handle that keeps the
    /// store open.
    pub fn settler(&self) -> Settler {
        Settler::new(Arc::downgrade(&self.db), self.unsettled.clone(), self.writing.clone())
    }

    /// Runs `f` in a read transaction on this thread: at start-up, on the blocking pool, and for
    /// a few point lookups by key on the request path (microseconds from redb's cache, where a
    /// hand-off to the blocking pool and back would cost more than the read). Anything that
    /// scans or may read much goes through [`Store::read`].
    pub fn read_now<T, E: From<StoreError>>(&self, f: impl FnOnce(&ReadTransaction) -> Result<T, E>) -> Result<T, E> {
        let tx = self.db.begin_read().map_err(StoreError::from)?;
        f(&tx)
    }

    /// Runs `f` in a read transaction on the blocking pool.
    pub async fn read<T, E>(&self, f: impl FnOnce(&ReadTransaction) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let tx = db.begin_read().map_err(StoreError::from)?;
            f(&tx)
        })
        .await
        .map_err(|_| E::from(StoreError::TaskFailed))?
    }

    /// Runs `f` in a write transaction off the executor ([`crate::blocking::run`]); commits when it returns `Ok`,
    /// discards everything it wrote when it returns `Err`.
    pub async fn write<T, E>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.write_with(Commit::Durable, f).await
    }

    /// [`Store::write`] with a choice of how the commit reaches the disk.
    pub async fn write_with<T, E>(&self, commit: Commit, f: impl FnOnce(&WriteTransaction) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        crate::blocking::run(move || store.write_now(commit, f)).await.ok_or_else(|| E::from(StoreError::TaskFailed))?
    }

    /// Runs `f` in a write transaction that is then abandoned: `f` sees the latest state while
    /// no other write can begin, and nothing is written. For a decision that later writes must
    /// respect (kept outside the store, like a reservation in memory) without the cost of a
    /// commit. When no write holds the store, `f` (a few reads) runs here at once, as a
    /// [`Store::read_now`] does; otherwise it waits for the store off the executor.
    pub async fn decide<T, E>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if let Some(free) = try_lock(&self.writing) {
            // a panic stays a failed decision here too, as on another thread
            let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide_now(&self.db, &free, f)));
            return decided.unwrap_or_else(|_| Err(E::from(StoreError::TaskFailed)));
        }
        let (db, writing) = (self.db.clone(), self.writing.clone());
        crate::blocking::run(move || decide_now(&db, &lock(&writing), f)).await.ok_or_else(|| E::from(StoreError::TaskFailed))?
    }

    /// [`Store::write_with`] on this thread, for callers already off the async executor.
    pub fn write_now<T, E: From<StoreError>>(&self, commit: Commit, f: impl FnOnce(&WriteTransaction) -> Result<T, E>) -> Result<T, E> {
        let writing = lock(&self.writing);
        let value = match commit {
            Commit::Durable => write_now(&self.db, f)?,
            Commit::Advisory => {
                let mut tx = self.db.begin_write().map_err(StoreError::from)?;
                tx.set_durability(redb::Durability::None).map_err(StoreError::from)?;
                let value = f(&tx)?;
                tx.commit().map_err(StoreError::from)?;
                value
            }
        };
        drop(writing);
        self.commits.fetch_add(1, Ordering::AcqRel);
        self.unsettled.store(true, Ordering::Release);
        Ok(value)
    }

    /// How many write transactions have committed since the store was opened. A figure
    /// read before a read transaction began that is still the same later proves that
    /// nothing was committed in between: what that transaction read is still current.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }
}

/// How a write transaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// On disk (fsynced) when the write returns.
    Durable,
    /// Visible at once, on disk with the next durable commit or the settler's next round
    /// (within about a second: the "settler" worker); a crash before then loses it. Saves an fsync,
    /// for writes whose loss in the last second before a crash breaks no promise: a job's
    /// progress, an access record, a job nobody has been told of yet.
    Advisory,
}

/// One write transaction, synchronously: commit on `Ok`, abort on `Err`.
pub(crate) fn write_now<T, E: From<StoreError>>(db: &redb::Database, f: impl FnOnce(&WriteTransaction) -> Result<T, E>) -> Result<T, E> {
    let tx = db.begin_write().map_err(StoreError::from)?;
    let value = f(&tx)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(value)
}

/// The write lock of [`Store::writing`], waiting for it (a poisoned lock guards nothing: redb
/// aborted the transaction of the thread that panicked).
pub(crate) fn lock(writing: &Mutex<()>) -> MutexGuard<'_, ()> {
    writing.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The write lock when it is free now.
fn try_lock(writing: &Mutex<()>) -> Option<MutexGuard<'_, ()>> {
    match writing.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// [`Store::decide`] with the write lock held.
fn decide_now<T, E: From<StoreError>>(
    db: &redb::Database,
    _writing: &MutexGuard<'_, ()>,
    f: impl FnOnce(&WriteTransaction) -> Result<T, E>,
) -> Result<T, E> {
    let tx = db.begin_write().map_err(StoreError::from)?;
    let decided = f(&tx);
    tx.abort().map_err(StoreError::from)?;
    decided
}

/// Decodes an optional stored value.
pub(crate) fn decode_opt<T: codec::Stored>(value: Option<redb::AccessGuard<'_, &[u8]>>) -> Result<Option<T>, StoreError> {
    value.map(|v| codec::decode(v.value())).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_commit_count_moves_with_each_commit_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let start = store.commits();
        store.read(meta::setup_token_hash).await.unwrap();
        assert_eq!(store.commits(), start, "a read commits nothing");
        store.write(|tx| meta::set_setup_token_hash(tx, &[1; 32])).await.unwrap();
        store.clone().write_with(Commit::Advisory, |tx| meta::set_forbid_training(tx, true)).await.unwrap();
        assert_eq!(store.commits(), start + 2, "clones count on the same figure");
        let refused = store
            .write(|tx| {
                meta::set_setup_token_hash(tx, &[2; 32])?;
                Err::<(), _>(StoreError::TaskFailed)
            })
            .await;
        assert!(refused.is_err());
        assert_eq!(store.commits(), start + 2, "an aborted write is no commit");
        assert_eq!(store.read(meta::setup_token_hash).await.unwrap(), Some([1; 32]));
    }
}
