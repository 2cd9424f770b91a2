//! The Replicate adapter end to end against a fake predictions API: a FLUX schnell job with
//! two images is created, polled, taken into custody and settled; a moderated job fails with
//! the content-policy reason, shown on its page, and its hold is released.

use std::sync::atomic::{AtomicUsize, Ordering};

use fake_upstream::Reply;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, media_bytes, origin, provider};

const KEY: &str = "r8_integration";

/// What the fake's polls answer after the create (`starting`).
#[derive(Clone, Copy)]
enum Outcome {
    Images,
    Moderated,
}

fn image(n: u8) -> Vec<u8> {
    media_bytes(b"\x89PNG\r\n\x1a\nreplicate output ", 2048, n)
}

async fn rig(outcome: Outcome) -> ProviderRig {
    let polls = AtomicUsize::new(0);
    provider("replicate", "replicate")
        .key(KEY)
        .under("v1/")
        .credits(50)
        .bearer_required(&[], Reply::json(401, json!({"title": "Unauthenticated", "detail": "Invalid token.", "status": 401})))
        .serve(move |r| {
            let file = |n: u8| format!("{}files/pred-1/out-{n}.png", origin(r));
            match r.route().as_str() {
                "POST /v1/models/black-forest-labs/flux-schnell/predictions" => {
                    Reply::json(201, json!({"id": "pred-1", "status": "starting", "output": null}))
                }
                "GET /v1/predictions/pred-1" => {
                    let answer = match (polls.fetch_add(1, Ordering::SeqCst), outcome) {
                        (0, _) => json!({"id": "pred-1", "status": "processing", "logs": " 50%|█████     | 2/4"}),
                        (_, Outcome::Images) => json!({"id": "pred-1", "status": "succeeded", "output": [file(0), file(1)]}),
                        (_, Outcome::Moderated) => json!({"id": "pred-1", "status": "failed",
                            "error": "All generated images contained NSFW content. Try running it again with a different prompt."}),
                    };
                    Reply::json(200, answer)
                }
                "GET /files/pred-1/out-0.png" => Reply::bytes(200, "image/png", image(0)),
                "GET /files/pred-1/out-1.png" => Reply::bytes(200, "image/png", image(1)),
                _ => Reply::json(404, json!({"title": "Not found", "status": 404})),
            }
        })
        .await
}

fn schnell() -> serde_json::Value {
    json!({"model": "replicate-flux-schnell", "prompt": "a lighthouse at dusk", "params": {"count": 2, "aspect_ratio": "16:9", "seed": 7}})
}

#[tokio::test]
async fn two_flux_images_are_created_polled_stored_and_settled() {
    let rig = rig(Outcome::Images).await;
    let done = rig.stores(schnell(), 2, &[&image(0), &image(1)]).await;
    assert!(done["outputs"].as_array().unwrap().iter().all(|o| o["content_type"] == "image/png"), "{done}");
    let create = &rig.fake.requests_to("POST /v1/models/")[0];
    assert_eq!(create.json(), json!({"input": {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "num_outputs": 2, "seed": 7}}));
    assert!(rig.fake.requests_to("POST /v1/predictions/pred-1/cancel").is_empty());
    rig.stop().await;
}

#[tokio::test]
async fn a_moderated_prediction_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let rig = rig(Outcome::Moderated).await;
    rig.fails_showing(schnell(), "provider.content_policy", &["content policy blocked this", "NSFW content"]).await;
    assert!(rig.fake.requests_to("GET /files/").is_empty(), "nothing to fetch");
    rig.stop().await;
}
