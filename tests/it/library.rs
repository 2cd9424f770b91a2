//! The library and a generation's page actions over real HTTP: keep and share (and undo),
//! who may open a shared generation, delete with a confirmation step, reusing settings.

use std::time::Duration;

use crate::generations::{api_post, app_with_credits, wait_terminal};
use crate::search::wait_total;
use crate::support::{Browser, TestApp, api_get};

/// Makes one demo image with `prompt` and waits for it; returns its id.
pub async fn make_image(app: &TestApp, token: &str, prompt: &str) -> String {
    let body = serde_json::json!({"model": "demo-image", "prompt": prompt, "params": {"seed": 5}});
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, token, &id).await["state"], "succeeded");
    id
}

/// A member's browser, signed in.
async fn teammate(app: &TestApp, admin: &Browser) -> Browser {
    app.invite_member(admin, "tess@example.com", "tess password 1").await
}

#[tokio::test]
async fn library_keep_and_share_change_the_generation_and_the_search_filters() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a paper lantern").await;
    let kept = api_post(&app.url, &format!("/api/v1/generations/{id}/keep"), &token, serde_json::json!({})).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json()["kept"], true);
    wait_total(&app.url, &token, "kept=true", 1).await;
    let shared = api_post(&app.url, &format!("/api/v1/generations/{id}/share"), &token, serde_json::json!({})).await;
    assert_eq!(shared.json()["shared"], true);
    let unkept = api_post(&app.url, &format!("/api/v1/generations/{id}/unkeep"), &token, serde_json::json!({})).await;
    assert_eq!(unkept.json()["kept"], false);
    wait_total(&app.url, &token, "kept=true", 0).await;

    // the page's buttons do the same
    let page = admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.count("#keep"), 1);
    let done = admin.post_form(&format!("/generations/{id}/keep"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(admin.get(&format!("/generations/{id}")).await.count("#kept-badge"), 1);

    // bad input is a clear 4xx
    for path in ["/api/v1/generations/nonsense/keep", "/api/v1/generations/01ARZ3NDEKTSV4RRFFQ69G5FAV/keep"] {
        assert_eq!(api_post(&app.url, path, &token, serde_json::json!({})).await.status, 404, "{path}");
    }
    assert_eq!(admin.post_form("/generations/nonsense/share", &[]).await.status, 404);
}

#[tokio::test]
async fn library_a_teammate_sees_a_shared_generation_read_only_and_never_an_unshared_one() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a copper teapot").await;
    let tess = teammate(&app, &admin).await;
    assert_eq!(tess.get(&format!("/generations/{id}")).await.status, 404, "unshared by default");
    assert_eq!(tess.get(&format!("/generate?from={id}")).await.status, 404);

    assert_eq!(admin.post_form(&format!("/generations/{id}/share"), &[]).await.status, 303);
    let page = tess.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.count("#shared-note"), 1);
    assert_eq!(page.count("#keep") + page.count("#share") + page.count("#delete"), 0, "read-only");
    let media = page.attr_of("img.player", "src").expect("the image");
    assert_eq!(tess.get(&media).await.status, 200, "the media opens too");
    // a teammate may not change or delete it
    assert_eq!(tess.post_form(&format!("/generations/{id}/keep"), &[]).await.status, 404);
    assert_eq!(tess.post_form(&format!("/generations/{id}/delete"), &[]).await.status, 404);
    // settings can be reused, without the owner's reference uploads
    let form = tess.get(&format!("/generate?from={id}")).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.text_of("#prompt"), "a copper teapot");

    assert_eq!(admin.post_form(&format!("/generations/{id}/unshare"), &[]).await.status, 303);
    assert_eq!(tess.get(&format!("/generations/{id}")).await.status, 404);
}

#[tokio::test]
async fn library_delete_asks_first_then_removes_it_and_returns_to_the_library() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a glass of water").await;
    let confirm = admin.get(&format!("/generations/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.count("#confirm-delete"), 1);
    let done = admin.post_form(&format!("/generations/{id}/delete"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some("/library"));
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.status, 404);
    assert_eq!(admin.post_form(&format!("/generations/{id}/delete"), &[]).await.status, 404, "already gone");
}

#[tokio::test]
async fn library_use_these_settings_again_prefills_the_form_and_a_variation_clears_the_seed() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let body = serde_json::json!({"model": "demo-video", "prompt": "waves on a pier", "params": {"duration": 2, "seed": 42}});
    let created = api_post(&app.url, "/api/v1/generations", &token, body).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    wait_terminal(&app.url, &token, &id).await;
    let page = admin.get(&format!("/generations/{id}")).await;
    let reuse = page.attr_of("#reuse", "href").unwrap();
    let form = admin.get(&reuse).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.text_of("#prompt"), "waves on a pier");
    assert_eq!(form.attr_of("#param-seed", "value").as_deref(), Some("42"));
    assert_eq!(form.attr_of("#param-duration option[selected]", "value").as_deref(), Some("2"));
    assert_eq!(form.attr_of("input[name=model]", "value").as_deref(), Some("demo-video"));
    let variation = admin.get(&page.attr_of("#variation", "href").unwrap()).await;
    assert_eq!(variation.attr_of("#param-seed", "value").as_deref(), Some(""));
    assert_eq!(variation.text_of("#prompt"), "waves on a pier");
    assert_eq!(admin.get("/generate?from=nonsense").await.status, 400);
}
