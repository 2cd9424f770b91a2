//! How the object store's HTTP calls are made, with clients the application builds (bound by
//! its outbound policy):
//! - On an HTTP worker (see [`crate::worker_thread`]), with a client of that worker's own:
//!   its connections live on the worker, so a GET's body goes from the store's socket to the
//!   reader's with no other thread involved, read only as fast as the worker sends it on.
//! - Anywhere else, on the runtime the backend was opened on (the main, multi-threaded one). A
//!   response's body comes back through a bounded queue, so a call stops reading when its
//!   reader does, in pieces copied out of the connection's read buffer, so the connection
//!   reuses that buffer for its next read (a piece still held elsewhere would make it take a
//!   fresh one, with pages of its own, for every read).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use object_store::ClientOptions;
use object_store::client::{HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpResponseBody, HttpService};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The most bytes of one piece of a body (under the allocator's threshold for pages of their
/// own, see `main.rs`, so freed pieces are reused).
const PIECE: usize = 64 * 1024;
/// Pieces of one body received ahead of its reader, at most.
const QUEUE: usize = 16;

/// Builds another client of the store, with connections of its own (`None` if it cannot).
pub type MakeClient = Arc<dyn Fn() -> Option<reqwest::Client> + Send + Sync>;

/// Hands object_store the application's clients, its calls made on the worker that asks or on
/// `runtime`.
pub(super) struct OwnClient {
    /// The client of the calls made on `runtime` (and of a worker whose own cannot be built).
    pub(super) client: reqwest::Client,
    pub(super) make_client: MakeClient,
    pub(super) runtime: Handle,
}

impl std::fmt::Debug for OwnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnClient").finish_non_exhaustive()
    }
}

impl HttpConnector for OwnClient {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(OnRuntime {
            store: crate::worker_thread::client_number(),
            client: self.client.clone(),
            make_client: self.make_client.clone(),
            runtime: self.runtime.clone(),
        }))
    }
}

struct OnRuntime {
    store: usize,
    client: reqwest::Client,
    make_client: MakeClient,
    runtime: Handle,
}

impl std::fmt::Debug for OnRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnRuntime").field("store", &self.store).finish_non_exhaustive()
    }
}

impl OnRuntime {
    /// This HTTP worker's client of the store; `None` on any other thread.
    fn worker_client(&self) -> Option<reqwest::Client> {
        crate::worker_thread::client_here(self.store, || (self.make_client)())
    }
}

type Piece = Result<Frame<Bytes>, HttpError>;

#[async_trait::async_trait]
impl HttpService for OnRuntime {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        if let Some(client) = self.worker_client() {
            return HttpService::call(&client, req).await;
        }
        let client = self.client.clone();
        let (head_sender, head) = oneshot::channel();
        let (sender, queue) = mpsc::channel::<Piece>(QUEUE);
        let call = self.runtime.spawn(async move {
            let (parts, mut body) = match HttpService::call(&client, req).await {
                Ok(response) => response.into_parts(),
                Err(e) => {
                    let _ = head_sender.send(Err(e));
                    return;
                }
            };
            if head_sender.send(Ok(parts)).is_err() {
                return;
            }
            while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                let data = match frame.map(Frame::into_data) {
                    Ok(Ok(data)) => data,
                    Ok(Err(other)) => {
                        if sender.send(Ok(other)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Err(e) => {
                        let _ = sender.send(Err(e)).await;
                        return;
                    }
                };
                for piece in data.chunks(PIECE) {
                    if sender.send(Ok(Frame::data(Bytes::copy_from_slice(piece)))).await.is_err() {
                        return;
                    }
                }
            }
        });
        let call = AbortOnDrop(call);
        let parts =
            head.await.map_err(|_| HttpError::new(HttpErrorKind::Interrupted, std::io::Error::other("the call's task ended")))??;
        Ok(HttpResponse::from_parts(parts, HttpResponseBody::new(Received { queue, _call: call })))
    }
}

/// Stops a call when its response is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A body as its call hands it back.
struct Received {
    queue: mpsc::Receiver<Piece>,
    _call: AbortOnDrop,
}

impl Body for Received {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Piece>> {
        self.queue.poll_recv(cx)
    }
}
