//! The media backend in force, and the other one while media move between them: writes go to
//! the backend in force, reads that do not find an object there fall back to the other (so
//! nothing is unreadable while `reelvault media migrate` runs or after it was interrupted), and
//! the switch takes effect at once for every caller. The local directory always exists; the
//! S3 backend exists when configured (or once a migration to it opened it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};

use super::media::{Ingested, MediaDir, MediaError, MediaStream};
use crate::domain::media_backend::MediaBackend;

/// The media of the instance: both backends and which one is in force.
pub struct MediaInForce {
    local: MediaDir,
    /// Set once: at start from the config, or by a migration to S3 that opened it.
    s3: OnceLock<MediaDir>,
    s3_in_force: AtomicBool,
    /// Ingests under way, per backend (`[local, s3]`): a migration waits for those to the
    /// backend it leaves before its last pass.
    writing: Arc<[AtomicUsize; 2]>,
    /// Whether a migration runs (one at a time).
    migrating: Arc<AtomicBool>,
}

/// The right to run the one migration; released on drop.
pub struct MigrationTurn(Arc<AtomicBool>);

impl Drop for MigrationTurn {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for MediaInForce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaInForce").field("in_force", &self.kind()).finish()
    }
}

/// Counts an ingest to one backend while it lives.
struct Writing {
    counters: Arc<[AtomicUsize; 2]>,
    slot: usize,
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.counters[self.slot].fetch_sub(1, Ordering::SeqCst);
    }
}

fn slot(kind: MediaBackend) -> usize {
    match kind {
        MediaBackend::Local => 0,
        MediaBackend::S3 => 1,
    }
}

impl MediaInForce {
    /// `local` and, when configured, `s3`, with `in_force` taking writes. S3 in force needs
    /// an S3 backend.
    pub fn new(local: MediaDir, s3: Option<MediaDir>, in_force: MediaBackend) -> Result<MediaInForce, MediaError> {
        if in_force == MediaBackend::S3 && s3.is_none() {
            return Err(MediaError::Unavailable("media are on S3 but no [media] S3 settings are configured".into()));
        }
        let slot = OnceLock::new();
        if let Some(s3) = s3 {
            let _ = slot.set(s3);
        }
        Ok(MediaInForce {
            local,
            s3: slot,
            s3_in_force: AtomicBool::new(in_force == MediaBackend::S3),
            writing: Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]),
            migrating: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The backend that takes writes.
    pub fn kind(&self) -> MediaBackend {
        if self.s3_in_force.load(Ordering::SeqCst) { MediaBackend::S3 } else { MediaBackend::Local }
    }

    /// The backend of `kind`, when there is one.
    pub fn backend(&self, kind: MediaBackend) -> Option<MediaDir> {
        match kind {
            MediaBackend::Local => Some(self.local.clone()),
            MediaBackend::S3 => self.s3.get().cloned(),
        }
    }

    /// The backend in force.
    pub fn in_force(&self) -> MediaDir {
        self.backend(self.kind()).unwrap_or_else(|| self.local.clone())
    }

    /// The backend not in force, when there is one (where reads fall back).
    pub fn fallback(&self) -> Option<MediaDir> {
        self.backend(self.kind().other())
    }

    /// Makes `s3` the S3 backend (a migration to S3 opened it from the config file) when
    /// there is none yet; answers the S3 backend in force after the call.
    pub fn set_s3(&self, s3: MediaDir) -> MediaDir {
        self.s3.get_or_init(|| s3).clone()
    }

    /// Puts `kind` in force: every write from now on goes there.
    pub fn switch_to(&self, kind: MediaBackend) -> Result<(), MediaError> {
        if self.backend(kind).is_none() {
            return Err(MediaError::Unavailable(format!("no {kind} media backend is configured")));
        }
        self.s3_in_force.store(kind == MediaBackend::S3, Ordering::SeqCst);
        Ok(())
    }

    /// The turn to migrate, unless a migration already runs.
    pub fn begin_migration(&self) -> Option<MigrationTurn> {
        let free = self.migrating.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_ok();
        free.then(|| MigrationTurn(self.migrating.clone()))
    }

    /// Ingests under way to `kind`.
    pub fn writes_in_flight(&self, kind: MediaBackend) -> usize {
        self.writing[slot(kind)].load(Ordering::SeqCst)
    }

    /// The backend in force, counted as written to until the guard drops. The count is taken
    /// before the backend in force is read again, so a migration that switched and then saw
    /// no write under way on the old backend cannot miss this one.
    fn writing_to(&self) -> (MediaDir, Writing) {
        let mut kind = self.kind();
        // a switch between the two reads is rare; two switches in a row rarer still
        for _ in 0..3 {
            self.writing[slot(kind)].fetch_add(1, Ordering::SeqCst);
            let guard = Writing { counters: self.writing.clone(), slot: slot(kind) };
            let now = self.kind();
            if now == kind {
                return (self.backend(kind).unwrap_or_else(|| self.local.clone()), guard);
            }
            kind = now;
        }
        self.writing[slot(kind)].fetch_add(1, Ordering::SeqCst);
        (self.backend(kind).unwrap_or_else(|| self.local.clone()), Writing { counters: self.writing.clone(), slot: slot(kind) })
    }

    /// [`MediaDir::ingest`] into the backend in force.
    pub async fn ingest<S, E>(&self, id: &str, recipient: &age::x25519::Recipient, body: S, max_bytes: u64) -> Result<Ingested, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let (media, _writing) = self.writing_to();
        media.ingest(id, recipient, body, max_bytes).await
    }

