//! Legal holds bind the owner too: a held generation (held itself, or with everything of its
//! owner's) survives every deletion path its owner has — its page, the API, a library bulk
//! delete, `DELETE /v1/videos/{id}`, deleting all content, deleting the account — with a 409
//! or a flash that says why, and its files stay downloadable. An erasure does everything
//! else, waits for the hold, and finishes on its own once the hold is lifted.

use std::time::Duration;

use reelvault::domain::ids::{GenerationId, UserId};
use reelvault::store;
use serde_json::{Value, json};

use super::bystander::Bystander;
use crate::support::generate;
use crate::support::{Browser, Page, TestApp, api_get, eventually};
use crate::support::{admin_with_credits, wait_terminal};

const MEMBER: &str = "held@example.com";
const MEMBER_PASSWORD: &str = "a held member's password";

/// An instance with an admin's token, a member with credits and a token, and a
/// bystander.
struct Team {
    app: TestApp,
    admin_token: String,
    member: Browser,
    token: String,
    member_id: UserId,
    bystander: Bystander,
}

async fn team() -> Team {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::ZERO).await;
    let (admin, admin_token) = admin_with_credits(&app, 10).await;
    let member = app.invite_member(&admin, MEMBER, MEMBER_PASSWORD).await;
    let token = member.post_form("/account/tokens", &[("name", "script"), ("expires", "30")]).await.text_of("#new-token");
    let member_id: UserId = api_get(&app.url, "/api/v1/me", Some(&token)).await.json()["id"].as_str().unwrap().parse().unwrap();
    let granted = admin.post_form(&format!("/admin/users/{member_id}/credits"), &[("amount", "100")]).await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    let bystander = Bystander::join(&app, &admin).await;
    Team { app, admin_token, member, token, member_id, bystander }
}

