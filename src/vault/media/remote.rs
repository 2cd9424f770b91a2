//! An object in the store read as a seekable file, by ranged GETs of whole blocks: blocks come
//! from the shared [`BlockCache`] when they are there; a sequential read (a full download)
//! switches to one streaming GET of the rest of the object, which arrives while the bytes
//! before it are decrypted (at most [`STREAM_QUEUE`] pieces ahead). Blocking: it runs on the
//! blocking pool with the age work and waits for the runtime's answers there.
//!
//! Before a read is opened, [`warm`] fetches what it will need first — the header's block,
//! the last block and the blocks of the range's start — together, on the async side, into the
//! cache: a range costs one round trip to the store, not one per block in turn.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::MediaError;
use super::cache::{BLOCK, BlockCache, block_range};
use super::s3::S3Media;
use crate::vault::age_file::{RemoteSource, sealed_span};

/// Blocks [`warm`] fetches where a range starts.
const READ_AHEAD: u64 = 4;
/// Pieces of a streaming GET received ahead of the reader, at most: each is at most hyper's
/// read buffer (about 400 KiB), so a download holds at most about 13 MiB of ciphertext it has
/// not read yet (on loopback, pieces are mostly far smaller).
const STREAM_QUEUE: usize = 32;
/// Blocks read one after another before the read counts as sequential: a range of a mebibyte
/// or two spans two or three blocks and wants nothing ahead.
const SEQUENTIAL_AFTER: u32 = 3;

/// Fetches into `cache`, concurrently, the blocks of the object of `id` that opening it and
/// reading plaintext `start..=last` begin with: the first block (the header; its answer tells
/// the object's size), the last block (the last chunk, which opening authenticates) and up to
/// [`READ_AHEAD`] blocks where the range's chunks lie. No object is `NotFound`.
pub(super) async fn warm(s3: &S3Media, cache: &BlockCache, id: &str, start: u64, last: u64) -> Result<(), MediaError> {
    let (head, size) = match cache.get(id, 0) {
        Some(hit) => hit,
        None => {
            let (bytes, size) = s3.get_range(id, 0..BLOCK).await?;
            cache.insert(id, 0, bytes.clone(), size);
            (bytes, size)
        }
    };
    let blocks = size.div_ceil(BLOCK);
    let span = sealed_span(&head, start, last.saturating_add(1));
    let first = span.start / BLOCK;
    let until = (span.end.div_ceil(BLOCK)).min(first + READ_AHEAD).min(blocks);
    let mut wanted: Vec<u64> = (first..until).chain(blocks.checked_sub(1)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted.retain(|block| cache.get(id, *block).is_none());
    let fetches = wanted.into_iter().map(|block| async move {
        let (bytes, _) = s3.get_range(id, block_range(block, size)).await?;
        cache.insert(id, block, bytes, size);
        Ok::<_, MediaError>(())
    });
    futures_util::future::try_join_all(fetches).await.map(drop)
}

/// One object, open for reading.
pub(super) struct RemoteFile {
    s3: Arc<S3Media>,
    cache: Arc<BlockCache>,
    runtime: Handle,
    id: String,
    size: u64,
    pos: u64,
    /// The block read last, and how many blocks before it were read in order.
    last_block: Option<u64>,
    run: u32,
    /// The block being read, kept while it is consumed piece by piece.
    current: Option<(u64, Bytes)>,
    /// The rest of the object, streaming in, once the read is sequential.
    stream: Option<Streaming>,
}

/// One GET of the object from `offset` to its end, received on the runtime into a bounded
/// queue; dropped (and the GET with it) when the reader seeks elsewhere or is done.
struct Streaming {
    /// The object offset of `pending`'s first byte.
    offset: u64,
    pending: Bytes,
    queue: tokio::sync::mpsc::Receiver<Result<Bytes, MediaError>>,
    task: JoinHandle<()>,
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Streaming {
    fn start(s3: Arc<S3Media>, runtime: &Handle, id: String, offset: u64, size: u64) -> Streaming {
        let (sender, queue) = tokio::sync::mpsc::channel(STREAM_QUEUE);
        let task = runtime.spawn(async move {
            let mut body = match s3.get_stream_range(&id, offset..size).await {
                Ok(body) => body,
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                    return;
                }
            };
            while let Some(piece) = body.next().await {
                let failed = piece.is_err();
                if sender.send(piece.map_err(|e| MediaError::Unavailable(e.to_string()))).await.is_err() || failed {
                    return;
                }
            }
        });
        Streaming { offset, pending: Bytes::new(), queue, task }
    }

    /// Copies the next bytes into `buf` (blocking until some arrive).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            match self.queue.blocking_recv() {
                Some(Ok(piece)) => self.pending = piece,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the object ended early")),
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        self.offset += n as u64;
        Ok(n)
    }
}

