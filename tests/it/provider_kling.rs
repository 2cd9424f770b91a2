//! The Kling adapter end to end: the app with a `kling` connection to a fake that speaks
//! Kling's wire format (JWT auth, `{code, data}` envelopes, `succeed`, CDN output URLs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_upstream::Reply;
use reelvault::config::Secret;
use serde_json::json;

use crate::support::provider_rig::{ProviderRig, origin, provider};
use crate::support::{client, sha256_hex, wait_terminal};

/// kling-v2.5-turbo, 5 s at 7 credits a second.
const PRICE: i64 = 35;
const VIDEO: &[u8] = b"\x00\x00\x00\x18ftypmp42 kling video bytes";

/// Answers `text2video` with a task that, when polled, reports what `outcome` holds (tests may change it).
async fn rig(outcome: Arc<Mutex<serde_json::Value>>) -> ProviderRig {
    provider("kling", "kling")
        .connection(|c| {
            c.access_key = Some("ak-it".into());
            c.secret_key = Some(Secret::new("sk-it"));
        })
        .config(|config| config.public_url = Some(url::Url::parse("https://studio.example/").unwrap()))
        .serve(move |r| {
            let ok = |data: serde_json::Value| Reply::json(200, json!({"code": 0, "message": "SUCCEED", "request_id": "r", "data": data}));
            match r.route().as_str() {
                "POST /v1/videos/text2video" => ok(json!({"task_id": "kt-1", "task_status": "submitted"})),
                "GET /v1/videos/text2video/kt-1" => {
                    let mut data = outcome.lock().unwrap().clone();
                    if let Some(videos) = data.pointer_mut("/task_result/videos/0/url") {
                        *videos = json!(format!("{}cdn/kt-1.mp4", origin(r)));
                    }
                    ok(data)
                }
                "GET /cdn/kt-1.mp4" => Reply::bytes(200, "video/mp4", VIDEO),
                _ => Reply::json(404, json!({"code": 1203, "message": "not found"})),
            }
        })
        .await
}

fn outcome(value: serde_json::Value) -> Arc<Mutex<serde_json::Value>> {
    Arc::new(Mutex::new(value))
}

fn turbo(prompt: &str) -> serde_json::Value {
    json!({"model": "kling-v2.5-turbo", "prompt": prompt, "params": {"duration": 5}})
}

fn succeeded() -> serde_json::Value {
    json!({"task_id": "kt-1", "task_status": "succeed", "task_result": {"videos": [{"id": "v", "url": "", "duration": "5"}]}})
}

#[tokio::test]
async fn a_kling_video_is_generated_and_taken_into_custody() {
    let rig = rig(outcome(succeeded())).await;
    let done = rig.succeeds(turbo("a paper boat on a canal"), PRICE).await;
    assert_eq!(done["outputs"][0]["sha256"], sha256_hex(VIDEO));
    // the signed URL names the public URL; fetch the same path and query from the app itself
    let signed = url::Url::parse(done["outputs"][0]["url"].as_str().expect("signed url")).unwrap();
    let local = format!("{}{}?{}", rig.app.url, signed.path(), signed.query().unwrap_or_default());
    let served = client().get(local).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&served), sha256_hex(VIDEO), "the vault serves what Kling served");

    let submit = &rig.fake.requests_to("POST /v1/videos/text2video")[0];
    let body = submit.json();
    assert_eq!(body["model_name"], "kling-v2-5-turbo");
    assert_eq!(body["prompt"], "a paper boat on a canal");
    assert_eq!(body["duration"], "5");
    assert_eq!(body["mode"], "std");
    assert!(body["callback_url"].as_str().unwrap().starts_with("https://studio.example/hooks/kling/"), "{body}");
    assert!(submit.header("authorization").unwrap().starts_with("Bearer ey"), "a JWT");
    rig.assert_keyless("GET /cdn/");
    rig.stop().await;
}

#[tokio::test]
async fn a_kling_risk_control_failure_is_a_content_policy_reason() {
    let failed = json!({"task_id": "kt-1", "task_status": "failed", "task_status_msg": "Failure to pass the risk control system"});
    let rig = rig(outcome(failed)).await;
    rig.fails_showing(turbo("something Kling refuses"), "provider.content_policy", &["content policy", "risk control"]).await;
    rig.stop().await;
}

#[tokio::test]
async fn a_kling_callback_makes_the_engine_poll_the_task_at_once() {
    let answers = outcome(json!({"task_id": "kt-1", "task_status": "processing"}));
    let rig = rig(answers.clone()).await;
    let id = rig.submit(turbo("a heron takes off")).await;
    let first_poll = |seen: &[fake_upstream::Request]| seen.iter().any(|r| r.route() == "GET /v1/videos/text2video/kt-1");
    assert!(rig.fake.wait_until(Duration::from_secs(10), first_poll).await, "the first poll");

    // the task finishes upstream; Kling calls back; the next scheduled poll is >= 2.4 s away
    *answers.lock().unwrap() = succeeded();
    let secret = rig.app.running.state.hook_secret("kling");
    let called_back = std::time::Instant::now();
    let answer = client()
        .post(format!("{}/hooks/kling/{secret}", rig.app.url))
        .json(&json!({"task_id": "kt-1", "task_status": "succeed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["job_found"], true, "the callback reached the waiting job");
    let done = wait_terminal(&rig.app.url, &rig.token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(called_back.elapsed() < Duration::from_secs(2), "finished on the callback, not the next scheduled poll");
    rig.stop().await;
}
