//! Limits per API token: requests per minute (429 with Retry-After, per token, refilling)
//! and unfinished generations (refused before anything is held), sessions unaffected.

use std::time::Duration;

use crate::support::generate;
use crate::support::{TestApp, api_get};
use crate::support::{admin_with_credits, credits, wait_terminal};

#[tokio::test]
async fn a_token_over_its_requests_per_minute_gets_429_and_others_and_sessions_do_not() {
    let app = TestApp::start_with(|c| c.api.requests_per_minute = 3).await;
    let (admin, first) = admin_with_credits(&app, 10).await;
    let second = admin.post_form("/account/tokens", &[("name", "other"), ("expires", "30")]).await.text_of("#new-token");

    for n in 0..3 {
        let me = api_get(&app.url, "/api/v1/me", Some(&first)).await;
        assert_eq!(me.status, 200, "request {n}: {}", me.body);
    }
    let refused = api_get(&app.url, "/api/v1/me", Some(&first)).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let retry_after: u64 = refused.header("retry-after").expect("Retry-After").parse().expect("whole seconds");
    assert!((1..=20).contains(&retry_after), "one request comes back every 20 s: {retry_after}");
    let body = refused.json();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["details"]["limit"], 3);
    assert_eq!(body["details"]["retry_after"], retry_after);
    assert!(body["message"].as_str().unwrap().contains("3 requests per minute"), "{body}");

    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&second)).await.status, 200, "another token has its own bucket");
    for _ in 0..5 {
        assert_eq!(admin.get("/api/v1/me").await.status, 200, "browser sessions are not limited");
    }

    // the bucket refills: a third of a minute gives one request back, a minute all three
    app.running.state.rate_limits.skip(Duration::from_secs(retry_after));
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&first)).await.status, 200);
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&first)).await.status, 429);
    app.running.state.rate_limits.skip(Duration::from_secs(60));
    for _ in 0..3 {
        assert_eq!(api_get(&app.url, "/api/v1/me", Some(&first)).await.status, 200);
    }
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&first)).await.status, 429);
    app.stop().await;
}

#[tokio::test]
async fn a_token_at_its_concurrent_jobs_is_refused_before_anything_is_held() {
    let app = TestApp::start_with(|c| {
        c.api.concurrent_jobs = 2;
        c.connection[0].delay = Duration::from_millis(1500);
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 100).await;
    let submit = || generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a red kite"}));
    let first = submit().await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(submit().await.status, 201);
    let held = credits(&app.url, &token).await;

    let refused = submit().await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("5"));
    let body = refused.json();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["details"]["limit"], 2);
    assert_eq!(credits(&app.url, &token).await, held, "nothing was held for the refused job");

    // the same person's other token is counted apart
    let other = admin.post_form("/account/tokens", &[("name", "second script"), ("expires", "30")]).await.text_of("#new-token");
    let on_other = generate(&app.url, &other, serde_json::json!({"model": "demo-image", "prompt": "b"})).await;
    assert_eq!(on_other.status, 201, "another token has its own places: {}", on_other.body);

    let id = first.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, &token, &id).await["state"], "succeeded");
    let after = submit().await;
    assert_eq!(after.status, 201, "a finished job frees its place: {}", after.body);
    app.stop().await;
}

#[tokio::test]
async fn a_token_made_with_its_own_limits_keeps_them_across_a_restart() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::from_millis(1500)).await;
    let (admin, _default) = admin_with_credits(&app, 100).await;
    let bad = admin.post_form("/account/tokens", &[("name", "x"), ("expires", "30"), ("requests_per_minute", "0")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.text_of("[role=alert]").to_lowercase().contains("requests per minute"), "{}", bad.body);
    let page = admin
        .post_form("/account/tokens", &[("name", "slow"), ("expires", "30"), ("requests_per_minute", "2"), ("concurrent_jobs", "1")])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let token = page.text_of("#new-token");
    assert!(page.body.contains("2/min, 1 at once"), "the list shows the token's limits");

    let first = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a kite"})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let second = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a kite"})).await;
    assert_eq!(second.status, 429, "one job at once: {}", second.body);
    assert_eq!(second.json()["details"]["limit"], 1);
    let app = app.restart().await;
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&token)).await.status, 200);
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&token)).await.status, 200);
    let third = api_get(&app.url, "/api/v1/me", Some(&token)).await;
    assert_eq!(third.status, 429, "two requests a minute, stored with the token: {}", third.body);
    assert_eq!(third.json()["details"]["limit"], 2);
    app.stop().await;
}

#[tokio::test]
async fn a_synchronous_image_call_holds_its_place_and_its_credits_until_it_answers() {
    let app = TestApp::start_with(|c| {
        c.api.concurrent_jobs = 1;
        c.connection[0].delay = Duration::from_secs(4);
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 1000).await;
    let image = serde_json::json!({"model": "demo-image", "prompt": "a red kite"});
    let (before, _) = credits(&app.url, &token).await;
    assert_eq!(sync_image(&app.url, &token, image.clone()).await.0, 200);
    let (after, _) = credits(&app.url, &token).await;
    let price = before - after;
    assert!(price > 0);
    // leave the person one image (and a half, where that is a credit)
    let me = api_get(&app.url, "/api/v1/me", Some(&token)).await.json();
    let keep = price + price / 2;
    let taken = crate::support::api_post(
        &app.url,
        &format!("/api/v1/admin/users/{}/credits", me["id"].as_str().unwrap()),
        &token,
        serde_json::json!({"amount": keep - after}),
    )
    .await;
    assert!(taken.status < 400, "{}", taken.body);
    assert_eq!(credits(&app.url, &token).await, (keep, 0));

    let first = {
        let (url, token, image) = (app.url.clone(), token.clone(), image.clone());
        tokio::spawn(async move { sync_image(&url, &token, image).await })
    };
    // the first call is with the provider for four seconds
    tokio::time::sleep(Duration::from_secs(1)).await;
    let same_token = sync_image(&app.url, &token, image.clone()).await;
    assert_eq!(same_token.0, 429, "the running call has the token's only place: {}", same_token.1);
    let other = admin.post_form("/account/tokens", &[("name", "second script"), ("expires", "30")]).await.text_of("#new-token");
    let other_token = sync_image(&app.url, &other, image.clone()).await;
    // OpenAI's clients know a lack of credits as 429 insufficient_quota
    assert_eq!(other_token.0, 429, "{}", other_token.1);
    assert!(other_token.1.contains("insufficient_quota"), "the running call's credits are spoken for: {}", other_token.1);

    let (status, body) = first.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(credits(&app.url, &token).await, (keep - price, 0), "charged once, nothing left held");
    app.stop().await;
}

/// `POST /v1/images/generations`: its status and body.
async fn sync_image(base: &str, token: &str, body: serde_json::Value) -> (u16, String) {
    let response =
        crate::support::client().post(format!("{base}/v1/images/generations")).bearer_auth(token).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}
