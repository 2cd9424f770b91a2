//! The Stability adapter end to end against a fake v2beta API: an image-to-image request with
//! an uploaded reference is taken into custody byte for byte, and a filtered image fails the
//! generation with the content-policy reason.

use base64::Engine;
use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, RigBuilder, image_bytes, provider};
use crate::uploads::upload_id;

const KEY: &str = "sk-fake-stability";
/// stable-image-ultra costs 8 credits an image.
const PRICE: i64 = 8;

fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    image_bytes(image::ImageFormat::Png, width, height, seed)
}

/// The app with a `stability` connection (a two-second timeout) to a fake answering with `reply`.
async fn rig(reply: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> ProviderRig {
    stability().serve(reply).await
}

fn stability() -> RigBuilder {
    provider("stability", "stability").key(KEY).credits(100).connection(|c| c.timeout = std::time::Duration::from_secs(2))
}

#[tokio::test]
async fn an_image_to_image_result_is_taken_into_custody_and_charged() {
    let result = png(40, 30, 3);
    let answer = json!({"image": base64::engine::general_purpose::STANDARD.encode(&result), "finish_reason": "SUCCESS", "seed": 1234});
    let rig = stability()
        .bearer_required(&[], Reply::json(401, json!({"id": "x", "name": "unauthorized", "errors": ["bad key"]})))
        .serve(move |r: &Request| match r.route().as_str() {
            "POST /v2beta/stable-image/generate/ultra" => Reply::json(200, answer.clone()),
            _ => Reply::status(404),
        })
        .await;
    let reference = upload_id(&rig.app.url, &rig.token, png(48, 32, 9), "ref.png").await;
    let body = json!({
        "model": "stable-image-ultra", "prompt": "the same scene at night", "negative_prompt": "people",
        "params": {"strength": 60, "seed": 1234},
        "references": [{"role": "reference", "upload": reference}],
    });
    let done = rig.stores(body, PRICE, &[&result]).await;
    assert_eq!(done["outputs"][0]["content_type"], "image/png");

    let sent = rig.fake.requests_to("POST /v2beta/stable-image/generate/ultra");
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
    rig.stop().await;
}

#[tokio::test]
async fn a_filtered_image_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let rig = rig(|_| Reply::json(200, json!({"image": "aGVsbG8=", "finish_reason": "CONTENT_FILTERED", "seed": 5}))).await;
    let body = json!({"model": "stable-image-core", "prompt": "something filtered"});
    rig.fails_showing(body, "provider.content_policy", &["content policy blocked this", "content moderation"]).await;
    assert_eq!(rig.fake.requests().len(), 1, "a filtered image is not retried");
    rig.stop().await;
}
