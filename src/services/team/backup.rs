//! `reelvault backup DIR` and `reelvault restore DIR`: a consistent snapshot of the store (one
//! read transaction, copied table by table into a fresh redb file), the media files its
//! assets reference (immutable once written; copied from the local disk or the S3 bucket, see
//! `backup_media`), and `manifest.json` with counts, the SHA-256 of every file and where the
//! media lived. With `--media-in-place` (media on S3 only) the objects stay in their bucket
//! and the manifest names it. A restore puts the media on either backend. The master key is
//! never part of a backup. Backups and restores write files 0600 and folders 0700.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use redb::ReadTransaction;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::media_backend::MediaBackend;
use crate::domain::time::Timestamp;
use crate::services::state::AppState;
use crate::store::{self, STORE_FILE, StoreError, backup::Snapshot, migrations};
use crate::vault::media::{MediaDir, MediaError};

use super::backup_media;

/// The manifest's file name; written last, so its presence marks a complete backup.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest format this build writes and reads.
const FORMAT: &str = "reelvault-backup-1";
/// Said wherever a backup is made or restored.
pub const MASTER_KEY_NOTE: &str = "The master key is NOT in the backup: keep a copy of it apart from your backups; \
                                   without it the restored accounts and media cannot be read.";

/// Why a backup or restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{what} {}: {source}", path.display())]
    Io { what: &'static str, path: PathBuf, source: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] MediaError),
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BackupError + use<'a> {
    move |source| BackupError::Io { what, path: path.to_path_buf(), source }
}

/// `manifest.json`: what the backup holds and how to check it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub created_at: String,
    pub reelvault_version: String,
    pub schema_version: u32,
    pub master_key_included: bool,
    pub store: FileEntry,
    /// Rows per table (table names carry their version).
    pub tables: BTreeMap<String, u64>,
    pub media: Vec<MediaEntry>,
    /// Assets whose file was already gone when the backup ran.
    pub missing_media: Vec<String>,
    /// Where the media lived: "local" or "s3" (absent in backups made before S3: local).
    #[serde(default)]
    pub media_backend: Option<MediaBackend>,
    /// The bucket the media were left in (`--media-in-place`); `media` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_in_place: Option<MediaInPlace>,
}

/// Media a backup left in their S3 bucket: where, and which objects.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaInPlace {
    pub endpoint: String,
    pub bucket: String,
    pub prefix: String,
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    /// SHA-256 of the file as stored (for media: the age ciphertext).
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaEntry {
    pub id: String,
    #[serde(flatten)]
    pub file: FileEntry,
}

impl Manifest {
    fn media_bytes(&self) -> u64 {
        self.media.iter().map(|m| m.file.bytes).sum()
    }

    /// One line per figure people check after a backup or restore.
    pub fn summary(&self) -> String {
        let figures: Vec<String> = store::backup::headline_counts(&self.tables).iter().map(|(what, n)| format!("{n} {what}")).collect();
        let mut out = format!("schema {}, {}\n", self.schema_version, figures.join(", "));
        let backend = self.media_backend.unwrap_or(MediaBackend::Local);
        match &self.media_in_place {
            Some(place) => out.push_str(&format!(
                "{} media objects left in place on {backend}: bucket {} at {}, prefix {:?}\n",
                place.ids.len(),
                place.bucket,
                place.endpoint,
                place.prefix
            )),
            None => out.push_str(&format!(
                "{} media files from {backend}, {} (encrypted)\n",
                self.media.len(),
                bytesize::ByteSize::b(self.media_bytes()).display().iec(),
            )),
        }
        if !self.missing_media.is_empty() {
            out.push_str(&format!(
                "warning: {} media files were already deleted: {}\n",
                self.missing_media.len(),
                self.missing_media.join(", ")
            ));
        }
        out
    }
}

