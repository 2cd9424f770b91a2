//! The local admin socket: how management commands reach a running instance, whose store
//! file is locked. A Unix socket in the data directory (itself 0700), mode 0600, accepting
//! only peers with this process's uid, or root. One JSON command per line, one JSON reply per line.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};

use crate::services::state::AppState;
use crate::services::team::admin::{self, AdminCommand, AdminReply};

/// The socket's file name inside the data directory.
pub const SOCKET_FILE: &str = "admin.sock";
/// The largest command accepted (a catalog file travels in one).
const MAX_REQUEST: u64 = 4 * 1024 * 1024;

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}

/// Binds the socket (replacing a stale file from an earlier run: the store lock proves no
/// other instance owns it); the "admin-socket" worker accepts on it and [`answer`]s each
/// connection.
pub fn bind(data_dir: &Path) -> std::io::Result<UnixListener> {
    let path = path(data_dir);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(listener)
}

/// Answers one connection: one command, its progress lines and its reply.
pub async fn answer(state: AppState, stream: UnixStream) {
    if let Err(e) = handle(state, stream).await {
        tracing::warn!(error = %e, "admin socket connection failed");
    }
}

async fn handle(state: AppState, stream: UnixStream) -> std::io::Result<()> {
    let own_uid = own_uid();
    let peer_uid = stream.peer_cred()?.uid();
    let (read, mut write) = stream.into_split();
    // root may read the store and the master key anyway; nobody else but the service's user
    let reply = if Some(peer_uid) != own_uid && peer_uid != 0 {
        AdminReply::Err("only root and the account that runs reelvault may use its admin socket".into())
    } else {
        let mut line = String::new();
        BufReader::new(read.take(MAX_REQUEST)).read_line(&mut line).await?;
        match serde_json::from_str::<AdminCommand>(&line) {
            Ok(command) => run_reporting(&state, command, &mut write).await?,
            Err(e) => AdminReply::Err(format!("malformed command: {e}")),
        }
    };
    write_reply(&mut write, &reply).await?;
    write.shutdown().await
}

/// Runs `command`, sending its progress lines to the client as they come.
async fn run_reporting(state: &AppState, command: AdminCommand, write: &mut OwnedWriteHalf) -> std::io::Result<AdminReply> {
    let (sink, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let progress = move |line: String| {
        let _ = sink.send(line);
    };
    let run = admin::execute(state, command, &progress);
    tokio::pin!(run);
    loop {
        tokio::select! {
            result = &mut run => {
                while let Ok(line) = lines.try_recv() {
                    write_reply(write, &AdminReply::Progress(line)).await?;
                }
                return Ok(match result {
                    Ok(text) => AdminReply::Ok(text),
                    Err(e) => AdminReply::Err(e.to_string()),
                });
            }
            Some(line) = lines.recv() => write_reply(write, &AdminReply::Progress(line)).await?,
        }
    }
}

async fn write_reply(write: &mut OwnedWriteHalf, reply: &AdminReply) -> std::io::Result<()> {
    let mut out = serde_json::to_vec(reply).unwrap_or_default();
    out.push(b'\n');
    write.write_all(&out).await
}

/// This process's uid: the owner of its /proc entry (no libc needed).
fn own_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Sends one command to a running instance, handing progress lines to `progress`; returns
/// the final reply. `Ok(None)` when nothing listens there.
pub async fn send(data_dir: &Path, command: &AdminCommand, progress: &mut dyn FnMut(&str)) -> std::io::Result<Option<AdminReply>> {
    let stream = match UnixStream::connect(path(data_dir)).await {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(command).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the service closed the admin socket without a reply"));
        }
        match serde_json::from_str(&line).map_err(std::io::Error::other)? {
            AdminReply::Progress(text) => progress(&text),
            reply => return Ok(Some(reply)),
        }
    }
}
