//! Outbound webhooks against a real receiver on 127.0.0.1: registration (API and page),
//! signed completion events, retries with backoff and the delivery log, giving up, the
//! private-address guard, isolation between people, and resuming after a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::Config;
use reelvault::domain::standard_webhooks;

use crate::support::{Browser, TestApp, api_get};
use crate::support::{admin_with_credits, api_post, wait_terminal};

/// Private receivers allowed, quick retries, quick demo jobs.
fn quick(c: &mut Config) {
    c.webhooks.allow_private_network = true;
    c.webhooks.retry_base = Duration::from_millis(100);
    c.connection[0].delay = Duration::from_millis(200);
}

async fn api_delete(base: &str, path: &str, token: &str) -> u16 {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    client.delete(format!("{base}{path}")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

/// Registers `url` through the API; returns (id, secret).
async fn register(app: &TestApp, token: &str, url: &str) -> (String, String) {
    let created = api_post(&app.url, "/api/v1/webhooks", token, serde_json::json!({"url": url, "description": "tests"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let hook = created.json();
    (hook["id"].as_str().unwrap().to_string(), hook["secret"].as_str().unwrap().to_string())
}

async fn generate(app: &TestApp, token: &str) -> String {
    let g = crate::support::generate(&app.url, token, serde_json::json!({"model": "demo-image", "prompt": "a red kite"})).await;
    assert_eq!(g.status, 201, "{}", g.body);
    g.json()["id"].as_str().unwrap().to_string()
}

/// Waits (at most 20 s) until the delivery log's newest entry is no longer pending.
async fn settled_log(app: &TestApp, token: &str, hook: &str) -> serde_json::Value {
    for _ in 0..200 {
        let log = api_get(&app.url, &format!("/api/v1/webhooks/{hook}/deliveries"), Some(token)).await.json();
        if log["deliveries"][0]["state"].as_str().is_some_and(|s| s != "pending") {
            return log["deliveries"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery did not settle");
}

fn statuses(delivery: &serde_json::Value) -> Vec<Option<u64>> {
    delivery["attempts"].as_array().unwrap().iter().map(|a| a["status"].as_u64()).collect()
}

/// Checks a received request's signature the way a receiver would.
fn verify(request: &Request, secret: &str) -> Result<(), standard_webhooks::SignatureError> {
    let key = standard_webhooks::secret_key(secret).expect("a whsec_ secret");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    standard_webhooks::verify(
        &key,
        request.header("webhook-id").expect("webhook-id"),
        request.header("webhook-timestamp").expect("webhook-timestamp"),
        request.header("webhook-signature").expect("webhook-signature"),
        &request.body,
        now,
        Duration::from_secs(300),
    )
}

#[tokio::test]
async fn a_finished_generation_is_posted_once_signed_and_logged() {
    let receiver = FakeUpstream::start(|_| Reply::status(204)).await;
    let app = TestApp::start_with(quick).await;
    let (admin, token) = admin_with_credits(&app, 10).await;
    let (hook, secret) = register(&app, &token, receiver.at("/events").as_str()).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let listed = api_get(&app.url, "/api/v1/webhooks", Some(&token)).await.json();
    assert_eq!(listed["webhooks"][0]["id"], hook.as_str());
    assert!(listed["webhooks"][0].get("secret").is_none(), "the secret is shown once: {listed}");
    assert!(!listed.to_string().contains(&secret[6..]));

    let id = generate(&app, &token).await;
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "succeeded");
    assert!(receiver.wait_until(Duration::from_secs(10), |r| !r.is_empty()).await, "the receiver was called");
    let delivery = settled_log(&app, &token, &hook).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.requests();
    assert_eq!(received.len(), 1, "exactly one POST");
    let request = &received[0];
    assert_eq!(request.route(), "POST /events");
    assert_eq!(request.header("content-type"), Some("application/json"));
    verify(request, &secret).expect("the signature verifies with the secret");
    let mut tampered = request.clone();
    tampered.body = bytes::Bytes::from(String::from_utf8_lossy(&request.body).replace("succeeded", "failed"));
    assert!(verify(&tampered, &secret).is_err(), "a changed body does not verify");

    let body = request.json();
    assert_eq!(body["type"], "generation.succeeded");
    assert_eq!(body["id"], request.header("webhook-id").unwrap());
    assert_eq!(body["id"], delivery["id"]);
    assert_eq!(body["data"]["id"], id.as_str());
    assert_eq!(body["data"]["model"], "demo-image");
    assert_eq!(body["data"]["state"], "succeeded");
    assert_eq!(body["data"]["cost"], done["cost"]);
    assert_eq!(body["data"]["outputs"][0]["id"], done["outputs"][0]["id"]);
    assert_eq!(body["data"]["outputs"][0]["sha256"], done["outputs"][0]["sha256"]);
    assert_eq!(body["data"]["outputs"][0]["bytes"], done["outputs"][0]["bytes"]);

    assert_eq!(delivery["state"], "delivered");
    assert_eq!(delivery["type"], "generation.succeeded");
    assert_eq!(delivery["generation"], id.as_str());
    assert_eq!(statuses(&delivery), vec![Some(204)]);

    // the page lists the webhook and shows its log
    let page = admin.get("/account/webhooks").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(receiver.at("/events").as_str()));
    let log = admin.get(&format!("/account/webhooks/{hook}")).await;
    assert_eq!(log.status, 200);
    assert!(log.body.contains("delivered") && log.body.contains("HTTP 204") && log.body.contains(&id), "{}", log.body);
    assert!(admin.get("/account").await.body.contains("/account/webhooks"), "linked from the account page");
    app.stop().await;
    receiver.stop().await;
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_answers_2xx() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let receiver =
        FakeUpstream::start(
            move |_| if counted.fetch_add(1, Ordering::SeqCst) < 2 { Reply::text(500, "down") } else { Reply::status(200) },
        )
        .await;
    let app = TestApp::start_with(quick).await;
    let (_admin, token) = admin_with_credits(&app, 10).await;
    let (hook, secret) = register(&app, &token, receiver.url.as_str()).await;
    let id = generate(&app, &token).await;
    wait_terminal(&app.url, &token, &id).await;
    let delivery = settled_log(&app, &token, &hook).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(statuses(&delivery), vec![Some(500), Some(500), Some(200)]);
    let received = receiver.requests();
    assert_eq!(received.len(), 3);
    let ids: Vec<_> = received.iter().map(|r| r.header("webhook-id").unwrap().to_string()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "every attempt carries the same webhook-id");
    assert!(received.iter().all(|r| verify(r, &secret).is_ok()), "each attempt is signed afresh");
    assert!(received[1].at.duration_since(received[0].at) >= Duration::from_millis(70), "the first retry waits about the base");
    assert!(received[2].at.duration_since(received[1].at) >= Duration::from_millis(400), "the second waits about six times it");
    app.stop().await;
    receiver.stop().await;
}

#[tokio::test]
async fn a_receiver_that_never_answers_2xx_is_given_up_after_the_max_attempts() {
    let receiver = FakeUpstream::start(|_| Reply::text(503, "no")).await;
    let app = TestApp::start_with(|c| {
        quick(c);
        c.webhooks.retry_base = Duration::from_millis(20);
        c.webhooks.max_attempts = 3;
        c.connection[0].delay = Duration::from_secs(30);
    })
    .await;
    let (_admin, token) = admin_with_credits(&app, 10).await;
    let (hook, _) = register(&app, &token, receiver.url.as_str()).await;
    let id = generate(&app, &token).await;
    let cancelled = api_post(&app.url, &format!("/api/v1/generations/{id}/cancel"), &token, serde_json::json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let delivery = settled_log(&app, &token, &hook).await;
    assert_eq!(delivery["state"], "failed", "{delivery}");
    assert_eq!(delivery["type"], "generation.cancelled");
    assert_eq!(statuses(&delivery), vec![Some(503); 3]);
    assert!(delivery["next_attempt_at"].is_null());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 3, "nothing more after giving up");
    assert_eq!(receiver.requests()[0].json()["data"]["reason"]["code"], "cancelled");
    app.stop().await;
    receiver.stop().await;
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let app = TestApp::start().await;
    let (admin, token) = admin_with_credits(&app, 10).await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://10.0.0.8/hook", "http://169.254.169.254/latest"] {
        let refused = api_post(&app.url, "/api/v1/webhooks", &token, serde_json::json!({"url": url})).await;
        assert_eq!(refused.status, 422, "{url}: {}", refused.body);
        assert_eq!(refused.json()["code"], "invalid_input");
        assert!(refused.json()["message"].as_str().unwrap().contains("efusing to send webhooks to"), "{}", refused.body);
    }
    let loopback = api_post(&app.url, "/api/v1/webhooks", &token, serde_json::json!({"url": "http://127.0.0.1:9/"})).await;
    assert!(loopback.json()["message"].as_str().unwrap().contains("webhooks.allow_private_network"), "{}", loopback.body);
    for url in ["ftp://example.com/x", "not a url", "https://user:pw@example.com/"] {
        let refused = api_post(&app.url, "/api/v1/webhooks", &token, serde_json::json!({"url": url})).await;
        assert_eq!(refused.status, 422, "{url}: {}", refused.body);
    }
    // the page says why, keeps what was typed, and stores nothing
    let page = admin.post_form("/account/webhooks", &[("url", "http://127.0.0.1:9/hook"), ("description", "")]).await;
    assert_eq!(page.status, 422);
    assert!(page.text_of("p.error").contains("not a public address"), "{}", page.body);
    assert_eq!(page.attr_of("#webhook-url", "value").as_deref(), Some("http://127.0.0.1:9/hook"));
    assert_eq!(api_get(&app.url, "/api/v1/webhooks", Some(&token)).await.json()["webhooks"], serde_json::json!([]));
    app.stop().await;

    // with the switch, loopback is fine but metadata addresses stay refused
    let app = TestApp::start_with(|c| c.webhooks.allow_private_network = true).await;
    let (_admin, token) = admin_with_credits(&app, 10).await;
    let ok = api_post(&app.url, "/api/v1/webhooks", &token, serde_json::json!({"url": "http://127.0.0.1:9/hook"})).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let metadata = api_post(&app.url, "/api/v1/webhooks", &token, serde_json::json!({"url": "http://169.254.169.254/"})).await;
    assert_eq!(metadata.status, 422);
    app.stop().await;
}

#[tokio::test]
async fn others_cannot_see_or_delete_my_webhooks() {
    let app = TestApp::start_with(quick).await;
    let (admin, token) = admin_with_credits(&app, 10).await;
    // registered on the page this time: the secret is shown once there
    let created = admin.post_form("/account/webhooks", &[("url", "http://127.0.0.1:9/mine"), ("description", "render farm")]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.text_of("#new-secret").starts_with("whsec_"));
    let hook = api_get(&app.url, "/api/v1/webhooks", Some(&token)).await.json()["webhooks"][0]["id"].as_str().unwrap().to_string();

    let member: Browser = app.invite_member(&admin, "mia@example.com", "member password 1").await;
    let theirs = member.post_form("/account/tokens", &[("name", "ci"), ("expires", "30")]).await.text_of("#new-token");
    assert_eq!(api_get(&app.url, "/api/v1/webhooks", Some(&theirs)).await.json()["webhooks"], serde_json::json!([]));
    assert_eq!(api_get(&app.url, &format!("/api/v1/webhooks/{hook}/deliveries"), Some(&theirs)).await.status, 404);
    assert_eq!(api_delete(&app.url, &format!("/api/v1/webhooks/{hook}"), &theirs).await, 404);
    assert_eq!(member.get(&format!("/account/webhooks/{hook}")).await.status, 404);
    assert_eq!(member.post_form(&format!("/account/webhooks/{hook}/delete"), &[]).await.status, 404);
    assert!(!member.get("/account/webhooks").await.body.contains("/mine"));

    assert_eq!(api_get(&app.url, &format!("/api/v1/webhooks/{hook}/deliveries"), Some(&token)).await.status, 200);
    assert_eq!(api_delete(&app.url, &format!("/api/v1/webhooks/{hook}"), &token).await, 204);
    assert_eq!(api_get(&app.url, "/api/v1/webhooks", Some(&token)).await.json()["webhooks"], serde_json::json!([]));
    assert_eq!(api_delete(&app.url, &format!("/api/v1/webhooks/{hook}"), &token).await, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_pending_deliveries() {
    let up = Arc::new(AtomicBool::new(false));
    let answer = up.clone();
    let receiver = FakeUpstream::start(move |_| if answer.load(Ordering::SeqCst) { Reply::status(200) } else { Reply::status(502) }).await;
    let app = TestApp::start_with(|c| {
        quick(c);
        c.webhooks.retry_base = Duration::from_millis(300);
    })
    .await;
    let (_admin, token) = admin_with_credits(&app, 10).await;
    let (hook, secret) = register(&app, &token, receiver.url.as_str()).await;
    let id = generate(&app, &token).await;
    wait_terminal(&app.url, &token, &id).await;
    assert!(receiver.wait_until(Duration::from_secs(10), |r| !r.is_empty()).await);

    let app = app.restart().await;
    let before = receiver.requests().len();
    up.store(true, Ordering::SeqCst);
    let delivery = settled_log(&app, &token, &hook).await;
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    let statuses = statuses(&delivery);
    assert_eq!(statuses.last(), Some(&Some(200)));
    assert!(statuses.len() >= 2 && receiver.requests().len() > before, "failed before the restart, delivered after it: {statuses:?}");
    let last = receiver.requests().pop().unwrap();
    assert_eq!(last.json()["data"]["id"], id.as_str());
    verify(&last, &secret).expect("signed with the same secret after the restart");
    app.stop().await;
    receiver.stop().await;
}
