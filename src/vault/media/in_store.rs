//! Small media kept in the store with their records: sealing one in memory, and opening an
//! asset's media from its file or, when it has none, from the store.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{Ingested, MediaError, decrypt_error};
use crate::domain::ids::AssetId;
use crate::store::{Store, sealed_media};
use crate::vault::age_file::{OpenFile, SealingWriter};

/// Where one asset's media is read from (blocking): its file when it may have one, else what
/// the store keeps.
pub(super) struct Opener {
    pub(super) file: Option<PathBuf>,
    pub(super) sealed: Option<(Store, AssetId)>,
}

impl Opener {
    /// Opens the file, or what the store keeps when there is none.
    pub(super) fn open(self, identity: &age::x25519::Identity) -> Result<OpenFile, MediaError> {
        let Some(path) = self.file else {
            return open_kept(self.sealed.as_ref(), identity)?.ok_or(MediaError::NotFound);
        };
        match File::open(&path) {
            Ok(file) => OpenFile::open(file, identity).map_err(decrypt_error),
            Err(e) if e.kind() == io::ErrorKind::NotFound => open_kept(self.sealed.as_ref(), identity)?.ok_or(MediaError::NotFound),
            Err(e) => Err(MediaError::Io(e)),
        }
    }
}

/// What the store keeps of the asset, opened; `None` when it keeps nothing.
fn open_kept(sealed: Option<&(Store, AssetId)>, identity: &age::x25519::Identity) -> Result<Option<OpenFile>, MediaError> {
    let Some((store, id)) = sealed else { return Ok(None) };
    let kept = store.read_now(|tx| sealed_media::get(tx, *id)).map_err(|e| io::Error::other(e.to_string()))?;
    kept.map(|bytes| OpenFile::open_bytes(bytes, identity).map_err(decrypt_error)).transpose()
}

/// Seals `batch` (the whole content) into an age file in memory.
pub(super) fn seal_whole(recipient: &age::x25519::Recipient, hasher: Sha256, batch: Vec<Bytes>) -> Result<Ingested, MediaError> {
    let len: usize = batch.iter().map(Bytes::len).sum();
    let mut writer = SealingWriter::new(Vec::with_capacity(len + 512), recipient)?;
    for piece in &batch {
        writer.write_all(piece)?;
    }
    let sealed = writer.finish()?;
    Ok(Ingested { bytes: len as u64, sha256: hex::encode(hasher.finalize()), sealed: Some(sealed) })
}
