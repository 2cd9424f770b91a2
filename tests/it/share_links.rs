//! Share links as a visitor without an account meets them: only the outputs (and the prompt
//! if the sharer chose), media through signed links that stop with the link, a password,
//! downloads only when allowed, expiry, revocation by the maker or an admin, the admin's
//! switch, every view audited with the network only, and the links in the maker's export.

use std::time::Duration;

use reelvault::domain::share::ShareLink;
use reelvault::domain::time::Timestamp;
use serde_json::{Value, json};

use crate::allowances::{member_with_credits, put_spending, spending_with};
use crate::support::{Browser, TestApp, api_get, api_post, app_with_credits, client, generate, wait_terminal};

/// A succeeded demo image of the token's owner: its id.
async fn succeeded_image(app: &TestApp, token: &str, prompt: &str) -> String {
    let made = generate(&app.url, token, json!({"model": "demo-image", "prompt": prompt})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, token, &id).await["state"], "succeeded");
    id
}

async fn share(app: &TestApp, token: &str, body: Value) -> crate::support::Page {
    api_post(&app.url, "/api/v1/share-links", token, body).await
}

/// The path of a link's page from the URL the API gave once.
fn path_of(app: &TestApp, link: &Value) -> String {
    let url = link["url"].as_str().expect("the URL is in the answer to the POST");
    url.strip_prefix(&app.url).unwrap_or_else(|| panic!("{url} is on this server")).to_string()
}

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", app.url)).send().await.unwrap()
}

async fn revoke(app: &TestApp, token: &str, id: &str) -> crate::support::Page {
    let request = client().delete(format!("{}/api/v1/share-links/{id}", app.url)).bearer_auth(token);
    Browser::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_visitor_sees_only_the_outputs_until_the_link_is_revoked() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "a secret product launch").await;
    let made = share(&app, &token, json!({"generation_id": id})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let link = made.json();
    assert_eq!(
        (link["state"].as_str(), link["allow_download"].as_bool(), link["show_prompt"].as_bool()),
        (Some("live"), Some(false), Some(false))
    );
    let expires = Timestamp::parse_rfc3339(link["expires_at"].as_str().unwrap()).unwrap();
    let week = Timestamp::now().plus(Duration::from_secs(7 * 86_400));
    assert!((expires.millis() - week.millis()).abs() < 60_000, "seven days by default: {link}");
    let path = path_of(&app, &link);

    let visitor = Browser::new(&app.url);
    let page = visitor.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-robots-tag"), Some("noindex, nofollow"));
    assert!(!page.body.contains("a secret product launch"), "the prompt is not shown unless chosen");
    assert!(!page.body.contains("admin@"), "nothing about the sharer");
    assert_eq!(page.count(".share-download"), 0, "no download without permission");
    let media = page.attr_of(".shared-item img", "src").expect("the image is shown");
    assert!(media.starts_with("/media/") && media.contains("share="), "{media}");
    let image = fetch(&app, &media).await;
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(fetch(&app, &format!("{media}&download=1")).await.status(), 403, "saving is not allowed");
    let forged = media.replace("share=", "share=01ARZ3NDEKTSV4RRFFQ69G5FAV&x=");
    assert_eq!(fetch(&app, &forged).await.status(), 403, "the signature names the link");

    // the maker sees the view; the audit log has it with the network only
    let listed = api_get(&app.url, "/api/v1/share-links", Some(&token)).await.json();
    assert_eq!(listed["links"][0]["views"], 1, "{listed}");
    assert!(listed["links"][0].get("url").is_none(), "the secret is shown once only");
    let audit = api_get(&app.url, "/api/v1/admin/audit?action=share.viewed", Some(&token)).await.json();
    let viewed = &audit["events"][0];
    assert_eq!(viewed["action"], "share.viewed", "{audit}");
    assert_eq!(viewed["client_address"], "127.0.0.0/24", "{viewed}");
    assert_eq!(viewed["actor"], "anonymous");

    let revoked = revoke(&app, &token, link["id"].as_str().unwrap()).await;
    assert_eq!((revoked.status, revoked.json()["state"].as_str()), (200, Some("revoked")), "{}", revoked.body);
    let gone = visitor.get(&path).await;
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert!(gone.body.contains("revoked"));
    assert_eq!(fetch(&app, &media).await.status(), 403, "the media it handed out stop at once");
    assert_eq!(visitor.get("/s/not-a-secret").await.status, 404);
}

