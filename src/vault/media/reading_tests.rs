//! Tests of reading an object's ranges as its sealed chunks arrive (no store: the object's
//! bytes from memory, in pieces of any size): the plaintext exactly, from cached blocks and
//! GETs alike; a reader that stops holds at most the windows requested ahead; a damaged or
//! short object ends the read with an error.

use std::collections::HashSet;
use std::io::Write;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};

use super::ahead::{AHEAD, Body, Fetch, SealedPieces, WINDOW};
use super::cache::{BLOCK, block_range};
use super::decrypting::Decrypting;
use super::{MediaError, OUT_PIECE};
use crate::vault::age_file::{Payload, SealingWriter};

const MIB: u64 = 1024 * 1024;

/// An object in memory: the blocks `cached` are in the cache, GETs answer in pieces of
/// `piece` bytes (`short` leaves off each answer's last byte) and are recorded.
struct Object {
    sealed: Bytes,
    cached: HashSet<u64>,
    piece: usize,
    short: bool,
    requested: Mutex<Vec<Range<u64>>>,
}

impl Fetch for Object {
    fn size(&self) -> u64 {
        self.sealed.len() as u64
    }

    fn cached(&self, block: u64) -> Option<Bytes> {
        self.cached.contains(&block).then(|| self.sealed.slice(slice_of(block_range(block, self.sealed.len() as u64))))
    }

    fn get(&self, range: Range<u64>) -> BoxFuture<'static, Result<Body, MediaError>> {
        self.requested.lock().unwrap().push(range.clone());
        let mut answer = self.sealed.slice(slice_of(range));
        if self.short {
            answer.truncate(answer.len() - 1);
        }
        let pieces: Vec<_> = answer.chunks(self.piece).map(|p| Ok(answer.slice_ref(p))).collect();
        futures_util::future::ready(Ok(futures_util::stream::iter(pieces).boxed())).boxed()
    }
}

fn slice_of(range: Range<u64>) -> Range<usize> {
    range.start as usize..range.end as usize
}

/// Content of `len` bytes, sealed, and its payload opened.
fn sealed(len: usize) -> (Vec<u8>, Bytes, Arc<Payload>) {
    let identity = age::x25519::Identity::generate();
    let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let mut writer = SealingWriter::new(Vec::new(), &identity.to_public()).unwrap();
    writer.write_all(&plain).unwrap();
    let sealed = Bytes::from(writer.finish().unwrap());
    let payload = Payload::from_header(&sealed, sealed.len() as u64, &identity).unwrap();
    (plain, sealed, Arc::new(payload))
}

fn object(sealed: &Bytes, cached: &[u64], piece: usize) -> Arc<Object> {
    let cached = cached.iter().copied().collect();
    Arc::new(Object { sealed: sealed.clone(), cached, piece, short: false, requested: Mutex::new(Vec::new()) })
}

fn read(object: &Arc<Object>, payload: &Arc<Payload>, start: u64, end: u64) -> Decrypting<SealedPieces<Object>> {
    Decrypting::new(SealedPieces::new(object.clone(), payload.sealed_span(start, end)), payload.clone(), start, end)
}

#[tokio::test]
async fn a_range_is_its_plaintext_whatever_the_pieces_and_the_cache() {
    let (plain, sealed, payload) = sealed((9 * MIB + 1234) as usize);
    let len = plain.len() as u64;
    let last_block = (sealed.len() as u64 - 1) / BLOCK;
    let ranges =
        [(0, len), (1, 2), (65_535, 65_537), (1_048_000, 3_200_000), (len - 70_000, len), (4 * MIB - 10, 8 * MIB + 10), (len - 1, len)];
    for piece in [1_000, 65_552, 300_000] {
        for cached in [&[][..], &[0, 5, last_block][..]] {
            for (start, end) in ranges {
                let object = object(&sealed, cached, piece);
                let mut stream = read(&object, &payload, start, end);
                let mut out = Vec::new();
                while let Some(buffer) = stream.next().await {
                    let buffer = buffer.unwrap();
                    assert!(!buffer.is_empty() && buffer.len() as u64 <= OUT_PIECE);
                    out.extend_from_slice(&buffer);
                }
                assert!(out == plain[start as usize..end as usize], "{start}..{end} in pieces of {piece}, cached {cached:?}");
                for got in object.requested.lock().unwrap().iter() {
                    assert!(got.end - got.start <= WINDOW && got.start / WINDOW == (got.end - 1) / WINDOW, "{got:?} within a window");
                    let block_end = |at: u64| at.is_multiple_of(BLOCK) || at == sealed.len() as u64;
                    assert!(got.start.is_multiple_of(BLOCK) && block_end(got.end), "{got:?} in whole blocks");
                    let blocks = got.start / BLOCK..got.end.div_ceil(BLOCK);
                    assert!(blocks.clone().all(|b| !cached.contains(&b)), "{got:?} asks again for a cached block");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_reader_that_stops_holds_at_most_the_windows_requested_ahead() {
    let (plain, sealed, payload) = sealed((24 * MIB) as usize);
    let object = object(&sealed, &[], 65_536);
    let mut stream = read(&object, &payload, 0, plain.len() as u64);
    let first = stream.next().await.unwrap().unwrap();
    let requested: u64 = object.requested.lock().unwrap().iter().map(|r| r.end - r.start).sum();
    assert!(requested <= (AHEAD as u64 + 1) * WINDOW, "{requested} bytes requested for a reader that took one buffer");
    let mut out = first.to_vec();
    while let Some(buffer) = stream.next().await {
        out.extend_from_slice(&buffer.unwrap());
    }
    assert!(out == plain, "then the whole content");
    let requested: u64 = object.requested.lock().unwrap().iter().map(|r| r.end - r.start).sum();
    assert_eq!(requested, sealed.len() as u64, "every block once");
}

#[tokio::test]
async fn a_damaged_or_short_object_ends_the_read_with_an_error() {
    let (plain, sealed, payload) = sealed((3 * MIB) as usize);
    let len = plain.len() as u64;
    let mut damaged = sealed.to_vec();
    let at = payload.sealed_span(2 * MIB, 2 * MIB + 1).start as usize + 100;
    damaged[at] ^= 1;
    let damaged = object(&Bytes::from(damaged), &[], 100_000);
    let short = Arc::new(Object { short: true, ..Arc::into_inner(object(&sealed, &[], 100_000)).unwrap() });
    for (object, kind) in [(damaged, std::io::ErrorKind::InvalidData), (short, std::io::ErrorKind::Other)] {
        let mut stream = read(&object, &payload, 0, len);
        let mut good = 0;
        let failure = loop {
            match stream.next().await {
                Some(Ok(buffer)) => good += buffer.len(),
                Some(Err(e)) => break e,
                None => panic!("the read ended without an error"),
            }
        };
        assert_eq!(failure.kind(), kind, "{failure}");
        assert!(good < plain.len(), "not the whole content");
        assert!(stream.next().await.is_none(), "nothing after the error");
    }
}
