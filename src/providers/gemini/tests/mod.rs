//! Tests of the gemini adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};

use super::*;
use crate::domain::catalog::{ParamValue, ReferenceRole};
use crate::providers::ReferenceFile;
use crate::providers::kit::testing::{self, Probe, connection};
use base64::Engine;

const KEY: &str = "gm-test-key";
const OP: &str = "models/veo-3.1-generate-preview/operations/op1";
const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 a tiny video";

fn adapter(fake: &FakeUpstream, timeout: Duration) -> Gemini {
    Gemini::new(&ConnectionConfig { base_url: Some(fake.at("v1beta/")), timeout, ..connection(fake, "gemini", KEY) }).unwrap()
}

fn job(kind: MediaKind, upstream: &str, params: &[(&str, ParamValue)], references: Vec<ReferenceFile>) -> ProviderJob {
    testing::job(kind, upstream).prompt("a lighthouse in a storm").params(params).references(references).build()
}

fn video_job() -> ProviderJob {
    let params = [
        ("duration", ParamValue::Int(8)),
        ("aspect_ratio", ParamValue::Text("16:9".into())),
        ("resolution", ParamValue::Text("720p".into())),
    ];
    job(MediaKind::Video, "veo-3.1-generate-preview", &params, Vec::new())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn error(status: u16, grpc: &str, message: &str) -> Reply {
    Reply::json(status, json!({"error": {"code": status, "message": message, "status": grpc}}))
}

/// A Veo fake: submit, `pending_polls` polls without `done`, then a finished operation
/// whose video is on the fake's Files API.
async fn veo_fake(pending_polls: usize) -> FakeUpstream {
    let polls = Arc::new(Mutex::new(0usize));
    let base = Arc::new(Mutex::new(String::new()));
    let base_in = base.clone();
    let fake = FakeUpstream::start(move |r: &Request| {
        if r.header("x-goog-api-key") != Some(KEY) {
            return error(401, "UNAUTHENTICATED", "missing key");
        }
        match r.route().as_str() {
            "POST /v1beta/models/veo-3.1-generate-preview:predictLongRunning" => Reply::json(200, json!({"name": OP})),
            "GET /v1beta/models/veo-3.1-generate-preview/operations/op1" => {
                let mut n = polls.lock().unwrap();
                *n += 1;
                if *n <= pending_polls {
                    return Reply::json(200, json!({"name": OP, "metadata": {"@type": "x"}}));
                }
                let uri = format!("{}v1beta/files/vid1:download?alt=media", base_in.lock().unwrap());
                Reply::json(
                    200,
                    json!({"name": OP, "done": true, "response": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                        "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}}}),
                )
            }
            "GET /v1beta/files/vid1:download" if r.query_param("alt").as_deref() == Some("media") => Reply::bytes(200, "video/mp4", MP4),
            "DELETE /v1beta/files/vid1" => Reply::json(200, json!({})),
            "POST /v1beta/models/veo-3.1-generate-preview/operations/op1:cancel" => Reply::json(200, json!({})),
            _ => error(404, "NOT_FOUND", "no such route"),
        }
    })
    .await;
    *base.lock().unwrap() = fake.url.to_string();
    fake
}

#[tokio::test]
async fn veo_request_is_exact_and_the_operation_walks_to_a_keyed_download_and_delete() {
    let fake = veo_fake(1).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let mut job = video_job();
    job.negative_prompt = Some("blurry".into());
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/gemini/s3cret").unwrap());
    job.references = vec![
        testing::reference(ReferenceRole::FirstFrame, b"first"),
        testing::reference(ReferenceRole::LastFrame, b"last"),
        testing::reference(ReferenceRole::Reference, b"asset one"),
    ];
    let submitted = gemini.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, OP);
    assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));
    let sent = &fake.requests_to("POST /v1beta/models/veo-3.1-generate-preview:predictLongRunning")[0];
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json(),
        json!({
            "instances": [{
                "prompt": "a lighthouse in a storm",
                "image": {"bytesBase64Encoded": b64(b"first"), "mimeType": "image/png"},
                "lastFrame": {"bytesBase64Encoded": b64(b"last"), "mimeType": "image/png"},
                "referenceImages": [{"image": {"bytesBase64Encoded": b64(b"asset one"), "mimeType": "image/png"}, "referenceType": "ASSET"}],
            }],
            "parameters": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8, "negativePrompt": "blurry"},
            "webhookConfig": {"uris": ["https://studio.example/hooks/gemini/s3cret"]},
        })
    );

    assert!(matches!(gemini.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    let UpstreamStatus::Succeeded { outputs, .. } = gemini.poll(&submitted.handle).await.unwrap() else { panic!("not done") };
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    let bytes = testing::drain(gemini.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap();
    assert_eq!(bytes, MP4);
    assert_eq!(fake.requests_to("GET /v1beta/files/vid1:download").len(), 1);

    gemini.delete_upstream(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests_to("DELETE /v1beta/files/vid1").len(), 1);
    assert!(fake.requests().iter().all(|r| r.header("x-goog-api-key") == Some(KEY)), "every API request carried the key");
    fake.stop().await;
}

#[tokio::test]
async fn a_redirected_download_leaves_the_key_on_the_api_host() {
    let storage = FakeUpstream::start(
        |r: &Request| {
            if r.path == "/signed/vid1.mp4" { Reply::bytes(200, "video/mp4", MP4) } else { Reply::status(404) }
        },
    )
    .await;
    let target = storage.at("signed/vid1.mp4").to_string();
    let api = FakeUpstream::start(move |r: &Request| match r.path.as_str() {
        "/v1beta/files/vid1:download" => Reply::status(302).header("location", "/v1beta/files/vid1:relay"),
        "/v1beta/files/vid1:relay" => Reply::status(307).header("location", &target),
        _ => Reply::status(404),
    })
    .await;
    let gemini = adapter(&api, Duration::from_secs(5));
    let handle = UpstreamHandle { id: OP.into(), data: Default::default() };
    let output = OutputRef::new(api.at("v1beta/files/vid1:download?alt=media").to_string(), None);
    let bytes = testing::drain(gemini.fetch(&handle, &output, 1 << 20).await.unwrap()).await.unwrap();
    assert_eq!(bytes, MP4);
    let api_hits = api.requests();
    assert_eq!(api_hits.len(), 2, "the same-host hop is followed with the key");
    assert!(api_hits.iter().all(|r| r.header("x-goog-api-key") == Some(KEY)));
    let storage_hits = storage.requests();
    assert_eq!(storage_hits.len(), 1);
    assert_eq!(storage_hits[0].header("x-goog-api-key"), None, "the key never goes to another host");
    assert!(!storage_hits[0].query.contains(KEY));
    api.stop().await;
    storage.stop().await;
}

#[tokio::test]
async fn expired_missing_and_oversized_outputs() {
    let storage = FakeUpstream::start(|r: &Request| match r.path.as_str() {
        "/expired.mp4" => Reply::text(403, "Request has expired"),
        "/big.mp4" => Reply::bytes(200, "video/mp4", vec![0u8; 4096]),
        _ => Reply::status(404),
    })
    .await;
    let api = FakeUpstream::start(|r: &Request| match r.path.as_str() {
        "/v1beta/files/gone:download" => error(404, "NOT_FOUND", "File gone not found"),
        "/v1beta/files/old:download" => {
            error(403, "PERMISSION_DENIED", "You do not have permission to access the File old or it may not exist.")
        }
        _ => Reply::status(404),
    })
    .await;
    let gemini = adapter(&api, Duration::from_secs(5));
    let handle = UpstreamHandle::default();
    let at = |location: String| OutputRef::new(location, None);
    let fetch = |output: OutputRef, cap: u64| {
        let gemini = &gemini;
        let handle = &handle;
        async move { gemini.fetch(handle, &output, cap).await.err() }
    };
    assert_eq!(fetch(at(storage.at("expired.mp4").to_string()), 1 << 20).await.map(|e| e.code()), Some("provider.not_found"));
    assert_eq!(fetch(at(api.at("v1beta/files/gone:download").to_string()), 1 << 20).await.map(|e| e.code()), Some("provider.not_found"));
    assert_eq!(fetch(at(api.at("v1beta/files/old:download").to_string()), 1 << 20).await.map(|e| e.code()), Some("provider.not_found"));
    assert_eq!(fetch(at(storage.at("big.mp4").to_string()), 1000).await, Some(ProviderError::TooLarge { cap: 1000 }));
    api.stop().await;
    storage.stop().await;
}

#[tokio::test]
async fn rai_filters_and_failed_operations_map_to_their_classes() {
    let answer = Arc::new(Mutex::new(json!({})));
    let answer_in = answer.clone();
    let fake = FakeUpstream::start(move |_: &Request| Reply::json(200, answer_in.lock().unwrap().clone())).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let handle = UpstreamHandle { id: OP.into(), data: Default::default() };
    let cases = [
        (
            json!({"name": OP, "done": true, "response": {"generateVideoResponse": {"raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": ["Unable to generate videos because the prompt may violate our policies. Support code: 58061214"]}}}),
            "provider.content_policy",
        ),
        (json!({"name": OP, "done": true, "response": {"generateVideoResponse": {"raiMediaFilteredCount": 2}}}), "provider.content_policy"),
        (
            json!({"name": OP, "done": true, "error": {"code": 3, "message": "The input image violates the usage guidelines."}}),
            "provider.content_policy",
        ),
        (
            json!({"name": OP, "done": true, "error": {"code": 3, "message": "durationSeconds must be 8 with reference images"}}),
            "provider.invalid_input",
        ),
        (json!({"name": OP, "done": true, "error": {"code": 13, "message": "Internal error"}}), "provider.transient"),
        (json!({"name": OP, "done": true, "response": {}}), "provider.transient"),
    ];
    for (operation, code) in cases {
        *answer.lock().unwrap() = operation.clone();
        match gemini.poll(&handle).await.unwrap() {
            UpstreamStatus::Failed(e) => assert_eq!(e.code(), code, "{operation}"),
            other => panic!("{operation}: {other:?}"),
        }
    }
    // no status enum: an operation without `done` (or with unknown extra fields) keeps waiting
    *answer.lock().unwrap() = json!({"name": OP, "metadata": {"state": "WARMING_UP"}});
    assert!(matches!(gemini.poll(&handle).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }));
    *answer.lock().unwrap() = json!({"name": OP, "done": false});
    assert!(matches!(gemini.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    // a video sent inline (encodedVideo) is held in memory
    *answer.lock().unwrap() = json!({"name": OP, "done": true, "response": {"generateVideoResponse": {"generatedSamples": [{"video": {"encodedVideo": b64(MP4), "encoding": "video/mp4"}}]}}});
    let UpstreamStatus::Succeeded { outputs, .. } = gemini.poll(&handle).await.unwrap() else { panic!("inline video") };
    assert!(InlineOutputs::is_inline(&outputs[0]));
    assert_eq!(testing::drain(gemini.fetch(&handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap(), MP4);
    fake.stop().await;
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let reply = Arc::new(Mutex::new(Reply::status(200)));
    let reply_in = reply.clone();
    let fake = FakeUpstream::start(move |_: &Request| reply_in.lock().unwrap().clone()).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let key_invalid = Reply::json(
        400,
        json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}),
    );
    let retry_info = Reply::json(
        429,
        json!({"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}}),
    );
    let cases = [
        (error(401, "UNAUTHENTICATED", "no key"), "provider.auth"),
        (error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"), "provider.auth"),
        (key_invalid, "provider.auth"),
        (error(400, "INVALID_ARGUMENT", "aspectRatio 4:3 is not supported"), "provider.invalid_input"),
        (error(400, "FAILED_PRECONDITION", "Please enable billing on your project"), "provider.insufficient_credit"),
        (error(400, "INVALID_ARGUMENT", "The prompt was blocked by safety filters"), "provider.content_policy"),
        (error(500, "INTERNAL", "boom"), "provider.transient"),
        (error(503, "UNAVAILABLE", "The model is overloaded"), "provider.transient"),
        (Reply::text(200, "{not json"), "provider.transient"),
    ];
    for (answer, code) in cases {
        *reply.lock().unwrap() = answer.clone();
        let err = gemini.submit(&video_job()).await.unwrap_err();
        assert_eq!(err.code(), code, "{answer:?}: {err}");
    }
    *reply.lock().unwrap() = retry_info;
    let err = gemini.submit(&video_job()).await.unwrap_err();
    assert_eq!(err.code(), "provider.rate_limited", "Gemini's 429 speaks of quota but is a rate limit");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    *reply.lock().unwrap() = error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted").header("retry-after", "3");
    assert_eq!(gemini.submit(&video_job()).await.unwrap_err().retry_after(), Some(Duration::from_secs(3)));
    fake.stop().await;
}

#[tokio::test]
async fn a_submit_that_never_answers_times_out() {
    testing::assert_submit_times_out(|fake| adapter(fake, Duration::from_millis(300)), &video_job()).await;
}

/// A generateContent fake that answers `answer`.
async fn image_fake(answer: Value) -> FakeUpstream {
    FakeUpstream::start(move |r: &Request| {
        if r.header("x-goog-api-key") != Some(KEY) {
            return error(401, "UNAUTHENTICATED", "missing key");
        }
        match r.route().as_str() {
            "POST /v1beta/models/gemini-3-pro-image:generateContent" => Reply::json(200, answer.clone()),
            _ => error(404, "NOT_FOUND", "no such route"),
        }
    })
    .await
}

fn image_job(references: Vec<ReferenceFile>) -> ProviderJob {
    let params = [("aspect_ratio", ParamValue::Text("16:9".into())), ("image_size", ParamValue::Text("2K".into()))];
    job(MediaKind::Image, "gemini-3-pro-image", &params, references)
}

#[tokio::test]
async fn an_image_request_is_exact_and_its_inline_image_is_held_until_deleted() {
    let answer = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "thinking about the storm", "thought": true},
        {"inlineData": {"mimeType": "image/png", "data": b64(b"draft")}, "thought": true},
        {"text": "Here is your lighthouse."},
        {"inlineData": {"mimeType": "image/jpeg", "data": b64(b"final jpeg")}},
    ]}, "finishReason": "STOP"}]});
    let fake = image_fake(answer).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let job =
        image_job(vec![testing::reference(ReferenceRole::Reference, b"ref one"), testing::reference(ReferenceRole::Reference, b"ref two")]);
    let submitted = gemini.submit(&job).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(
        sent.json(),
        json!({
            "contents": [{"role": "user", "parts": [
                {"text": "a lighthouse in a storm"},
                {"inline_data": {"mime_type": "image/png", "data": b64(b"ref one")}},
                {"inline_data": {"mime_type": "image/png", "data": b64(b"ref two")}},
            ]}],
            "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"}},
        })
    );
    let UpstreamStatus::Succeeded { outputs, .. } = submitted.status else { panic!("synchronous") };
    assert_eq!(outputs.len(), 1, "thought images are not outputs");
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(testing::drain(gemini.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap(), &b"final jpeg"[..]);
    assert_eq!(gemini.fetch(&submitted.handle, &outputs[0], 3).await.err(), Some(ProviderError::TooLarge { cap: 3 }));
    gemini.delete_upstream(&submitted.handle).await.unwrap();
    assert_eq!(gemini.fetch(&submitted.handle, &outputs[0], 1 << 20).await.err().map(|e| e.code()), Some("provider.not_found"));
    assert_eq!(fake.requests().len(), 1, "nothing to delete upstream for an image");
    fake.stop().await;
}

