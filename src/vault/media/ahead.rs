//! The ciphertext of a span of an object, in order, as pieces: the blocks the cache holds come
//! from it, the rest from ranged GETs of at most [`WINDOW`] bytes, up to [`AHEAD`] of them
//! requested ahead of the one being read. Each GET's body is read only as far as a short
//! queue ahead of its reader (see `s3_client`), so a read holds less than `AHEAD + 1`
//! windows, however slowly it is read.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, FuturesOrdered};
use futures_util::{FutureExt, Stream, StreamExt};

use super::MediaError;
use super::cache::BLOCK;

/// The most bytes one GET asks for; GETs are cut on multiples of it (so each ends where a
/// block ends, as the store's own blocks do).
pub(super) const WINDOW: u64 = 4 * BLOCK;
/// GETs requested ahead of the one being read.
pub(super) const AHEAD: usize = 2;

/// The range a GET asks for to give `at..until` of an object of `size` bytes: widened to whole
/// blocks (the store answers a range that ends within one of its blocks with a short last
/// write, which can wait for a delayed acknowledgement: about 40 ms on Linux).
fn aligned(at: u64, until: u64, size: u64) -> (u64, u64) {
    (at - at % BLOCK, until.div_ceil(BLOCK).saturating_mul(BLOCK).min(size).max(until))
}

/// The body of a GET.
pub(super) type Body = BoxStream<'static, io::Result<Bytes>>;

/// Where an object's bytes come from.
pub(super) trait Fetch: Send + Sync + 'static {
    /// The object's size in bytes.
    fn size(&self) -> u64;
    /// Block `index` (of [`BLOCK`] bytes, cut at the object's end), when the cache holds it.
    fn cached(&self, block: u64) -> Option<Bytes>;
    /// A GET of `range` (within the object): its body, once the store has answered.
    fn get(&self, range: Range<u64>) -> BoxFuture<'static, Result<Body, MediaError>>;
}

/// One part of the span: a cached slice or a GET's body, the bytes before the span's part in
/// it, and the bytes of the span it has still to give.
struct Part {
    body: Body,
    skip: u64,
    left: u64,
}

/// The pieces of one span of an object (see the module's doc).
pub(super) struct SealedPieces<F> {
    fetch: Arc<F>,
    /// Where the next part to request starts, and the span's end.
    next: u64,
    end: u64,
    requested: FuturesOrdered<BoxFuture<'static, Result<Part, MediaError>>>,
    arrived: VecDeque<Part>,
    current: Option<Part>,
}

impl<F: Fetch> SealedPieces<F> {
    pub(super) fn new(fetch: Arc<F>, span: Range<u64>) -> SealedPieces<F> {
        SealedPieces { fetch, next: span.start, end: span.end, requested: FuturesOrdered::new(), arrived: VecDeque::new(), current: None }
    }

    /// The part that starts at `at`: the rest of its block when the cache holds it, else a
    /// GET to the end of its window, stopping before a block the cache holds.
    fn part_at(&self, at: u64) -> (BoxFuture<'static, Result<Part, MediaError>>, u64) {
        let block = at / BLOCK;
        let block_end = ((block + 1) * BLOCK).min(self.end);
        if let Some(bytes) = self.fetch.cached(block) {
            let (from, to) = ((at - block * BLOCK) as usize, (block_end - block * BLOCK) as usize);
            if let Some(piece) = bytes.get(from..to) {
                let piece = bytes.slice_ref(piece);
                let part = Part { skip: 0, left: piece.len() as u64, body: futures_util::stream::once(async { Ok(piece) }).boxed() };
                return (futures_util::future::ready(Ok(part)).boxed(), block_end);
            }
        }
        let window_end = ((at / WINDOW + 1) * WINDOW).min(self.end);
        let mut until = block_end;
        while until < window_end && self.fetch.cached(until / BLOCK).is_none() {
            until = (until + BLOCK).min(window_end);
        }
        let (from, to) = aligned(at, until, self.fetch.size());
        let (skip, left) = (at - from, until - at);
        (self.fetch.get(from..to).map(move |body| Ok(Part { body: body?, skip, left })).boxed(), until)
    }

    /// Requests parts until `AHEAD` are on their way besides the one being read.
    fn request_ahead(&mut self) {
        while self.next < self.end && self.requested.len() + self.arrived.len() < AHEAD + usize::from(self.current.is_none()) {
            let (part, until) = self.part_at(self.next);
            self.requested.push_back(part);
            self.next = until;
        }
    }

    /// Ends the stream after a failure.
    fn fail(&mut self, e: MediaError) -> Poll<Option<Result<Bytes, MediaError>>> {
        self.next = self.end;
        self.requested = FuturesOrdered::new();
        self.arrived.clear();
        self.current = None;
        Poll::Ready(Some(Err(e)))
    }
}

impl<F: Fetch> Stream for SealedPieces<F> {
    type Item = Result<Bytes, MediaError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            this.request_ahead();
            // the answers of the GETs ahead, in order (each body then arrives on its own)
            while let Poll::Ready(Some(answer)) = this.requested.poll_next_unpin(cx) {
                match answer {
                    Ok(part) => this.arrived.push_back(part),
                    Err(e) => return this.fail(e),
                }
            }
            let Some(part) = this.current.as_mut() else {
                match this.arrived.pop_front() {
                    Some(part) => this.current = Some(part),
                    None if this.requested.is_empty() && this.next >= this.end => return Poll::Ready(None),
                    None => return Poll::Pending,
                }
                continue;
            };
            if part.left == 0 {
                // the rest of its blocks, after the span
                this.current = None;
                continue;
            }
            match ready!(part.body.poll_next_unpin(cx)) {
                Some(Ok(mut piece)) => {
                    let skipped = part.skip.min(piece.len() as u64);
                    part.skip -= skipped;
                    piece.advance(skipped as usize);
                    piece.truncate(part.left.min(piece.len() as u64) as usize);
                    part.left -= piece.len() as u64;
                    if !piece.is_empty() {
                        return Poll::Ready(Some(Ok(piece)));
                    }
                }
                Some(Err(e)) => return this.fail(MediaError::Unavailable(e.to_string())),
                None => return this.fail(MediaError::Unavailable("the object ended early".into())),
            }
        }
    }
}
