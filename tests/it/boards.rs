//! Boards: membership rules, what members see through a board, items and their order,
//! retention of kept boards, the ZIP, generating into a board; over the API and the services.

use std::time::Duration;

use reelvault::domain::board::BoardRole;
use reelvault::domain::ids::{BoardId, GenerationId};
use reelvault::domain::time::Timestamp;
use reelvault::domain::user::{Email, User};
use reelvault::services::privacy::retention;
use reelvault::services::studio::boards;
use serde_json::json;

use crate::library::make_image;
use crate::support::{ADMIN_EMAIL, Browser, TestApp, api_get, api_post, app_with_credits};

const TESS: &str = "tess@example.com";

/// The account with this e-mail, as the services take it.
fn user(app: &TestApp, email: &str) -> User {
    let email = Email::parse(email).unwrap();
    app.running.state.store.read_now(|tx| reelvault::store::users::find_by_email(tx, &email)).unwrap().expect("the account")
}

/// A member's browser and API token.
async fn member_with_token(app: &TestApp, admin: &Browser, email: &str) -> (Browser, String) {
    let b = app.invite_member(admin, email, "member password 1").await;
    let token = b.post_form("/account/tokens", &[("name", "tests"), ("expires", "30")]).await.text_of("#new-token");
    (b, token)
}

#[tokio::test]
async fn boards_service_roles_items_and_creation() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    member_with_token(&app, &admin, TESS).await;
    let state = &app.running.state;
    let (ada, tess) = (user(&app, ADMIN_EMAIL), user(&app, TESS));
    let board = boards::create(state, &ada, "Campaign".into(), "spring shots".into()).await.unwrap();
    assert_eq!(boards::role(state, &ada, board.id).await.unwrap(), BoardRole::Editor);
    assert!(boards::role(state, &tess, board.id).await.is_err(), "not a member");
    assert!(boards::role(state, &ada, BoardId::generate()).await.is_err(), "no such board");
    assert!(boards::create(state, &ada, "  ".into(), String::new()).await.is_err(), "a name is needed");

    let first: GenerationId = make_image(&app, &token, "a red kite").await.parse().unwrap();
    let second: GenerationId = make_image(&app, &token, "a blue kite").await.parse().unwrap();
    boards::add_items(state, &ada, board.id, vec![first, second]).await.unwrap();
    boards::add_items(state, &ada, board.id, vec![second, first]).await.unwrap();
    let view = boards::get(state, &ada, board.id).await.unwrap();
    assert_eq!(view.items.iter().map(|i| i.generation.id).collect::<Vec<_>>(), vec![first, second], "added once each, in order");

    // a viewer sees the items, may not add; a stranger's generation cannot be added
    boards::add_member(state, &reelvault::services::privacy::audit::Context::cli(), &ada, board.id, TESS.into(), BoardRole::Viewer)
        .await
        .unwrap();
    assert_eq!(boards::role(state, &tess, board.id).await.unwrap(), BoardRole::Viewer);
    assert_eq!(boards::get(state, &tess, board.id).await.unwrap().items.len(), 2);
    assert!(boards::add_items(state, &tess, board.id, vec![first]).await.is_err());
    let own = boards::create(state, &tess, "Mine".into(), String::new()).await.unwrap();
    boards::add_items(state, &tess, own.id, vec![first]).await.expect("seen through the shared board");
    assert!(boards::add_items(state, &tess, own.id, vec![GenerationId::generate()]).await.is_err());

    // the data export records each board of the person's with its items' ids and notes
    boards::set_note(state, &ada, board.id, second, "close-up".into()).await.unwrap();
    let exported = state.store.read_now(|tx| boards::export_records(tx, tess.id)).unwrap();
    assert_eq!(exported.len(), 2);
    let shared = exported.iter().find(|b| b["id"] == board.id.to_string()).unwrap();
    assert_eq!((shared["role"].as_str(), shared["owner"].as_bool()), (Some("viewer"), Some(false)));
    assert_eq!(shared["items"][1]["generation"], second.to_string());
    assert_eq!(shared["items"][1]["note"], "close-up");
}

