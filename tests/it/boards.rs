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