#[tokio::test]
async fn blocked_images_are_content_policy_and_a_text_only_answer_is_refused() {
    let cases = [
        (json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}), "provider.content_policy"),
        (json!({"candidates": [{"finishReason": "IMAGE_SAFETY", "content": {"parts": []}}]}), "provider.content_policy"),
        (json!({"candidates": [{"finishReason": "SAFETY"}]}), "provider.content_policy"),
        (
            json!({"candidates": [{"finishReason": "STOP", "content": {"parts": [{"text": "I can only describe that."}]}}]}),
            "provider.invalid_input",
        ),
        (json!({"candidates": []}), "provider.transient"),
    ];
    for (answer, code) in cases {
        let fake = image_fake(answer.clone()).await;
        let gemini = adapter(&fake, Duration::from_secs(5));
        let err = gemini.submit(&image_job(Vec::new())).await.unwrap_err();
        assert_eq!(err.code(), code, "{answer}: {err}");
        fake.stop().await;
    }
}

#[tokio::test]
async fn cancel_posts_to_the_operation_and_callbacks_name_it() {
    let fake = veo_fake(5).await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let handle = UpstreamHandle { id: OP.into(), data: [(MODE.to_string(), "video".to_string())].into() };
    gemini.cancel(&handle).await.unwrap();
    assert_eq!(fake.requests_to(&format!("POST /v1beta/{OP}:cancel")).len(), 1);

    let callback = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
    let event = json!({"type": "video.generated", "data": {"operation": {"name": OP, "done": true}}}).to_string();
    assert_eq!(gemini.callback(&callback(&event)).unwrap(), Some(OP.to_string()));
    assert_eq!(gemini.callback(&callback(&json!({"name": OP}).to_string())).unwrap(), Some(OP.to_string()));
    assert_eq!(gemini.callback(&callback(r#"{"type": "batch.succeeded"}"#)).unwrap(), None);
    assert_eq!(gemini.callback(&callback("not json")).unwrap_err().code(), "provider.invalid_input");
    fake.stop().await;
}

#[tokio::test]
async fn test_connection_lists_models_with_the_key() {
    let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), r.header("x-goog-api-key")) {
        ("GET /v1beta/models", Some(KEY)) => Reply::json(
            200,
            json!({"models": [{"name": "models/gemini-2.5-flash-image"}, {"name": "models/veo-3.1-generate-preview"}, {"name": "models/veo-3.0-generate-001"}]}),
        ),
        _ => error(403, "PERMISSION_DENIED", "API key missing"),
    })
    .await;
    let gemini = adapter(&fake, Duration::from_secs(5));
    let said = gemini.test_connection().await.unwrap();
    assert!(said.contains("3 models") && said.contains("2 of them Veo"), "{said}");
    assert_eq!(fake.requests()[0].query_param("pageSize").as_deref(), Some("1000"));

    let wrong = Gemini::new(&ConnectionConfig { base_url: Some(fake.at("v1beta/")), ..connection(&fake, "gemini", "wrong") }).unwrap();
    testing::assert_key_refused(&wrong).await;
    fake.stop().await;
}

#[test]
fn file_resources_come_from_download_uris() {
    assert_eq!(
        file_resource("https://generativelanguage.googleapis.com/v1beta/files/abc123:download?alt=media").as_deref(),
        Some("files/abc123")
    );
    assert_eq!(file_resource("https://cdn.example/video.mp4"), None);
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Gemini::new(&ConnectionConfig { base_url: Some(base), ..connection(fake, "gemini", KEY) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1beta", "/v1beta/models").await;
    testing::assert_base_url_forms(
        adapter,
        Probe::Poll(testing::handle(OP)),
        "v1beta",
        "/v1beta/models/veo-3.1-generate-preview/operations/op1",
    )
    .await;
}

mod omni;