    /// [`MediaDir::ingest_or_seal`] into the backend in force.
    pub async fn ingest_or_seal<S, E>(
        &self,
        id: &str,
        recipient: &age::x25519::Recipient,
        body: S,
        max_bytes: u64,
        seal: impl FnOnce(u64) -> bool,
    ) -> Result<Ingested, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let (media, _writing) = self.writing_to();
        media.ingest_or_seal(id, recipient, body, max_bytes, seal).await
    }

    /// [`MediaDir::ingest_bytes`] into the backend in force.
    pub async fn ingest_bytes(&self, id: &str, recipient: &age::x25519::Recipient, data: Vec<u8>) -> Result<Ingested, MediaError> {
        let (media, _writing) = self.writing_to();
        media.ingest_bytes(id, recipient, data).await
    }

    /// [`MediaDir::read_range`] from the backend in force, else from the other one.
    pub async fn read_range(
        &self,
        id: &str,
        identity: age::x25519::Identity,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, MediaStream), MediaError> {
        match self.in_force().read_range(id, identity.clone(), range).await {
            Err(MediaError::NotFound) => match self.fallback() {
                Some(other) => other.read_range(id, identity, range).await,
                None => Err(MediaError::NotFound),
            },
            found => found,
        }
    }

    /// [`MediaDir::plaintext_len`] from the backend in force, else from the other one.
    pub async fn plaintext_len(&self, id: &str, identity: age::x25519::Identity) -> Result<u64, MediaError> {
        match self.in_force().plaintext_len(id, identity.clone()).await {
            Err(MediaError::NotFound) => match self.fallback() {
                Some(other) => other.plaintext_len(id, identity).await,
                None => Err(MediaError::NotFound),
            },
            found => found,
        }
    }

    /// Removes the object of `id` from the backend in force and, when it has one, from the
    /// other (a copy a migration left there); `false` when there was none anywhere. A failure
    /// on the other backend is logged (the orphan GC of a later run, or `reelvault check`,
    /// finds what is left).
    pub async fn delete(&self, id: &str) -> Result<bool, MediaError> {
        let deleted = self.in_force().delete(id).await?;
        let Some(other) = self.fallback() else { return Ok(deleted) };
        match other.delete(id).await {
            Ok(also) => Ok(deleted || also),
            Err(e) => {
                tracing::warn!(asset = %id, backend = other.backend_name(), error = %e, "cannot remove a copy left on the other media backend");
                Ok(deleted)
            }
        }
    }

    /// [`MediaDir::raw_read`] from the backend in force, else from the other one.
    pub async fn raw_read(&self, id: &str) -> Result<BoxStream<'static, std::io::Result<Bytes>>, MediaError> {
        let in_force = self.in_force();
        match in_force.raw_read(id).await {
            Err(MediaError::NotFound) => match self.fallback() {
                Some(other) => Ok(other.raw_read(id).await?.boxed()),
                None => Err(MediaError::NotFound),
            },
            found => Ok(found?.boxed()),
        }
    }

    /// [`MediaDir::list_ids`] of the backend in force.
    pub async fn list_ids(&self) -> Result<Vec<(String, SystemTime)>, MediaError> {
        self.in_force().list_ids().await
    }

    /// [`MediaDir::check_reachable`] of the backend in force (a start-up check); the other
    /// one, only read from while copies remain there, is logged when unreachable.
    pub async fn check_reachable(&self) -> Result<(), MediaError> {
        self.in_force().check_reachable().await?;
        if let Some(other) = self.fallback()
            && let Err(e) = other.check_reachable().await
        {
            tracing::warn!(backend = other.backend_name(), error = %e, "the media backend not in force cannot be reached");
        }
        Ok(())
    }

    /// [`MediaDir::abort_stale_uploads`] of the S3 backend, when there is one.
    pub async fn abort_stale_uploads(&self, now: SystemTime, grace: std::time::Duration) -> Result<usize, MediaError> {
        match self.backend(MediaBackend::S3) {
            Some(s3) => s3.abort_stale_uploads(now, grace).await,
            None => Ok(0),
        }
    }

    /// Where the local backend keeps (or would keep) the file of `id`.
    pub fn path_of(&self, id: &str) -> Result<std::path::PathBuf, MediaError> {
        self.local.path_of(id)
    }

    /// `"local"` or `"s3"`: the backend in force.
    pub fn backend_name(&self) -> &'static str {
        self.kind().name()
    }

    /// The figures of the object store's calls, when there is an S3 backend (in force or not).
    pub fn backend_stats(&self) -> Option<Arc<super::media::BackendStats>> {
        self.backend(MediaBackend::S3).and_then(|s3| s3.backend_stats())
    }

    /// The backend in force and the object store's recent latency and errors (as the Background
    /// work page and `/api/v1/admin/media` show them).
    pub fn backend_health(&self) -> super::media::BackendHealth {
        let stats = self.backend_stats();
        let stats = stats.as_deref();
        super::media::BackendHealth {
            backend: self.backend_name(),
            recent_latency: stats.and_then(|s| s.recent_latency()),
            errors: stats.map_or(0, |s| s.errors()),
            last_error: stats.and_then(|s| s.last_error()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use futures_util::TryStreamExt;

    use super::*;

    const ID: &str = "01JZ8Q3W6V2N5K7M9P0R4T6Y8A";
    const ID2: &str = "01JZ8Q3W6V2N5K7M9P0R4T6Y8B";

    /// Two local directories, the second standing in the S3 slot (the switch does not care
    /// what a backend is made of).
    fn two_backends(dir: &std::path::Path, in_force: MediaBackend) -> MediaInForce {
        let local = MediaDir::open(&dir.join("local")).unwrap();
        let other = MediaDir::open(&dir.join("other")).unwrap();
        MediaInForce::new(local, Some(other), in_force).unwrap()
    }

    async fn read_all(media: &MediaInForce, id: &str, identity: &age::x25519::Identity) -> Vec<u8> {
        let (_, stream) = media.read_range(id, identity.clone(), None).await.unwrap();
        stream.try_collect::<Vec<Bytes>>().await.unwrap().concat()
    }

    #[tokio::test]
    async fn writes_go_to_the_backend_in_force_and_reads_fall_back_to_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let media = two_backends(dir.path(), MediaBackend::Local);
        let identity = age::x25519::Identity::generate();
        media.ingest_bytes(ID, &identity.to_public(), b"before the switch".to_vec()).await.unwrap();
        assert!(media.backend(MediaBackend::Local).unwrap().raw_len(ID).await.unwrap().is_some());

        media.switch_to(MediaBackend::S3).unwrap();
        assert_eq!(media.kind(), MediaBackend::S3);
        media.ingest_bytes(ID2, &identity.to_public(), b"after the switch".to_vec()).await.unwrap();
        let other = media.backend(MediaBackend::S3).unwrap();
        assert!(other.raw_len(ID2).await.unwrap().is_some(), "written to the backend now in force");
        assert!(other.raw_len(ID).await.unwrap().is_none());
        assert_eq!(read_all(&media, ID, &identity).await, b"before the switch", "read from the backend left");
        assert_eq!(read_all(&media, ID2, &identity).await, b"after the switch");
        assert_eq!(media.writes_in_flight(MediaBackend::Local), 0);
        assert_eq!(media.writes_in_flight(MediaBackend::S3), 0);

        assert!(media.delete(ID).await.unwrap(), "a copy on the other backend is deleted too");
        assert!(matches!(media.read_range(ID, identity.clone(), None).await, Err(MediaError::NotFound)));
    }

    #[tokio::test]
    async fn s3_in_force_needs_an_s3_backend_and_one_migration_runs_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let local = MediaDir::open(&dir.path().join("local")).unwrap();
        assert!(MediaInForce::new(local.clone(), None, MediaBackend::S3).is_err());
        let media = MediaInForce::new(local, None, MediaBackend::Local).unwrap();
        assert!(media.switch_to(MediaBackend::S3).is_err());
        assert!(media.fallback().is_none());
        let turn = media.begin_migration();
        assert!(turn.is_some());
        assert!(media.begin_migration().is_none(), "a second migration waits for the first");
        drop(turn);
        assert!(media.begin_migration().is_some());
    }
}
