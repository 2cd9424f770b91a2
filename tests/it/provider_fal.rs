//! The fal adapter end to end against a fake queue API: a Kling video request is queued,
//! polled through its status URL, read from its response URL, taken into custody from the
//! "CDN" and settled; a request whose result is refused by fal's content checker fails with
//! the content-policy reason, shown on its page, and its hold is released.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ConnectionConfig, Secret};
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const KEY: &str = "fal-id:fal-secret";
const CREDITS: i64 = 300;
/// A 5-second Kling 2.1 Master video at 28 credits a second.
const PRICE: i64 = 140;

#[derive(Clone, Copy)]
enum Outcome {
    Video,
    Refused,
}

fn mp4() -> Vec<u8> {
    let mut bytes = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    bytes.extend((0..4096u32).map(|n| (n % 251) as u8));
    bytes
}

/// The queue API and the "CDN" on one fake (the CDN path needs no key).
async fn fake(outcome: Outcome) -> FakeUpstream {
    let base: Arc<Mutex<Option<url::Url>>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let at = base.clone();
    let fake = FakeUpstream::start(move |r| {
        let base = at.lock().unwrap().clone().expect("base set");
        if r.path == "/cdn/clip.mp4" {
            return Reply::bytes(200, "video/mp4", mp4());
        }
        if r.header("authorization") != Some(&format!("Key {KEY}")) {
            return Reply::json(401, serde_json::json!({"detail": "No user found for Key ID and Secret"}));
        }
        let url = |suffix: &str| base.join(&format!("fal-ai/kling-video/requests/q-1{suffix}")).unwrap().to_string();
        match r.route().as_str() {
            "POST /fal-ai/kling-video/v2.1/master/text-to-video" => Reply::json(
                200,
                serde_json::json!({"request_id": "q-1", "status_url": url("/status"), "response_url": url(""), "cancel_url": url("/cancel")}),
            ),
            "GET /fal-ai/kling-video/requests/q-1/status" => match polls.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::json(202, serde_json::json!({"status": "IN_QUEUE", "queue_position": 0})),
                _ => Reply::json(200, serde_json::json!({"status": "COMPLETED", "logs": []})),
            },
            "GET /fal-ai/kling-video/requests/q-1" => match outcome {
                Outcome::Video => Reply::json(
                    200,
                    serde_json::json!({"video": {"url": base.join("cdn/clip.mp4").unwrap().as_str(), "content_type": "video/mp4"}}),
                ),
                Outcome::Refused => Reply::json(
                    422,
                    serde_json::json!({"detail": [{"loc": ["body", "prompt"], "msg": "The prompt was flagged by the content checker.",
                        "type": "content_policy_violation"}]}),
                ),
            },
            _ => Reply::json(404, serde_json::json!({"detail": "Not found"})),
        }
    })
    .await;
    *base.lock().unwrap() = Some(fake.url.clone());
    fake
}

async fn app(fake: &FakeUpstream) -> (TestApp, Browser, String) {
    let connection = ConnectionConfig {
        base_url: Some(fake.url.clone()),
        api_key: Some(Secret::new(KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("fal", "fal")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (app, admin, token)
}

async fn submit(app: &TestApp, token: &str) -> String {
    let body = serde_json::json!({"model": "fal-kling-v2.1-master", "prompt": "a paper boat on a rainy street",
        "negative_prompt": "blur", "params": {"duration": 5, "aspect_ratio": "9:16"}});
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_kling_video_is_queued_polled_stored_and_settled() {
    let fake = fake(Outcome::Video).await;
    let (app, _admin, token) = app(&fake).await;
    let id = submit(&app, &token).await;
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], hex::encode(Sha256::digest(mp4())), "{done}");
    assert_eq!(done["outputs"][0]["content_type"], "video/mp4");
    let served = reqwest::Client::new().get(done["outputs"][0]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(Sha256::digest(&served), Sha256::digest(mp4()), "the vault gives back what fal served");
    assert_eq!(credits(&app.url, &token).await, (CREDITS - PRICE, 0), "settled");
    let create = &fake.requests_to("POST /fal-ai/")[0];
    assert_eq!(
        create.json(),
        serde_json::json!({"prompt": "a paper boat on a rainy street", "negative_prompt": "blur", "duration": "5", "aspect_ratio": "9:16"})
    );
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_result_refused_by_the_content_checker_fails_and_releases_the_hold() {
    let fake = fake(Outcome::Refused).await;
    let (app, admin, token) = app(&fake).await;
    let id = submit(&app, &token).await;
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    let page = admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("content policy blocked this"), "{}", page.body);
    assert!(page.body.contains("flagged by the content checker"), "{}", page.body);
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    assert_eq!(fake.requests_to("GET /fal-ai/kling-video/requests/q-1").len(), 3, "two status polls, one result read, no retries");
    app.stop().await;
    fake.stop().await;
}
