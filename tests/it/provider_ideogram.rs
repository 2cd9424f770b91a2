//! The Ideogram adapter end to end: the app with an `ideogram` connection to a fake that
//! speaks Ideogram's v2 wire format (multipart generate per model, `Api-Key` header, 24-hour
//! image links fetched without the key, an async answer polled until completed); an image
//! withheld by the safety check fails with its reason and releases the hold; an admin adds
//! the connection in the UI.

use std::sync::atomic::{AtomicUsize, Ordering};

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, admin_added_connection_generates, image_bytes, origin, provider};

const KEY: &str = "ideogram-it-key";
const GENERATE: &str = "POST /v2/image/generate/ideogram-4-6";

fn image() -> Vec<u8> {
    image_bytes(image::ImageFormat::Png, 32, 24, 9)
}

/// The generate call's text fields.
fn fields(request: &Request) -> serde_json::Value {
    request.multipart().iter().filter(|p| p.filename.is_none()).map(|p| (p.name.clone(), json!(p.text()))).collect()
}

/// A fake Ideogram API: `generate` answers the generate call (given the request), `poll` the
/// poll of `g-async`; images live under `/api/images/`, which takes no key.
async fn rig(generate: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> ProviderRig {
    let image = image();
    let polls = AtomicUsize::new(0);
    provider("ideogram", "ideogram")
        .key(KEY)
        .refuse_when(|r| r.header("api-key") != Some(KEY) && !r.path.starts_with("/api/images/"), Reply::json(401, json!({"detail": "Invalid API key"})))
        .serve(move |r| match r.route().as_str() {
            GENERATE => generate(r),
            "GET /v2/generations/g-async" if polls.fetch_add(1, Ordering::SeqCst) == 0 => {
                Reply::json(200, json!({"generation_id": "g-async", "status": "pending"}))
            }
            "GET /v2/generations/g-async" => Reply::json(
                200,
                json!({"generation_id": "g-async", "status": "completed", "response_type": "image",
                       "data": [{"object_type": "image", "url": format!("{}api/images/ephemeral/g-async.png", origin(r)), "is_image_safe": true}]}),
            ),
            "GET /api/images/ephemeral/g1.png" | "GET /api/images/ephemeral/g-async.png" => Reply::bytes(200, "image/png", image.clone()),
            _ => Reply::status(404),
        })
        .await
}

fn synchronous(r: &Request) -> Reply {
    Reply::json(
        200,
        json!({"generation_id": "g1", "generation_kind": "sampling",
               "data": [{"url": format!("{}api/images/ephemeral/g1.png", origin(r)), "resolution": "1024x1024", "is_image_safe": true}]}),
    )
}

fn mug(prompt: &str) -> serde_json::Value {
    json!({"model": "ideogram-4.6", "prompt": prompt, "params": {"aspect_ratio": "16x9", "seed": 7}})
}

/// No request for an image carried the key.
fn assert_images_keyless(rig: &ProviderRig) {
    let fetched = rig.fake.requests_to("GET /api/images/");
    assert!(!fetched.is_empty(), "the image was fetched");
    assert!(
        fetched.iter().all(|r| r.header("api-key").is_none() && r.header("authorization").is_none()),
        "the key never reaches the image host"
    );
}

#[tokio::test]
async fn an_ideogram_image_is_generated_at_once_and_taken_into_custody() {
    let rig = rig(synchronous).await;
    rig.stores(mug("a ceramic mug with a fox"), 6, &[&image()]).await;
    let sent = &rig.fake.requests_to(GENERATE)[0];
    assert!(sent.header("content-type").unwrap_or_default().starts_with("multipart/form-data"));
    assert_eq!(
        fields(sent),
        json!({"prompt": "a ceramic mug with a fox", "num_images": "1", "seed": "7", "aspect_ratio": "16x9", "rendering_speed": "DEFAULT"})
    );
    assert_images_keyless(&rig);
    rig.stop().await;
}

#[tokio::test]
async fn an_answer_with_only_a_generation_id_is_polled_then_taken_into_custody() {
    let rig = rig(|_| Reply::json(200, json!({"generation_id": "g-async"}))).await;
    rig.stores(mug("a mug, later"), 6, &[&image()]).await;
    assert!(rig.fake.requests_to("GET /v2/generations/g-async").len() >= 2, "polled until completed");
    assert_images_keyless(&rig);
    rig.stop().await;
}

#[tokio::test]
async fn an_image_withheld_by_the_safety_check_fails_with_a_content_policy_reason() {
    let rig = rig(|_| Reply::json(200, json!({"generation_id": "g2", "data": [{"url": null, "is_image_safe": false}]}))).await;
    rig.fails_showing(mug("something Ideogram withholds"), "provider.content_policy", &["safety"]).await;
    assert!(rig.fake.requests_to("GET /api/images/").is_empty(), "nothing withheld is downloaded");
    rig.stop().await;
}

#[tokio::test]
async fn an_admin_adds_an_ideogram_connection_and_generates_through_it() {
    let fake = fake_upstream::FakeUpstream::start(|r| match (r.route().as_str(), r.header("api-key")) {
        ("GET /api/images/ephemeral/g1.png", None) => Reply::bytes(200, "image/png", image()),
        (_, key) if key != Some(KEY) => Reply::json(401, json!({"detail": "Invalid API key"})),
        (GENERATE, _) => synchronous(r),
        _ => Reply::status(404),
    })
    .await;
    let body = mug("a mug from the admin's connection");
    admin_added_connection_generates("ideogram", "ideo", fake.url.as_str(), KEY, body).await;
    fake.stop().await;
}
