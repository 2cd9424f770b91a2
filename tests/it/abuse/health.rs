//! Health that tells the truth: with the store path wedged (a writer that never finishes, and
//! requests queued behind it on the worker's blocking threads), `/readyz` answers 503 within
//! its deadline and the systemd watchdog is not pinged; both recover when the wedge ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reelvault::store::{Commit, StoreError};

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, api_get, eventually};

#[tokio::test]
async fn readyz_and_the_watchdog_tell_a_wedged_store_path_and_its_recovery() {
    // sign-ins come from addresses of their own (through a trusted proxy), as many people's would
    let app = TestApp::start_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    app.setup_admin().await;
    let ready = api_get(&app.url, "/readyz", None).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["status"], "ready");

    let pings = Arc::new(AtomicUsize::new(0));
    let watchdog = tokio::spawn(reelvault::systemd::watch(
        reelvault::systemd::ready_url(app.running.addr),
        Duration::from_millis(200),
        reelvault::app::WATCHDOG_PROBE_TIMEOUT,
        {
            let pings = pings.clone();
            move || {
                pings.fetch_add(1, Ordering::SeqCst);
            }
        },
    ));
    eventually("a first watchdog ping", async || pings.load(Ordering::SeqCst) > 0).await;

    // browsers ready to sign in, before the wedge
    let mut waiting = Vec::new();
    for _ in 0..8 {
        let b = app.browser();
        b.csrf_token().await;
        waiting.push(b);
    }
    // a writer that never finishes: every write waits for it
    let (locked, is_locked) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let store = app.running.state.store.clone();
    let writer = std::thread::spawn(move || {
        store.write_now(Commit::Durable, |_| {
            let _ = locked.send(());
            let _ = released.recv_timeout(Duration::from_secs(120));
            Ok::<_, StoreError>(())
        })
    });
    is_locked.recv_timeout(Duration::from_secs(10)).expect("the writer holds the store");
    // sign-ins write a session: they take the worker's blocking threads and wait there
    let sign_ins: Vec<_> = waiting
        .into_iter()
        .enumerate()
        .map(|(n, b)| {
            tokio::spawn(async move {
                let token = b.csrf_token().await;
                let from = format!("198.51.100.{}", n + 1);
                let fields = [("csrf_token", token.as_str()), ("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)];
                let headers = [("origin", b.base.as_str()), ("sec-fetch-site", "same-origin"), ("x-forwarded-for", from.as_str())];
                b.post_raw("/login", &fields, &headers).await.status
            })
        })
        .collect();

    eventually("/readyz answering 503", async || api_get(&app.url, "/readyz", None).await.status == 503).await;
    let wedged = api_get(&app.url, "/readyz", None).await;
    assert_eq!(wedged.status, 503);
    assert_eq!(wedged.json()["status"], "store_unresponsive");
    let before = pings.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(pings.load(Ordering::SeqCst), before, "no watchdog ping while requests cannot be served");

    release.send(()).unwrap();
    writer.join().unwrap().unwrap();
    for signed_in in sign_ins {
        assert_eq!(signed_in.await.unwrap(), 303, "the queued sign-ins complete once the store moves again");
    }
    eventually("/readyz answering 200 again", async || api_get(&app.url, "/readyz", None).await.status == 200).await;
    let after = pings.load(Ordering::SeqCst);
    eventually("watchdog pings again", async || pings.load(Ordering::SeqCst) > after).await;
    watchdog.abort();
    app.stop().await;
}
