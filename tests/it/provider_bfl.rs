//! The BFL adapter end to end against a fake FLUX API: submit, poll the returned polling_url
//! until Ready, take the signed sample into custody byte for byte; and a moderated output fails
//! the generation with the content-policy reason.

use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::{ConnectionConfig, Secret};
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const KEY: &str = "bfl-fake-key";
const CREDITS: i64 = 100;
/// flux-pro-1.1 costs 4 credits an image.
const PRICE: i64 = 4;

fn jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_fn(48, 27, |x, y| image::Rgb([(x * 5) as u8, (y * 9) as u8, 77]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn rig(reply: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> (FakeUpstream, TestApp, Browser, String) {
    let fake = FakeUpstream::start(reply).await;
    let connection = ConnectionConfig {
        base_url: Some(fake.url.clone()),
        api_key: Some(Secret::new(KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(2),
        max_retries: 1,
        ..ConnectionConfig::new("bfl", "bfl")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (fake, app, admin, token)
}

async fn submit(app: &TestApp, token: &str, body: serde_json::Value) -> serde_json::Value {
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_string();
    wait_terminal(&app.url, token, &id).await
}

#[tokio::test]
async fn a_flux_image_is_polled_to_ready_and_its_signed_sample_taken_into_custody() {
    let image = jpeg();
    let served = image.clone();
    let polls = Arc::new(Mutex::new(0));
    let (fake, app, _admin, token) = rig(move |r: &Request| {
        let host = r.header("host").unwrap_or_default().to_string();
        let keyed = r.header("x-key") == Some(KEY);
        match r.route().as_str() {
            "POST /v1/flux-pro-1.1" if keyed => {
                Reply::json(200, serde_json::json!({"id": "task-e2e", "polling_url": format!("http://{host}/v1/get_result?id=task-e2e")}))
            }
            "GET /v1/get_result" if keyed => {
                let mut n = polls.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    Reply::json(200, serde_json::json!({"id": "task-e2e", "status": "Pending", "result": null, "progress": 0.5}))
                } else {
                    Reply::json(
                        200,
                        serde_json::json!({"id": "task-e2e", "status": "Ready", "result": {"sample": format!("http://{host}/delivery/task-e2e/sample.jpg?se=soon&sig=x"), "seed": 11}}),
                    )
                }
            }
            "GET /delivery/task-e2e/sample.jpg" if !keyed => Reply::bytes(200, "image/jpeg", served.clone()),
            _ => Reply::json(401, serde_json::json!({"detail": "Not authenticated"})),
        }
    })
    .await;
    let done = submit(
        &app,
        &token,
        serde_json::json!({"model": "flux-pro-1.1", "prompt": "a paper boat on a canal", "params": {"aspect_ratio": "16:9", "seed": 11}}),
    )
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], sha256_hex(&image), "{done}");
    assert_eq!(done["outputs"][0]["content_type"], "image/jpeg");
    let url = done["outputs"][0]["url"].as_str().expect("signed url");
    let got = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&image), "the vault gives back what upstream served");
    assert_eq!(credits(&app.url, &token).await, (CREDITS - PRICE, 0), "settled");

    let sent = fake.requests_to("POST /v1/flux-pro-1.1");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].json(),
        serde_json::json!({"prompt": "a paper boat on a canal", "width": 1344, "height": 768, "seed": 11, "output_format": "jpeg"})
    );
    assert_eq!(fake.requests_to("GET /v1/get_result").len(), 2, "pending, then ready");
    assert_eq!(fake.requests_to("GET /delivery/").len(), 1);
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_moderated_output_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let (fake, app, admin, token) = rig(|r: &Request| {
        let host = r.header("host").unwrap_or_default().to_string();
        match r.route().as_str() {
            "POST /v1/flux-kontext-pro" => {
                Reply::json(200, serde_json::json!({"id": "task-mod", "polling_url": format!("http://{host}/v1/get_result?id=task-mod")}))
            }
            _ => Reply::json(
                200,
                serde_json::json!({"id": "task-mod", "status": "Content Moderated", "result": null, "details": {"Moderation Reasons": ["NSFW"]}}),
            ),
        }
    })
    .await;
    let done = submit(&app, &token, serde_json::json!({"model": "flux-kontext-pro", "prompt": "something withheld"})).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    let page = admin.get(&format!("/generations/{}", done["id"].as_str().unwrap())).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy blocked this") && reason.contains("NSFW"), "{reason}");
    assert_eq!(fake.requests_to("POST").len(), 1, "not resubmitted");
    app.stop().await;
    fake.stop().await;
}
