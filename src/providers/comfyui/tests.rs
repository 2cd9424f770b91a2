//! Tests of the comfyui adapter against a loopback fake of its wire format.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};
use futures_util::TryStreamExt;

use super::*;
use crate::domain::catalog::{MediaKind, ReferenceRole};
use crate::providers::ReferenceFile;
use crate::providers::kit::testing::{self, Probe, connection};

const KEY: &str = "proxy-token";

fn workflow(with_image: bool) -> Value {
    let mut w = json!({
        "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 20, "cfg": 7.5, "model": ["4", 0],
            "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": " {{height}} ", "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}, highly detailed", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["4", 1]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "rv-{{seed}}-{{unknown}}", "images": ["8", 0]}},
    });
    if with_image {
        w["10"] = json!({"class_type": "LoadImage", "inputs": {"image": "{{image}}"}});
    }
    w
}

fn config(fake: &FakeUpstream, workflow: Option<Value>, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, workflow, ..connection(fake, "comfyui", KEY) }
}

fn adapter(fake: &FakeUpstream, with_image: bool) -> ComfyUi {
    ComfyUi::new(&config(fake, Some(workflow(with_image)), Duration::from_secs(5))).unwrap()
}

fn job(prompt: &str) -> ProviderJob {
    let params = [("width", ParamValue::Int(768)), ("height", ParamValue::Int(512)), ("seed", ParamValue::Int(1234))];
    testing::job(MediaKind::Image, "comfyui-image").prompt(prompt).negative("blurry").params(&params).build()
}

fn handle(id: &str) -> UpstreamHandle {
    UpstreamHandle { id: id.into(), data: Default::default() }
}

fn authorized(r: &Request) -> bool {
    r.header("authorization") == Some(&format!("Bearer {KEY}"))
}

fn queued() -> Reply {
    Reply::json(200, json!({"prompt_id": "c0ffee00-0000-4000-8000-000000000001", "number": 3, "node_errors": {}}))
}

#[tokio::test]
async fn the_workflow_is_filled_and_queued_with_numbers_where_the_placeholder_stands_alone() {
    let fake = FakeUpstream::start(|_| queued()).await;
    let submitted = adapter(&fake, false).submit(&job("a {{seed}} shaped cloud")).await.unwrap();
    assert_eq!(submitted.handle.id, "c0ffee00-0000-4000-8000-000000000001");
    assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].route(), "POST /prompt");
    assert!(authorized(&requests[0]));
    let body = requests[0].json();
    assert!(body["client_id"].as_str().unwrap().starts_with("reelvault-"));
    assert_eq!(
        body["prompt"],
        json!({
            "3": {"class_type": "KSampler", "inputs": {"seed": 1234, "steps": 20, "cfg": 7.5, "model": ["4", 0],
                "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
            "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 768, "height": 512, "batch_size": 1}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a {{seed}} shaped cloud, highly detailed", "clip": ["4", 1]}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
            "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "rv-1234-{{unknown}}", "images": ["8", 0]}},
        })
    );
    fake.stop().await;
}

#[tokio::test]
async fn a_reference_is_uploaded_first_and_named_in_the_image_placeholder() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /upload/image" => Reply::json(200, json!({"name": "reelvault-x.png", "subfolder": "refs", "type": "input"})),
        _ => queued(),
    })
    .await;
    let mut job = job("make it snow");
    job.references = vec![ReferenceFile {
        role: ReferenceRole::Reference,
        content_type: "image/png".into(),
        bytes: Bytes::from_static(b"\x89PNG"),
        tag: None,
    }];
    adapter(&fake, true).submit(&job).await.unwrap();
    let requests = fake.requests();
    assert_eq!(requests.iter().map(Request::route).collect::<Vec<_>>(), ["POST /upload/image", "POST /prompt"]);
    assert!(requests.iter().all(authorized));
    let image = requests[0].part("image").expect("an image part");
    assert_eq!(image.filename, Some(format!("reelvault-{}.png", job.generation)));
    assert_eq!(image.content_type.as_deref(), Some("image/png"));
    assert_eq!(&image.data[..], b"\x89PNG");
    assert_eq!(requests[0].part("type").unwrap().text(), "input");
    assert_eq!(requests[0].part("overwrite").unwrap().text(), "true");
    assert_eq!(requests[1].json()["prompt"]["10"]["inputs"]["image"], "refs/reelvault-x.png");
    fake.stop().await;
}