/// A finished generation of `model` (`demo-image` or `demo-video`), as the API shows it.
async fn finished(app: &TestApp, token: &str, model: &str, prompt: &str) -> Value {
    let created = generate(&app.url, token, json!({"model": model, "prompt": prompt})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    done
}

fn id_of(g: &Value) -> &str {
    g["id"].as_str().unwrap()
}

async fn send(method: reqwest::Method, base: &str, path: &str, token: &str, body: Option<Value>) -> Page {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client.request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Browser::read(request.send().await.unwrap()).await
}

/// An admin puts one generation on legal hold (`true`) or lifts it.
async fn hold(team: &Team, g: &Value, on: bool) {
    let path = format!("/api/v1/admin/generations/{}/hold", id_of(g));
    let set = send(reqwest::Method::PUT, &team.app.url, &path, &team.admin_token, Some(json!({ "hold": on }))).await;
    assert_eq!(set.status, 200, "{}", set.body);
}

/// An admin puts the member (everything of theirs) on legal hold (`true`) or lifts it.
async fn hold_member(team: &Team, on: bool) {
    let path = format!("/api/v1/admin/users/{}", team.member_id);
    let set = send(reqwest::Method::PATCH, &team.app.url, &path, &team.admin_token, Some(json!({ "legal_hold": on }))).await;
    assert_eq!(set.status, 200, "{}", set.body);
}

/// Two finished images of the member: one put on hold ("evidence"), one free ("ordinary").
async fn held_and_free(team: &Team) -> (Value, Value) {
    let held = finished(&team.app, &team.token, "demo-image", "evidence").await;
    let free = finished(&team.app, &team.token, "demo-image", "ordinary").await;
    hold(team, &held, true).await;
    (held, free)
}

/// Checks an erasure asked for while `held` is on hold: `free` goes, `held` stays readable
/// with the person's key, and the erasure of `person` waits for the hold.
async fn assert_erasure_waits_for_the_hold(app: &TestApp, person: UserId, held: &Value, free: &Value) {
    eventually("the unheld generation's deletion", async || !stored(app, free).await).await;
    assert!(!downloads(free).await);
    assert!(stored(app, held).await && downloads(held).await, "the held item stays, readable with the person's key");
    assert!(erasure_pending(app, person).await, "the erasure waits for the hold");
}

/// Whether the generation's first output still downloads through its signed link.
async fn downloads(g: &Value) -> bool {
    let url = g["outputs"][0]["url"].as_str().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    client.get(url).send().await.unwrap().status() == 200
}

async fn stored(app: &TestApp, g: &Value) -> bool {
    let id: GenerationId = id_of(g).parse().unwrap();
    app.running.state.store.read(move |tx| store::generations::get(tx, id)).await.unwrap().is_some_and(|g| g.deleted_at.is_none())
}

async fn erasure_pending(app: &TestApp, user: UserId) -> bool {
    app.running.state.store.read(move |tx| store::erasures::get(tx, user)).await.unwrap().is_some()
}

fn assert_held_refusal(page: &Page, path: &str) {
    assert_eq!(page.status, 409, "{path}: {}", page.body);
    let body = page.json();
    let code = body["code"].as_str().or(body["error"]["code"].as_str());
    assert_eq!(code, Some("generation.legal_hold"), "{path}: {body}");
    assert!(page.body.contains("legal hold"), "{path} says why: {body}");
}

#[tokio::test]
async fn a_held_generation_survives_every_deletion_path_of_its_owner() {
    let team = team().await;
    let (app, member, token) = (&team.app, &team.member, team.token.as_str());
    let image = finished(app, token, "demo-image", "evidence").await;
    let video = finished(app, token, "demo-video", "evidence on film").await;
    let free = finished(app, token, "demo-image", "ordinary").await;
    hold(&team, &image, true).await;
    hold(&team, &video, true).await;

    let api = format!("/api/v1/generations/{}", id_of(&image));
    assert_held_refusal(&send(reqwest::Method::DELETE, &app.url, &api, token, None).await, &api);
    let openai = format!("/v1/videos/{}", id_of(&video));
    assert_held_refusal(&send(reqwest::Method::DELETE, &app.url, &openai, token, None).await, &openai);

    let page = member.post_form(&format!("/generations/{}/delete", id_of(&image)), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), Some(format!("/generations/{}", id_of(&image)).as_str()));
    assert!(member.get(&format!("/generations/{}", id_of(&image))).await.body.contains("legal hold"), "the page shows why");

    let bulk = member.post_form("/library/bulk", &[("action", "delete"), ("id", id_of(&free)), ("id", id_of(&image))]).await;
    assert_eq!(bulk.status, 303, "{}", bulk.body);
    let library = member.get("/library").await;
    assert!(library.body.contains("legal hold") && library.body.contains("nothing was deleted"), "{}", library.body);
    assert!(stored(app, &free).await, "a bulk delete with a held item in it deletes nothing");

    for g in [&image, &video] {
        assert!(stored(app, g).await && downloads(g).await, "{} was deleted", id_of(g));
    }
    team.bystander.still_served(app, "deletions of held generations").await;

    // a hold on the person covers everything of theirs, the unheld item too
    hold_member(&team, true).await;
    let free_path = format!("/api/v1/generations/{}", id_of(&free));
    assert_held_refusal(&send(reqwest::Method::DELETE, &app.url, &free_path, token, None).await, &free_path);
    hold_member(&team, false).await;

    // only the holds were in the way
    hold(&team, &image, false).await;
    assert_eq!(send(reqwest::Method::DELETE, &app.url, &api, token, None).await.status, 204);
    assert!(!downloads(&image).await, "deleted once the hold was lifted");
    team.app.stop().await;
}

#[tokio::test]
async fn deleting_the_account_leaves_held_items_and_finishes_once_the_hold_is_lifted() {
    let team = team().await;
    let (app, token, id) = (&team.app, team.token.as_str(), team.member_id);
    let (held, free) = held_and_free(&team).await;

    let asked = team.member.post_form("/account/delete", &[("password", MEMBER_PASSWORD)]).await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert!(team.member.get("/account").await.status == 303, "signed out at once");
    assert_erasure_waits_for_the_hold(app, id, &held, &free).await;
    eventually("the tokens' removal", async || api_get(&app.url, "/api/v1/me", Some(token)).await.status == 401).await;
    let state = &app.running.state;
    let person = state.store.read(move |tx| store::users::get(tx, id)).await.unwrap().expect("a minimal record stays");
    assert!(person.disabled && person.name.is_empty());
    assert_eq!(app.browser().sign_in(MEMBER, MEMBER_PASSWORD).await.status, 403, "no one can sign in as them meanwhile");
    team.bystander.still_served(app, "an erasure waiting for a hold").await;

    hold(&team, &held, false).await;
    eventually("the erasure's end", async || !erasure_pending(app, id).await).await;
    assert!(!stored(app, &held).await && !downloads(&held).await, "the formerly held item is gone");
    assert!(state.store.read(move |tx| store::users::get(tx, id)).await.unwrap().is_none(), "the account is gone");
    assert!(matches!(state.keyring.identity(&state.store, id).await, Err(reelvault::vault::keyring::KeyringError::Missing)));
    team.bystander.still_served(app, "an erasure finished after a hold").await;
    team.app.stop().await;
}