/// Writes a backup of the running (or stopped) instance into `dir`, which must be new or
/// empty. The store is copied on a thread of its own inside one read transaction (writers go
/// on meanwhile); then the media its assets name are copied from their backend, or, with
/// `media_in_place` (media on S3 only), named in the manifest and left in their bucket.
pub async fn create(state: &AppState, dir: PathBuf, media_in_place: bool) -> Result<Manifest, BackupError> {
    let backend = state.media.kind();
    let place = match (&state.config.media, media_in_place) {
        (_, false) => None,
        (crate::config::MediaBackendConfig::S3(s3), true) if backend == MediaBackend::S3 => {
            Some((s3.endpoint.to_string(), s3.bucket.clone(), s3.prefix.clone()))
        }
        _ => return Err(BackupError::Refused("--media-in-place is for media on S3: media on the local disk are always copied".into())),
    };
    let store = state.store.clone();
    let running = state.workers.bounded().begin("backup");
    let snapshot_dir = dir.clone();
    let (store_entry, schema, tables, ids) = crate::own_thread::run("backup", move || store.read_now(|tx| write_store(tx, &snapshot_dir)))
        .await
        .unwrap_or_else(|| Err(BackupError::Refused("the backup stopped unexpectedly; see the service's log".into())))?;
    let (entries, missing, in_place) = match place {
        Some((endpoint, bucket, prefix)) => (Vec::new(), Vec::new(), Some(MediaInPlace { endpoint, bucket, prefix, ids })),
        None => {
            let (entries, missing) = backup_media::copy_into_backup(&state.media, &state.config.data_dir, &dir, ids).await?;
            (entries, missing, None)
        }
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: Timestamp::now().rfc3339(),
        reelvault_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: schema,
        master_key_included: false,
        store: store_entry,
        tables: tables.into_iter().collect(),
        media: entries,
        missing_media: missing,
        media_backend: Some(backend),
        media_in_place: in_place,
    };
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Refused(format!("cannot write the manifest: {e}")))?;
    let done_dir = dir.clone();
    tokio::task::spawn_blocking(move || write_synced(&manifest_path, &text).and_then(|()| sync_dir(&done_dir)))
        .await
        .map_err(|e| BackupError::Refused(format!("backup task failed: {e}")))??;
    drop(running);
    tracing::info!(dir = %dir.display(), media = manifest.media.len(), "backup written");
    Ok(manifest)
}

/// The store snapshot and its entry, with the ids of the assets whose media are objects
/// (small media kept in the store are in its snapshot already).
type StoreCopy = (FileEntry, u32, Vec<(String, u64)>, Vec<String>);

fn write_store(tx: &ReadTransaction, dir: &Path) -> Result<StoreCopy, BackupError> {
    if !dir.is_absolute() {
        return Err(BackupError::Refused(format!("the backup directory must be an absolute path, not {}", dir.display())));
    }
    prepare_empty_dir(dir, "backup into")?;
    let store_path = dir.join(STORE_FILE);
    let Snapshot { schema, tables } = store::backup::snapshot(tx, &store_path)?;
    sync_file(&store_path)?;
    let (bytes, sha256) = hash_file(&store_path)?;
    let ids = store::assets::ids_with_own_media(tx)?;
    Ok((FileEntry { path: STORE_FILE.into(), bytes, sha256 }, schema, tables.into_iter().collect(), ids))
}