#[tokio::test]
async fn a_missing_workflow_or_a_reference_mismatch_is_refused_before_any_request() {
    let fake = FakeUpstream::start(|_| queued()).await;
    let bare = ComfyUi::new(&config(&fake, None, Duration::from_secs(5))).unwrap();
    assert!(matches!(bare.submit(&job("x")).await, Err(ProviderError::InvalidInput(m)) if m.contains("workflow_file")));
    assert!(matches!(adapter(&fake, true).submit(&job("x")).await, Err(ProviderError::InvalidInput(m)) if m.contains("needs a reference")));
    let mut with_reference = job("x");
    with_reference.references = vec![ReferenceFile {
        role: ReferenceRole::Reference,
        content_type: "image/png".into(),
        bytes: Bytes::from_static(b"png"),
        tag: None,
    }];
    assert!(
        matches!(adapter(&fake, false).submit(&with_reference).await, Err(ProviderError::InvalidInput(m)) if m.contains("no reference"))
    );
    assert!(fake.requests().is_empty());
    fake.stop().await;
}

/// A fake whose `/history/{id}` and `/queue` answers come from the test's script.
async fn scripted(history: Vec<Value>, queue: Value) -> FakeUpstream {
    let history = Arc::new(Mutex::new(history));
    FakeUpstream::start(move |r| match r.route().as_str() {
        route if route.starts_with("GET /history/") => {
            let mut h = history.lock().unwrap();
            let next = if h.len() > 1 { h.remove(0) } else { h[0].clone() };
            Reply::json(200, next)
        }
        "GET /queue" => Reply::json(200, queue.clone()),
        "GET /view" => match r.query_param("filename").as_deref() {
            Some("rv_00001_.png") => Reply::bytes(200, "image/png", Bytes::from_static(b"comfy png")),
            Some("big.png") => Reply::bytes(200, "image/png", vec![1u8; 5000]),
            _ => Reply::text(404, "404: Not Found"),
        },
        _ => Reply::status(200),
    })
    .await
}

fn entry(id: &str, status: Value, outputs: Value) -> Value {
    json!({ id: {"prompt": [3, id, {}, {}, ["9"]], "outputs": outputs, "status": status, "meta": {}} })
}

#[tokio::test]
async fn polls_wait_while_queued_or_running_then_list_saved_files() {
    let running = json!({"queue_running": [[3, "p1", {}, {}, ["9"]]], "queue_pending": [[4, "p2", {}, {}, ["9"]]]});
    let done = entry(
        "p1",
        json!({"status_str": "success", "completed": true, "messages": [["execution_start", {"prompt_id": "p1"}], ["execution_success", {"prompt_id": "p1"}]]}),
        json!({
            "12": {"images": [{"filename": "preview_0001.png", "subfolder": "", "type": "temp"}]},
            "9": {"images": [{"filename": "rv_00001_.png", "subfolder": "", "type": "output"}, {"filename": "rv 00002.webp", "subfolder": "a/b", "type": "output"}]},
            "15": {"gifs": [{"filename": "clip_00001.mp4", "subfolder": "video", "type": "output", "format": "video/h264-mp4"}]},
        }),
    );
    let fake = scripted(vec![json!({}), json!({}), done], running).await;
    let comfy = adapter(&fake, false);
    assert!(matches!(comfy.poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { .. }), "running");
    assert!(matches!(comfy.poll(&handle("p2")).await.unwrap(), UpstreamStatus::Pending { .. }), "queued");
    let UpstreamStatus::Succeeded { outputs, .. } = comfy.poll(&handle("p1")).await.unwrap() else { panic!() };
    assert_eq!(
        outputs,
        vec![
            OutputRef::new("view?filename=rv_00001_.png&subfolder=&type=output", Some("image/png".into())),
            OutputRef::new("view?filename=rv+00002.webp&subfolder=a%2Fb&type=output", Some("image/webp".into())),
            OutputRef::new("view?filename=clip_00001.mp4&subfolder=video&type=output", Some("video/mp4".into())),
        ],
        "saved files in node order; the preview is left out"
    );
    assert!(fake.requests().iter().all(authorized));
    fake.stop().await;
}

