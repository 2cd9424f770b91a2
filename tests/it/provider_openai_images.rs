//! The OpenAI Images adapter end to end against a fake Images API: the base64 answer is taken
//! into custody byte for byte, and a moderation refusal fails the generation with its reason.

use base64::Engine;
use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, RigBuilder, image_bytes, provider};

const KEY: &str = "sk-fake-images";
/// gpt-image-2 costs 6 credits an image at low quality.
const PRICE: i64 = 6;

/// The app with an `openai_images` connection (a two-second timeout) to a fake answering with `reply`.
pub async fn images_rig(key: &str, reply: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> ProviderRig {
    images_connection(key).serve(reply).await
}

/// An `openai_images` connection with a two-second timeout.
fn images_connection(key: &str) -> RigBuilder {
    provider("openai-images", "openai_images").key(key).under("v1").connection(|c| c.timeout = std::time::Duration::from_secs(2))
}

/// One base64 image as the Images API answers it.
pub fn b64_image(image: &[u8]) -> serde_json::Value {
    json!({"b64_json": base64::engine::general_purpose::STANDARD.encode(image)})
}

#[tokio::test]
async fn two_base64_images_are_taken_into_custody_and_charged() {
    let images = [1, 2].map(|seed| image_bytes(image::ImageFormat::Png, 32, 24, seed));
    let answer = json!({"created": 1, "data": images.iter().map(|i| b64_image(i)).collect::<Vec<_>>(), "output_format": "png"});
    let rig = images_connection(KEY)
        .bearer_required(&[], Reply::json(401, json!({"error": {"message": "bad key", "code": "invalid_api_key"}})))
        .serve(move |r: &Request| match r.route().as_str() {
            "POST /v1/images/generations" => Reply::json(200, answer.clone()),
            _ => Reply::status(404),
        })
        .await;
    let body = json!({"model": "gpt-image-2", "prompt": "two red kites", "params": {"count": 2, "quality": "low"}});
    let done = rig.stores(body, 2 * PRICE, &[&images[0], &images[1]]).await;
    assert!(done["outputs"].as_array().unwrap().iter().all(|o| o["content_type"] == "image/png"), "{done}");
    let sent = rig.fake.requests_to("POST /v1/images/generations");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    assert_eq!(body["model"], "gpt-image-2");
    assert_eq!(body["prompt"], "two red kites");
    assert_eq!(body["n"], 2);
    assert_eq!(body["quality"], "low");
    rig.stop().await;
}

#[tokio::test]
async fn a_moderation_refusal_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let rig = images_rig(KEY, |_| {
        Reply::json(
            400,
            json!({"error": {
                "message": "Your request was rejected as a result of our safety system.",
                "type": "image_generation_user_error", "param": null, "code": "moderation_blocked"
            }}),
        )
    })
    .await;
    let body = json!({"model": "gpt-image-2", "prompt": "something refused"});
    rig.fails_showing(body, "provider.content_policy", &["content policy blocked this", "safety system"]).await;
    assert_eq!(rig.fake.requests().len(), 1, "a refusal is not retried");
    rig.stop().await;
}

/// A small image is its own thumbnail: no poster file is made, the library card shows the
/// image through a thumbnail link, which is not recorded as a download (as posters are not)
/// and cannot be made from an ordinary link, whose fetches are recorded.
#[tokio::test]
async fn a_small_image_is_its_own_thumbnail_shown_through_a_link_that_is_not_recorded() {
    let small = image_bytes(image::ImageFormat::Png, 48, 32, 9);
    assert!(small.len() as u64 <= reelvault::engine::posters::OWN_THUMBNAIL_MAX);
    let answer = json!({"created": 1, "data": [b64_image(&small)], "output_format": "png"});
    let rig = images_rig(KEY, move |r: &Request| match r.route().as_str() {
        "POST /v1/images/generations" => Reply::json(200, answer.clone()),
        _ => Reply::status(404),
    })
    .await;
    let done = rig.run(json!({"model": "gpt-image-2", "prompt": "a small kite", "params": {"quality": "low"}})).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let id = done["id"].as_str().unwrap();
    crate::search::wait_total(&rig.app.url, &rig.token, "", 1).await;
    let card = rig.admin.get("/library").await;
    let thumb = card.attr_of(&format!("#card-{id} .thumb img"), "src").expect("the image on its card");
    assert!(thumb.contains(done["outputs"][0]["id"].as_str().unwrap()) && thumb.contains("thumb=1"), "{thumb}");
    assert_eq!(
        crate::support::walk(&rig.app.data_dir().join("media")),
        0,
        "no poster, and no file either: an image this small is kept in the store with its record"
    );

    let client = reqwest::Client::new();
    let shown = client.get(format!("{}{thumb}", rig.app.url)).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.bytes().await.unwrap().as_ref(), small.as_slice());
    let ordinary = done["outputs"][0]["url"].as_str().unwrap();
    let made_up = format!("{ordinary}&thumb=1");
    assert_eq!(client.get(&made_up).send().await.unwrap().status(), 403, "the flag is covered by the signature");
    let unflagged = format!("{}{}", rig.app.url, thumb.replace("thumb=1&", ""));
    assert_eq!(client.get(&unflagged).send().await.unwrap().status(), 403, "a thumbnail link is only that");
    assert_eq!(client.get(ordinary).send().await.unwrap().status(), 200);
    let log = rig.admin.get("/admin/audit?action=media.downloaded").await;
    assert_eq!(log.count("tbody tr"), 1, "the ordinary fetch only, not the card's: {}", log.body);
    rig.stop().await;
}

