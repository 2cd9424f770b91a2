//! `/api/v1` as a whole: its OpenAPI document and docs page, one error body for every refusal
//! (extractors included), the credit ledger, multipart generation requests and the admin API.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Browser, Page, TestApp, api_get};
use crate::support::{api_multipart, app_with_credits, client, wait_terminal};
use crate::uploads::jpeg_with_gps;

/// Any request with a bearer token.
async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Page {
    let mut request = client().request(method, format!("{}{path}", app.url)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Browser::read(request.send().await.unwrap()).await
}

/// The one error body, with the code asked for.
fn assert_error(page: &Page, status: u16, code: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(page.header("content-type").unwrap_or("").starts_with("application/json"), "{:?}", page.header("content-type"));
    let body = page.json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["code", "details", "message"], "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn the_openapi_document_and_its_page_describe_the_api() {
    let app = TestApp::start().await;
    let doc = api_get(&app.url, "/api/v1/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/v1/generations", "/api/v1/credits/ledger", "/api/v1/admin/users", "/api/v1/admin/audit"] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(doc["components"]["schemas"]["ErrorBody"]["required"], json!(["code", "message", "details"]));
    let create = &doc["paths"]["/api/v1/generations"]["post"]["requestBody"]["content"];
    assert!(create["application/json"].is_object() && create["multipart/form-data"].is_object());

    let page = app.browser().get("/api/docs").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert!(page.count("script:not([src])") == 0, "no inline scripts");
    assert!(page.count("section.api-tag") >= 5, "operations grouped by tag");
    assert!(page.text_of("#op-credits_ledger").contains("/api/v1/credits/ledger"));
    assert!(page.text_of("#op-generations_create").contains("multipart/form-data"));
    assert!(page.text_of("#op-admin_users_invite").contains("ErrorBody"));
}

#[tokio::test]
async fn every_refusal_under_api_v1_is_the_one_error_body() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let c = client();
    let url = |p: &str| format!("{}{p}", app.url);
    // authentication
    assert_error(&api_get(&app.url, "/api/v1/me", None).await, 401, "auth.required");
    assert_error(&api_get(&app.url, "/api/v1/me", Some("rv_nope")).await, 401, "auth.invalid_token");
    // unknown routes and methods
    assert_error(&api_get(&app.url, "/api/v1/nothing/here", Some(&token)).await, 404, "not_found");
    assert_error(&call(&app, Method::PUT, "/api/v1/me", &token, None).await, 405, "method_not_allowed");
    // bad path ids
    assert_error(&api_get(&app.url, "/api/v1/generations/not-an-id", Some(&token)).await, 404, "not_found");
    assert_error(&call(&app, Method::PATCH, "/api/v1/admin/users/nobody", &token, Some(json!({}))).await, 404, "not_found");
    // bad query strings
    assert_error(&api_get(&app.url, "/api/v1/credits/ledger?limit=ten", Some(&token)).await, 400, "bad_request");
    assert_error(&api_get(&app.url, "/api/v1/credits/ledger?limit=0", Some(&token)).await, 400, "invalid_parameter");
    assert_error(&api_get(&app.url, "/api/v1/admin/audit?from=yesterday", Some(&token)).await, 400, "bad_request");
    // bad bodies: malformed JSON, the wrong content type, unknown fields
    let r = Browser::read(
        c.post(url("/api/v1/generations")).bearer_auth(&token).header("content-type", "application/json").body("{").send().await.unwrap(),
    )
    .await;
    assert_error(&r, 400, "bad_request");
    let r = Browser::read(
        c.post(url("/api/v1/generations")).bearer_auth(&token).header("content-type", "text/plain").body("x").send().await.unwrap(),
    )
    .await;
    assert_error(&r, 415, "request.content_type");
    let r = call(&app, Method::PUT, "/api/v1/admin/data-use", &token, Some(json!({"forbid_training": true, "colour": 1}))).await;
    assert_error(&r, 400, "bad_request");
}

