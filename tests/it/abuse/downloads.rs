//! Archive downloads (library ZIPs): a dozen slow and abandoned downloads by one member at
//! once leave everyone else served; beyond the per-person limit a download is refused with a
//! clear 429; a reader that takes nothing is dropped after `limits.stalled_reader` and frees
//! its place, and one that goes away frees it at once.

use std::time::Duration;

use crate::abuse::bystander::{Bystander, within};
use crate::support::generate;
use crate::support::wait_terminal;
use crate::support::{Browser, TestApp, api_get};

const ABUSER_EMAIL: &str = "abuser@example.com";

/// The abuser: a member with credits and an API token.
async fn abuser(app: &TestApp, admin: &Browser) -> (Browser, String) {
    let browser = app.invite_member(admin, ABUSER_EMAIL, "abuser password 1").await;
    let users = admin.get("/admin/users").await;
    let grant = users.row_action(ABUSER_EMAIL, "form[action$='/credits']");
    assert_eq!(admin.post_form(&grant, &[("amount", "1000")]).await.status, 303);
    let token = browser.post_form("/account/tokens", &[("name", "abuse"), ("expires", "30")]).await.text_of("#new-token");
    (browser, token)
}

/// A demo video of `seconds`, finished; returns its id.
async fn video(app: &TestApp, token: &str, seconds: u32) -> String {
    let body = serde_json::json!({"model": "demo-video", "prompt": "a long pier", "params": {"duration": seconds, "seed": 3}});
    let created = generate(&app.url, token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, token, &id).await["state"], "succeeded");
    id
}

/// Starts a ZIP download of `ids` and returns the response once its head has arrived; the
/// body is left unread (the caller reads it slowly, or drops it).
pub async fn start_zip(browser: &Browser, ids: &[String]) -> reqwest::Response {
    let token = browser.csrf_token().await;
    let mut fields = vec![("csrf_token", token.as_str()), ("action", "zip")];
    fields.extend(ids.iter().map(|id| ("id", id.as_str())));
    browser
        .client
        .post(format!("{}/library/bulk", browser.base))
        .form(&fields)
        .header("origin", browser.base.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("the download's head")
}

#[tokio::test]
async fn slow_and_abandoned_zip_downloads_leave_everyone_served_and_free_their_places() {
    let app = TestApp::start_with(|c| {
        c.connection[0].delay = Duration::ZERO;
        c.limits.stalled_reader = Duration::from_secs(2);
    })
    .await;
    let admin = app.setup_admin().await;
    let bystander = Bystander::join(&app, &admin).await;
    let (abuser, token) = abuser(&app, &admin).await;
    let clip = video(&app, &token, 5).await;
    // the same clip chosen 500 times: an archive far larger than every buffer on the way
    let chosen = vec![clip.clone(); 500];

    // a dozen at once: the per-person limit admits two at a time and refuses the rest clearly
    // (on a loaded machine a stalled one may already have given its place to a later one)
    let started = futures_util::future::join_all((0..12).map(|_| start_zip(&abuser, &chosen))).await;
    let statuses: Vec<u16> = started.iter().map(|r| r.status().as_u16()).collect();
    let (admitted, refused): (Vec<_>, Vec<_>) = started.into_iter().partition(|r| r.status() == 200);
    assert!(admitted.len() >= 2 && refused.len() >= 6, "two downloads per person at once: {statuses:?}");
    let abuser_id = api_get(&app.url, "/api/v1/me", Some(&token)).await.json()["id"].as_str().unwrap().parse().unwrap();
    assert!(app.running.state.archives.held_by(abuser_id) <= 2, "never more than two being written");
    for answer in refused {
        assert_eq!(answer.status(), 429);
        assert!(answer.headers().get("retry-after").is_some(), "says when to try again");
        let page = Browser::read(answer).await;
        assert!(page.body.contains("archive(s) being written"), "says why: {}", page.body);
    }
    // one reader stops reading, the other goes away
    let mut admitted = admitted.into_iter();
    let stalled = admitted.next().unwrap();
    drop(admitted);
    bystander.still_served(&app, "a dozen slow and abandoned ZIP downloads").await;

    // both places come back: the gone reader's at once, the stalled one's after 2 s
    let mut freed = false;
    for _ in 0..60 {
        let both = futures_util::future::join_all((0..2).map(|_| start_zip(&abuser, std::slice::from_ref(&clip)))).await;
        if both.iter().all(|r| r.status() == 200) {
            for answer in both {
                let bytes = within("downloads after the stalls", "small ZIP", answer.bytes()).await.unwrap();
                let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a whole ZIP");
                assert_eq!(archive.len(), 2, "the clip and its record");
            }
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(freed, "a stalled reader's place is freed after limits.stalled_reader");
    // the stalled download was ended, not completed: its body stops short of a whole archive
    let rest = tokio::time::timeout(Duration::from_secs(30), stalled.bytes()).await.expect("the stalled download ends");
    match rest {
        Err(_) => {}
        Ok(bytes) => assert!(zip::ZipArchive::new(std::io::Cursor::new(bytes)).is_err(), "never a ZIP that looks complete"),
    }
    assert_eq!(app.running.state.archives.in_use(), 0, "no writer left behind");
    bystander.still_served(&app, "after the downloads").await;
    app.stop().await;
}
