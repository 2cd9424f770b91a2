//! Gemini Omni through the Interactions API, against a strict loopback fake.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};
use serde_json::{Value, json};

use super::{KEY, MP4, adapter, b64, error};
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::domain::generation::UpstreamHandle;
use crate::providers::kit::testing;
use crate::providers::{Provider, ProviderError, ProviderJob, ReferenceFile, SourceJob, UpstreamStatus};

const OMNI: &str = "gemini-omni-1.1-flash";

fn omni_job(references: Vec<ReferenceFile>) -> ProviderJob {
    let params = [
        ("duration", ParamValue::Int(6)),
        ("aspect_ratio", ParamValue::Text("9:16".into())),
        ("resolution", ParamValue::Text("720p".into())),
    ];
    testing::job(MediaKind::Video, OMNI).prompt("a paper boat in the rain").params(&params).references(references).build()
}

fn source_video() -> ReferenceFile {
    ReferenceFile { role: ReferenceRole::SourceVideo, content_type: "video/mp4".into(), bytes: Bytes::from_static(MP4), tag: None }
}

/// An Interactions fake: create answers `queued`, then each poll answers the next of `polls`
/// (the last repeats); cancel and delete answer empty objects. Anything else is a 404.
async fn omni_fake(polls: Vec<Value>) -> FakeUpstream {
    let seen = Arc::new(Mutex::new(0usize));
    FakeUpstream::start(move |r: &Request| {
        if r.header("x-goog-api-key") != Some(KEY) {
            return error(401, "UNAUTHENTICATED", "missing key");
        }
        match r.route().as_str() {
            "POST /v1beta/interactions" => Reply::json(200, json!({"id": "ia1", "status": "queued", "model": OMNI})),
            "GET /v1beta/interactions/ia1" => {
                let mut n = seen.lock().unwrap();
                let answer = polls[(*n).min(polls.len() - 1)].clone();
                *n += 1;
                Reply::json(200, answer)
            }
            "POST /v1beta/interactions/ia1/cancel" => Reply::json(200, json!({"id": "ia1", "status": "cancelled"})),
            "DELETE /v1beta/interactions/ia1" => Reply::json(200, json!({})),
            _ => error(404, "NOT_FOUND", "no such route"),
        }
    })
    .await
}

fn completed_inline() -> Value {
    json!({"id": "ia1", "status": "completed", "output_video": {"data": b64(MP4), "mime_type": "video/mp4"}})
}

