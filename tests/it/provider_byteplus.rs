//! The BytePlus adapter end to end: the app with a `byteplus` connection to a fake ModelArk
//! API: a Seedance task (queued → running → succeeded, video and last frame on signed storage
//! URLs) and a Seedream answer with base64 images, taken into custody byte for byte; a
//! moderated task fails with its reason and releases the hold.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, image_bytes, origin, provider};
use crate::support::{Browser, admin_with_credits, generate, wait_terminal};

const KEY: &str = "ark-it-key";
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 seedance video bytes";
const TASKS: &str = "/api/v3/contents/generations/tasks";

/// A fake ModelArk API whose task ends as `outcome` says (merged into the task object).
async fn rig(outcome: serde_json::Value, frame: Vec<u8>) -> ProviderRig {
    let polls = Arc::new(AtomicUsize::new(0));
    let image = image_bytes(image::ImageFormat::Png, 16, 16, 3);
    provider("byteplus", "byteplus")
        .key(KEY)
        .under("api/v3")
        .bearer_required(&["/tos/"], Reply::json(401, json!({"error": {"code": "AuthenticationError", "message": "bad key"}})))
        .serve(move |r| match r.route().as_str() {
            route if route == format!("POST {TASKS}") => Reply::json(200, json!({"id": "cgt-it-1"})),
            route if route == format!("GET {TASKS}/cgt-it-1") => {
                let n = polls.fetch_add(1, Ordering::SeqCst);
                let status = ["queued", "running"].get(n).copied().unwrap_or("succeeded");
                let mut task = json!({"id": "cgt-it-1", "model": "dreamina-seedance-2-0-fast-260128", "status": status});
                if n >= 2 {
                    let storage = format!("{}tos/", origin(r));
                    let outcome = outcome.to_string().replace("STORAGE/", &storage);
                    let outcome: serde_json::Value = serde_json::from_str(&outcome).expect("JSON");
                    for (k, v) in outcome.as_object().expect("an object") {
                        task[k] = v.clone();
                    }
                }
                Reply::json(200, task)
            }
            route if route.starts_with(&format!("DELETE {TASKS}/")) => Reply::json(200, json!({})),
            "GET /tos/out.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            "GET /tos/last.png" => Reply::bytes(200, "image/png", frame.clone()),
            "POST /api/v3/images/generations" => Reply::json(
                200,
                json!({"model": "seedream-5-0-260128", "created_at": 1,
                "data": [{"b64_json": base64::engine::general_purpose::STANDARD.encode(&image), "size": "16x16"}],
                "usage": {"generated_images": 1}}),
            ),
            _ => Reply::status(404),
        })
        .await
}

fn seedance(prompt: &str, params: serde_json::Value) -> serde_json::Value {
    json!({"model": "seedance-2.0-fast", "prompt": prompt, "params": params})
}

#[tokio::test]
async fn a_seedance_video_and_its_last_frame_are_taken_into_custody() {
    let frame = image_bytes(image::ImageFormat::Png, 24, 16, 7);
    let done = json!({"status": "succeeded", "content": {"video_url": "STORAGE/out.mp4?sig=1", "last_frame_url": "STORAGE/last.png?sig=1"},
        "usage": {"completion_tokens": 48_000}});
    let rig = rig(done, frame.clone()).await;
    // 5 s at the sound-on rate of 8 credits a second
    let params = json!({"duration": 5, "resolution": "720p", "audio": "on", "return_last_frame": "on"});
    rig.stores(seedance("a kite over dunes", params), 40, &[VIDEO, &frame]).await;

    let sent = rig.fake.requests_to(&format!("POST {TASKS}"))[0].json();
    assert_eq!(sent["model"], "dreamina-seedance-2-0-fast-260128");
    assert_eq!(sent["content"], json!([{"type": "text", "text": "a kite over dunes"}]));
    assert_eq!((sent["generate_audio"].clone(), sent["return_last_frame"].clone()), (json!(true), json!(true)));
    assert_eq!((sent["duration"].clone(), sent["resolution"].clone()), (json!(5), json!("720p")));
    rig.assert_keyless("GET /tos/");
    rig.stop().await;
}

#[tokio::test]
async fn a_moderated_seedance_task_fails_with_its_reason_and_releases_the_hold() {
    let failed = json!({"status": "failed", "error": {"code": "InputTextSensitiveContentDetected",
        "message": "The request failed because the input text may contain sensitive information."}});
    let rig = rig(failed, Vec::new()).await;
    let body = seedance("something the provider refuses", json!({"duration": 5, "audio": "off"}));
    rig.fails_showing(body, "provider.content_policy", &["content policy", "sensitive information"]).await;
    rig.stop().await;
}

#[tokio::test]
async fn a_seedream_image_is_answered_at_once_and_stored() {
    let rig = rig(json!({}), Vec::new()).await;
    let expected = image_bytes(image::ImageFormat::Png, 16, 16, 3);
    rig.stores(json!({"model": "seedream-5.0", "prompt": "a red fox", "params": {"size": "2K"}}), 4, &[&expected]).await;
    let sent = rig.fake.requests_to("POST /api/v3/images/generations")[0].json();
    assert_eq!((sent["model"].clone(), sent["response_format"].clone()), (json!("seedream-5-0-260128"), json!("b64_json")));
    rig.stop().await;
}

#[tokio::test]
async fn an_admin_adds_a_byteplus_connection_and_generates_through_it() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let fake = fake_upstream::FakeUpstream::start(move |r| {
        log.lock().unwrap().push(r.route());
        match (r.route().as_str(), r.header("authorization")) {
            (_, Some(auth)) if auth != format!("Bearer {KEY}") => Reply::status(401),
            ("POST /api/v3/contents/generations/tasks", _) => Reply::json(200, json!({"id": "cgt-admin"})),
            ("GET /api/v3/contents/generations/tasks/cgt-admin", _) => Reply::json(
                200,
                json!({"id": "cgt-admin", "status": "succeeded", "content": {"video_url": format!("{}tos/out.mp4", origin(r))}}),
            ),
            ("GET /tos/out.mp4", None) => Reply::bytes(200, "video/mp4", VIDEO),
            _ => Reply::status(404),
        }
    })
    .await;
    let app = crate::support::TestApp::start().await;
    let (_, token) = admin_with_credits(&app, 500).await;
    let admin = Browser::new(&app.url);
    admin.sign_in(crate::support::ADMIN_EMAIL, crate::support::ADMIN_PASSWORD).await;
    let base = fake.url.to_string();
    let fields = [("name", "ark"), ("kind", "byteplus"), ("base_url", base.as_str()), ("api_key", KEY), ("allow_private_network", "on")];
    let added = admin.post_form("/admin/connections", &fields).await;
    assert_eq!(added.status, 303, "{}", added.body);

    let created = generate(&app.url, &token, seedance("a lighthouse at dusk", json!({"duration": 4, "audio": "off"}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!((done["state"].clone(), done["connection"].clone()), (json!("succeeded"), json!("ark")), "{done}");
    assert!(seen.lock().unwrap().iter().any(|r| r == "POST /api/v3/contents/generations/tasks"), "the version was added to the bare host");
    app.stop().await;
    fake.stop().await;
}
