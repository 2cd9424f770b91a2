//! Reading back: a file's decrypted bytes as a stream of buffers. A file on the disk (or kept
//! in the store) is decrypted a piece at a time on the blocking pool while the consumer takes
//! the piece before; an object is decrypted as its chunks arrive ([`super::remote`]).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::Stream;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::remote::RemoteRead;
use super::{OUT_PIECE, READ_PIECE};
use crate::vault::age_file::OpenFile;

/// Decrypted bytes of one file or object, as buffers of up to [`OUT_PIECE`].
pub struct MediaStream {
    inner: Inner,
}

enum Inner {
    OnBlockingPool(OnBlockingPool),
    Remote(Box<RemoteRead>),
}

impl MediaStream {
    pub(super) fn on_blocking_pool(runtime: Handle, cursor: Cursor) -> MediaStream {
        MediaStream { inner: Inner::OnBlockingPool(OnBlockingPool::start(runtime, cursor)) }
    }

    pub(super) fn remote(read: RemoteRead) -> MediaStream {
        MediaStream { inner: Inner::Remote(Box::new(read)) }
    }
}

impl std::fmt::Debug for MediaStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.inner {
            Inner::OnBlockingPool(_) => "file",
            Inner::Remote(_) => "object",
        };
        f.debug_struct("MediaStream").field("source", &source).finish_non_exhaustive()
    }
}

impl Stream for MediaStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.get_mut().inner {
            Inner::OnBlockingPool(pieces) => Pin::new(pieces).poll_next(cx),
            Inner::Remote(read) => Pin::new(read.as_mut()).poll_next(cx),
        }
    }
}

/// Decrypted bytes of one file, produced a piece (up to [`READ_PIECE`], whole chunks) at a time
/// on the blocking pool, with one piece decrypted ahead of the consumer; each piece comes as
/// buffers of up to [`OUT_PIECE`].
struct OnBlockingPool {
    runtime: Handle,
    /// Buffers of the piece decrypted last, not taken yet.
    ready: VecDeque<Bytes>,
    next: Option<JoinHandle<Piece>>,
}

impl OnBlockingPool {
    fn start(runtime: Handle, cursor: Cursor) -> OnBlockingPool {
        let next = (cursor.pos < cursor.end).then(|| runtime.spawn_blocking(move || cursor.read_piece()));
        OnBlockingPool { runtime, ready: VecDeque::new(), next }
    }
}

impl Stream for OnBlockingPool {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(buffer) = self.ready.pop_front() {
            return Poll::Ready(Some(Ok(buffer)));
        }
        let Some(task) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let piece = ready!(Pin::new(task).poll(cx));
        self.next = None;
        match piece {
            Ok(Piece { buffers, rest }) => {
                if let Some(cursor) = rest {
                    self.next = Some(self.runtime.spawn_blocking(move || cursor.read_piece()));
                }
                match buffers {
                    Ok(buffers) => {
                        self.ready = buffers;
                        Poll::Ready(self.ready.pop_front().map(Ok))
                    }
                    Err(e) => Poll::Ready(Some(Err(e))),
                }
            }
            Err(e) => Poll::Ready(Some(Err(io::Error::other(e.to_string())))),
        }
    }
}

/// An open file positioned at `pos`, to read up to `end` (exclusive).
pub(super) struct Cursor {
    pub(super) file: OpenFile,
    pub(super) pos: u64,
    pub(super) end: u64,
}

/// One decrypted piece, as buffers, and the cursor for the rest (`None` when done or failed).
struct Piece {
    buffers: io::Result<VecDeque<Bytes>>,
    rest: Option<Cursor>,
}

impl Cursor {
    /// Reads up to the next piece boundary (so later pieces are whole age chunks), a buffer
    /// per [`OUT_PIECE`].
    fn read_piece(mut self) -> Piece {
        let until = (self.pos - self.pos % READ_PIECE + READ_PIECE).min(self.end);
        let mut buffers = VecDeque::new();
        while self.pos < until {
            let to = (self.pos - self.pos % OUT_PIECE + OUT_PIECE).min(until);
            match self.file.read(self.pos, to) {
                Ok(bytes) => buffers.push_back(bytes),
                Err(e) => return Piece { buffers: Err(e), rest: None },
            }
            self.pos = to;
        }
        let rest = (self.pos < self.end).then_some(self);
        Piece { buffers: Ok(buffers), rest }
    }
}
