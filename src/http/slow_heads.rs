//! Slow request heads on kept-alive connections: actix times out only a connection's first
//! request head, so every connection is watched here, and one that has had no request in
//! progress for longer than an idle keep-alive plus a request head may take is shut down.

use std::any::Any;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use super::server_limits::{KEEP_ALIVE, REQUEST_HEAD_TIMEOUT};

/// How long a connection may go without a request in progress: past this it can only be
/// sending its next request head too slowly (an idle one was closed at [`KEEP_ALIVE`]).
pub const IDLE_LIMIT: Duration = Duration::from_secs(KEEP_ALIVE.as_secs() + REQUEST_HEAD_TIMEOUT.as_secs());

/// One connection: a duplicate of its socket (so a shutdown can never reach a reused file
/// descriptor), its requests in progress and when the last one ended.
struct Watched {
    socket: OwnedFd,
    in_progress: AtomicU32,
    /// Milliseconds since [`Connections::epoch`] when the connection last had no request.
    idle_since_ms: AtomicU64,
    epoch: Instant,
}

impl Watched {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Every open connection of the server.
#[derive(Default)]
pub struct Connections {
    open: Mutex<Vec<Weak<Watched>>>,
}

/// Kept in each connection's data; the connection's end drops it (and the duplicate socket).
#[derive(Clone)]
struct WatchHandle(Arc<Watched>);

impl Connections {
    /// For `HttpServer::on_connect`: starts watching a new plain TCP connection.
    pub fn on_connect(&self, io: &dyn Any, data: &mut Extensions) {
        let Some(stream) = io.downcast_ref::<actix_web::rt::net::TcpStream>() else { return };
        // SAFETY: dup(2) of a descriptor the stream owns; the result is owned by us alone.
        let copy = unsafe { libc::dup(stream.as_raw_fd()) };
        if copy < 0 {
            return;
        }
        // SAFETY: `copy` is a fresh descriptor nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(copy) };
        let epoch = Instant::now();
        let watched = Arc::new(Watched { socket, in_progress: AtomicU32::new(0), idle_since_ms: AtomicU64::new(0), epoch });
        self.open.lock().unwrap_or_else(|p| p.into_inner()).push(Arc::downgrade(&watched));
        data.insert(WatchHandle(watched));
    }

    /// Shuts down the connections idle for longer than [`IDLE_LIMIT`] and forgets ended
    /// ones; returns how many were shut down.
    pub fn sweep(&self) -> usize {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let mut stuck = 0;
        open.retain(|weak| {
            let Some(watched) = weak.upgrade() else { return false };
            let idle_ms = watched.now_ms().saturating_sub(watched.idle_since_ms.load(Ordering::Acquire));
            if watched.in_progress.load(Ordering::Acquire) == 0 && idle_ms > IDLE_LIMIT.as_millis() as u64 {
                // SAFETY: shutdown(2) on our own duplicate of the connection's socket.
                unsafe { libc::shutdown(watched.socket.as_raw_fd(), libc::SHUT_RDWR) };
                stuck += 1;
                return false;
            }
            true
        });
        stuck
    }
}

/// Marks the connection busy from a request's start until its response body has been sent.
pub async fn track(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let guard = req.conn_data::<WatchHandle>().map(|h| Busy::start(h.0.clone()));
    let res = next.call(req).await?;
    Ok(res.map_body(move |_, body| Tracked { body: Box::pin(body), _busy: guard }))
}

/// A request in progress on a watched connection.
struct Busy(Arc<Watched>);

impl Busy {
    fn start(watched: Arc<Watched>) -> Busy {
        watched.in_progress.fetch_add(1, Ordering::AcqRel);
        Busy(watched)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since_ms.store(self.0.now_ms(), Ordering::Release);
        self.0.in_progress.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection marked busy until it is done or dropped.
struct Tracked<B> {
    body: Pin<Box<B>>,
    _busy: Option<Busy>,
}

impl<B: MessageBody> MessageBody for Tracked<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.get_mut().body.as_mut().poll_next(cx)
    }
}