#[tokio::test]
async fn a_text_to_video_interaction_is_exact_and_walks_to_inline_bytes_then_cancel_and_delete() {
    let fake = omni_fake(vec![json!({"id": "ia1", "status": "in_progress"}), completed_inline()]).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let submitted = gemini.submit(&omni_job(Vec::new())).await.unwrap();
    assert_eq!(submitted.handle.id, "ia1");
    assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
    let sent = &fake.requests_to("POST /v1beta/interactions")[0];
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json(),
        json!({
            "model": OMNI,
            "input": "a paper boat in the rain",
            "background": true,
            "response_modalities": ["video"],
            "response_format": {"type": "video", "aspect_ratio": "9:16", "resolution": "720p", "duration": "6s"},
            "generation_config": {"video_config": {"task": "text_to_video"}},
        })
    );
    assert!(matches!(gemini.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    let UpstreamStatus::Succeeded { outputs, .. } = gemini.poll(&submitted.handle).await.unwrap() else { panic!("not completed") };
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    let bytes = testing::drain(gemini.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap();
    assert_eq!(bytes, MP4);

    gemini.cancel(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests_to("POST /v1beta/interactions/ia1/cancel").len(), 1);
    assert!(gemini.delete_upstream(&submitted.handle).await.unwrap());
    assert_eq!(fake.requests_to("DELETE /v1beta/interactions/ia1").len(), 1);
    assert!(fake.requests().iter().all(|r| r.header("x-goog-api-key") == Some(KEY)), "every request carried the key");
    assert!(fake.requests().iter().all(|r| !r.path.contains(":predictLongRunning")), "Omni never goes to Veo's endpoint");
    fake.stop().await;
}

#[tokio::test]
async fn frames_and_references_go_inline_with_their_task() {
    let fake = omni_fake(vec![completed_inline()]).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    gemini.submit(&omni_job(vec![testing::reference(ReferenceRole::FirstFrame, b"first")])).await.unwrap();
    let refs = vec![testing::reference(ReferenceRole::Reference, b"one"), testing::reference(ReferenceRole::Reference, b"two")];
    gemini.submit(&omni_job(refs)).await.unwrap();
    let sent = fake.requests_to("POST /v1beta/interactions");
    let text = json!({"type": "text", "text": "a paper boat in the rain"});
    let image = |bytes: &[u8]| json!({"type": "image", "data": b64(bytes), "mime_type": "image/png"});
    assert_eq!(sent[0].json()["input"], json!([text, image(b"first")]));
    assert_eq!(sent[0].json()["generation_config"], json!({"video_config": {"task": "image_to_video"}}));
    assert_eq!(sent[1].json()["input"], json!([text, image(b"one"), image(b"two")]));
    assert_eq!(sent[1].json()["generation_config"], json!({"video_config": {"task": "reference_to_video"}}));

    let mixed = vec![testing::reference(ReferenceRole::FirstFrame, b"f"), testing::reference(ReferenceRole::Reference, b"r")];
    let refused = gemini.submit(&omni_job(mixed)).await.err();
    assert!(matches!(refused, Some(ProviderError::InvalidInput(_))), "{refused:?}");
    assert_eq!(fake.requests_to("POST /v1beta/interactions").len(), 2, "a refused job is not sent");
    fake.stop().await;
}

#[tokio::test]
async fn an_edit_continues_its_source_interaction_or_sends_the_video_inline() {
    let fake = omni_fake(vec![completed_inline()]).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let edit = || testing::job(MediaKind::Video, OMNI).prompt("make it snow").references(vec![source_video()]).build();

    let mut continued = edit();
    let handle = UpstreamHandle { id: "ia0".into(), data: [("mode".to_string(), "interaction".to_string())].into() };
    continued.source = Some(SourceJob { upstream_model: OMNI.into(), handle });
    gemini.submit(&continued).await.unwrap();
    let mut from_veo = edit();
    let veo = UpstreamHandle { id: "models/veo/operations/op9".into(), data: [("mode".to_string(), "video".to_string())].into() };
    from_veo.source = Some(SourceJob { upstream_model: "veo-3.1-generate-preview".into(), handle: veo });
    gemini.submit(&from_veo).await.unwrap();

    let sent = fake.requests_to("POST /v1beta/interactions");
    let continued = sent[0].json();
    assert_eq!(continued["previous_interaction_id"], json!("ia0"));
    assert_eq!(continued["input"], json!("make it snow"), "the source is upstream already: no video part");
    assert_eq!(continued["generation_config"], json!({"video_config": {"task": "edit"}}));
    let inline = sent[1].json();
    assert_eq!(inline.get("previous_interaction_id"), None, "a Veo operation cannot be continued");
    let video = json!({"type": "video", "data": b64(MP4), "mime_type": "video/mp4"});
    assert_eq!(inline["input"], json!([{"type": "text", "text": "make it snow"}, video]));
    assert_eq!(inline["generation_config"], json!({"video_config": {"task": "edit"}}));
    fake.stop().await;
}

#[tokio::test]
async fn a_uri_output_on_the_api_host_is_downloaded_with_the_key() {
    let fake = FakeUpstream::start(|r: &Request| {
        if r.header("x-goog-api-key") != Some(KEY) {
            return error(401, "UNAUTHENTICATED", "missing key");
        }
        match r.route().as_str() {
            "GET /v1beta/interactions/ia1" => {
                let uri = format!("http://{}/v1beta/files/omni1:download?alt=media", r.header("host").unwrap_or_default());
                Reply::json(200, json!({"id": "ia1", "status": "completed", "output_video": {"uri": uri, "mime_type": "video/mp4"}}))
            }
            "GET /v1beta/files/omni1:download" => Reply::bytes(200, "video/mp4", MP4),
            _ => error(404, "NOT_FOUND", "no such route"),
        }
    })
    .await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let handle = UpstreamHandle { id: "ia1".into(), data: [("mode".to_string(), "interaction".to_string())].into() };
    let UpstreamStatus::Succeeded { outputs, .. } = gemini.poll(&handle).await.unwrap() else { panic!("not completed") };
    let bytes = testing::drain(gemini.fetch(&handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap();
    assert_eq!(bytes, MP4);
    fake.stop().await;
}

#[tokio::test]
async fn every_unhappy_interaction_state_maps_to_its_class() {
    let cases = [
        (
            json!({"id": "ia1", "status": "failed", "errors": [{"code": 3, "message": "The prompt was blocked by our safety filters."}]}),
            "provider.content_policy",
        ),
        (json!({"id": "ia1", "status": "incomplete", "errors": [{"code": 8, "message": "Resource exhausted"}]}), "provider.rate_limited"),
        (json!({"id": "ia1", "status": "failed"}), "provider.transient"),
        (json!({"id": "ia1", "status": "budget_exceeded"}), "provider.insufficient_credit"),
        (json!({"id": "ia1", "status": "cancelled"}), "provider.not_found"),
        (json!({"id": "ia1", "status": "requires_action"}), "provider.invalid_input"),
        (json!({"id": "ia1", "status": "completed"}), "provider.transient"),
    ];
    let handle = UpstreamHandle { id: "ia1".into(), data: [("mode".to_string(), "interaction".to_string())].into() };
    for (answer, code) in cases {
        let fake = omni_fake(vec![answer.clone()]).await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let status = gemini.poll(&handle).await.unwrap();
        let UpstreamStatus::Failed(failure) = status else { panic!("{answer} did not fail: {status:?}") };
        assert_eq!(failure.code(), code, "{answer}");
        fake.stop().await;
    }
}

#[tokio::test]
async fn a_uri_output_off_the_api_host_is_downloaded_without_the_key() {
    let storage = FakeUpstream::start(
        |r: &Request| {
            if r.path == "/signed/omni.mp4" { Reply::bytes(200, "video/mp4", MP4) } else { Reply::status(404) }
        },
    )
    .await;
    let signed = storage.at("signed/omni.mp4").to_string();
    let fake = FakeUpstream::start(move |r: &Request| match r.route().as_str() {
        "GET /v1beta/interactions/ia1" if r.header("x-goog-api-key") == Some(KEY) => {
            Reply::json(200, json!({"id": "ia1", "status": "completed", "output_video": {"uri": signed, "mime_type": "video/mp4"}}))
        }
        _ => error(404, "NOT_FOUND", "no such route"),
    })
    .await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let handle = UpstreamHandle { id: "ia1".into(), data: [("mode".to_string(), "interaction".to_string())].into() };
    let UpstreamStatus::Succeeded { outputs, .. } = gemini.poll(&handle).await.unwrap() else { panic!("not completed") };
    let bytes = testing::drain(gemini.fetch(&handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap();
    assert_eq!(bytes, MP4);
    let hits = storage.requests();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].header("x-goog-api-key"), None, "the key never goes to another host");
    fake.stop().await;
    storage.stop().await;
}