/// A small image is kept in the store with its record instead of a file of its own: it is
/// served whole and by range like any, a backup brings it back, and it leaves with its
/// generation.
#[tokio::test]
async fn a_small_image_kept_in_the_store_is_served_by_range_restored_from_a_backup_and_deleted_with_its_generation() {
    let small = image_bytes(image::ImageFormat::Png, 40, 30, 4);
    let answer = json!({"created": 1, "data": [b64_image(&small)], "output_format": "png"});
    let rig = images_rig(KEY, move |r: &Request| match r.route().as_str() {
        "POST /v1/images/generations" => Reply::json(200, answer.clone()),
        _ => Reply::status(404),
    })
    .await;
    let done = rig.succeeds(json!({"model": "gpt-image-2", "prompt": "a small kite", "params": {"quality": "low"}}), PRICE).await;
    let id = done["id"].as_str().unwrap().to_string();
    let url = done["outputs"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(crate::support::walk(&rig.app.data_dir().join("media")), 0, "no file: the image is in the store");

    let client = reqwest::Client::new();
    let whole = client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), small.as_slice());
    let part = client.get(&url).header("range", "bytes=10-29").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 10-29/{}", small.len()).as_str());
    assert_eq!(part.bytes().await.unwrap().as_ref(), &small[10..30]);

    // a backup of the running instance, restored into a fresh data directory, serves it
    let data = rig.app.data_dir();
    let root = tempfile::tempdir().unwrap();
    let (backup, restored) = (root.path().join("backup"), root.path().join("restored"));
    for args in [["backup", backup.to_str().unwrap()], ["restore", backup.to_str().unwrap()]] {
        let place = if args[0] == "backup" { &data } else { &restored };
        let (code, out, err) = crate::support::process::run(&[args[0], args[1], "--data-dir", place.to_str().unwrap()], None).await;
        assert_eq!(code, 0, "reelvault {args:?}:\n{out}\n{err}");
    }
    assert_eq!(kept_in_store(&backup), 1);
    let copy = crate::support::TestApp::start_with(|c| {
        c.data_dir = restored.clone();
        c.master_key_file = data.with_file_name("data.key");
    })
    .await;
    let there = client.get(url.replace(&rig.app.url, &copy.url)).send().await.unwrap();
    assert_eq!(there.status(), 200);
    assert_eq!(there.bytes().await.unwrap().as_ref(), small.as_slice(), "restored byte for byte");
    copy.stop().await;

    let deleted = client.delete(format!("{}/api/v1/generations/{id}", rig.app.url)).bearer_auth(&rig.token).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 403, "the signed link opens nothing any more");
    let after = root.path().join("after");
    let (code, _, err) =
        crate::support::process::run(&["backup", after.to_str().unwrap(), "--data-dir", data.to_str().unwrap()], None).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(kept_in_store(&after), 0, "its encrypted bytes left the store with its record");
    rig.stop().await;
}

/// How many media a backup's store keeps (its manifest's row count).
fn kept_in_store(backup: &std::path::Path) -> u64 {
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    manifest["tables"]["sealed_media-1"].as_u64().unwrap()
}
