//! Plaintext from sealed chunks as they arrive: each chunk is copied into the buffer handed
//! on and opened there, on the task that reads the stream (a 64 KiB chunk opens in about
//! 20 µs, so a poll does a few of them and no trip to the blocking pool is needed).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use super::{AGE_CHUNK, MediaError};
use crate::vault::age_file::{Payload, SEALED_CHUNK};

/// Chunks opened into one buffer handed on: one. The HTTP layer copies each buffer into its
/// write buffer and gives that buffer up, for a fresh small one, once it has grown past
/// 128 KiB (actix-http's retention limit): buffers of a chunk keep it under that, and reused.
const CHUNKS_PER_BUFFER: u64 = 1;

/// Plaintext `start..end` of an age file whose payload is `payload`, from `sealed`: the
/// file's bytes from the first sealed chunk that range needs, in pieces of any size.
pub(super) struct Decrypting<S> {
    sealed: S,
    payload: Arc<Payload>,
    /// The chunk the next buffer starts with, and the chunk after the range's last.
    next_chunk: u64,
    end_chunk: u64,
    /// Plaintext before the range in the next buffer (in the first one only).
    skip: usize,
    /// Plaintext still to hand on.
    left: u64,
    /// Sealed bytes received and not yet copied.
    pending: Bytes,
    /// Sealed chunks of the next buffer, as far as they have arrived.
    buffer: BytesMut,
}

impl<S> Decrypting<S> {
    pub(super) fn new(sealed: S, payload: Arc<Payload>, start: u64, end: u64) -> Decrypting<S> {
        let end_chunk = if end > start { (end - 1) / AGE_CHUNK + 1 } else { start / AGE_CHUNK };
        Decrypting {
            sealed,
            payload,
            next_chunk: start / AGE_CHUNK,
            end_chunk,
            skip: (start % AGE_CHUNK) as usize,
            left: end.saturating_sub(start),
            pending: Bytes::new(),
            buffer: BytesMut::new(),
        }
    }

    /// Ends the stream with `e`.
    fn fail(&mut self, e: io::Error) -> Poll<Option<io::Result<Bytes>>> {
        self.left = 0;
        self.pending = Bytes::new();
        self.buffer = BytesMut::new();
        Poll::Ready(Some(Err(e)))
    }

    /// Opens the `count` chunks in the buffer, in place, and hands on the range's part of
    /// their plaintext.
    fn open_buffer(&mut self, count: u64) -> io::Result<Bytes> {
        let mut buffer = std::mem::take(&mut self.buffer);
        let sealed_len = buffer.len();
        let mut plain_end = 0;
        for i in 0..count {
            let sealed_start = i as usize * SEALED_CHUNK;
            let sealed_end = (sealed_start + SEALED_CHUNK).min(sealed_len);
            plain_end += self.payload.open_chunk(self.next_chunk + i, &mut buffer[plain_end..sealed_end], sealed_start - plain_end)?;
        }
        buffer.truncate(plain_end);
        let take = (plain_end.saturating_sub(self.skip) as u64).min(self.left) as usize;
        let from = self.skip.min(plain_end);
        let plain = buffer.freeze().slice(from..from + take);
        self.next_chunk += count;
        self.skip = 0;
        self.left -= take as u64;
        Ok(plain)
    }
}

impl<S: Stream<Item = Result<Bytes, MediaError>> + Unpin> Stream for Decrypting<S> {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let count = CHUNKS_PER_BUFFER.min(this.end_chunk - this.next_chunk);
        let span = this.payload.sealed_chunks(this.next_chunk, count);
        let want = (span.end - span.start) as usize;
        if this.buffer.capacity() < want {
            this.buffer.reserve(want);
        }
        while this.buffer.len() < want {
            if this.pending.is_empty() {
                match ready!(this.sealed.poll_next_unpin(cx)) {
                    Some(Ok(piece)) => this.pending = piece,
                    Some(Err(e)) => return this.fail(io::Error::other(e)),
                    None => return this.fail(io::Error::new(io::ErrorKind::UnexpectedEof, "the object ended early")),
                }
            }
            let take = (want - this.buffer.len()).min(this.pending.len());
            this.buffer.extend_from_slice(&this.pending[..take]);
            this.pending.advance(take);
        }
        match this.open_buffer(count) {
            Ok(plain) => Poll::Ready(Some(Ok(plain))),
            Err(e) => this.fail(e),
        }
    }
}