/// A request with the bearer token and a JSON body (PATCH, PUT, DELETE).
async fn send(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Option<serde_json::Value>) -> crate::support::Page {
    let mut request = crate::support::client().request(method, format!("{}{path}", app.url)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Browser::read(request.send().await.expect("request")).await
}

/// Creates a board through the API; returns its id.
async fn new_board(app: &TestApp, token: &str, name: &str) -> String {
    let made = api_post(&app.url, "/api/v1/boards", token, json!({"name": name, "description": "for tests"})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["role"], "editor");
    made.json()["id"].as_str().unwrap().to_string()
}

fn item_ids(board: &serde_json::Value) -> Vec<String> {
    board["items"].as_array().unwrap().iter().map(|i| i["generation"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn boards_api_members_see_items_through_the_board_only_while_members() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let (_, tess) = member_with_token(&app, &admin, TESS).await;
    let (_, uma) = member_with_token(&app, &admin, "uma@example.com").await;
    let image = make_image(&app, &token, "a private lantern").await;
    let board = new_board(&app, &token, "Client A").await;
    let path = format!("/api/v1/boards/{board}");
    let added = api_post(&app.url, &format!("{path}/items"), &token, json!({"items": [image]})).await;
    assert_eq!(added.status, 200, "{}", added.body);

    // not a member: the board and its items are not found; the generation stays private
    assert_eq!(api_get(&app.url, &path, Some(&tess)).await.status, 404);
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{image}"), Some(&tess)).await.status, 404);

    let member = api_post(&app.url, &format!("{path}/members"), &token, json!({"person": TESS, "role": "viewer"})).await;
    assert_eq!(member.status, 201, "{}", member.body);
    let seen = api_get(&app.url, &path, Some(&tess)).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.json()["role"], "viewer");
    assert_eq!(item_ids(&seen.json()), vec![image.clone()]);
    assert_eq!(seen.json()["items"][0]["prompt"], "a private lantern");
    let media = seen.json()["items"][0]["outputs"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(api_get(&app.url, &media, None).await.status, 200, "the member's signed link serves the file");
    let listed = api_get(&app.url, "/api/v1/boards", Some(&tess)).await.json();
    assert_eq!(listed["boards"][0]["id"], board.as_str());
    assert_eq!(api_get(&app.url, &path, Some(&uma)).await.status, 404, "a non-member learns nothing");

    // a viewer may not edit
    let rename = send(&app, reqwest::Method::PATCH, &path, &tess, Some(json!({"name": "Mine now"}))).await;
    assert_eq!(rename.status, 403, "{}", rename.body);
    assert_eq!(api_post(&app.url, &format!("{path}/items"), &tess, json!({"items": [image]})).await.status, 403);
    let note = send(&app, reqwest::Method::PATCH, &format!("{path}/items/{image}"), &tess, Some(json!({"note": "x"}))).await;
    assert_eq!(note.status, 403);
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, &tess, None).await.status, 403);

    // the rules: one editor always remains; names and people are checked
    let ada = user(&app, ADMIN_EMAIL).id;
    let demote = send(&app, reqwest::Method::PATCH, &format!("{path}/members/{ada}"), &token, Some(json!({"role": "viewer"}))).await;
    assert_eq!(demote.status, 422, "{}", demote.body);
    assert_eq!(send(&app, reqwest::Method::DELETE, &format!("{path}/members/{ada}"), &token, None).await.status, 422);
    let nobody = api_post(&app.url, &format!("{path}/members"), &token, json!({"person": "nobody@example.com"})).await;
    assert_eq!(nobody.status, 404);
    let long = api_post(&app.url, "/api/v1/boards", &token, json!({"name": "x".repeat(101)})).await;
    assert_eq!(long.status, 422, "{}", long.body);
    let empty = api_post(&app.url, "/api/v1/boards", &token, json!({"name": " "})).await;
    assert_eq!(empty.status, 422);
    let long_note =
        send(&app, reqwest::Method::PATCH, &format!("{path}/items/{image}"), &token, Some(json!({"note": "n".repeat(1001)}))).await;
    assert_eq!(long_note.status, 422);
    assert_eq!(api_get(&app.url, "/api/v1/boards/not-an-id", Some(&token)).await.status, 404);

    // removing the member hides the board and its items at once
    let tess_id = user(&app, TESS).id;
    assert_eq!(send(&app, reqwest::Method::DELETE, &format!("{path}/members/{tess_id}"), &token, None).await.status, 204);
    assert_eq!(api_get(&app.url, &path, Some(&tess)).await.status, 404);
    assert_eq!(api_get(&app.url, "/api/v1/boards", Some(&tess)).await.json()["boards"].as_array().unwrap().len(), 0);

    // membership changes are audited
    let audit = admin.get("/admin/audit?action=board.member_added").await;
    assert!(audit.body.contains(TESS), "{}", audit.body);
}

#[tokio::test]
async fn boards_api_order_notes_and_deletion_keep_the_generations() {
    let (app, _admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let a = make_image(&app, &token, "first").await;
    let b = make_image(&app, &token, "second").await;
    let c = make_image(&app, &token, "third").await;
    let board = new_board(&app, &token, "Storyboard").await;
    let path = format!("/api/v1/boards/{board}");
    api_post(&app.url, &format!("{path}/items"), &token, json!({"items": [a, b, c]})).await;
    let order = send(&app, reqwest::Method::PUT, &format!("{path}/order"), &token, Some(json!({"items": [c, a, b]}))).await;
    assert_eq!(order.status, 200, "{}", order.body);
    let bad = send(&app, reqwest::Method::PUT, &format!("{path}/order"), &token, Some(json!({"items": [c, a]}))).await;
    assert_eq!(bad.status, 422, "a reorder names every item");
    let note = send(&app, reqwest::Method::PATCH, &format!("{path}/items/{a}"), &token, Some(json!({"note": "hero shot"}))).await;
    assert_eq!(note.status, 204, "{}", note.body);
    let shown = api_get(&app.url, &path, Some(&token)).await.json();
    assert_eq!(item_ids(&shown), vec![c.clone(), a.clone(), b.clone()], "the order persists");
    assert_eq!(shown["items"][1]["note"], "hero shot");

    // removing an item and deleting the board leave the generations alone
    assert_eq!(send(&app, reqwest::Method::DELETE, &format!("{path}/items/{b}"), &token, None).await.status, 204);
    assert_eq!(item_ids(&api_get(&app.url, &path, Some(&token)).await.json()), vec![c.clone(), a.clone()]);
    assert_eq!(send(&app, reqwest::Method::DELETE, &path, &token, None).await.status, 204);
    assert_eq!(api_get(&app.url, &path, Some(&token)).await.status, 404);
    for id in [&a, &b, &c] {
        assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.status, 200);
    }

    // a generation its owner deletes leaves every board
    let other = new_board(&app, &token, "Other").await;
    api_post(&app.url, &format!("/api/v1/boards/{other}/items"), &token, json!({"items": [a, c]})).await;
    assert_eq!(send(&app, reqwest::Method::DELETE, &format!("/api/v1/generations/{a}"), &token, None).await.status, 204);
    let left = api_get(&app.url, &format!("/api/v1/boards/{other}"), Some(&token)).await.json();
    assert_eq!(item_ids(&left), vec![c.clone()]);
}

#[tokio::test]
async fn boards_api_generate_into_a_board_and_download_it_as_a_zip() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let (_, tess) = member_with_token(&app, &admin, TESS).await;
    let board = new_board(&app, &token, "Launch").await;
    let made =
        crate::support::generate(&app.url, &token, json!({"model": "demo-image", "prompt": "a launch poster", "board": board})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_string();
    crate::support::wait_terminal(&app.url, &token, &id).await;
    let path = format!("/api/v1/boards/{board}");
    assert_eq!(item_ids(&api_get(&app.url, &path, Some(&token)).await.json()), vec![id.clone()], "the new generation is on the board");

    // a viewer cannot generate into the board: refused before anything is held
    api_post(&app.url, &format!("{path}/members"), &token, json!({"person": TESS, "role": "viewer"})).await;
    let refused = crate::support::generate(&app.url, &tess, json!({"model": "demo-image", "prompt": "mine", "board": board})).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let malformed = crate::support::generate(&app.url, &token, json!({"model": "demo-image", "prompt": "x", "board": "nope"})).await;
    assert!(malformed.status == 400 || malformed.status == 422, "{}", malformed.body);

    // the viewer downloads the board: each output and a sidecar per generation
    let response = crate::support::client().get(format!("{}{path}/zip", app.url)).bearer_auth(&tess).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a valid ZIP");
    let names: Vec<String> = archive.file_names().map(|n| n.unwrap().to_string()).collect();
    assert!(names.iter().any(|n| n.ends_with(".png")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(&format!("{}.json", id.to_lowercase()))), "{names:?}");
    let stranger = crate::support::client().get(format!("{}/api/v1/boards/{}/zip", app.url, BoardId::generate())).bearer_auth(&tess);
    assert_eq!(stranger.send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn boards_a_kept_board_protects_its_items_from_retention() {
    let (app, _admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let on_kept = make_image(&app, &token, "on a kept board").await;
    let on_loose = make_image(&app, &token, "on a loose board").await;
    let kept = new_board(&app, &token, "Keep").await;
    let loose = new_board(&app, &token, "Loose").await;
    api_post(&app.url, &format!("/api/v1/boards/{kept}/items"), &token, json!({"items": [on_kept]})).await;
    api_post(&app.url, &format!("/api/v1/boards/{loose}/items"), &token, json!({"items": [on_loose]})).await;
    let switched = send(&app, reqwest::Method::PATCH, &format!("/api/v1/boards/{kept}"), &token, Some(json!({"kept": true}))).await;
    assert_eq!(switched.status, 200, "{}", switched.body);
    assert_eq!(switched.json()["kept"], true);

    // the generation page no longer promises an expiry for the kept board's item
    let ada = user(&app, ADMIN_EMAIL);
    let state = &app.running.state;
    let g = reelvault::services::studio::generations::get(state, &ada, on_kept.parse().unwrap()).await.unwrap();
    assert_eq!(retention::days_left(state, &ada, &g, Timestamp::now()), None);
    let other = reelvault::services::studio::generations::get(state, &ada, on_loose.parse().unwrap()).await.unwrap();
    assert!(retention::days_left(state, &ada, &other, Timestamp::now()).is_some());

    let later = Timestamp::now().plus(Duration::from_secs(86_400 * 400));
    let run = retention::run(state, "test", later).await.unwrap();
    assert_eq!(run.counts.outputs, 1, "only the loose board's item expired");
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{on_kept}"), Some(&token)).await.status, 200);
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{on_loose}"), Some(&token)).await.status, 404);
    assert!(item_ids(&api_get(&app.url, &format!("/api/v1/boards/{loose}"), Some(&token)).await.json()).is_empty());
}

#[tokio::test]
async fn boards_in_the_browser_create_add_from_the_library_reorder_by_keyboard_note_and_lightbox() {
    use crate::support::webdriver::{self, Browser as Chromium};
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the boards browser test: chromium and chromium-driver are not installed");
        return;
    }
    let (app, _admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let first = make_image(&app, &token, "a red door").await;
    let second = make_image(&app, &token, "a blue door").await;
    let b = Chromium::start().await;
    assert!(b.sign_in_as_admin(&app.url).await, "signed in");

    // create a board from the Boards page (reached from the top navigation)
    b.go(&format!("{}/", app.url)).await;
    b.click("header nav a[href='/boards']").await;
    assert!(b.wait_for("return location.pathname === '/boards'", 10).await);
    b.js("document.getElementById('board-name').value = 'Doors';").await;
    b.click("#create-board").await;
    assert!(b.wait_for("return /^\\/boards\\/[0-9A-Z]{26}$/.test(location.pathname)", 10).await, "the new board opens");
    let path = b.js("return location.pathname").await.as_str().unwrap().to_string();
    assert_eq!(b.js("return document.getElementById('board-name').textContent").await, "Doors");

    // add both generations from the library's selection
    b.go(&format!("{}/library", app.url)).await;
    b.js("document.querySelectorAll('#cards input[name=id]').forEach(function (box) { box.checked = true; });").await;
    b.click("#bulk-board-add").await;
    assert!(
        b.wait_for(&format!("return location.pathname === '{path}' && document.querySelectorAll('#cards li.tile').length === 2"), 10).await
    );
    let order = "Array.prototype.map.call(document.querySelectorAll('#cards li.tile'), function (t) { return t.getAttribute('data-id'); }).join(',')";
    let before = b.js(&format!("return {order}")).await.as_str().unwrap().to_string();
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    let mut shown: Vec<String> = before.split(',').map(String::from).collect();
    shown.sort();
    assert_eq!(shown, both, "both generations are on the board");

    // move the first card down with the keyboard: focus its ↓ button and press Enter
    b.js("document.querySelector('#cards li.tile .move-down').focus();").await;
    b.press("\u{E007}").await;
    let swapped = before.split(',').rev().collect::<Vec<_>>().join(",");
    assert!(b.wait_for(&format!("return {order} === '{swapped}'"), 10).await, "the order changed");
    let board_id = path.trim_start_matches("/boards/");
    let stored = api_get(&app.url, &format!("/api/v1/boards/{board_id}"), Some(&token)).await.json();
    assert_eq!(item_ids(&stored).join(","), swapped, "the order persists");

    // drag the last card onto the first: the order is saved at once (as the page's script posts it)
    b.js("var t = document.querySelectorAll('#cards li.tile'); var dt = new DataTransfer(); \
          var ev = function (el, type) { el.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true})); }; \
          ev(t[1], 'dragstart'); ev(t[0], 'dragover'); ev(t[0], 'drop'); ev(t[1], 'dragend');")
        .await;
    assert!(b.wait_for(&format!("return {order} === '{before}'"), 10).await, "the card moved back");
    crate::support::eventually("the dragged order is stored", async || {
        item_ids(&api_get(&app.url, &format!("/api/v1/boards/{board_id}"), Some(&token)).await.json()).join(",") == before
    })
    .await;
    b.go(&format!("{}{path}", app.url)).await;
    assert!(b.wait_for(&format!("return {order} === '{before}'"), 10).await, "the order persists across a reload");

    // a note on the first card
    b.js("var d = document.querySelector('#cards li.tile .item-note'); d.open = true; d.querySelector('textarea').value = 'use this one';")
        .await;
    b.click("#cards li.tile .save-note").await;
    assert!(b.wait_for("var n = document.querySelector('#cards li.tile .note'); return !!n && n.textContent === 'use this one'", 10).await);

    // the lightbox opens on a card and closes with Escape
    b.click("#cards li.tile .thumb[data-media]").await;
    assert!(b.wait_for("return document.getElementById('lightbox').open && !!document.querySelector('#lightbox-media img')", 10).await);
    b.press(Chromium::ESCAPE).await;
    assert!(b.wait_for("return !document.getElementById('lightbox').open", 10).await);

    // no serious accessibility problem on the board and the list
    if let Some(axe) = crate::studio_pages::axe_script() {
        for page in [path.clone(), "/boards".to_string()] {
            b.go(&format!("{}{page}", app.url)).await;
            b.wait_for("return document.readyState === 'complete'", 10).await;
            let found = crate::studio_pages::violations(&b, &axe).await;
            assert!(found.is_empty(), "{page}: {found:?}");
        }
    }
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn boards_an_erased_editor_leaves_their_boards_and_the_oldest_member_takes_over() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let (_, tess) = member_with_token(&app, &admin, TESS).await;
    let (_, uma) = member_with_token(&app, &admin, "uma@example.com").await;
    let image = make_image(&app, &token, "a shared sketch").await;
    // Tess's board with Ada and Uma as viewers; Ada's board with Tess as a viewer
    let theirs = new_board(&app, &tess, "Tess's").await;
    for person in [ADMIN_EMAIL, "uma@example.com"] {
        let added = api_post(&app.url, &format!("/api/v1/boards/{theirs}/members"), &tess, json!({"person": person})).await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let ours = new_board(&app, &token, "Ada's").await;
    api_post(&app.url, &format!("/api/v1/boards/{ours}/items"), &token, json!({"items": [image]})).await;
    api_post(&app.url, &format!("/api/v1/boards/{ours}/members"), &token, json!({"person": TESS})).await;

    let tess_id = user(&app, TESS).id;
    let gone = send(&app, reqwest::Method::DELETE, "/api/v1/account", &tess, Some(json!({"password": "member password 1"}))).await;
    assert_eq!(gone.status, 202, "{}", gone.body);
    crate::support::eventually("the erasure finishes", async || {
        app.running.state.store.read(move |tx| reelvault::store::erasures::get(tx, tess_id)).await.unwrap().is_none()
    })
    .await;

    let passed = api_get(&app.url, &format!("/api/v1/boards/{theirs}"), Some(&token)).await.json();
    assert_eq!(passed["role"], "editor", "the oldest remaining member (Ada) edits it now: {passed}");
    assert_eq!(passed["members"].as_array().unwrap().len(), 2);
    assert_eq!(api_get(&app.url, &format!("/api/v1/boards/{theirs}"), Some(&uma)).await.json()["role"], "viewer");
    let kept = api_get(&app.url, &format!("/api/v1/boards/{ours}"), Some(&token)).await.json();
    assert_eq!(kept["members"].as_array().unwrap().len(), 1, "Tess's membership ended");
    assert_eq!(item_ids(&kept), vec![image]);
}

#[tokio::test]
async fn boards_pages_work_as_plain_forms_for_editors_viewers_and_strangers() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let (tess, _) = member_with_token(&app, &admin, TESS).await;
    let (uma, _) = member_with_token(&app, &admin, "uma@example.com").await;
    let image = make_image(&app, &token, "a paper boat").await;

    // create (a refused name stays on the form), then add a generation from its page
    let refused = admin.post_form("/boards", &[("name", "  ")]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.count("#board-error"), 1);
    let made = admin.post_form("/boards", &[("name", "Boats"), ("description", "harbour shots")]).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let path = made.location().unwrap().to_string();
    let board = path.trim_start_matches("/boards/").to_string();
    let generation = admin.get(&format!("/generations/{image}")).await;
    assert_eq!(generation.attr_of("#add-to-board option", "value"), Some(board.clone()));
    let added = admin.post_form("/boards/add", &[("board", &board), ("id", &image)]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let page = admin.get(&path).await;
    assert_eq!(page.count("#cards li.tile"), 1);
    assert_eq!(page.text_of("#board-name"), "Boats");

    // generate into this board: the form carries the board, and the new generation lands on it
    let form = admin.get(&format!("/generate?model=demo-image&board={board}")).await;
    assert_eq!(form.attr_of("input[name=board]", "value"), Some(board.clone()));
    assert!(form.text_of("#board-target").contains("Boats"));
    let action = form.attr_of("#generate-form", "action").unwrap();
    let submit = reqwest::multipart::Form::new().text("model", "demo-image").text("prompt", "a second boat").text("board", board.clone());
    let done = admin.post_multipart(&action, submit, &[("origin", app.url.as_str())]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some(path.as_str()));
    assert_eq!(admin.get(&path).await.count("#cards li.tile"), 2);

    // a viewer sees the items and no editing form; a stranger gets "not found"
    let member = admin.post_form(&format!("{path}/members"), &[("person", TESS), ("role", "viewer")]).await;
    assert_eq!(member.status, 303, "{}", member.body);
    let unknown = admin.post_form(&format!("{path}/members"), &[("person", "Nobody At All")]).await;
    assert_eq!(unknown.status, 303, "a refusal comes back to the board as a message");
    let seen = tess.get(&path).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.count("#cards li.tile"), 2);
    assert_eq!(seen.count("#edit-board") + seen.count(".item-move") + seen.count("#generate-into"), 0);
    let item = seen.attr_of("#cards li.tile .thumb", "href").unwrap();
    assert_eq!(tess.get(&item).await.status, 200, "the item's page, through the board");
    assert_eq!(tess.post_form(&format!("{path}/edit"), &[("name", "Taken")]).await.status, 403);
    assert_eq!(uma.get(&path).await.status, 404);
    assert_eq!(uma.get(&item).await.status, 404);

    // the keyboard's move buttons change the order; the viewer leaves
    let first = page.attr_of("#cards li.tile", "data-id").unwrap();
    let moved = admin.post_form(&format!("{path}/items/{first}"), &[("action", "down")]).await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert_eq!(admin.get(&path).await.attr_all("#cards li.tile", "data-id").last(), Some(&first));
    let tess_id = user(&app, TESS).id;
    let left = tess.post_form(&format!("{path}/members/{tess_id}"), &[("action", "remove")]).await;
    assert_eq!(left.status, 303, "{}", left.body);
    assert_eq!(tess.get(&path).await.status, 404);

    // deleting the board keeps the generations
    assert_eq!(admin.post_form(&format!("{path}/delete"), &[]).await.status, 303);
    assert_eq!(admin.get(&path).await.status, 404);
    assert_eq!(admin.get(&format!("/generations/{image}")).await.status, 200);
}