#[tokio::test]
async fn a_link_can_show_the_prompt_and_allow_downloads() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "a lighthouse in fog").await;
    let link = share(&app, &token, json!({"generation_id": id, "show_prompt": true, "allow_download": true, "days": 90})).await.json();
    let page = Browser::new(&app.url).get(&path_of(&app, &link)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text_of(".shared-prompt"), "a lighthouse in fog");
    let download = page.attr_of(".share-download", "href").expect("a download link");
    let saved = fetch(&app, &download).await;
    assert_eq!(saved.status(), 200);
    assert!(saved.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
}

#[tokio::test]
async fn a_password_opens_the_link_in_one_browser_only() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "a red kite").await;
    let link = share(&app, &token, json!({"generation_id": id, "password": "open sesame 1"})).await.json();
    assert_eq!(link["has_password"], true);
    let path = path_of(&app, &link);
    let visitor = Browser::new(&app.url);
    let locked = visitor.get(&path).await;
    assert_eq!(locked.status, 401);
    assert_eq!(locked.count("#share-unlock input[type=password]"), 1);
    assert_eq!(locked.count(".shared-item"), 0, "nothing shown before the password");
    let wrong = visitor.post_form(&path, &[("password", "guess guess")]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("not correct"));
    let right = visitor.post_form(&path, &[("password", "open sesame 1")]).await;
    assert_eq!(right.status, 303, "{}", right.body);
    let open = visitor.get(&path).await;
    assert_eq!(open.status, 200);
    assert_eq!(open.count(".shared-item img"), 1);
    assert_eq!(Browser::new(&app.url).get(&path).await.status, 401, "another browser must type it too");
}

#[tokio::test]
async fn wrong_passwords_are_throttled() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "a locked door").await;
    let path = path_of(&app, &share(&app, &token, json!({"generation_id": id, "password": "the real one"})).await.json());
    let visitor = Browser::new(&app.url);
    let mut last = 0;
    for _ in 0..12 {
        last = visitor.post_form(&path, &[("password", "not the one")]).await.status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "guessing is limited");
    let right = visitor.post_form(&path, &[("password", "the real one")]).await;
    assert_eq!(right.status, 429, "even the right password waits out the limit");
}

#[tokio::test]
async fn the_rules_of_making_and_revoking_links() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "a glass whale").await;
    for (body, status) in [
        (json!({"generation_id": id, "days": 0}), 422),
        (json!({"generation_id": id, "days": 91}), 422),
        (json!({"generation_id": id, "password": "short"}), 422),
        (json!({}), 422),
        (json!({"generation_id": id, "board_id": id}), 422),
        (json!({"generation_id": "not-an-id"}), 422),
        (json!({"generation_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}), 404),
    ] {
        let answer = share(&app, &token, body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
    }
    let (_member, member_token, _) = member_with_credits(&app, &admin, &token, "mo@example.com", 5).await;
    let theirs = share(&app, &member_token, json!({"generation_id": id})).await;
    assert_eq!(theirs.status, 404, "only the owner shares a generation: {}", theirs.body);
    // a job waiting for an approver has nothing to show yet
    let approvals = spending_with(|s| s["approval_above"]["member"] = json!(0));
    assert_eq!(put_spending(&app, &token, approvals).await.status, 200);
    let waiting = generate(&app.url, &member_token, json!({"model": "demo-image", "prompt": "not yet"})).await.json();
    assert_eq!(waiting["state"], "awaiting_approval", "{waiting}");
    let nothing = share(&app, &member_token, json!({"generation_id": waiting["id"]})).await;
    assert_eq!(nothing.status, 422, "a generation without outputs: {}", nothing.body);
    assert_eq!(put_spending(&app, &token, spending_with(|_| {})).await.status, 200);

    let mine = succeeded_image(&app, &member_token, "a member's image").await;
    let member_link = share(&app, &member_token, json!({"generation_id": mine})).await.json();
    let admin_link = share(&app, &token, json!({"generation_id": id})).await.json();
    assert_eq!(revoke(&app, &member_token, admin_link["id"].as_str().unwrap()).await.status, 404, "not theirs");
    let all = api_get(&app.url, "/api/v1/admin/sharing", Some(&token)).await.json();
    assert_eq!(all["links"].as_array().unwrap().len(), 2, "admins see every link: {all}");
    assert_eq!(api_get(&app.url, "/api/v1/admin/sharing", Some(&member_token)).await.status, 403);
    assert_eq!(revoke(&app, &token, member_link["id"].as_str().unwrap()).await.status, 200, "admins revoke any link");
    let audit = api_get(&app.url, "/api/v1/admin/audit?action=share.revoked", Some(&token)).await.json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1, "{audit}");
}

#[tokio::test]
async fn the_admin_switch_stops_every_link_until_turned_back_on() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "a paper lantern").await;
    let link = share(&app, &token, json!({"generation_id": id})).await.json();
    let path = path_of(&app, &link);
    let visitor = Browser::new(&app.url);
    let media = visitor.get(&path).await.attr_of(".shared-item img", "src").unwrap();

    let put = |enabled: bool| {
        let request = client().put(format!("{}/api/v1/admin/sharing", app.url)).bearer_auth(&token).json(&json!({"enabled": enabled}));
        async move { Browser::read(request.send().await.unwrap()).await }
    };
    let off = put(false).await;
    assert_eq!((off.status, off.json()["enabled"].as_bool()), (200, Some(false)), "{}", off.body);
    assert_eq!(visitor.get(&path).await.status, 403);
    assert_eq!(fetch(&app, &media).await.status(), 403);
    let refused = share(&app, &token, json!({"generation_id": id})).await;
    assert_eq!((refused.status, refused.json()["code"].as_str()), (403, Some("share.disabled")), "{}", refused.body);
    assert_eq!(put(true).await.status, 200);
    assert_eq!(visitor.get(&path).await.status, 200, "the link works again");
    let audit = api_get(&app.url, "/api/v1/admin/audit?action=share.switched", Some(&token)).await.json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 2, "{audit}");
}