/// Restores the backup in `backup` into `data_dir`, which must not exist or be empty, with
/// its media for `media_to`: local files are copied here; for S3 they are only checked here
/// and [`backup_media::upload_from_backup`] stores them (media left in place stay in their
/// bucket). Every file is checked against the manifest before anything is written, and again
/// as it is copied. When run as root into a directory someone else owns (the service's user),
/// the restored files are given to that owner.
pub fn restore(backup: &Path, data_dir: &Path, media_to: MediaBackend) -> Result<Manifest, BackupError> {
    let manifest_path = backup.join(MANIFEST_FILE);
    let text = fs::read(&manifest_path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => BackupError::Refused(format!(
            "{} has no {MANIFEST_FILE}: it is not a reelvault backup, or the backup did not finish",
            backup.display()
        )),
        _ => BackupError::Io { what: "cannot read", path: manifest_path.clone(), source: e },
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| BackupError::Refused(format!("{} is malformed: {e}", manifest_path.display())))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Refused(format!("unknown backup format {:?} (this build reads {FORMAT})", manifest.format)));
    }
    if manifest.schema_version > migrations::CURRENT {
        return Err(StoreError::TooNew { found: manifest.schema_version, supported: migrations::CURRENT }.into());
    }
    if let (Some(place), MediaBackend::Local) = (&manifest.media_in_place, media_to) {
        return Err(BackupError::Refused(format!(
            "this backup left its media in bucket {} at {}: restore with --media-to s3 and [media] settings for that bucket, \
             then `reelvault media migrate --to local` if they should come to this disk",
            place.bucket, place.endpoint
        )));
    }
    if manifest.store.path != STORE_FILE {
        return Err(BackupError::Refused(format!("the manifest names the store {:?}, expected {STORE_FILE}", manifest.store.path)));
    }

    // check everything before writing anything
    verify(&backup.join(STORE_FILE), &manifest.store)?;
    let mut plan = Vec::with_capacity(manifest.media.len());
    for entry in &manifest.media {
        let relative = plain_relative(&entry.file.path)?;
        verify(&backup.join(&relative), &entry.file)?;
        plan.push((relative, entry));
    }

    prepare_empty_dir(data_dir, "restore into")?;
    // the directory was empty: on failure, everything in it is ours to remove
    let plan = if media_to == MediaBackend::Local { plan } else { Vec::new() };
    if let Err(e) = copy_into(backup, data_dir, &manifest, plan) {
        if let Ok(entries) = fs::read_dir(data_dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            }
        }
        return Err(e);
    }
    give_to_owner_of(data_dir)?;
    Ok(manifest)
}

fn copy_into(backup: &Path, data_dir: &Path, manifest: &Manifest, plan: Vec<(PathBuf, &MediaEntry)>) -> Result<(), BackupError> {
    let store_dest = data_dir.join(STORE_FILE);
    let partial = data_dir.join(format!("{STORE_FILE}.partial"));
    let copied = copy_hashed(&backup.join(STORE_FILE), &partial)?;
    check_copy(&partial, copied, &manifest.store)?;
    fs::rename(&partial, &store_dest).map_err(io_err("cannot rename", &store_dest))?;
    let target_media = data_dir.join("media");
    let media = MediaDir::open(&target_media).map_err(io_err("cannot create", &target_media))?;
    for (relative, entry) in plan {
        let dest = media.path_of(&entry.id)?;
        if dest != data_dir.join(&relative) {
            return Err(BackupError::Refused(format!(
                "the manifest puts media {} at {}, which is not its place",
                entry.id,
                relative.display()
            )));
        }
        let copied = copy_hashed(&backup.join(&relative), &dest)?;
        check_copy(&dest, copied, &entry.file)?;
    }
    if manifest.schema_version == migrations::CURRENT {
        let counts: BTreeMap<String, u64> = store::backup::count_rows(&store_dest)?.into_iter().collect();
        if counts != manifest.tables {
            return Err(BackupError::Refused(format!(
                "the restored store's row counts differ from the manifest: {counts:?} != {:?}",
                manifest.tables
            )));
        }
    }
    sync_dir(data_dir)
}

/// A manifest path made only of plain names (no `..`, no root): never outside the backup.
pub(super) fn plain_relative(text: &str) -> Result<PathBuf, BackupError> {
    let path = PathBuf::from(text);
    if text.is_empty() || !path.components().all(|c| matches!(c, std::path::Component::Normal(_))) {
        return Err(BackupError::Refused(format!("the manifest names an unsafe path {text:?}")));
    }
    Ok(path)
}

fn verify(path: &Path, expected: &FileEntry) -> Result<(), BackupError> {
    let found = hash_file(path)?;
    check_copy(path, found, expected)
}

