//! The Stability adapter end to end against a fake v2beta API: an image-to-image request with
//! an uploaded reference is taken into custody byte for byte, and a filtered image fails the
//! generation with the content-policy reason.

use std::io::Cursor;
use std::time::Duration;

use base64::Engine;
use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::{ConnectionConfig, Secret};
use sha2::{Digest, Sha256};

use crate::support::{Browser, TestApp};
use crate::support::{admin_with_credits, api_post, credits, wait_terminal};

const KEY: &str = "sk-fake-stability";
const CREDITS: i64 = 100;
/// stable-image-ultra costs 8 credits an image.
const PRICE: i64 = 8;

fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 5) as u8, (y * 5) as u8, seed]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
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
        ..ConnectionConfig::new("stability", "stability")
    };
    let app = TestApp::start_with(|config| config.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (fake, app, admin, token)
}

async fn upload(app: &TestApp, token: &str, png: Vec<u8>) -> String {
    let part = reqwest::multipart::Part::bytes(png).file_name("ref.png").mime_str("image/png").unwrap();
    let uploaded = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/api/v1/uploads", app.url))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let uploaded = Browser::read(uploaded).await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    uploaded.json()["id"].as_str().unwrap().to_string()
}

async fn submit(app: &TestApp, token: &str, body: serde_json::Value) -> serde_json::Value {
    let created = api_post(&app.url, "/api/v1/generations", token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().expect("id").to_string();
    wait_terminal(&app.url, token, &id).await
}

#[tokio::test]
async fn an_image_to_image_result_is_taken_into_custody_and_charged() {
    let result = png(40, 30, 3);
    let answer = serde_json::json!({
        "image": base64::engine::general_purpose::STANDARD.encode(&result), "finish_reason": "SUCCESS", "seed": 1234
    });
    let (fake, app, _admin, token) = rig(move |r: &Request| {
        if r.header("authorization") != Some(&*format!("Bearer {KEY}")) {
            return Reply::json(401, serde_json::json!({"id": "x", "name": "unauthorized", "errors": ["bad key"]}));
        }
        match r.route().as_str() {
            "POST /v2beta/stable-image/generate/ultra" => Reply::json(200, answer.clone()),
            _ => Reply::status(404),
        }
    })
    .await;
    let reference = upload(&app, &token, png(48, 32, 9)).await;
    let done = submit(
        &app,
        &token,
        serde_json::json!({
            "model": "stable-image-ultra", "prompt": "the same scene at night", "negative_prompt": "people",
            "params": {"strength": 60, "seed": 1234},
            "references": [{"role": "reference", "upload": reference}],
        }),
    )
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"][0]["sha256"], sha256_hex(&result), "{done}");
    assert_eq!(done["outputs"][0]["content_type"], "image/png");
    let url = done["outputs"][0]["url"].as_str().expect("signed url");
    let served = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&served), sha256_hex(&result), "the vault gives back what upstream sent");
    assert_eq!(credits(&app.url, &token).await, (CREDITS - PRICE, 0), "settled");

    let sent = fake.requests_to("POST /v2beta/stable-image/generate/ultra");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("accept"), Some("application/json"));
    assert_eq!(sent[0].part("prompt").unwrap().text(), "the same scene at night");
    assert_eq!(sent[0].part("negative_prompt").unwrap().text(), "people");
    assert_eq!(sent[0].part("strength").unwrap().text(), "0.60");
    assert_eq!(sent[0].part("seed").unwrap().text(), "1234");
    assert!(sent[0].part("aspect_ratio").is_none(), "image-to-image takes the reference's shape");
    let image = sent[0].part("image").expect("the reference as an image part");
    let decoded = image::load_from_memory(&image.data).expect("a readable image");
    assert_eq!((decoded.width(), decoded.height()), (48, 32));
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_filtered_image_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let (fake, app, admin, token) =
        rig(|_| Reply::json(200, serde_json::json!({"image": "aGVsbG8=", "finish_reason": "CONTENT_FILTERED", "seed": 5}))).await;
    let done = submit(&app, &token, serde_json::json!({"model": "stable-image-core", "prompt": "something filtered"})).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["reason"]["code"], "provider.content_policy", "{done}");
    assert_eq!(credits(&app.url, &token).await, (CREDITS, 0), "released");
    let page = admin.get(&format!("/generations/{}", done["id"].as_str().unwrap())).await;
    assert_eq!(page.status, 200);
    let reason = page.text_of("#reason");
    assert!(reason.contains("content policy blocked this") && reason.contains("content moderation"), "{reason}");
    assert_eq!(fake.requests().len(), 1, "a filtered image is not retried");
    app.stop().await;
    fake.stop().await;
}