#[tokio::test]
async fn a_prompt_the_server_forgot_is_not_found() {
    let fake = scripted(vec![json!({})], json!({"queue_running": [], "queue_pending": []})).await;
    assert_eq!(adapter(&fake, false).poll(&handle("lost")).await.unwrap().failed_code(), Some("provider.not_found"));
    let routes: Vec<String> = fake.requests().iter().map(Request::route).collect();
    assert_eq!(routes, ["GET /history/lost", "GET /queue", "GET /history/lost"], "the history is read again before giving up");
    fake.stop().await;
}

#[tokio::test]
async fn failed_prompts_carry_comfyuis_messages() {
    let error = |exception_type: &str, message: &str| {
        entry(
            "p1",
            json!({"status_str": "error", "completed": false, "messages": [
                ["execution_start", {"prompt_id": "p1"}],
                ["execution_error", {"prompt_id": "p1", "node_id": "4", "node_type": "CheckpointLoaderSimple",
                    "exception_type": exception_type, "exception_message": message, "traceback": []}],
            ]}),
            json!({}),
        )
    };
    let cases = [
        (
            error("FileNotFoundError", "Model in folder 'checkpoints' with filename 'sdxl.safetensors' not found."),
            "provider.invalid_input",
            "sdxl.safetensors",
        ),
        (error("torch.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB"), "provider.transient", "out of memory"),
        (
            entry(
                "p1",
                json!({"status_str": "error", "messages": [["execution_interrupted", {"prompt_id": "p1", "node_id": "3"}]]}),
                json!({}),
            ),
            "provider.transient",
            "interrupted",
        ),
        (
            entry("p1", json!({"status_str": "success", "completed": true, "messages": []}), json!({})),
            "provider.invalid_input",
            "saved no output",
        ),
    ];
    for (history, code, words) in cases {
        let fake = scripted(vec![history], json!({})).await;
        let UpstreamStatus::Failed(e) = adapter(&fake, false).poll(&handle("p1")).await.unwrap() else { panic!("{code}") };
        assert_eq!(e.code(), code, "{e}");
        assert!(e.to_string().contains(words), "{e}");
        fake.stop().await;
    }
    let odd = scripted(vec![entry("p1", json!({"status_str": "paused"}), json!({}))], json!({})).await;
    assert!(matches!(adapter(&odd, false).poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { .. }), "unknown status waits");
    odd.stop().await;
}

#[tokio::test]
async fn http_errors_map_to_classes() {
    let step = Arc::new(AtomicUsize::new(0));
    let fake = FakeUpstream::start(move |_| match step.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::json(400, json!({
            "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
            "node_errors": {"4": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                "details": "ckpt_name: 'missing.safetensors' not in ['sd15.safetensors']"}], "class_type": "CheckpointLoaderSimple"}},
        })),
        1 => Reply::text(401, "Unauthorized"),
        2 => Reply::text(502, "Bad Gateway"),
        3 => Reply::bytes(200, "application/json", "{\"prompt_id\""),
        4 => Reply::json(429, json!({"error": "slow down"})).header("retry-after", 3),
        _ => Reply::hang(),
    })
    .await;
    let comfy = adapter(&fake, false);
    let invalid = comfy.submit(&job("x")).await.unwrap_err();
    assert!(
        matches!(&invalid, ProviderError::InvalidInput(m) if m.contains("CheckpointLoaderSimple: Value not in list: ckpt_name: 'missing.safetensors'")),
        "{invalid}"
    );
    assert_eq!(comfy.submit(&job("x")).await.unwrap_err().code(), "provider.auth");
    assert_eq!(comfy.submit(&job("x")).await.unwrap_err().code(), "provider.transient");
    assert_eq!(comfy.submit(&job("x")).await.unwrap_err().code(), "provider.transient", "malformed JSON");
    assert_eq!(comfy.submit(&job("x")).await.unwrap_err().retry_after(), Some(Duration::from_secs(3)));
    let short = ComfyUi::new(&config(&fake, Some(workflow(false)), Duration::from_millis(300))).unwrap();
    assert_eq!(short.submit(&job("x")).await.unwrap_err(), ProviderError::Timeout);
    fake.stop().await;
}