fn check_copy(path: &Path, (bytes, sha256): (u64, String), expected: &FileEntry) -> Result<(), BackupError> {
    if bytes != expected.bytes || sha256 != expected.sha256 {
        return Err(BackupError::Refused(format!(
            "{} does not match the manifest ({bytes} bytes, sha256 {sha256}; expected {} bytes, sha256 {}): the backup is damaged",
            path.display(),
            expected.bytes,
            expected.sha256
        )));
    }
    Ok(())
}

/// Creates `dir` (mode 0700) or accepts it when it is an empty directory (made 0700 too).
fn prepare_empty_dir(dir: &Path, what: &str) -> Result<(), BackupError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::Refused(format!(
                    "{} is not empty: {what} a new or empty directory (nothing was changed)",
                    dir.display()
                )));
            }
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err("cannot restrict the mode of", dir))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_private_dir(dir),
        Err(e) => Err(BackupError::Io { what: "cannot read", path: dir.to_path_buf(), source: e }),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    store::backup::create_private_dir(dir).map_err(io_err("cannot create", dir))
}

/// Copies `source` to `dest` (creating its directory), fsyncs it, and returns the length and
/// SHA-256 of what was written.
fn copy_hashed(source: &Path, dest: &Path) -> Result<(u64, String), BackupError> {
    let mut input = File::open(source).map_err(io_err("cannot read", source))?;
    if let Some(parent) = dest.parent() {
        create_private_dir(parent)?;
    }
    let mut output = store::backup::create_private_file(dest).map_err(io_err("cannot create", dest))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(io_err("cannot read", source))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(io_err("cannot write", dest))?;
        total += n as u64;
    }
    output.sync_all().map_err(io_err("cannot sync", dest))?;
    Ok((total, hex::encode(hasher.finalize())))
}

fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut input = File::open(path).map_err(io_err("cannot read", path))?;
    let mut hasher = Sha256::new();
    let total = io::copy(&mut input, &mut hasher).map_err(io_err("cannot read", path))?;
    Ok((total, hex::encode(hasher.finalize())))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = store::backup::create_private_file(path).map_err(io_err("cannot create", path))?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(io_err("cannot write", path))
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    File::open(path).and_then(|f| f.sync_all()).map_err(io_err("cannot sync", path))
}

fn sync_dir(path: &Path) -> Result<(), BackupError> {
    sync_file(path)
}

/// As root, hands everything under `dir` to `dir`'s owner (the service's user), so a restore
/// run by root into `/var/lib/reelvault` leaves files the service can open.
fn give_to_owner_of(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::MetadataExt;
    let owner = fs::metadata(dir).map_err(io_err("cannot read", dir))?;
    let me = fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
    if me != 0 || owner.uid() == 0 {
        return Ok(());
    }
    fn walk(path: &Path, uid: u32, gid: u32) -> Result<(), BackupError> {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(io_err("cannot change the owner of", path))?;
        if fs::symlink_metadata(path).map_err(io_err("cannot read", path))?.is_dir() {
            for entry in fs::read_dir(path).map_err(io_err("cannot read", path))? {
                walk(&entry.map_err(io_err("cannot read", path))?.path(), uid, gid)?;
            }
        }
        Ok(())
    }
    walk(dir, owner.uid(), owner.gid())
}

impl From<BackupError> for crate::services::ServiceError {
    fn from(e: BackupError) -> Self {
        let sandboxed = matches!(&e, BackupError::Io { source, .. }
            if matches!(source.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem));
        match e {
            BackupError::Store(e) => crate::services::ServiceError::Store(e),
            other if sandboxed => crate::services::ServiceError::InvalidMessage(format!(
                "{other} (a running service writes the backup itself, as its own user; under systemd it may write only \
                 to /var/backups/reelvault)"
            )),
            other => crate::services::ServiceError::InvalidMessage(other.to_string()),
        }
    }
}
