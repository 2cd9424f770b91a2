//! Where a [`super::MediaDir`] keeps its files: the local disk, or an S3-compatible object
//! store (with the cache of recent ciphertext blocks its reads share). The settings come from
//! `[media]` (`crate::config`).

use std::sync::Arc;
use std::time::SystemTime;

pub use crate::config::{MediaBackendConfig, S3Config};

use super::cache::BlockCache;
use super::s3::S3Media;

/// The backend of a media directory.
#[derive(Debug, Clone)]
pub(super) enum Backend {
    Local,
    S3(Arc<ObjectBackend>),
}

/// An object store, the block cache of its reads, the runtime its calls run on (the one it
/// was opened on) and when this process opened it (uploads recorded before that are no longer
/// running).
#[derive(Debug)]
pub(super) struct ObjectBackend {
    pub(super) s3: Arc<S3Media>,
    pub(super) cache: Arc<BlockCache>,
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) opened: SystemTime,
}

impl Backend {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::S3(_) => "s3",
        }
    }
}

/// What [`super::MediaDir::raw_write`] stored: the bytes of the age file and their SHA-256
/// (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawWritten {
    pub bytes: u64,
    pub sha256: String,
}