#[tokio::test]
async fn an_expired_link_says_so() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "an hourglass").await;
    let link = share(&app, &token, json!({"generation_id": id, "days": 1})).await.json();
    let path = path_of(&app, &link);
    let link_id: reelvault::domain::ids::ShareId = link["id"].as_str().unwrap().parse().unwrap();
    // a day passes while the server is off: the link's expiry is moved into the past
    let app = app
        .restart_after(|dir| {
            let store = reelvault::store::Store::open(dir).unwrap();
            store
                .write_now(reelvault::store::Commit::Durable, |tx| {
                    let mut l: ShareLink = reelvault::store::shares::get(tx, link_id)?.unwrap();
                    l.expires_at = Timestamp::now().minus(Duration::from_secs(60));
                    reelvault::store::shares::put(tx, &l)
                })
                .unwrap();
        })
        .await;
    let page = Browser::new(&app.url).get(&path).await;
    assert_eq!(page.status, 410, "{}", page.body);
    assert!(page.body.contains("expired"));
    let listed = api_get(&app.url, "/api/v1/share-links", Some(&token)).await.json();
    assert_eq!(listed["links"][0]["state"], "expired");
}

#[tokio::test]
async fn links_are_in_the_makers_export_and_go_with_their_account() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, member_id) = member_with_credits(&app, &admin, &token, "lea@example.com", 5).await;
    let id = succeeded_image(&app, &member_token, "a harbour at dawn").await;
    let link = share(&app, &member_token, json!({"generation_id": id, "password": "harbour pass"})).await.json();
    let path = path_of(&app, &link);

    let export = crate::export::exported(&app, &member_token).await;
    let raw = export.get("share_links.json").expect("share_links.json in the export");
    let links: Value = serde_json::from_slice(raw).unwrap();
    assert_eq!(links[0]["id"], link["id"], "{links}");
    assert_eq!(links[0]["has_password"], true);
    assert!(!String::from_utf8_lossy(raw).contains("argon2"), "no password hash");

    // disabled by an admin, the member's link stops; erased, it is gone
    let patch = client().patch(format!("{}/api/v1/admin/users/{member_id}", app.url)).bearer_auth(&token).json(&json!({"disabled": true}));
    assert_eq!(Browser::read(patch.send().await.unwrap()).await.status, 200);
    assert_eq!(Browser::new(&app.url).get(&path).await.status, 410);
    let listed = api_get(&app.url, "/api/v1/admin/sharing", Some(&token)).await.json();
    assert_eq!(listed["links"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn in_chromium_the_owner_makes_a_link_and_a_visitor_opens_it() {
    use crate::support::webdriver::{self, Browser as Chromium};
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the browser test: chromium and chromium-driver are not installed");
        return;
    }
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let id = succeeded_image(&app, &token, "a tin robot waving").await;
    let b = Chromium::start().await;
    assert!(b.sign_in_as_admin(&app.url).await, "signed in");
    b.go(&format!("{}/generations/{id}", app.url)).await;
    assert!(b.wait_for("return !!document.getElementById('share-link-form')", 10).await, "the share form is on the generation page");
    b.js("var f=document.getElementById('share-link-form'); f.open=true; document.getElementById('share-days').value='3'; \
         f.querySelector('input[name=show_prompt]').checked=true; document.getElementById('share-link-create').click();")
        .await;
    let made = b.wait_for("return !!document.getElementById('share-url')", 10).await;
    let url = b.js("var u=document.getElementById('share-url'); return u ? u.textContent : ''").await.as_str().unwrap_or("").to_string();
    let listed = b.js("return document.querySelectorAll('#share-links tbody tr[data-share]').length").await;
    // a visitor: sign out, then open the address
    b.js("document.querySelector('form.signout').submit();").await;
    b.wait_for("return location.pathname === '/login'", 10).await;
    b.go(&url).await;
    let shown = b
        .wait_for(
            "var i=document.querySelector('.shared-item img'); return !!i && i.complete && i.naturalWidth > 0 && \
             document.querySelector('.shared-prompt').textContent === 'a tin robot waving'",
            10,
        )
        .await;
    if !(made && shown) {
        b.screenshot("share-link-flow").await;
    }
    b.quit().await;
    assert!(made, "the new link's address is shown once");
    assert_eq!(listed, 1, "the link is in the list");
    assert!(url.starts_with(&app.url) && url.contains("/s/"), "{url}");
    assert!(shown, "the visitor sees the image and the prompt");
}

#[tokio::test]
async fn a_board_link_shows_its_items_in_order_while_its_maker_edits_the_board() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, member_id) = member_with_credits(&app, &admin, &token, "vic@example.com", 5).await;
    let first = succeeded_image(&app, &token, "storyboard shot one").await;
    let second = succeeded_image(&app, &token, "storyboard shot two").await;
    let board = api_post(&app.url, "/api/v1/boards", &token, json!({"name": "Client storyboard"})).await.json();
    let path = format!("/api/v1/boards/{}", board["id"].as_str().unwrap());
    let items = api_post(&app.url, &format!("{path}/items"), &token, json!({"items": [second, first]})).await;
    assert!(items.status < 300, "{}", items.body);
    let added = api_post(&app.url, &format!("{path}/members"), &token, json!({"person": "vic@example.com", "role": "viewer"})).await;
    assert!(added.status < 300, "{}", added.body);

    let viewer_link = share(&app, &member_token, json!({"board_id": board["id"]})).await;
    assert_eq!((viewer_link.status, viewer_link.json()["code"].as_str()), (403, Some("board.not_editor")), "{}", viewer_link.body);
    let link = share(&app, &token, json!({"board_id": board["id"], "show_prompt": true})).await.json();
    assert_eq!(link["target_kind"], "board", "{link}");
    let page = Browser::new(&app.url).get(&path_of(&app, &link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.count(".shared-item"), 2, "both items");
    let two = page.body.find("storyboard shot two").unwrap();
    let one = page.body.find("storyboard shot one").unwrap();
    assert!(two < one, "in the board's order");
    assert!(!page.body.contains("Client storyboard"), "only outputs and prompts, not the board's name");

    // an editor who makes a link and then loses the right: the link shows nothing more
    let promote = client().patch(format!("{}{path}/members/{member_id}", app.url)).bearer_auth(&token).json(&json!({"role": "editor"}));
    let promoted = Browser::read(promote.send().await.unwrap()).await;
    assert!(promoted.status < 300, "{}", promoted.body);
    let theirs = share(&app, &member_token, json!({"board_id": board["id"]})).await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    let remove = client().delete(format!("{}{path}/members/{member_id}", app.url)).bearer_auth(&token);
    assert_eq!(Browser::read(remove.send().await.unwrap()).await.status, 204);
    let after = Browser::new(&app.url).get(&path_of(&app, &theirs.json())).await;
    assert_eq!(after.count(".shared-item"), 0, "{}", after.body);
    assert_eq!(after.count("#share-empty"), 1);
}
