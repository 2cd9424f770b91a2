//! Tests of the kling adapter against a loopback fake of its wire format.

use std::sync::Arc;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};

use super::*;
use crate::providers::ReferenceFile;
use crate::providers::kit::testing::{self, Probe, connection, drain};

const AK: &str = "ak-test";
const SK: &str = "sk-test-secret";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig {
        api_key: None,
        access_key: Some(AK.into()),
        secret_key: Some(Secret::new(SK)),
        timeout,
        ..connection(fake, "kling", "")
    }
}

fn adapter(fake: &FakeUpstream) -> Kling {
    Kling::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job(kind: MediaKind, model: &str, params: &[(&str, ParamValue)]) -> ProviderJob {
    testing::job(kind, model).prompt("a heron in the rain").params(params).build()
}

fn video_job() -> ProviderJob {
    job(MediaKind::Video, "kling-v2-1-master", &[("duration", ParamValue::Int(5)), ("aspect_ratio", ParamValue::Text("16:9".into()))])
}

fn ok(data: Value) -> Reply {
    Reply::json(200, json!({"code": 0, "message": "SUCCEED", "request_id": "req-1", "data": data}))
}

fn task_reply(id: &str, status: &str) -> Reply {
    ok(json!({"task_id": id, "task_status": status, "created_at": 1, "updated_at": 2}))
}

fn error(status: u16, code: i64, message: &str) -> Reply {
    Reply::json(status, json!({"code": code, "message": message, "request_id": "req-e"}))
}

/// Checks a bearer JWT: signature with the secret key and the documented claims.
fn verify_jwt(request: &Request) -> Value {
    let token = request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).expect("a bearer token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let decode = |p: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap();
    let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
    assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SK.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&decode(parts[2])).expect("signed with the secret key");
    serde_json::from_slice(&decode(parts[1])).unwrap()
}

#[test]
fn the_token_is_an_hs256_jwt_with_iss_exp_and_nbf() {
    let token = mint_token(AK, SK, 1_700_000_000);
    let request = Request {
        method: "GET".into(),
        path: "/".into(),
        query: String::new(),
        headers: [("authorization".to_string(), format!("Bearer {token}"))].into(),
        body: Bytes::new(),
        at: std::time::Instant::now(),
    };
    assert_eq!(verify_jwt(&request), json!({"iss": AK, "exp": 1_700_001_800u64, "nbf": 1_699_999_995u64}));
}

#[tokio::test]
async fn text_to_video_is_submitted_polled_at_its_own_path_and_fetched_from_the_cdn() {
    let polls = Arc::new(Mutex::new(0));
    let seen = polls.clone();
    let fake = FakeUpstream::start(move |r| match r.route().as_str() {
        "POST /v1/videos/text2video" => task_reply("t-1", "submitted"),
        "GET /v1/videos/text2video/t-1" => {
            let mut n = seen.lock().unwrap();
            *n += 1;
            match *n {
                1 => task_reply("t-1", "processing"),
                _ => ok(json!({"task_id": "t-1", "task_status": "succeed", "final_unit_deduction": "2.5", "task_result": {"videos": [
                    {"id": "v-1", "url": format!("http://{}/cdn/v-1.mp4", r.header("host").unwrap()), "duration": "5"}
                ]}})),
            }
        }
        "GET /cdn/v-1.mp4" => Reply::bytes(200, "video/mp4", &b"mp4 bytes"[..]),
        _ => Reply::status(404),
    })
    .await;
    let kling = adapter(&fake);
    let mut job = video_job();
    job.negative_prompt = Some("blur".into());
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/kling/s3cret").unwrap());
    let submitted = kling.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "t-1");
    assert_eq!(submitted.handle.data[QUERY], "v1/videos/text2video");
    assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));

    let create = &fake.requests_to("POST /v1/videos/text2video")[0];
    assert_eq!(
        create.json(),
        json!({
            "model_name": "kling-v2-1-master", "prompt": "a heron in the rain", "negative_prompt": "blur",
            "aspect_ratio": "16:9", "duration": "5", "external_task_id": job.generation.to_string(),
            "callback_url": "https://studio.example/hooks/kling/s3cret"
        })
    );
    assert_eq!(create.header("content-type"), Some("application/json"));
    let claims = verify_jwt(create);
    let now = now();
    assert_eq!(claims["iss"], AK);
    assert!(claims["exp"].as_u64().unwrap().abs_diff(now + 1800) <= 5, "{claims}");
    assert!(claims["nbf"].as_u64().unwrap().abs_diff(now - 5) <= 5, "{claims}");

    assert!(matches!(kling.poll(&submitted.handle).await.unwrap(), UpstreamStatus::Pending { .. }));
    let UpstreamStatus::Succeeded { outputs, usage } = kling.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
    assert_eq!(outputs.len(), 1);
    assert_eq!(usage.and_then(|u| u.units.map(|n| (n, u.unit))), Some((2.5, "kling_units".to_string())), "the deducted units");
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    let bytes = drain(kling.fetch(&submitted.handle, &outputs[0], 1024).await.unwrap()).await.unwrap();
    assert_eq!(&bytes[..], b"mp4 bytes");
    let download = &fake.requests_to("GET /cdn/")[0];
    assert_eq!(download.header("authorization"), None, "the token never goes to the CDN");
    // the cached token is reused, not minted per request
    let tokens: std::collections::BTreeSet<_> =
        fake.requests().iter().filter_map(|r| r.header("authorization").map(str::to_string)).collect();
    assert_eq!(tokens.len(), 1);
    kling.cancel(&submitted.handle).await.unwrap();
    kling.delete_upstream(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests().len(), 4, "cancel and delete make no request (Kling has neither)");
}

