//! Building and running the appliance: `build(config, listener)` is what `main` and the
//! tests call, so both run exactly the same server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::http::{server_limits, slow_heads};
use crate::services::privacy::audit::Context;
use crate::services::state::{AppState, OpenError};
use crate::services::{ServiceError, identity::links, privacy::privacy_notice};
use crate::{admin_socket, http};

mod background;

pub use background::{WATCHDOG_PROBE_TIMEOUT, start_host_workers};

/// Why the appliance could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    #[error("admin socket: {0}")]
    AdminSocket(std::io::Error),
    #[error("first-run setup: {0}")]
    Setup(#[from] ServiceError),
    #[error("recording the privacy settings: {0}")]
    PrivacySettings(ServiceError),
    #[error("the media store (media.endpoint, media.bucket and the key in [media]): {0}")]
    MediaStore(String),
}

/// A running instance.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The one-time setup secret, while no admin exists (printed by `serve`).
    pub setup_secret: Option<String>,
    pub master_key_created: bool,
    handle: ServerHandle,
    server: JoinHandle<std::io::Result<()>>,
}

/// How long in-flight requests get to finish at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Opens the instance and starts serving on `listener`. Must run inside a tokio runtime.
pub async fn build(config: Config, listener: TcpListener) -> Result<Running, StartError> {
    let workers = config.workers;
    let stalled_reader = config.limits.stalled_reader;
    let opened = AppState::open(config)?;
    let addr = listener.local_addr().map_err(StartError::Listen)?;
    let state = opened.state.with_origin(&format!("http://{addr}"));
    // a wrong endpoint, bucket or key is said now, not at the first generation
    state.media.check_reachable().await.map_err(|e| StartError::MediaStore(e.to_string()))?;
    if let Err(e) = crate::services::team::gc::abort_uploads(&state, std::time::SystemTime::now()).await {
        tracing::warn!(error = %e, "cannot abort the media uploads a stop interrupted; the GC will retry");
    }
    let setup_secret = links::issue_setup_secret(&state).await?;
    // a change of retention, providers or contact since the last start dates the privacy notice
    privacy_notice::refresh(&state, &Context::system()).await.map_err(StartError::PrivacySettings)?;
    let admin_socket = admin_socket::bind(&state.config.data_dir).map_err(StartError::AdminSocket)?;
    background::start_admin_socket(&state, admin_socket);
    background::start(&state);
    let for_workers = state.clone();
    let open_files = server_limits::raise_open_file_limit();
    let connections = Arc::new(slow_heads::Connections::default());
    background::start_slow_heads_sweeper(&state, Arc::downgrade(&connections));
    let server = HttpServer::new(move || {
        // called on each worker's thread as it starts: its reads of media from an object store
        // go through connections of its own (see worker_thread)
        crate::worker_thread::mark_http_worker();
        http::application(for_workers.clone())
    })
    .workers(workers)
    .on_connect(move |io, data| {
        drop_stalled_readers(io, stalled_reader);
        connections.on_connect(io, data);
    })
    // slow or idle clients are let go, and connections never exhaust the open-file limit
    .client_request_timeout(server_limits::REQUEST_HEAD_TIMEOUT)
    .keep_alive(server_limits::KEEP_ALIVE)
    .client_disconnect_timeout(server_limits::DISCONNECT_TIMEOUT)
    .max_connections(server_limits::connections_per_worker(open_files, workers))
    // store reads are short: a few blocking threads per worker suffice
    .worker_max_blocking_threads(4)
    // no Nagle: the last small segment of a response must not wait for a delayed ACK
    .tcp_nodelay(true)
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
    .listen(listener)
    .map_err(StartError::Listen)?
    .run();
    let handle = server.handle();
    let server = tokio::spawn(server);
    state.set_ready(true);
    Ok(Running { addr, state, setup_secret, master_key_created: opened.master_key_created, handle, server })
}

/// Makes the kernel end a connection whose client has taken none of the bytes sent to it for
/// `after` (TCP_USER_TIMEOUT, which also covers a receive window left at zero): a client that
/// stops reading a response is dropped with everything the response held.
fn drop_stalled_readers(connection: &dyn std::any::Any, after: Duration) {
    #[cfg(target_os = "linux")]
    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd;
        let millis = libc::c_uint::try_from(after.as_millis()).unwrap_or(libc::c_uint::MAX);
        // SAFETY: a valid open socket, and a c_uint of the size passed
        let set = unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_USER_TIMEOUT,
                (&millis as *const libc::c_uint).cast(),
                std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
            )
        };
        if set != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "cannot set TCP_USER_TIMEOUT");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (connection, after);
}

impl Running {
    /// The base URL of the running server ("http://127.0.0.1:PORT").
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops gracefully: refuses new connections, lets in-flight requests finish, stops the
    /// scheduler and the engine, then every other worker in order (the search indexer, among the last, commits its
    /// pending work), then closes the store.
    pub async fn stop(self) {
        self.state.set_ready(false);
        background::stop_admin_socket(&self.state).await;
        self.handle.stop(true).await;
        let _ = self.server.await;
        background::stop_scheduler(&self.state).await;
        background::stop_engine(&self.state).await;
        background::stop(&self.state).await;
        let _ = std::fs::remove_file(admin_socket::path(&self.state.config.data_dir));
        let store = self.state.store.clone();
        drop(self.state);
        store.close().await;
    }
}