impl RemoteFile {
    /// Opens the object of `id`: its first block tells its size (one GET, none when cached).
    /// Blocking. No object is `NotFound`.
    pub(super) fn open(s3: Arc<S3Media>, cache: Arc<BlockCache>, runtime: Handle, id: &str) -> Result<RemoteFile, MediaError> {
        let (first, size) = match cache.get(id, 0) {
            Some(hit) => hit,
            None => {
                let (bytes, size) = runtime.block_on(s3.get_range(id, 0..BLOCK))?;
                cache.insert(id, 0, bytes.clone(), size);
                (bytes, size)
            }
        };
        Ok(RemoteFile {
            s3,
            cache,
            runtime,
            id: id.to_string(),
            size,
            pos: 0,
            last_block: None,
            run: 0,
            current: Some((0, first)),
            stream: None,
        })
    }

    /// The bytes of `block`: from the block being read, the cache, or a GET. A read that has
    /// gone through [`SEQUENTIAL_AFTER`] blocks in order streams the rest from the next block.
    fn block(&mut self, block: u64) -> Result<Bytes, MediaError> {
        if let Some((index, bytes)) = &self.current
            && *index == block
        {
            return Ok(bytes.clone());
        }
        let next_in_order = self.last_block.is_some_and(|last| last + 1 == block);
        self.run = if next_in_order { self.run + 1 } else { 0 };
        self.last_block = Some(block);
        let bytes = match self.cache.get(&self.id, block) {
            Some((bytes, _)) => bytes,
            None => {
                let (bytes, _) = self.runtime.block_on(self.s3.get_range(&self.id, block_range(block, self.size)))?;
                if !next_in_order {
                    // a random read: a later range of this object may want it again
                    self.cache.insert(&self.id, block, bytes.clone(), self.size);
                }
                bytes
            }
        };
        let next = (block + 1) * BLOCK;
        if self.run >= SEQUENTIAL_AFTER && next < self.size && self.stream.is_none() {
            self.stream = Some(Streaming::start(self.s3.clone(), &self.runtime, self.id.clone(), next, self.size));
        }
        self.current = Some((block, bytes.clone()));
        Ok(bytes)
    }
}

impl Read for RemoteFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let in_current = self.current.as_ref().is_some_and(|(index, _)| *index == self.pos / BLOCK);
        if !in_current && let Some(stream) = &mut self.stream {
            if stream.offset == self.pos {
                let n = stream.read(buf)?;
                self.pos += n as u64;
                return Ok(n);
            }
            // a seek away from the stream: back to blocks
            self.stream = None;
        }
        let block = self.pos / BLOCK;
        let bytes = self.block(block).map_err(io::Error::other)?;
        let offset = (self.pos - block * BLOCK) as usize;
        let available = bytes.len().saturating_sub(offset);
        if available == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the object is shorter than it said"));
        }
        let n = available.min(buf.len());
        buf[..n].copy_from_slice(&bytes[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

impl RemoteSource for RemoteFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.size)
    }
}