#[tokio::test]
async fn deleting_all_content_leaves_held_items_and_later_work_and_finishes_once_the_hold_is_lifted() {
    let team = team().await;
    let (app, token, id) = (&team.app, team.token.as_str(), team.member_id);
    let (held, free) = held_and_free(&team).await;

    let asked = send(reqwest::Method::DELETE, &app.url, "/api/v1/account/content", token, Some(json!({"password": MEMBER_PASSWORD}))).await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    assert_erasure_waits_for_the_hold(app, id, &held, &free).await;
    let account = team.member.get("/account").await;
    assert!(account.body.contains("Anything on legal hold stays"), "the account page says what waits: {}", account.body);

    // made after the request: not the erasure's to delete
    let later = finished(app, token, "demo-image", "made afterwards").await;
    hold(&team, &held, false).await;
    eventually("the erasure's end", async || !erasure_pending(app, id).await).await;
    assert!(!stored(app, &held).await, "the formerly held item is gone");
    assert!(stored(app, &later).await && downloads(&later).await, "later work stays");
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(token)).await.status, 200, "the account stays");
    team.bystander.still_served(app, "a content erasure finished after a hold").await;
    team.app.stop().await;
}

#[tokio::test]
async fn a_held_person_keeps_everything_through_an_account_deletion_until_the_hold_is_lifted() {
    let team = team().await;
    let (app, token, id) = (&team.app, team.token.as_str(), team.member_id);
    let g = finished(app, token, "demo-image", "all of it").await;
    hold_member(&team, true).await;
    let asked = send(reqwest::Method::DELETE, &app.url, "/api/v1/account", token, Some(json!({"password": MEMBER_PASSWORD}))).await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    eventually("the tokens' removal", async || api_get(&app.url, "/api/v1/me", Some(token)).await.status == 401).await;
    // a later sweep leaves it waiting as well
    reelvault::services::privacy::retention::run(&app.running.state, "test", reelvault::domain::time::Timestamp::now()).await.unwrap();
    assert!(stored(app, &g).await && downloads(&g).await, "nothing of a held person is deleted");
    assert!(erasure_pending(app, id).await);

    hold_member(&team, false).await;
    eventually("the erasure's end", async || !erasure_pending(app, id).await).await;
    assert!(!stored(app, &g).await && !downloads(&g).await);
    team.app.stop().await;
}

#[tokio::test]
async fn a_held_persons_picture_is_neither_replaced_nor_removed() {
    let team = team().await;
    let (app, member, token) = (&team.app, &team.member, team.token.as_str());
    assert_eq!(crate::privacy_rights::upload_picture(member, crate::uploads::jpeg_with_gps()).await.status, 303);
    let picture = || async { api_get(&app.url, "/api/v1/account", Some(token)).await.json()["picture_url"].as_str().map(str::to_string) };
    let before = picture().await.expect("a picture");
    hold_member(&team, true).await;
    let replaced = crate::privacy_rights::upload_picture(member, crate::uploads::jpeg_with_gps()).await;
    assert_eq!(replaced.status, 409, "{}", replaced.body);
    assert!(replaced.body.contains("legal hold"), "says why");
    assert_eq!(member.post_form("/account/picture/delete", &[]).await.status, 409);
    let kept = picture().await.expect("the picture stays");
    assert_eq!(kept.split('?').next(), before.split('?').next(), "the same picture");
    hold_member(&team, false).await;
    assert_eq!(member.post_form("/account/picture/delete", &[]).await.status, 303, "once the hold is lifted");
    team.bystander.still_served(app, "a held person's picture changes").await;
    team.app.stop().await;
}
