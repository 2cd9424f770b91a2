//! Tests of the minimax adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};

use super::*;
use crate::config::Secret;
use crate::domain::catalog::MediaKind;
use crate::providers::kit::testing::{self, Probe, connection, drain};

const KEY: &str = "mm-test-key";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "minimax", KEY) }
}

fn adapter(fake: &FakeUpstream) -> MiniMax {
    MiniMax::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job() -> ProviderJob {
    let params = [("duration", ParamValue::Int(6)), ("resolution", ParamValue::Text("768P".into()))];
    testing::job(MediaKind::Video, "hailuo-02").upstream("MiniMax-Hailuo-02").prompt("a fox in the snow [Pan left]").params(&params).build()
}

fn ok(mut value: Value) -> Reply {
    value["base_resp"] = json!({"status_code": 0, "status_msg": "success"});
    Reply::json(200, value)
}

fn base_error(code: i64, msg: &str) -> Reply {
    Reply::json(200, json!({"task_id": "", "base_resp": {"status_code": code, "status_msg": msg}}))
}

fn handle() -> UpstreamHandle {
    UpstreamHandle { id: "106916112212032".into(), data: Default::default() }
}

#[tokio::test]
async fn a_video_is_submitted_polled_and_downloaded_in_two_steps() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /v1/video_generation" => ok(json!({"task_id": "106916112212032"})),
        "GET /v1/query/video_generation" => {
            let mut n = count.lock().unwrap();
            *n += 1;
            let status = ["Preparing", "Queueing", "Processing"].get(*n - 1).copied().unwrap_or("Success");
            let mut body = json!({"task_id": r.query_param("task_id"), "status": status});
            if status == "Success" {
                body["file_id"] = json!("205258526306433");
                body["video_width"] = json!(1366);
                body["video_height"] = json!(768);
            }
            ok(body)
        }
        "GET /v1/files/retrieve" => ok(json!({"file": {
            "file_id": 205258526306433u64, "bytes": 9, "created_at": 1, "filename": "output.mp4", "purpose": "video_generation",
            "download_url": format!("http://{}/cdn/output.mp4?Expires=1&Signature=x", r.header("host").unwrap())
        }})),
        "GET /cdn/output.mp4" => Reply::bytes(200, "video/mp4", &b"mp4 bytes"[..]),
        _ => Reply::status(404),
    })
    .await;
    let minimax = adapter(&fake);
    let mut job = job();
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/mm/s").unwrap());
    job.references = testing::first_and_last_frames();
    let submitted = minimax.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "106916112212032");
    let create = &fake.requests_to("POST /v1/video_generation")[0];
    assert_eq!(create.header("authorization"), Some("Bearer mm-test-key"));
    assert_eq!(
        create.json(),
        json!({
            "model": "MiniMax-Hailuo-02", "prompt": "a fox in the snow [Pan left]", "duration": 6, "resolution": "768P",
            "first_frame_image": "data:image/png;base64,Zmlyc3Q=", "last_frame_image": "data:image/jpeg;base64,bGFzdA==",
            "callback_url": "https://studio.example/hooks/mm/s"
        })
    );
    for _ in 0..3 {
        assert!(matches!(minimax.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    }
    let UpstreamStatus::Succeeded { outputs } = minimax.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
    assert_eq!(fake.requests_to("GET /v1/query/video_generation")[0].query_param("task_id").as_deref(), Some("106916112212032"));
    let bytes = drain(minimax.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&bytes[..], b"mp4 bytes");
    let retrieve = &fake.requests_to("GET /v1/files/retrieve")[0];
    assert_eq!(retrieve.query_param("file_id").as_deref(), Some("205258526306433"));
    assert_eq!(retrieve.header("authorization"), Some("Bearer mm-test-key"));
    assert_eq!(fake.requests_to("GET /cdn/")[0].header("authorization"), None, "the key never goes to the CDN");
    minimax.cancel(&submitted.handle).await.unwrap();
    minimax.delete_upstream(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests().len(), 7, "no cancel or delete request exists");
}

#[tokio::test]
async fn base_resp_codes_and_statuses_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (base_error(1004, "authentication failed"), "provider.auth"),
        (base_error(2049, "invalid api key"), "provider.auth"),
        (base_error(1008, "insufficient balance"), "provider.insufficient_credit"),
        (base_error(1026, "input new_sensitive"), "provider.content_policy"),
        (base_error(2013, "invalid params, duration"), "provider.invalid_input"),
        (base_error(1002, "rate limit exceeded"), "provider.rate_limited"),
        (base_error(1000, "unknown error"), "provider.transient"),
        (Reply::json(401, json!({"base_resp": {"status_code": 1004, "status_msg": "login fail"}})), "provider.auth"),
        (Reply::status(503), "provider.transient"),
        (Reply::status(400), "provider.invalid_input"),
        (Reply::text(200, "{not json"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &job(), cases).await;
}

#[tokio::test]
async fn a_rate_limit_carries_retry_after() {
    let fake = FakeUpstream::start(|_| {
        Reply::json(429, json!({"base_resp": {"status_code": 1002, "status_msg": "rate limit"}})).header("retry-after", 4)
    })
    .await;
    let err = adapter(&fake).poll(&handle()).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(4)), message: "rate limit".into() });
}