#[tokio::test]
async fn frames_go_as_raw_base64_to_image2video_with_mode() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /v1/videos/image2video" => task_reply("i-1", "submitted"),
        "GET /v1/videos/image2video/i-1" => task_reply("i-1", "processing"),
        _ => Reply::status(404),
    })
    .await;
    let kling = adapter(&fake);
    let mut job = job(
        MediaKind::Video,
        "kling-v2-1",
        &[("duration", ParamValue::Int(10)), ("aspect_ratio", ParamValue::Text("16:9".into())), ("mode", ParamValue::Text("pro".into()))],
    );
    job.references = testing::first_and_last_frames();
    let submitted = kling.submit(&job).await.unwrap();
    assert_eq!(submitted.handle.data[QUERY], "v1/videos/image2video");
    assert_eq!(
        fake.requests_to("POST /v1/videos/image2video")[0].json(),
        json!({
            "model_name": "kling-v2-1", "prompt": "a heron in the rain", "image": base64(b"first"),
            "image_tail": base64(b"last"), "duration": "10", "mode": "pro",
            "external_task_id": job.generation.to_string()
        })
    );
    kling.poll(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests_to("GET /v1/videos/image2video/i-1").len(), 1, "polled at the image2video path");
}

#[tokio::test]
async fn images_are_generated_with_n_and_a_reference() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /v1/images/generations" => task_reply("g-1", "submitted"),
        "GET /v1/images/generations/g-1" => ok(json!({"task_id": "g-1", "task_status": "succeed", "task_result": {"images": [
            {"index": 0, "url": "https://cdn.example/a.png"}, {"index": 1, "url": "https://cdn.example/b.jpg?sig=1"}
        ]}})),
        _ => Reply::status(404),
    })
    .await;
    let kling = adapter(&fake);
    let mut job = job(MediaKind::Image, "kling-v2", &[("aspect_ratio", ParamValue::Text("3:2".into())), ("count", ParamValue::Int(2))]);
    job.output_count = 2;
    job.references = vec![ReferenceFile {
        role: ReferenceRole::Reference,
        content_type: "image/png".into(),
        bytes: Bytes::from_static(b"style"),
        tag: None,
    }];
    let submitted = kling.submit(&job).await.unwrap();
    assert_eq!(
        fake.requests_to("POST /v1/images/generations")[0].json(),
        json!({"model_name": "kling-v2", "prompt": "a heron in the rain", "n": 2, "aspect_ratio": "3:2", "image": base64(b"style")})
    );
    let UpstreamStatus::Succeeded { outputs, usage } = kling.poll(&submitted.handle).await.unwrap() else { panic!("succeeded") };
    assert_eq!(usage, None, "no deduction reported, no report");
    let types: Vec<_> = outputs.iter().map(|o| o.content_type.clone().unwrap()).collect();
    assert_eq!(types, ["image/png", "image/jpeg"]);
    assert_eq!(outputs[1].location, "https://cdn.example/b.jpg?sig=1");
}

