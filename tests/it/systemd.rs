//! The service manager's protocol, as systemd would see it: READY=1 only once the instance
//! answers, WATCHDOG=1 pings while it runs, STOPPING=1 at SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::support::api_get;
use crate::support::process::Served;

/// Reads datagrams until one contains `line`; returns everything read meanwhile.
fn read_until(socket: &UnixDatagram, line: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let Ok(n) = socket.recv(&mut buf) else { continue };
        let message = String::from_utf8_lossy(&buf[..n]).to_string();
        let done = message.lines().any(|l| l == line);
        seen.push(message);
        if done {
            return seen;
        }
    }
    panic!("no {line} from reelvault; got {seen:?}");
}

#[tokio::test]
async fn systemd_hears_ready_after_start_watchdog_pings_and_stopping_at_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let data = dir.path().join("data");
    let mut served = Served::start_with_env(
        &data,
        &[],
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap()), ("WATCHDOG_USEC", "300000"), ("WATCHDOG_PID", "")],
    );
    let first = read_until(&socket, "READY=1");
    assert_eq!(first.len(), 1, "READY is the first message: {first:?}");
    assert!(first[0].contains("STATUS=serving"), "{first:?}");
    let url = served.url();
    assert_eq!(api_get(&url, "/readyz", None).await.status, 200, "ready means ready");

    let mut pings = 0;
    while pings < 3 {
        read_until(&socket, "WATCHDOG=1");
        pings += 1;
    }
    served.wait_for_line("systemd watchdog enabled");

    served.signal("TERM");
    read_until(&socket, "STOPPING=1");
    assert_eq!(served.wait_exit(), Some(0));
}

#[tokio::test]
async fn without_systemd_nothing_is_sent_and_nothing_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start_with_env(&dir.path().join("data"), &[], &[("NOTIFY_SOCKET", "/nonexistent/notify.sock")]);
    let url = served.url();
    assert_eq!(api_get(&url, "/readyz", None).await.status, 200);
    assert!(served.all_output().contains("cannot notify systemd"), "a broken socket is reported, not fatal");
    served.signal("TERM");
    assert_eq!(served.wait_exit(), Some(0));
}
