//! Bad input of every kind: a clear error with the right status, never a 500.

use crate::support::{Browser, TestApp};

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_clear_errors_in_the_right_format() {
    let (app, admin) = TestApp::with_admin().await;
    let page = admin.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.body.contains("There is nothing at this address"));

    let api = admin.get("/api/v1/nothing-here").await;
    assert_eq!(api.status, 404);
    assert_eq!(api.json()["code"], "not_found");
    assert!(api.json()["message"].is_string());

    let token = admin.csrf_token().await;
    let wrong = admin.post_raw("/healthz", &[("csrf_token", token.as_str())], &[]).await;
    assert_eq!(wrong.status, 405);
    assert!(wrong.body.contains("is not allowed here"));
    let get_logout = admin.get("/logout").await;
    assert_eq!(get_logout.status, 405);
    let r = reqwest::Client::new().delete(format!("{}/api/v1/me", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    app.stop().await;
}

#[tokio::test]
async fn malformed_ids_tokens_and_cookies_are_refused_cleanly() {
    let (app, admin) = TestApp::with_admin().await;
    for path in [
        "/account/sessions/not-an-id/revoke",
        "/account/tokens/%00%ff/revoke",
        "/admin/users/../../etc/role",
        "/admin/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/reset",
    ] {
        let page = admin.post_form(path, &[("role", "admin"), ("disabled", "true")]).await;
        assert!(page.status == 404 || page.status == 405, "{path}: {}", page.status);
    }
    for path in ["/invite/short", "/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/reset/%FF%FE", "/setup/"] {
        let page = app.browser().get(path).await;
        assert_eq!(page.status, 404, "{path}");
    }
    // junk session cookies lead to the sign-in page, not an error
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for junk in [
        "rv_session=",
        "rv_session=%%%",
        "rv_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &format!("rv_session={}", "x".repeat(5000)),
    ] {
        let r = client.get(format!("{}/account", app.url)).header("cookie", junk).send().await.unwrap();
        assert_eq!(r.status(), 303, "{junk}");
    }
    // malformed query strings
    let q = admin.get("/admin/audit?from=yesterday").await;
    assert_eq!(q.status, 400);
    let q = admin.get("/admin/audit?before=%%%").await;
    assert_eq!(q.status, 400);
    let q = admin.get("/admin/audit?action=rm.rf").await;
    assert_eq!(q.status, 400);
    app.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_and_nothing_is_lost() {
    let (app, admin) = TestApp::with_admin().await;
    let token = admin.csrf_token().await;
    let url = format!("{}/account/profile", app.url);
    let huge = "n".repeat(200 * 1024);
    let r = admin.client.post(&url).form(&[("csrf_token", token.as_str()), ("name", huge.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let r =
        admin.client.post(&url).header("content-type", "application/json").header("x-csrf-token", &token).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 415);
    let long_name = "x".repeat(150);
    let r = admin.post_form("/account/profile", &[("name", long_name.as_str())]).await;
    assert_eq!(r.status, 422);
    let control = admin.post_form("/account/profile", &[("name", "bad\u{0007}name")]).await;
    assert_eq!(control.status, 422);
    let (_, account) = admin.visit("/account").await;
    assert!(account.body.contains("Ada Admin"), "the stored profile is untouched");
    app.stop().await;
}

#[tokio::test]
async fn members_get_403_on_admin_pages() {
    let (app, admin) = TestApp::with_admin().await;
    let member: Browser = app.invite_member(&admin, "max@example.com", "member password 1").await;
    let page = member.get("/admin/users").await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("Only admins may do this"));
    assert_eq!(member.get("/admin/audit").await.status, 403);
    let invite = member.post_form("/admin/invitations", &[("email", "x@example.com"), ("role", "admin")]).await;
    assert_eq!(invite.status, 403);
    app.stop().await;
}