#[tokio::test]
async fn business_codes_and_statuses_map_to_the_classes() {
    let cases: Vec<(Reply, &str)> = vec![
        (error(401, 1000, "Authentication failed"), "provider.auth"),
        (error(401, 1002, "Authorization is invalid"), "provider.auth"),
        (error(429, 1102, "Resource pack depleted"), "provider.insufficient_credit"),
        (error(429, 1101, "Account in arrears"), "provider.insufficient_credit"),
        (error(400, 1201, "invalid aspect_ratio"), "provider.invalid_input"),
        (error(400, 1301, "content security policy"), "provider.content_policy"),
        (error(429, 1303, "parallel task over resource pack limit"), "provider.rate_limited"),
        (error(404, 1203, "task not found"), "provider.not_found"),
        (error(500, 5000, "internal error"), "provider.transient"),
        (Reply::status(502), "provider.transient"),
        (Reply::status(422), "provider.invalid_input"),
        // an HTTP 200 carrying a business error is still an error
        (error(200, 1301, "prompt hit the content policy"), "provider.content_policy"),
        (Reply::text(200, "<html>oops"), "provider.transient"),
    ];
    testing::assert_submit_errors(adapter, &video_job(), cases).await;
}

#[tokio::test]
async fn a_rate_limit_carries_retry_after() {
    let fake = FakeUpstream::start(|_| error(429, 1302, "API request too fast").header("retry-after", 7)).await;
    let err = adapter(&fake).submit(&video_job()).await.unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: Some(Duration::from_secs(7)), message: "API request too fast".into() });
}

#[tokio::test]
async fn an_expired_token_is_reminted_once() {
    let calls = Arc::new(Mutex::new(0));
    let count = calls.clone();
    let fake = FakeUpstream::start(move |_| {
        let mut n = count.lock().unwrap();
        *n += 1;
        if *n == 1 { error(401, 1004, "Authorization has expired") } else { task_reply("t-9", "submitted") }
    })
    .await;
    let kling = adapter(&fake);
    assert_eq!(kling.submit(&video_job()).await.unwrap().handle.id, "t-9");
    assert_eq!(fake.requests().len(), 2);
    // a refused key is not retried for ever
    let fake2 = FakeUpstream::start(|_| error(401, 1004, "Authorization has expired")).await;
    assert_eq!(adapter(&fake2).submit(&video_job()).await.unwrap_err().code(), "provider.auth");
    assert_eq!(fake2.requests().len(), 2, "one re-mint, then the error");
}

