//! The Recraft adapter end to end: the app with a `recraft` connection to a fake that speaks
//! Recraft's wire format (JSON generate, temporary image links fetched without the key): a
//! raster image and a vector model's SVG taken into custody; the SVG (with a script in it) is
//! only ever served as an attachment and never shown in an `<img>`; a refused prompt fails
//! with its reason and releases the hold; an admin adds the connection in the UI.

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::client;
use crate::support::provider_rig::{ProviderRig, admin_added_connection_generates, image_bytes, origin, provider};

const KEY: &str = "recraft-it-key";
const GENERATE: &str = "POST /v1/images/generations";
const SVG: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- made by a vector model -->\n\
<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 8 8\" onload=\"fetch('/api/v1/me')\"><rect width=\"8\" height=\"8\"/></svg>\n";

fn raster() -> Vec<u8> {
    image_bytes(image::ImageFormat::WebP, 32, 24, 3)
}

/// The answer to a generate call: one image at `file` on the fake.
fn generated(r: &Request, file: &str) -> Reply {
    Reply::json(
        200,
        json!({"created": 1_765_000_000, "credits": 40, "data": [{"image_id": "i1", "url": format!("{}files/{file}", origin(r))}]}),
    )
}

/// A fake Recraft API: vector models answer an SVG, raster models a WebP image, a prompt
/// with "forbidden" in it is refused.
async fn rig() -> ProviderRig {
    let webp = raster();
    provider("recraft", "recraft")
        .key(KEY)
        .bearer_required(&["/files/"], Reply::json(401, json!({"code": "unauthorized", "message": "Invalid token"})))
        .serve(move |r| match r.route().as_str() {
            GENERATE if r.json()["prompt"].as_str().unwrap_or_default().contains("forbidden") => {
                Reply::json(400, json!({"code": "prompt_rejected", "message": "The prompt violates the content policy"}))
            }
            GENERATE if r.json()["model"].as_str().unwrap_or_default().ends_with("_vector") => generated(r, "logo"),
            GENERATE => generated(r, "image.webp"),
            "GET /files/logo" => Reply::bytes(200, "image/svg+xml", SVG),
            "GET /files/image.webp" => Reply::bytes(200, "image/webp", webp.clone()),
            _ => Reply::status(404),
        })
        .await
}

#[tokio::test]
async fn a_recraft_raster_image_is_generated_and_taken_into_custody() {
    let rig = rig().await;
    let body = json!({"model": "recraft-v4.1", "prompt": "a fox logo", "params": {"size": "1365x1024"}});
    rig.stores(body, 4, &[&raster()]).await;
    let sent = rig.fake.requests_to(GENERATE)[0].json();
    assert_eq!(sent, json!({"prompt": "a fox logo", "model": "recraftv4_1", "n": 1, "size": "1365x1024"}));
    rig.assert_keyless("GET /files/");
    rig.stop().await;
}

#[tokio::test]
async fn a_vector_svg_is_kept_and_only_ever_served_as_an_attachment() {
    let rig = rig().await;
    let done = rig.stores(json!({"model": "recraft-v4.1-vector", "prompt": "a fox logo"}), 8, &[SVG]).await;
    let output = &done["outputs"][0];
    assert_eq!(output["content_type"], "image/svg+xml", "{done}");
    let served = client().get(output["url"].as_str().unwrap()).send().await.unwrap();
    let header = |name: &str| served.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("content-type"), "image/svg+xml");
    assert!(header("content-disposition").starts_with("attachment;"), "{}", header("content-disposition"));
    assert!(header("content-disposition").contains(".svg\""), "a .svg file name: {}", header("content-disposition"));
    assert!(header("content-security-policy").contains("sandbox"), "{}", header("content-security-policy"));
    assert_eq!(header("x-content-type-options"), "nosniff");

    let id = output["id"].as_str().unwrap();
    let page = rig.page(done["id"].as_str().unwrap()).await;
    assert_eq!(page.count(&format!("img[src*=\"{id}\"]")), 0, "the SVG is never put in an <img>");
    assert_eq!(page.count("video, audio"), 0);
    assert!(page.text_of(".file-tile").contains("SVG file"), "{}", page.body);
    let library = rig.admin.get("/library").await;
    assert_eq!(library.status, 200);
    assert_eq!(library.count(&format!("img[src*=\"{id}\"]")), 0, "nor in the library grid");
    rig.assert_keyless("GET /files/");
    rig.stop().await;
}

#[tokio::test]
async fn a_refused_prompt_fails_with_a_content_policy_reason() {
    let rig = rig().await;
    let body = json!({"model": "recraft-v4", "prompt": "something forbidden"});
    rig.fails_showing(body, "provider.content_policy", &["content policy"]).await;
    assert!(rig.fake.requests_to("GET /files/").is_empty());
    rig.stop().await;
}

#[tokio::test]
async fn an_admin_adds_a_recraft_connection_and_generates_through_it() {
    let fake = fake_upstream::FakeUpstream::start(|r| match (r.route().as_str(), r.header("authorization")) {
        ("GET /files/image.webp", None) => Reply::bytes(200, "image/webp", raster()),
        (_, auth) if auth != Some(&*format!("Bearer {KEY}")) => Reply::status(401),
        ("POST /v1/images/generations", _) => generated(r, "image.webp"),
        _ => Reply::status(404),
    })
    .await;
    // an SDK-style base URL, with its version
    let base = fake.url.join("v1").expect("URL");
    admin_added_connection_generates("recraft", "rc", base.as_str(), KEY, json!({"model": "recraft-v4", "prompt": "a fox"})).await;
    fake.stop().await;
}
