//! Small media kept in the store with their records: sealing one in memory, and opening an
//! asset's media from its file or, when it has none, from the store.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{Ingested, MediaError};
use crate::domain::ids::AssetId;
use crate::store::{Store, sealed_media};
use crate::vault::age_file::{OpenFile, SealingWriter};

/// Where one asset's media is read from (blocking).
pub(super) struct Opener {
    pub(super) path: PathBuf,
    pub(super) sealed: Option<(Store, AssetId)>,
}

impl Opener {
    /// Opens the file, or what the store keeps when there is no file.
    pub(super) fn open(self, identity: &age::x25519::Identity) -> Result<OpenFile, MediaError> {
        match File::open(&self.path) {
            Ok(file) => Ok(OpenFile::open(file, identity)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let Some((store, id)) = self.sealed else { return Err(MediaError::NotFound) };
                let kept = store.read_now(|tx| sealed_media::get(tx, id)).map_err(|e| io::Error::other(e.to_string()))?;
                Ok(OpenFile::open_bytes(kept.ok_or(MediaError::NotFound)?, identity)?)
            }
            Err(e) => Err(MediaError::Io(e)),
        }
    }
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