#[tokio::test]
async fn missing_keys_are_an_auth_error() {
    let fake = FakeUpstream::start(|_| task_reply("x", "submitted")).await;
    let kling = Kling::new(&ConnectionConfig { access_key: None, ..config(&fake, Duration::from_secs(1)) }).unwrap();
    assert_eq!(kling.submit(&video_job()).await.unwrap_err().code(), "provider.auth");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn failed_tasks_map_by_their_message_and_unknown_statuses_keep_waiting() {
    let status = Arc::new(Mutex::new(json!({})));
    let current = status.clone();
    let fake = FakeUpstream::start(move |_| ok(current.lock().unwrap().clone())).await;
    let kling = adapter(&fake);
    let handle = UpstreamHandle { id: "t-1".into(), data: [(QUERY.to_string(), "v1/videos/text2video".to_string())].into() };
    let poll = async |body: Value| {
        *status.lock().unwrap() = body;
        kling.poll(&handle).await
    };
    let failed = |msg: &str| json!({"task_id": "t-1", "task_status": "failed", "task_status_msg": msg});
    let UpstreamStatus::Failed(e) = poll(failed("Failure to pass the risk control system")).await.unwrap() else { panic!() };
    assert_eq!(e.code(), "provider.content_policy");
    let UpstreamStatus::Failed(e) = poll(failed("image resolution too small")).await.unwrap() else { panic!() };
    assert_eq!(e.code(), "provider.invalid_input");
    let waiting = poll(json!({"task_id": "t-1", "task_status": "warming"})).await.unwrap();
    assert!(matches!(waiting, UpstreamStatus::Pending { .. }));
    let empty = poll(json!({"task_id": "t-1", "task_status": "succeed", "task_result": {"videos": []}})).await.unwrap();
    assert!(matches!(empty, UpstreamStatus::Failed(ProviderError::Transient(_))));
}

#[test]
fn a_token_is_reused_until_five_minutes_are_left() {
    let kling = Kling::new(&ConnectionConfig {
        access_key: Some(AK.into()),
        secret_key: Some(Secret::new(SK)),
        ..ConnectionConfig::new("k", "kling")
    })
    .unwrap();
    let first = kling.bearer().unwrap();
    assert_eq!(kling.bearer().unwrap(), first, "cached");
    *kling.token.lock().unwrap() = Some(("old".into(), now() + 10 * 60));
    assert_eq!(kling.bearer().unwrap(), "old", "ten minutes left: still used");
    *kling.token.lock().unwrap() = Some(("old".into(), now() + 4 * 60));
    let fresh = kling.bearer().unwrap();
    assert_ne!(fresh, "old", "under five minutes left: re-minted");
    assert!(kling.token.lock().unwrap().as_ref().unwrap().1.abs_diff(now() + TOKEN_LIFETIME) <= 1);
}

#[tokio::test]
async fn a_hanging_upstream_times_out() {
    let short = |fake: &FakeUpstream| Kling::new(&config(fake, Duration::from_millis(300))).unwrap();
    testing::assert_submit_times_out(short, &video_job()).await;
}

#[tokio::test]
async fn expired_and_oversized_outputs_are_refused() {
    let fake = FakeUpstream::start(|_| Reply::status(404)).await;
    testing::assert_expired_and_oversized_refused(&adapter(&fake)).await;
}

#[test]
fn callbacks_name_the_task() {
    let fake_config =
        ConnectionConfig { access_key: Some(AK.into()), secret_key: Some(Secret::new(SK)), ..ConnectionConfig::new("k", "kling") };
    let kling = Kling::new(&fake_config).unwrap();
    let call = |body: &str| Callback { headers: Default::default(), body: Bytes::from(body.to_string()) };
    let body = r#"{"task_id":"t-42","task_status":"succeed","task_info":{"external_task_id":"x"},"task_result":{"videos":[]}}"#;
    assert_eq!(kling.callback(&call(body)).unwrap().as_deref(), Some("t-42"));
    assert_eq!(kling.callback(&call("not json")).unwrap(), None);
}

#[tokio::test]
async fn test_connection_reads_the_resource_packs() {
    let fake = FakeUpstream::start(|r| match r.path.as_str() {
        "/account/costs" => ok(json!({"code": 0, "msg": "", "resource_pack_subscribe_infos": [
            {"resource_pack_name": "video pack", "total_quantity": 200.0, "remaining_quantity": 118.5, "status": "online"},
            {"resource_pack_name": "old pack", "total_quantity": 100.0, "remaining_quantity": 0.0, "status": "expired"}
        ]})),
        _ => Reply::status(404),
    })
    .await;
    let said = adapter(&fake).test_connection().await.unwrap();
    assert!(said.contains("118.5 units"), "{said}");
    let query = &fake.requests()[0];
    assert!(query.query_param("start_time").is_some() && query.query_param("end_time").is_some());
    verify_jwt(query);
    let refused = FakeUpstream::start(|_| error(401, 1002, "Authorization is invalid")).await;
    assert_eq!(adapter(&refused).test_connection().await.unwrap_err(), ProviderError::Auth("Authorization is invalid".into()));
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Kling::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/account/costs").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job(MediaKind::Video, "kling-v2-1", &[])), "v1", "/v1/videos/text2video").await;
}

#[tokio::test]
async fn kling_v3_sound_choice_goes_as_kling_sound_field() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "POST /v1/videos/text2video" => task_reply("s-1", "submitted"),
        _ => Reply::status(404),
    })
    .await;
    let kling = adapter(&fake);
    for choice in ["on", "off"] {
        let params = [
            ("duration", ParamValue::Int(12)),
            ("aspect_ratio", ParamValue::Text("9:16".into())),
            ("mode", ParamValue::Text("pro".into())),
            ("audio", ParamValue::Text(choice.into())),
        ];
        let job = job(MediaKind::Video, "kling-v3", &params);
        kling.submit(&job).await.unwrap();
        assert_eq!(
            fake.requests_to("POST /v1/videos/text2video").last().unwrap().json(),
            json!({
                "model_name": "kling-v3", "prompt": "a heron in the rain", "aspect_ratio": "9:16", "duration": "12",
                "mode": "pro", "sound": choice, "external_task_id": job.generation.to_string()
            })
        );
    }
    fake.stop().await;
}