#[tokio::test]
async fn outputs_are_read_from_view_with_the_key_and_capped() {
    let fake = scripted(vec![json!({})], json!({})).await;
    let comfy = adapter(&fake, false);
    let out = |name: &str| OutputRef::new(format!("view?filename={name}&subfolder=&type=output"), None);
    let chunks: Vec<Bytes> = comfy.fetch(&handle("p1"), &out("rv_00001_.png"), 1 << 20).await.unwrap().try_collect().await.unwrap();
    assert_eq!(chunks.concat(), b"comfy png");
    assert_eq!(comfy.fetch(&handle("p1"), &out("big.png"), 4096).await.err(), Some(ProviderError::TooLarge { cap: 4096 }));
    assert_eq!(comfy.fetch(&handle("p1"), &out("gone.png"), 4096).await.err().map(|e| e.code()), Some("provider.not_found"));
    let elsewhere = OutputRef::new("http://192.0.2.1/view?filename=x", None);
    assert_eq!(comfy.fetch(&handle("p1"), &elsewhere, 4096).await.err().map(|e| e.code()), Some("provider.invalid_input"));
    let view = &fake.requests_to("GET /view")[0];
    assert!(authorized(view));
    assert_eq!(view.query_param("type").as_deref(), Some("output"));
    fake.stop().await;
}

#[tokio::test]
async fn cancel_interrupts_only_our_running_prompt_or_dequeues_it_and_delete_drops_the_history() {
    let queue = json!({"queue_running": [[3, "run", {}, {}, []]], "queue_pending": [[4, "wait", {}, {}, []]]});
    let fake = scripted(vec![json!({})], queue).await;
    let comfy = adapter(&fake, false);
    comfy.cancel(&handle("run")).await.unwrap();
    comfy.cancel(&handle("wait")).await.unwrap();
    comfy.cancel(&handle("other")).await.unwrap();
    comfy.delete_upstream(&handle("run")).await.unwrap();
    let posts: Vec<(String, Value)> = fake.requests().iter().filter(|r| r.method == "POST").map(|r| (r.path.clone(), r.json())).collect();
    assert_eq!(
        posts,
        [
            ("/interrupt".to_string(), json!({"prompt_id": "run"})),
            ("/queue".to_string(), json!({"delete": ["wait"]})),
            ("/history".to_string(), json!({"delete": ["run"]})),
        ],
        "nothing is interrupted for a prompt that is not running"
    );
    assert!(fake.requests().iter().all(authorized));
    fake.stop().await;
}

#[tokio::test]
async fn test_connection_reads_system_stats() {
    let fake = FakeUpstream::start(|_| {
        Reply::json(200, json!({"system": {"os": "posix", "comfyui_version": "0.3.62"}, "devices": [{"name": "cuda:0 NVIDIA RTX 4090", "type": "cuda"}]}))
    })
    .await;
    let said = adapter(&fake, false).test_connection().await.unwrap();
    assert_eq!(said, "ComfyUI 0.3.62 answers (device cuda:0 NVIDIA RTX 4090)");
    let bare = ComfyUi::new(&config(&fake, None, Duration::from_secs(5))).unwrap().test_connection().await.unwrap();
    assert!(bare.contains("no workflow_file"), "{bare}");
    assert_eq!(fake.requests()[0].route(), "GET /system_stats");
    fake.stop().await;
}

trait FailedCode {
    fn failed_code(&self) -> Option<&'static str>;
}

impl FailedCode for UpstreamStatus {
    fn failed_code(&self) -> Option<&'static str> {
        match self {
            UpstreamStatus::Failed(e) => Some(e.code()),
            _ => None,
        }
    }
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        ComfyUi::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Some(workflow(false)), Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "", "/system_stats").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job("a lighthouse")), "", "/prompt").await;
    testing::assert_base_url_reaches(adapter, &Probe::KeyTest, "api/", "/api/system_stats").await;
}
