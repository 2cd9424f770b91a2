//! The OpenRouter adapter end to end: the app with an `openrouter` connection to a fake Video
//! API; an admin asks it which models it serves, the discovered model is offered with the
//! values the fake listed, a value outside them is refused before anything is sent, a video is
//! taken into custody byte for byte from the API's content endpoint, and a moderated job fails
//! with its reason and releases the hold.

use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, provider};
use crate::support::{api_get, api_post};

const KEY: &str = "or-it-key";
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 routed video bytes";
const MODEL: &str = "openrouter-acme-zoom-1";

/// A fake Video API listing one model (3 or 7 seconds, 720p, 5 US cents a second); a job whose
/// prompt says "refuse" fails as moderated.
async fn rig() -> ProviderRig {
    provider("router", "openrouter")
        .key(KEY)
        .under("api/v1")
        .bearer_required(&[], Reply::json(401, json!({"error": {"code": 401, "message": "No auth credentials found"}})))
        .serve(|r| match r.route().as_str() {
            "GET /api/v1/videos/models" => Reply::json(
                200,
                json!({"data": [{"id": "acme/zoom-1", "canonical_slug": "acme/zoom-1", "name": "Acme Zoom 1",
                    "supported_resolutions": ["720p"], "supported_aspect_ratios": ["16:9", "1:1"], "supported_durations": [3, 7],
                    "supported_frame_images": ["first_frame"], "generate_audio": false, "seed": null,
                    "pricing_skus": {"video_seconds": "0.05"}}]}),
            ),
            "POST /api/v1/videos" => {
                let id = if r.json()["prompt"].as_str().unwrap_or_default().contains("refuse") { "job-bad" } else { "job-ok" };
                Reply::json(202, json!({"id": id, "polling_url": format!("/api/v1/videos/{id}"), "status": "pending"}))
            }
            "GET /api/v1/videos/job-ok" => {
                Reply::json(200, json!({"id": "job-ok", "status": "completed", "unsigned_urls": ["u"], "usage": {"cost": 0.15}}))
            }
            "GET /api/v1/videos/job-ok/content" => Reply::bytes(200, "video/mp4", VIDEO),
            "GET /api/v1/videos/job-bad" => {
                Reply::json(200, json!({"id": "job-bad", "status": "failed", "error": "The prompt was flagged by content moderation"}))
            }
            _ => Reply::status(404),
        })
        .await
}

fn zoom(prompt: &str, duration: i64) -> serde_json::Value {
    json!({"model": MODEL, "prompt": prompt, "params": {"duration": duration, "resolution": "720p"}})
}

#[tokio::test]
async fn discovered_models_are_offered_checked_and_generated_through_openrouter() {
    let rig = rig().await;
    let found = api_post(&rig.app.url, "/api/v1/admin/catalog/discover", &rig.token, json!({})).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.json(), json!({"models": 1, "failures": []}));

    let models = api_get(&rig.app.url, "/api/v1/models", Some(&rig.token)).await.json();
    let model = models["models"].as_array().unwrap().iter().find(|m| m["id"] == MODEL).expect("the discovered model is offered").clone();
    let duration = model["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "duration").expect("a duration").clone();
    assert_eq!(duration["values"], json!([3, 7]), "{model}");
    assert!(models["models"].as_array().unwrap().iter().any(|m| m["id"] == "openrouter-google-veo-3.1"), "shipped models stay");

    let refused = api_post(&rig.app.url, "/api/v1/generations", &rig.token, zoom("a slow zoom", 5)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(rig.fake.requests_to("POST /api/v1/videos").is_empty(), "nothing is sent for a refused value");

    // a moderated job releases its hold before the successful one is charged
    rig.fails_showing(zoom("refuse this", 7), "provider.content_policy", &["content moderation"]).await;
    // 3 s at 5 credits a second
    rig.stores(zoom("a slow zoom over a harbour", 3), 15, &[VIDEO]).await;
    let sent = rig.fake.requests_to("POST /api/v1/videos")[1].json();
    let expected = json!({"model": "acme/zoom-1", "prompt": "a slow zoom over a harbour", "duration": 3, "resolution": "720p", "aspect_ratio": "16:9"});
    assert_eq!(sent, expected, "the defaults of the discovered values go too");

    rig.stop().await;
}

#[tokio::test]
async fn the_admin_page_discovers_and_a_failing_api_keeps_the_discovered_models() {
    let rig = rig().await;
    let page = rig.admin.get("/admin/connections").await;
    assert!(page.body.contains("Discover models"), "{}", page.body);
    let asked = rig.admin.post_form("/admin/connections/discover", &[]).await;
    assert_eq!(asked.status, 303, "the page's button refreshes and comes back: {}", asked.body);
    let listed = api_get(&rig.app.url, "/api/v1/models", Some(&rig.token)).await.json();
    assert!(listed["models"].as_array().unwrap().iter().any(|m| m["id"] == MODEL), "the button's refresh is in force");
    rig.fake.stop().await;
    let failed = api_post(&rig.app.url, "/api/v1/admin/catalog/discover", &rig.token, json!({})).await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.json()["models"], 0);
    assert!(failed.json()["failures"][0].as_str().unwrap().starts_with("router: "), "{}", failed.body);
    let models = api_get(&rig.app.url, "/api/v1/models", Some(&rig.token)).await.json();
    assert!(models["models"].as_array().unwrap().iter().any(|m| m["id"] == MODEL), "the previous discovered models stay");
    rig.app.stop().await;
}
