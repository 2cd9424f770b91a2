//! Reading back: a file's decrypted bytes as a stream of pieces, each decrypted on the
//! blocking pool while the consumer takes the one before.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::Stream;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::READ_PIECE;
use crate::vault::age_file::OpenFile;

/// Decrypted bytes of one file, produced a piece (up to 1 MiB, whole chunks) at a time on
/// the blocking pool, with one piece decrypted ahead of the consumer.
pub struct MediaStream {
    runtime: Handle,
    next: Option<JoinHandle<Piece>>,
}

impl std::fmt::Debug for MediaStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStream").field("done", &self.next.is_none()).finish()
    }
}

impl MediaStream {
    pub(super) fn start(runtime: Handle, cursor: Cursor) -> MediaStream {
        let next = (cursor.pos < cursor.end).then(|| runtime.spawn_blocking(move || cursor.read_piece()));
        MediaStream { runtime, next }
    }
}

impl Stream for MediaStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(task) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let piece = ready!(Pin::new(task).poll(cx));
        self.next = None;
        match piece {
            Ok(Piece { bytes, rest }) => {
                if let Some(cursor) = rest {
                    self.next = Some(self.runtime.spawn_blocking(move || cursor.read_piece()));
                }
                Poll::Ready(Some(bytes))
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

/// One decrypted piece and the cursor for the rest (`None` when done or failed).
struct Piece {
    bytes: io::Result<Bytes>,
    rest: Option<Cursor>,
}

impl Cursor {
    /// Reads up to the next piece boundary (so later pieces are whole age chunks).
    fn read_piece(mut self) -> Piece {
        let to_boundary = READ_PIECE - self.pos % READ_PIECE;
        let until = self.pos + to_boundary.min(self.end - self.pos);
        match self.file.read(self.pos, until) {
            Ok(bytes) => {
                self.pos = until;
                let rest = (self.pos < self.end).then_some(self);
                Piece { bytes: Ok(bytes), rest }
            }
            Err(e) => Piece { bytes: Err(e), rest: None },
        }
    }
}
