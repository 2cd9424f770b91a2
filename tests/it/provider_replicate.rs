//! The Replicate adapter end to end against a fake predictions API: a FLUX schnell job with
//! two images is created, polled, taken into custody and settled; a moderated job fails with
//! the content-policy reason, shown on its page, and its hold is released.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ConnectionConfig, Secret};
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const KEY: &str = "r8_integration";
const CREDITS: i64 = 50;

/// What the fake's polls answer after the create (`starting`).
#[derive(Clone)]
enum Outcome {
    Images,
    Moderated,
}

fn image(n: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\nreplicate output ".to_vec();
    bytes.extend(std::iter::repeat_n(n, 2048));
    bytes
}

async fn fake(outcome: Outcome) -> FakeUpstream {
    let base: Arc<Mutex<Option<url::Url>>> = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let at = base.clone();
    let fake = FakeUpstream::start(move |r| {
        if r.header("authorization") != Some(&format!("Bearer {KEY}")) {
            return Reply::json(401, serde_json::json!({"title": "Unauthenticated", "detail": "Invalid token.", "status": 401}));
        }
        let base = at.lock().unwrap().clone().expect("base set");
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/v1/models/black-forest-labs/flux-schnell/predictions") => {
                Reply::json(201, serde_json::json!({"id": "pred-1", "status": "starting", "output": null}))
            }
            ("GET", "/v1/predictions/pred-1") => {
                let answer = match (polls.fetch_add(1, Ordering::SeqCst), &outcome) {
                    (0, _) => serde_json::json!({"id": "pred-1", "status": "processing", "logs": " 50%|█████     | 2/4"}),
                    (_, Outcome::Images) => serde_json::json!({"id": "pred-1", "status": "succeeded", "output": [
                        base.join("files/pred-1/out-0.png").unwrap().as_str(),
                        base.join("files/pred-1/out-1.png").unwrap().as_str(),
                    ]}),
                    (_, Outcome::Moderated) => serde_json::json!({"id": "pred-1", "status": "failed",
                        "error": "All generated images contained NSFW content. Try running it again with a different prompt."}),
                };
                Reply::json(200, answer)
            }
            ("GET", "/files/pred-1/out-0.png") => Reply::bytes(200, "image/png", image(0)),
            ("GET", "/files/pred-1/out-1.png") => Reply::bytes(200, "image/png", image(1)),
            _ => Reply::json(404, serde_json::json!({"title": "Not found", "status": 404})),
        }
    })
    .await;
    *base.lock().unwrap() = Some(fake.url.clone());
    fake
}

async fn app(fake: &FakeUpstream) -> (TestApp, Browser, String) {
    let connection = ConnectionConfig {
        base_url: Some(fake.at("v1/")),
        api_key: Some(Secret::new(KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..ConnectionConfig::new("replicate", "replicate")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (app, admin, token)
}

async fn submit(app: &TestApp, token: &str) -> String {
    let body = serde_json::json!({"model": "replicate-flux-schnell", "prompt": "a lighthouse at dusk",
        "params": {"count": 2, "aspect_ratio": "16:9", "seed": 7}});
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn two_flux_images_are_created_polled_stored_and_settled() {
    let fake = fake(Outcome::Images).await;
    let (app, _admin, token) = app(&fake).await;
    let id = submit(&app, &token).await;
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let outputs = done["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 2, "{done}");
    for (n, output) in outputs.iter().enumerate() {
        let expected = image(n as u8);
        assert_eq!(output["sha256"], hex::encode(Sha256::digest(&expected)), "{done}");
        assert_eq!(output["content_type"], "image/png");
        let served = reqwest::Client::new().get(output["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(Sha256::digest(&served), Sha256::digest(&expected), "the vault gives back what Replicate served");
    }
    assert_eq!(credits(&app.url, &token).await, (CREDITS - 2, 0), "two images at one credit each");
    let create = &fake.requests_to("POST /v1/models/")[0];
    assert_eq!(
        create.json(),
        serde_json::json!({"input": {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "num_outputs": 2, "seed": 7}})
    );
    assert!(fake.requests_to("POST /v1/predictions/pred-1/cancel").is_empty());
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_moderated_prediction_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let fake = fake(Outcome::Moderated).await;
    let (app, admin, token) = app(&fake).await;
    let id = submit(&app, &token).await;
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    let page = admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("content policy blocked this"), "{}", page.body);
    assert!(page.body.contains("NSFW content"), "{}", page.body);
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    assert!(fake.requests_to("GET /files/").is_empty(), "nothing to fetch");
    app.stop().await;
    fake.stop().await;
}
