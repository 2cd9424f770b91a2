//! An object in the store opened for reading on the task that asks, with no trip to the
//! blocking pool: its first block (the header; its answer tells the object's size) and the
//! blocks of its last chunk (which authenticates the length) come from the [`BlockCache`] or
//! GETs made together, and a range's plaintext is the sealed chunks it needs, fetched ahead
//! ([`SealedPieces`]) and opened as they arrive ([`Decrypting`]).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::ahead::{Body, Fetch, SealedPieces};
use super::cache::{BLOCK, BlockCache, block_range};
use super::decrypting::Decrypting;
use super::s3::S3Media;
use super::{MediaError, decrypt_error};
use crate::vault::age_file::Payload;

/// The plaintext of a range of an object, decrypted as it arrives.
pub(super) type RemoteRead = Decrypting<SealedPieces<ObjectBytes>>;

/// One object's bytes: the blocks the cache holds, and ranged GETs.
pub(super) struct ObjectBytes {
    s3: Arc<S3Media>,
    cache: Arc<BlockCache>,
    id: String,
    size: u64,
}

impl Fetch for ObjectBytes {
    fn size(&self) -> u64 {
        self.size
    }

    fn cached(&self, block: u64) -> Option<Bytes> {
        self.cache.get(&self.id, block).filter(|(_, size)| *size == self.size).map(|(bytes, _)| bytes)
    }

    fn get(&self, range: Range<u64>) -> BoxFuture<'static, Result<Body, MediaError>> {
        let (s3, id) = (self.s3.clone(), self.id.clone());
        async move { s3.get_stream_range(&id, range).await }.boxed()
    }
}

impl ObjectBytes {
    /// Block `block`, from the cache or a GET (then cached).
    async fn block(&self, block: u64) -> Result<Bytes, MediaError> {
        if let Some(bytes) = self.cached(block) {
            return Ok(bytes);
        }
        let (bytes, _) = self.s3.get_range(&self.id, block_range(block, self.size)).await?;
        self.cache.insert(&self.id, block, bytes.clone(), self.size);
        Ok(bytes)
    }

    /// The bytes of `span`, from the blocks that hold it (fetched together).
    async fn span(&self, span: Range<u64>) -> Result<Vec<u8>, MediaError> {
        let blocks = span.start / BLOCK..span.end.div_ceil(BLOCK);
        let fetched = futures_util::future::try_join_all(blocks.clone().map(|block| self.block(block))).await?;
        let mut out = Vec::with_capacity((span.end - span.start) as usize);
        for (block, bytes) in blocks.zip(fetched) {
            let at = block * BLOCK;
            let from = span.start.max(at) - at;
            let to = (span.end.min(at + BLOCK) - at).min(bytes.len() as u64);
            out.extend_from_slice(bytes.get(from as usize..to as usize).unwrap_or_default());
        }
        if out.len() as u64 != span.end - span.start {
            return Err(MediaError::Unavailable("the object is shorter than it said".into()));
        }
        Ok(out)
    }
}

/// An object opened for reading: its bytes and its payload's key and layout, its length
/// authenticated.
pub(super) struct RemoteObject {
    bytes: Arc<ObjectBytes>,
    payload: Arc<Payload>,
}

impl RemoteObject {
    /// Opens the object of `id` with `identity`. No object is `NotFound`.
    pub(super) async fn open(
        s3: &Arc<S3Media>,
        cache: &Arc<BlockCache>,
        id: &str,
        identity: &age::x25519::Identity,
    ) -> Result<RemoteObject, MediaError> {
        let (head, size) = match cache.get(id, 0) {
            Some(hit) => hit,
            None => {
                let (bytes, size) = s3.get_range(id, 0..BLOCK).await?;
                cache.insert(id, 0, bytes.clone(), size);
                (bytes, size)
            }
        };
        let bytes = ObjectBytes { s3: s3.clone(), cache: cache.clone(), id: id.to_string(), size };
        let payload = Payload::from_header(&head, size, identity).map_err(decrypt_error)?;
        // the last chunk authenticates the length
        let last = payload.chunks() - 1;
        let mut sealed = bytes.span(payload.sealed_chunks(last, 1)).await?;
        payload.open_chunk(last, &mut sealed, 0)?;
        Ok(RemoteObject { bytes: Arc::new(bytes), payload: Arc::new(payload) })
    }

    /// The plaintext length.
    pub(super) fn len(&self) -> u64 {
        self.payload.len()
    }

    /// Plaintext `start..end` (within the length).
    pub(super) fn read(&self, start: u64, end: u64) -> RemoteRead {
        let span = self.payload.sealed_span(start, end);
        Decrypting::new(SealedPieces::new(self.bytes.clone(), span), self.payload.clone(), start, end)
    }
}
