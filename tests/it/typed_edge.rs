//! The typed edge: ids in paths are parsed once, so a malformed one is "not found" in the
//! error shape of its path (HTML page, `/api/v1` JSON, OpenAI JSON under `/v1`), never 400 or
//! 500; flag and bulk actions are a fixed set, and any other word is refused clearly.

use reqwest::Method;

use crate::support::{Browser, Page, TestApp};

/// A request with a bearer token.
async fn scripted(app: &TestApp, method: Method, path: &str, token: &str) -> Page {
    reelvault::providers::http::install_crypto_provider();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let request = client.request(method, format!("{}{path}", app.url)).bearer_auth(token).json(&serde_json::json!({}));
    Browser::read(request.send().await.unwrap()).await
}

fn is_html_not_found(page: &Page) -> bool {
    page.status == 404
        && page.header("content-type").is_some_and(|t| t.starts_with("text/html"))
        && page.body.contains("There is nothing at this address")
}

fn is_json_not_found(page: &Page) -> bool {
    page.status == 404
        && page.header("content-type").is_some_and(|t| t.starts_with("application/json"))
        && page.json()["code"] == "not_found"
}

fn is_openai_not_found(page: &Page) -> bool {
    page.status == 404
        && page.json()["error"]["type"] == "invalid_request_error"
        && page.json()["error"]["code"] == "not_found"
        && page.json()["error"]["message"].as_str().is_some_and(|m| !m.is_empty())
}

#[tokio::test]
async fn a_malformed_id_in_any_kind_of_path_is_not_found_in_that_paths_error_shape() {
    let (app, admin) = TestApp::with_admin().await;
    let token = admin.post_form("/account/tokens", &[("name", "edge"), ("expires", "30")]).await.text_of("#new-token");
    assert!(!token.is_empty());
    let malformed = ["not-an-id", "01ARZ3NDEKTSV4RRFFQ69G5FAVX", "%00%ff", "..%2F..%2Fetc"];
    for id in malformed {
        for path in [format!("/generations/{id}"), format!("/generations/{id}/delete"), format!("/account/webhooks/{id}")] {
            let page = admin.get(&path).await;
            assert!(is_html_not_found(&page), "GET {path}: {} {}", page.status, page.body);
        }
        for path in [
            format!("/generations/{id}/keep"),
            format!("/generations/{id}/cancel"),
            format!("/account/tokens/{id}/revoke"),
            format!("/account/sessions/{id}/revoke"),
            format!("/admin/users/{id}/credits"),
            format!("/admin/generations/{id}/hold"),
        ] {
            let page = admin.post_form(&path, &[("amount", "5"), ("hold", "true")]).await;
            assert!(is_html_not_found(&page), "POST {path}: {} {}", page.status, page.body);
        }
        for (method, path) in [
            (Method::GET, format!("/api/v1/generations/{id}")),
            (Method::POST, format!("/api/v1/generations/{id}/share")),
            (Method::DELETE, format!("/api/v1/webhooks/{id}")),
            (Method::PATCH, format!("/api/v1/admin/users/{id}")),
            (Method::DELETE, format!("/api/v1/admin/models/demo-image/overrides/{id}")),
        ] {
            let page = scripted(&app, method.clone(), &path, &token).await;
            assert!(is_json_not_found(&page), "{method} {path}: {} {}", page.status, page.body);
        }
        for (method, path) in [(Method::GET, format!("/v1/videos/{id}")), (Method::GET, format!("/v1/videos/{id}/content"))] {
            let page = scripted(&app, method.clone(), &path, &token).await;
            assert!(is_openai_not_found(&page), "{method} {path}: {} {}", page.status, page.body);
        }
        let media = admin.get(&format!("/media/{id}?exp=1&sig=x")).await;
        assert!(is_html_not_found(&media), "/media/{id}: {} {}", media.status, media.body);
    }
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_flag_or_bulk_action_is_refused_with_a_clear_error() {
    let (app, admin) = TestApp::with_admin().await;
    let token = admin.post_form("/account/tokens", &[("name", "edge"), ("expires", "30")]).await.text_of("#new-token");
    let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let page = admin.post_form(&format!("/generations/{id}/frobnicate"), &[]).await;
    assert!(is_html_not_found(&page), "{} {}", page.status, page.body);
    let page = scripted(&app, Method::POST, &format!("/api/v1/generations/{id}/frobnicate"), &token).await;
    assert!(is_json_not_found(&page), "{} {}", page.status, page.body);

    for action in ["frobnicate", "KEEP", ""] {
        let page = admin.post_form("/library/bulk", &[("action", action), ("id", id)]).await;
        assert_eq!(page.status, 400, "{action:?}: {}", page.body);
        assert!(page.body.contains("action must be keep, unkeep, delete or zip."), "{action:?}: {}", page.body);
    }
    app.stop().await;
}