#[tokio::test]
async fn the_ledger_lists_my_credit_movements_newest_first_a_page_at_a_time() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let created =
        call(&app, Method::POST, "/api/v1/generations", &token, Some(json!({"model": "demo-image", "prompt": "a red kite"}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(created.header("location"), Some(format!("/api/v1/generations/{id}").as_str()));
    assert_eq!(wait_terminal(&app.url, &token, &id).await["state"], "succeeded");

    let all = api_get(&app.url, "/api/v1/credits/ledger", Some(&token)).await.json();
    let kinds: Vec<&str> = all["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["settle", "hold", "grant"], "{all}");
    assert_eq!(all["entries"][2]["available_delta"], 100);
    assert_eq!(all["entries"][0]["generation"], id.as_str());
    assert!(all["next_cursor"].is_null());

    let mut seen = Vec::new();
    let mut path = "/api/v1/credits/ledger?limit=1".to_string();
    loop {
        let page = api_get(&app.url, &path, Some(&token)).await.json();
        assert_eq!(page["entries"].as_array().unwrap().len(), 1, "{page}");
        seen.push(page["entries"][0]["id"].as_str().unwrap().to_string());
        match page["next_cursor"].as_str() {
            Some(next) => path = format!("/api/v1/credits/ledger?limit=1&cursor={next}"),
            None => break,
        }
    }
    let expected: Vec<String> = all["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(seen, expected);
    assert_error(&api_get(&app.url, "/api/v1/credits/ledger?cursor=nope", Some(&token)).await, 400, "invalid_parameter");
}

#[tokio::test]
async fn a_generation_can_be_requested_as_multipart_with_its_reference_files() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let form = reqwest::multipart::Form::new()
        .text("model", "demo-video")
        .text("prompt", "a paper boat")
        .text("params", r#"{"duration": 2, "seed": 3}"#)
        .text("seed", "9")
        .part("first_frame", reqwest::multipart::Part::bytes(jpeg_with_gps()).file_name("first.jpg"));
    let r = api_multipart(&app.url, "/api/v1/generations", &token, form).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = r.json();
    assert_eq!(g["params"]["duration"], 2);
    assert_eq!(g["params"]["seed"], 9, "a part named after a parameter wins over `params`");
    assert_eq!(g["references"][0]["role"], "first_frame");
    let upload = g["references"][0]["upload"].as_str().unwrap();
    assert_eq!(upload.len(), 26);

    // a file part that is not a role, and a role the model does not take
    for (part, status, code, parameter) in
        [("picture", 400, "invalid_parameter", Some("picture")), ("reference", 422, "invalid_input", None)]
    {
        let photo = reqwest::multipart::Part::bytes(jpeg_with_gps()).file_name("p.jpg");
        let form = reqwest::multipart::Form::new().text("model", "demo-video").text("prompt", "x").part(part, photo);
        let r = api_multipart(&app.url, "/api/v1/generations", &token, form).await;
        assert_error(&r, status, code);
        if let Some(parameter) = parameter {
            assert_eq!(r.json()["details"]["parameter"], parameter);
        }
    }
    let form = reqwest::multipart::Form::new().text("model", "demo-video").text("prompt", "x").text("params", "[1]");
    let r = api_multipart(&app.url, "/api/v1/generations", &token, form).await;
    assert_error(&r, 400, "invalid_parameter");
}

/// A member of `app` (invited by `admin`) and their API token.
async fn member_token(app: &TestApp, admin: &Browser) -> (Browser, String) {
    let member = app.invite_member(admin, "mo@example.com", "member password 1").await;
    let token = member.post_form("/account/tokens", &[("name", "m"), ("expires", "30")]).await.text_of("#new-token");
    (member, token)
}

#[tokio::test]
async fn admins_manage_people_credits_and_holds_through_the_api_and_members_cannot() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token) = member_token(&app, &admin).await;
    for (method, path) in [
        (Method::GET, "/api/v1/admin/users"),
        (Method::GET, "/api/v1/admin/connections"),
        (Method::GET, "/api/v1/admin/models"),
        (Method::GET, "/api/v1/admin/audit"),
        (Method::GET, "/api/v1/admin/retention"),
        (Method::PUT, "/api/v1/admin/data-use"),
    ] {
        let body = (method == Method::PUT).then(|| json!({"forbid_training": true}));
        assert_error(&call(&app, method, path, &member_token, body).await, 403, "auth.admin_only");
    }

    let users = api_get(&app.url, "/api/v1/admin/users", Some(&token)).await.json();
    let member = users["users"].as_array().unwrap().iter().find(|u| u["email"] == "mo@example.com").unwrap().clone();
    let id = member["id"].as_str().unwrap();
    assert_eq!(member["role"], "member");
    assert_eq!(member["credits"], json!({"available": 0, "held": 0}));

    let invited =
        call(&app, Method::POST, "/api/v1/admin/users", &token, Some(json!({"email": "new@example.com", "role": "member"}))).await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    assert!(invited.json()["url"].as_str().unwrap().starts_with(&format!("{}/invite/", app.url)), "{}", invited.body);
    let again = call(&app, Method::POST, "/api/v1/admin/users", &token, Some(json!({"email": "mo@example.com", "role": "member"}))).await;
    assert_error(&again, 409, "user.email_taken");

    let path = format!("/api/v1/admin/users/{id}");
    let changed = call(&app, Method::PATCH, &path, &token, Some(json!({"role": "admin", "frozen": true, "legal_hold": true}))).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let changed = changed.json();
    assert_eq!(
        (changed["role"].as_str(), changed["frozen"].as_bool(), changed["legal_hold"].as_bool()),
        (Some("admin"), Some(true), Some(true))
    );
    assert_error(&call(&app, Method::PATCH, &path, &token, Some(json!({"role": "owner"}))).await, 422, "invalid_input");
    let disabled = call(&app, Method::PATCH, &path, &token, Some(json!({"disabled": true}))).await.json();
    assert_eq!(disabled["disabled"], true);
    assert_error(&api_get(&app.url, "/api/v1/me", Some(&member_token)).await, 401, "auth.invalid_token");

    let granted = call(&app, Method::POST, &format!("{path}/credits"), &token, Some(json!({"amount": 25, "note": "welcome"}))).await;
    assert_eq!(granted.json(), json!({"available": 25, "held": 0}));
    assert_error(&call(&app, Method::POST, &format!("{path}/credits"), &token, Some(json!({"amount": -26}))).await, 422, "credits.invalid");
    let reset = call(&app, Method::POST, &format!("{path}/reset-link"), &token, None).await;
    assert_eq!(reset.status, 201, "{}", reset.body);

    let hold =
        call(&app, Method::PUT, "/api/v1/admin/generations/01JD0000000000000000000000/hold", &token, Some(json!({"hold": true}))).await;
    assert_error(&hold, 404, "not_found");

    let audit = api_get(&app.url, "/api/v1/admin/audit?action=credits.granted&limit=5", Some(&token)).await.json();
    let events = audit["events"].as_array().unwrap();
    assert!(!events.is_empty() && events.iter().all(|e| e["action"] == "credits.granted"), "{audit}");
    assert_eq!(events[0]["target"], "mo@example.com");
    assert_eq!(events[0]["detail"], "+25 credits");
}

#[tokio::test]
async fn admins_manage_connections_model_policy_data_use_and_retention_through_the_api() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let list = api_get(&app.url, "/api/v1/admin/connections", Some(&token)).await.json();
    assert_eq!(list["connections"][0]["name"], "demo");
    assert_eq!(list["connections"][0]["source"], "config");
    let tested = call(&app, Method::POST, "/api/v1/admin/connections/demo/test", &token, None).await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert_error(&call(&app, Method::DELETE, "/api/v1/admin/connections/demo", &token, None).await, 409, "conflict");
    let added = call(
        &app,
        Method::POST,
        "/api/v1/admin/connections",
        &token,
        Some(json!({"name": "bfl-main", "kind": "bfl", "api_key": "sk-test-1234"})),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let row = added.json()["connections"].as_array().unwrap().iter().find(|c| c["name"] == "bfl-main").unwrap().clone();
    assert_eq!(row["key"], "••••1234");
    assert!(!added.body.contains("sk-test-1234"));
    assert_eq!(call(&app, Method::DELETE, "/api/v1/admin/connections/bfl-main", &token, None).await.status, 204);
    let with_query = json!({"name": "bfl-q", "kind": "bfl", "base_url": "https://gw.example/bfl?region=eu", "api_key": "sk-test-1234"});
    let refused = call(&app, Method::POST, "/api/v1/admin/connections", &token, Some(with_query)).await;
    assert_error(&refused, 422, "invalid_input");
    assert!(refused.json()["message"].as_str().unwrap_or_default().contains("query"), "{}", refused.body);

    let saved = call(
        &app,
        Method::PUT,
        "/api/v1/admin/models/demo-image",
        &token,
        Some(json!({"enabled_for_admins": true, "enabled_for_members": false, "credits": 7})),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let saved = saved.json();
    assert_eq!((saved["enabled_for_members"].as_bool(), saved["credits"].as_u64()), (Some(false), Some(7)));
    assert_eq!(saved["price"]["credits"], 7);
    let models = api_get(&app.url, "/api/v1/models", Some(&token)).await.json();
    let demo = models["models"].as_array().unwrap().iter().find(|m| m["id"] == "demo-image").unwrap().clone();
    assert_eq!(demo["price"]["credits"], 7);
    assert_error(
        &call(
            &app,
            Method::PUT,
            "/api/v1/admin/models/no-such-model",
            &token,
            Some(json!({"enabled_for_admins": true, "enabled_for_members": true})),
        )
        .await,
        404,
        "not_found",
    );

    let set = call(&app, Method::PUT, "/api/v1/admin/data-use", &token, Some(json!({"forbid_training": true}))).await;
    assert_eq!(set.json(), json!({"forbid_training": true}));
    assert_eq!(api_get(&app.url, "/api/v1/admin/data-use", Some(&token)).await.json(), json!({"forbid_training": true}));

    let retention = api_get(&app.url, "/api/v1/admin/retention?at=2099-01-01T00:00:00Z", Some(&token)).await;
    assert_eq!(retention.status, 200, "{}", retention.body);
    assert_eq!(retention.json()["periods"]["outputs"], "180d");
    assert_eq!(call(&app, Method::POST, "/api/v1/admin/retention/run", &token, None).await.status, 202);
    assert_error(&api_get(&app.url, "/api/v1/admin/retention?at=soon", Some(&token)).await, 400, "invalid_parameter");
}
