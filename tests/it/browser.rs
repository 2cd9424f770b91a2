//! The UI in a real browser (Debian's chromium): sign in, a new demo generation, the live
//! status, the video really playing and seeking, finding it by searching its prompt in the
//! library, and deleting it. A failing step saves a screenshot under
//! `target/browser-screenshots/`.

use crate::check;
use std::time::Duration;

use crate::support::app_with_credits;
use crate::support::webdriver::{self, Browser};

#[tokio::test]
async fn sign_in_generate_watch_it_play_find_it_in_the_library_and_delete_it() {
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the browser test: chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)");
        return;
    }
    let (app, _admin, _token) = app_with_credits(Duration::from_secs(2), 50).await;
    let b = Browser::start().await;
    check!(b, "signed-in", b.sign_in_as_admin(&app.url).await);

    b.go(&format!("{}/generate?model=demo-video", app.url)).await;
    check!(b, "form", b.wait_for("return !!document.getElementById('prompt')", 10).await);
    b.js("document.getElementById('prompt').value='a red kite over green hills';document.getElementById('param-duration').value='2';document.querySelector('form.generate button[type=submit]').click();").await;
    // the result appears on the form's page; its card opens the generation's own page
    check!(b, "result-card", b.wait_for("return !!document.querySelector('#result-grid .result-open')", 10).await);
    b.js("document.querySelector('#result-grid .result-open').click();").await;
    check!(
        b,
        "live-status",
        b.wait_for("return location.pathname.startsWith('/generations/') && !!document.querySelector('.status .state')", 10).await
    );
    let seen_running = b.wait_for("var s=document.querySelector('.status .state'); return !!s && ['queued','submitting','running','fetching'].includes(s.textContent.trim())", 5).await;
    check!(b, "live-status-running", seen_running);
    // the page updates itself (server-sent events), without a reload
    b.js("window.__noReload = true;").await;
    check!(
        b,
        "succeeded",
        b.wait_for(
            "var s=document.querySelector('.status .state'); return !!s && s.textContent.trim()=='succeeded' && !!document.querySelector('video')",
            60
        )
        .await
    );
    check!(b, "no-reload", b.js("return window.__noReload === true").await == serde_json::Value::Bool(true));

    b.js("var v=document.querySelector('video'); v.muted=true; v.play();").await;
    check!(
        b,
        "plays",
        b.wait_for("var v=document.querySelector('video'); return v.readyState>=4 && v.currentTime>0.3 && !v.paused", 20).await
    );
    b.js("var v=document.querySelector('video'); v.pause(); v.currentTime=1.5;").await;
    check!(
        b,
        "seeks",
        b.wait_for("var v=document.querySelector('video'); return !v.seeking && Math.abs(v.currentTime-1.5)<0.05 && v.readyState>=2", 20)
            .await
    );
    check!(b, "no-media-error", b.js("return document.querySelector('video').error === null").await == serde_json::Value::Bool(true));
    b.screenshot("played").await;
    let id = b.js("return location.pathname.split('/')[2]").await.as_str().unwrap_or_default().to_string();

    // the library finds it by its prompt (the index commits within about a second)
    let card = format!("return !!document.querySelector('#card-{id} mark')");
    let mut found = false;
    for _ in 0..20 {
        b.go(&format!("{}/library?q=kites", app.url)).await;
        if b.wait_for(&card, 1).await {
            found = true;
            break;
        }
    }
    check!(b, "library-search", found);
    b.js(&format!("document.querySelector('#card-{id} .snippet a').click();")).await;
    check!(b, "opened-from-library", b.wait_for("return !!document.getElementById('delete')", 10).await);
    b.js("document.getElementById('delete').click();").await;
    check!(b, "confirm-delete", b.wait_for("return !!document.getElementById('confirm-delete')", 10).await);
    b.js("document.getElementById('confirm-delete').click();").await;
    check!(b, "deleted", b.wait_for("return location.pathname=='/library' && document.body.innerText.includes('Deleted')", 10).await);
    check!(b, "gone-from-library", b.wait_for(&format!("return !document.getElementById('card-{id}')"), 5).await);
    b.go(&format!("{}/generations/{id}", app.url)).await;
    check!(b, "gone", b.wait_for("return document.title.startsWith('404')", 5).await);
    b.quit().await;
    app.stop().await;
}
