//! Working on an earlier output end to end: a Wan video, then "Edit" from its page; the edit
//! receives the source's video inline, links back to it, and the source lists it. Refusals of
//! a source that cannot be worked on name the `source` field.

use base64::Engine as _;
use fake_upstream::Reply;
use serde_json::json;

use crate::support::api::{api_get, api_post};
use crate::support::provider_rig::{ProviderRig, origin, provider};

const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 the first video";
const EDITED: &[u8] = b"\x00\x00\x00\x18ftypmp42 the edited video";
const SUBMIT: &str = "POST /api/v1/services/aigc/video-generation/video-synthesis";

/// A DashScope fake: a text-to-video task `t1` and an edit task `t2`, both finishing at once.
async fn rig() -> ProviderRig {
    provider("dashscope", "dashscope")
        .key("sk-lineage")
        .serve(|r| match r.route().as_str() {
            SUBMIT => {
                let task = if r.json()["model"] == "wan2.7-videoedit" { "t2" } else { "t1" };
                Reply::json(200, json!({"output": {"task_id": task, "task_status": "PENDING"}, "request_id": "r1"}))
            }
            route @ ("GET /api/v1/tasks/t1" | "GET /api/v1/tasks/t2") => {
                let task = &route[route.len() - 2..];
                Reply::json(
                    200,
                    json!({"request_id": "r2", "output": {"task_id": task, "task_status": "SUCCEEDED",
                    "video_url": format!("{}oss/{task}.mp4?Expires=1", origin(r))}}),
                )
            }
            "GET /oss/t1.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
            "GET /oss/t2.mp4" => Reply::bytes(200, "video/mp4", EDITED),
            _ => Reply::status(404),
        })
        .await
}

#[tokio::test]
async fn an_edit_from_the_generation_page_gets_the_source_video_and_links_both_ways() {
    let rig = rig().await;
    let source = rig.run(json!({"model": "wan-2.7-t2v", "prompt": "a lantern on a lake"})).await;
    assert_eq!(source["state"], "succeeded", "{source}");
    let source_id = source["id"].as_str().unwrap().to_string();

    // the source's page offers the models that work on its video
    let page = rig.page(&source_id).await;
    let edit = page.attr_of("#work-on a[data-operation=edit]", "href").expect("an Edit button");
    assert!(edit.contains("model=wan-2.7-videoedit") && edit.contains(&format!("source={source_id}")), "{edit}");
    assert_eq!(page.count("#work-on a[data-operation=extend]"), 0, "no Wan model extends a video");

    // the form it leads to carries the source and starts from its prompt
    let form = rig.admin.get(&edit.replace("&amp;", "&")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.attr_of("input[name=source]", "value").as_deref(), Some(source_id.as_str()));
    assert_eq!(form.count("#source video"), 1, "the source video is previewed");
    assert_eq!(form.count("input[name=ref_source_video]"), 0, "no file to pick: the source is the video");
    assert_eq!(form.text_of("#prompt"), "a lantern on a lake");

    let child = rig.run(json!({"model": "wan-2.7-videoedit", "prompt": "make it snow", "source": source_id})).await;
    assert_eq!(child["state"], "succeeded", "{child}");
    assert_eq!(child["source"], source_id.as_str());
    rig.assert_output(&child, 0, EDITED).await;
    let sent = rig.fake.requests_to(SUBMIT).into_iter().map(|r| r.json()).find(|b| b["model"] == "wan2.7-videoedit").expect("edit sent");
    let inline = format!("data:video/mp4;base64,{}", base64::engine::general_purpose::STANDARD.encode(VIDEO));
    assert_eq!(sent["input"]["media"], json!([{"type": "video", "url": inline}]), "the source's own bytes, inline");

    let child_id = child["id"].as_str().unwrap();
    let descendants = api_get(&rig.app.url, &format!("/api/v1/generations/{source_id}/descendants"), Some(&rig.token)).await;
    assert_eq!(descendants.status, 200);
    assert_eq!(descendants.json()["data"][0]["id"], child_id);
    let source_page = rig.page(&source_id).await;
    assert!(source_page.attr_of("#descendants a", "href").is_some_and(|h| h.ends_with(child_id)));
    let child_page = rig.page(child_id).await;
    assert!(child_page.attr_of("#source a", "href").is_some_and(|h| h.ends_with(&source_id)));
    assert!(child_page.count("#work-on a[data-operation=edit]") >= 1, "an edit can be edited again");
    rig.stop().await;
}

#[tokio::test]
async fn a_source_that_cannot_be_worked_on_is_refused_by_name_before_anything_is_held() {
    let rig = rig().await;
    let source = rig.run(json!({"model": "wan-2.7-t2v", "prompt": "a lantern"})).await;
    let id = source["id"].as_str().unwrap();
    let refused = |body: serde_json::Value| {
        let (url, token) = (rig.app.url.clone(), rig.token.clone());
        async move { api_post(&url, "/api/v1/generations", &token, body).await }
    };
    let with_no_operation = refused(json!({"model": "wan-2.7-t2v", "prompt": "again", "source": id})).await;
    assert_eq!(with_no_operation.status, 422, "{}", with_no_operation.body);
    assert_eq!(with_no_operation.json()["details"]["parameter"], "source");
    let unknown = refused(json!({"model": "wan-2.7-videoedit", "prompt": "x", "source": "01JZ8Q3W6V2N5K7M9P0R4T6Y8A"})).await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(unknown.body.contains("not one of your generations"), "{}", unknown.body);
    let malformed = refused(json!({"model": "wan-2.7-videoedit", "prompt": "x", "source": "../etc"})).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    let missing = refused(json!({"model": "wan-2.7-videoedit", "prompt": "x"})).await;
    assert_eq!(missing.status, 422, "an edit without a video: {}", missing.body);
    let before = rig.credits().await;
    assert_eq!(before.1, 0, "nothing held by refused submits");
    assert_eq!(rig.fake.requests_to(SUBMIT).len(), 1, "only the first video reached the provider");
    rig.stop().await;
}
