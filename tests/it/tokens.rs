//! Personal API tokens: created in the UI, shown once, used as Bearer, revoked.

use crate::support::{ADMIN_EMAIL, TestApp, api_get};

#[tokio::test]
async fn a_token_is_shown_once_authenticates_the_api_and_stops_when_revoked() {
    let (app, admin) = TestApp::with_admin().await;
    let created = admin.post_form("/account/tokens", &[("name", "laptop script"), ("expires", "30")]).await;
    assert_eq!(created.status, 200);
    let secret = created.text_of("#new-token");
    assert!(secret.starts_with("rv_") && secret.len() > 40, "{secret}");

    let listing = admin.get("/account/tokens").await;
    assert!(!listing.body.contains(&secret), "never shown again");
    assert!(listing.body.contains("laptop script"));
    assert!(listing.body.contains(&secret[..7]), "the prefix tells tokens apart");

    let me = api_get(&app.url, "/api/v1/me", Some(&secret)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["name"], "Ada Admin");
    assert!(me["id"].as_str().is_some_and(|id| id.len() == 26));
    // a run of requests (the later ones answered from what the earlier ones proved) ...
    for _ in 0..3 {
        assert_eq!(api_get(&app.url, "/api/v1/me", Some(&secret)).await.status, 200);
    }

    let html = scraper::Html::parse_document(&listing.body);
    let sel = scraper::Selector::parse("form[action$='/revoke']").unwrap();
    let action = html.select(&sel).next().unwrap().value().attr("action").unwrap().to_string();
    assert_eq!(admin.post_form(&action, &[]).await.status, 303);
    let refused = api_get(&app.url, "/api/v1/me", Some(&secret)).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["code"], "auth.invalid_token");
    assert!(admin.get("/account/tokens").await.body.contains("revoked"));
    app.stop().await;
}

#[tokio::test]
async fn the_api_refuses_missing_malformed_and_unknown_credentials_with_json() {
    let (app, admin) = TestApp::with_admin().await;
    let none = api_get(&app.url, "/api/v1/me", None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["code"], "auth.required");
    let junk = api_get(&app.url, "/api/v1/me", Some("definitely-not-a-token")).await;
    assert_eq!(junk.status, 401);
    let forged = api_get(&app.url, "/api/v1/me", Some("rv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(forged.status, 401);
    let client = reqwest::Client::new();
    let basic = client.get(format!("{}/api/v1/me", app.url)).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
    assert_eq!(basic.status(), 401);
    // a signed-in browser may use the API with its session
    let me = admin.get("/api/v1/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["email"], ADMIN_EMAIL);
    app.stop().await;
}

#[tokio::test]
async fn token_names_and_expiry_are_validated_and_disabled_owners_lose_access() {
    let (app, admin) = TestApp::with_admin().await;
    let nameless = admin.post_form("/account/tokens", &[("name", "  "), ("expires", "30")]).await;
    assert_eq!(nameless.status, 422);
    let bad_expiry = admin.post_form("/account/tokens", &[("name", "x"), ("expires", "-4")]).await;
    assert_eq!(bad_expiry.status, 422);

    let member = app.invite_member(&admin, "mia@example.com", "member password 1").await;
    let secret = member.post_form("/account/tokens", &[("name", "ci"), ("expires", "never")]).await.text_of("#new-token");
    for _ in 0..3 {
        assert_eq!(api_get(&app.url, "/api/v1/me", Some(&secret)).await.status, 200);
    }
    let users = admin.get("/admin/users").await;
    let action = users.row_action("mia@example.com", "form[action$='/status']");
    assert_eq!(admin.post_form(&action, &[("disabled", "true")]).await.status, 303);
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&secret)).await.status, 401);
    assert_eq!(admin.post_form(&action, &[("disabled", "false")]).await.status, 303);
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&secret)).await.status, 200);
    app.stop().await;
}
