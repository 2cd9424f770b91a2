//! The BFL adapter end to end against a fake FLUX API: submit, poll the returned polling_url
//! until Ready, take the signed sample into custody byte for byte; and a moderated output fails
//! the generation with the content-policy reason.

use std::sync::atomic::{AtomicUsize, Ordering};

use fake_upstream::{Reply, Request};
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, image_bytes, origin, provider};

const KEY: &str = "bfl-fake-key";
const CREDITS: i64 = 100;
/// flux-pro-1.1 costs 4 credits an image.
const PRICE: i64 = 4;

async fn rig(reply: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> ProviderRig {
    provider("bfl", "bfl").key(KEY).credits(CREDITS).connection(|c| c.timeout = std::time::Duration::from_secs(2)).serve(reply).await
}

#[tokio::test]
async fn a_flux_image_is_polled_to_ready_and_its_signed_sample_taken_into_custody() {
    let image = image_bytes(image::ImageFormat::Jpeg, 48, 27, 77);
    let served = image.clone();
    let polls = AtomicUsize::new(0);
    let rig = rig(move |r: &Request| {
        let keyed = r.header("x-key") == Some(KEY);
        match r.route().as_str() {
            "POST /v1/flux-pro-1.1" if keyed => {
                Reply::json(200, json!({"id": "task-e2e", "polling_url": format!("{}v1/get_result?id=task-e2e", origin(r))}))
            }
            "GET /v1/get_result" if keyed => match polls.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::json(200, json!({"id": "task-e2e", "status": "Pending", "result": null, "progress": 0.5})),
                _ => Reply::json(
                    200,
                    json!({"id": "task-e2e", "status": "Ready", "result": {"sample": format!("{}delivery/task-e2e/sample.jpg?se=soon&sig=x", origin(r)), "seed": 11}}),
                ),
            },
            "GET /delivery/task-e2e/sample.jpg" if !keyed => Reply::bytes(200, "image/jpeg", served.clone()),
            _ => Reply::json(401, json!({"detail": "Not authenticated"})),
        }
    })
    .await;
    let body = json!({"model": "flux-pro-1.1", "prompt": "a paper boat on a canal", "params": {"aspect_ratio": "16:9", "seed": 11}});
    let done = rig.stores(body, PRICE, &[&image]).await;
    assert_eq!(done["outputs"][0]["content_type"], "image/jpeg");

    let sent = rig.fake.requests_to("POST /v1/flux-pro-1.1");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].json(),
        json!({"prompt": "a paper boat on a canal", "width": 1344, "height": 768, "seed": 11, "output_format": "jpeg"})
    );
    assert_eq!(rig.fake.requests_to("GET /v1/get_result").len(), 2, "pending, then ready");
    assert_eq!(rig.fake.requests_to("GET /delivery/").len(), 1);
    rig.stop().await;
}

#[tokio::test]
async fn a_moderated_output_fails_with_the_content_policy_reason_and_releases_the_hold() {
    let rig = rig(|r: &Request| match r.route().as_str() {
        "POST /v1/flux-kontext-pro" => {
            Reply::json(200, json!({"id": "task-mod", "polling_url": format!("{}v1/get_result?id=task-mod", origin(r))}))
        }
        _ => Reply::json(
            200,
            json!({"id": "task-mod", "status": "Content Moderated", "result": null, "details": {"Moderation Reasons": ["NSFW"]}}),
        ),
    })
    .await;
    let body = json!({"model": "flux-kontext-pro", "prompt": "something withheld"});
    rig.fails_showing(body, "provider.content_policy", &["content policy blocked this", "NSFW"]).await;
    assert_eq!(rig.fake.requests_to("POST").len(), 1, "not resubmitted");
    rig.stop().await;
}
