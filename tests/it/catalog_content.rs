//! The shipped catalog's content as a user meets it: a model its provider shut down is offered
//! as unavailable with its successor and refused before anything is held or sent; a
//! first-frame-only model refuses a submit without its frame (422 naming the input).

use fake_upstream::Reply;
use serde_json::json;

use crate::provider_openai_images::images_rig;
use crate::support::provider_rig::provider;
use crate::support::{api_get, api_post};

#[tokio::test]
async fn retired_models_name_their_successor_and_are_never_sent() {
    let rig = images_rig("sk-fake-images", |_| Reply::status(500)).await;
    let (url, token) = (&rig.app.url, &rig.token);
    let models = api_get(url, "/api/v1/models", Some(token)).await.json();
    let find =
        |id: &str| models["models"].as_array().unwrap().iter().find(|m| m["id"] == id).cloned().unwrap_or_else(|| panic!("{id} listed"));
    let retired = find("gpt-image-1");
    assert_eq!(retired["available"], false, "{retired}");
    assert!(retired["unavailable_reason"].as_str().unwrap_or_default().contains("gpt-image-2"), "{retired}");
    assert_eq!(find("gpt-image-2")["available"], true);

    for model in ["gpt-image-1", "gpt-image-1.5", "dall-e-3"] {
        let refused = api_post(url, "/api/v1/generations", token, json!({"model": model, "prompt": "a kite"})).await;
        assert!((400..500).contains(&refused.status), "{model}: {} {}", refused.status, refused.body);
        assert!(refused.body.contains("gpt-image-2"), "{model} names its successor: {}", refused.body);
    }
    assert!(rig.fake.requests().is_empty(), "nothing reached the provider");
    rig.assert_released().await;
    rig.stop().await;
}

#[tokio::test]
async fn an_image_to_video_model_refuses_a_submit_without_its_first_frame() {
    let rig = provider("runway", "runway").key("rw-key").serve(|_| Reply::status(500)).await;
    let body = json!({"model": "runway-gen4-turbo", "prompt": "a paper boat", "params": {"duration": 5}});
    let refused = api_post(&rig.app.url, "/api/v1/generations", &rig.token, body).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("first_frame"), "{}", refused.body);
    assert!(rig.fake.requests().is_empty(), "nothing reached the provider");
    rig.assert_released().await;
    rig.stop().await;
}