#[tokio::test]
async fn failed_tasks_and_unknown_statuses() {
    let answer = Arc::new(Mutex::new(json!({})));
    let current = answer.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, current.lock().unwrap().clone())).await;
    let minimax = adapter(&fake);
    let poll = async |body: Value| {
        *answer.lock().unwrap() = body;
        minimax.poll(&handle()).await
    };
    let failed = poll(json!({"status": "Fail", "base_resp": {"status_code": 1027, "status_msg": "output video sensitive"}})).await;
    let Ok(UpstreamStatus::Failed(e)) = failed else { panic!("{failed:?}") };
    assert_eq!(e.code(), "provider.content_policy");
    let failed = poll(json!({"status": "Fail", "base_resp": {"status_code": 0, "status_msg": "success"}})).await;
    let Ok(UpstreamStatus::Failed(e)) = failed else { panic!("{failed:?}") };
    assert_eq!(e.code(), "provider.invalid_input");
    let waiting = poll(json!({"status": "Rendering", "base_resp": {"status_code": 0}})).await.unwrap();
    assert!(matches!(waiting, UpstreamStatus::Pending { .. }));
    let no_file = poll(json!({"status": "Success", "file_id": "", "base_resp": {"status_code": 0}})).await.unwrap();
    assert!(matches!(no_file, UpstreamStatus::Failed(ProviderError::Transient(_))));
}

#[tokio::test]
async fn a_hanging_upstream_times_out() {
    let short = |fake: &FakeUpstream| MiniMax::new(&config(fake, Duration::from_millis(300))).unwrap();
    testing::assert_submit_times_out(short, &job()).await;
}

#[tokio::test]
async fn expired_download_urls_and_oversized_files_are_refused() {
    let fake = FakeUpstream::start(|r| match (r.path.as_str(), r.query_param("file_id").as_deref()) {
        ("/v1/files/retrieve", Some("big")) => ok(json!({"file": {"bytes": 5000, "download_url": "http://127.0.0.1:1/x"}})),
        ("/v1/files/retrieve", Some("gone")) => {
            ok(json!({"file": {"download_url": format!("http://{}/cdn/gone.mp4", r.header("host").unwrap())}}))
        }
        ("/v1/files/retrieve", _) => base_error(1004, "no such file for this key"),
        _ => Reply::text(403, "Request has expired"),
    })
    .await;
    let minimax = adapter(&fake);
    let out = |file: &str| OutputRef::new(format!("{FILE}{file}"), None);
    assert_eq!(minimax.fetch(&handle(), &out("big"), 1024).await.err(), Some(ProviderError::TooLarge { cap: 1024 }));
    assert_eq!(minimax.fetch(&handle(), &out("gone"), 1024).await.err().map(|e| e.code()), Some("provider.not_found"));
    assert_eq!(minimax.fetch(&handle(), &out("other"), 1024).await.err().map(|e| e.code()), Some("provider.auth"));
}

#[test]
fn callbacks_name_the_task_but_not_the_challenge() {
    let minimax = MiniMax::new(&ConnectionConfig::new("m", "minimax")).unwrap();
    let call = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
    assert_eq!(minimax.callback(&call(r#"{"challenge":"1a3cs1j-601a118y"}"#)).unwrap(), None);
    let update = r#"{"task_id":"115334141465231360","status":"success","file_id":"1","base_resp":{"status_code":0}}"#;
    assert_eq!(minimax.callback(&call(update)).unwrap().as_deref(), Some("115334141465231360"));
}

#[tokio::test]
async fn test_connection_lists_files() {
    let fake = FakeUpstream::start(|r| match r.header("authorization") {
        Some("Bearer mm-test-key") => ok(json!({"files": []})),
        _ => base_error(1004, "authentication failed"),
    })
    .await;
    assert!(adapter(&fake).test_connection().await.unwrap().contains("accepted"));
    let request = &fake.requests()[0];
    assert_eq!((request.path.as_str(), request.query_param("purpose").as_deref()), ("/v1/files/list", Some("video_generation")));
    let wrong = MiniMax::new(&ConnectionConfig { api_key: Some(Secret::new("nope")), ..config(&fake, Duration::from_secs(1)) }).unwrap();
    testing::assert_key_refused(&wrong).await;
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        MiniMax::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/v1/files/list").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job()), "v1", "/v1/video_generation").await;
    testing::assert_base_url_reaches(adapter, &Probe::KeyTest, "v2/", "/v1/files/list").await;
}
