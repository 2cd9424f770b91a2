//! Tests of the fal adapter against a loopback fake of its wire format.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde_json::json;

use super::*;
use crate::domain::catalog::MediaKind;
use crate::providers::kit::testing::{self, Probe, connection};

const KEY: &str = "fal-key-id:fal-key-secret";
const ULTRA: &str = "fal-ai/flux-pro/v1.1-ultra";
const KLING: &str = "fal-ai/kling-video/v2.1/master/text-to-video";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "fal", KEY) }
}

fn adapter(fake: &FakeUpstream) -> Fal {
    Fal::new(&config(fake, Duration::from_secs(5))).unwrap().with_jwks_url(fake.at("jwks.json"))
}

fn job(upstream: &str, params: &[(&str, ParamValue)]) -> ProviderJob {
    testing::job(MediaKind::Image, "fal-test").upstream(upstream).prompt("a fox in the snow").params(params).build()
}

fn authorized(r: &Request) -> bool {
    r.header("authorization") == Some(&format!("Key {KEY}"))
}

/// The queue answer fal gives for `app` and request `id`, on `fake`'s origin.
fn queued(fake_url: &url::Url, app: &str, id: &str) -> Value {
    let at = |suffix: &str| fake_url.join(&format!("{app}/requests/{id}{suffix}")).unwrap().to_string();
    json!({"request_id": id, "status_url": at("/status"), "response_url": at(""), "cancel_url": at("/cancel")})
}

fn handle_for(fake: &FakeUpstream, app: &str, id: &str) -> UpstreamHandle {
    let q = queued(&fake.url, app, id);
    let mut data = BTreeMap::from([("app".to_string(), app.to_string())]);
    for field in ["status_url", "response_url", "cancel_url"] {
        data.insert(field.into(), q[field].as_str().unwrap().into());
    }
    UpstreamHandle { id: id.into(), data }
}

async fn started(handler: impl Fn(&Request, &url::Url) -> Reply + Send + Sync + 'static) -> FakeUpstream {
    let own: Arc<Mutex<Option<url::Url>>> = Arc::default();
    let seen = own.clone();
    let fake = FakeUpstream::start(move |r| handler(r, seen.lock().unwrap().as_ref().expect("url set"))).await;
    *own.lock().unwrap() = Some(fake.url.clone());
    fake
}

#[tokio::test]
async fn a_submit_posts_the_input_with_the_key_lifecycle_and_webhook_and_keeps_the_urls() {
    let fake = started(|r, url| match r.route().as_str() {
        "POST /fal-ai/flux-pro/v1.1-ultra" => Reply::json(200, queued(url, "fal-ai/flux-pro", "req-1")),
        _ => Reply::status(404),
    })
    .await;
    let mut job =
        job(ULTRA, &[("aspect_ratio", ParamValue::Text("21:9".into())), ("count", ParamValue::Int(2)), ("seed", ParamValue::Int(9))]);
    job.references = vec![ReferenceFile {
        role: ReferenceRole::Reference,
        content_type: "image/png".into(),
        bytes: Bytes::from_static(b"ref"),
        tag: None,
    }];
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/fal/s3cret").unwrap());
    let submitted = adapter(&fake).submit(&job).await.unwrap();
    assert!(matches!(submitted.status, UpstreamStatus::Pending { .. }));
    assert_eq!(submitted.handle, handle_for(&fake, "fal-ai/flux-pro", "req-1"));
    let create = &fake.requests_to("POST /fal-ai/")[0];
    assert!(authorized(create));
    assert_eq!(create.query_param("fal_webhook").as_deref(), Some("https://studio.example/hooks/fal/s3cret"));
    assert_eq!(create.header("x-fal-object-lifecycle-preference"), Some(LIFECYCLE));
    assert_eq!(create.header("x-fal-store-io"), Some("0"), "fal is asked not to store inputs and outputs");
    assert_eq!(
        create.json(),
        json!({"prompt": "a fox in the snow", "aspect_ratio": "21:9", "num_images": 2, "seed": 9, "image_url": "data:image/png;base64,cmVm"})
    );
    // a webhook is expected: the keys to check it start loading, without the API key
    assert!(fake.wait_until(Duration::from_secs(5), |rs| rs.iter().any(|r| r.path == "/jwks.json")).await);
    assert!(fake.requests_to("GET /jwks.json").iter().all(|r| r.header("authorization").is_none()));
    fake.stop().await;
}

#[tokio::test]
async fn a_first_frame_moves_text_to_video_to_image_to_video_with_string_durations() {
    let fake = started(|r, url| {
        Reply::json(200, queued(url, "fal-ai/kling-video", if r.path.ends_with("image-to-video") { "i2v" } else { "t2v" }))
    })
    .await;
    let fal = adapter(&fake);
    let params = [("duration", ParamValue::Int(10)), ("aspect_ratio", ParamValue::Text("9:16".into()))];
    let text = fal.submit(&job(KLING, &params)).await.unwrap();
    assert_eq!(text.handle.id, "t2v");
    let mut image = job(KLING, &params);
    image.negative_prompt = Some("blur".into());
    image.references = vec![
        ReferenceFile {
            role: ReferenceRole::FirstFrame,
            content_type: "image/jpeg".into(),
            bytes: Bytes::from_static(b"first"),
            tag: None,
        },
        ReferenceFile { role: ReferenceRole::LastFrame, content_type: "image/png".into(), bytes: Bytes::from_static(b"last"), tag: None },
    ];
    assert_eq!(fal.submit(&image).await.unwrap().handle.id, "i2v");
    let requests = fake.requests();
    assert_eq!(requests[0].route(), "POST /fal-ai/kling-video/v2.1/master/text-to-video");
    assert_eq!(requests[0].json(), json!({"prompt": "a fox in the snow", "duration": "10", "aspect_ratio": "9:16"}));
    assert_eq!(requests[0].query_param("fal_webhook"), None);
    assert_eq!(requests[1].route(), "POST /fal-ai/kling-video/v2.1/master/image-to-video");
    assert_eq!(
        requests[1].json(),
        json!({"prompt": "a fox in the snow", "negative_prompt": "blur", "duration": "10",
            "image_url": "data:image/jpeg;base64,Zmlyc3Q=", "tail_image_url": "data:image/png;base64,bGFzdA=="})
    );
    fake.stop().await;
}

#[tokio::test]
async fn polls_walk_the_queue_then_read_images_from_the_response_url() {
    let step = Arc::new(AtomicUsize::new(0));
    let fake = started(move |r, _| match r.route().as_str() {
        "GET /fal-ai/flux-pro/requests/req-1/status" => match step.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::json(200, json!({"status": "IN_QUEUE", "queue_position": 3})),
            1 => Reply::json(200, json!({"status": "IN_PROGRESS", "logs": []})),
            2 => Reply::json(202, json!({"status": "WARMING"})),
            _ => Reply::json(200, json!({"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 2.1}})),
        },
        "GET /fal-ai/flux-pro/requests/req-1" => Reply::json(
            200,
            json!({
                "images": [
                    {"url": "https://v3.fal.media/files/a/one.jpeg", "width": 2752, "height": 1536, "content_type": "image/jpeg"},
                    {"url": "https://v3.fal.media/files/a/two.png", "width": 2752, "height": 1536},
                ],
                "has_nsfw_concepts": [false, false], "seed": 9, "prompt": "a fox in the snow"
            }),
        ),
        _ => Reply::status(404),
    })
    .await;
    let fal = adapter(&fake);
    let handle = handle_for(&fake, "fal-ai/flux-pro", "req-1");
    for _ in 0..3 {
        assert!(matches!(fal.poll(&handle).await.unwrap(), UpstreamStatus::Pending { .. }), "queued, running, unknown");
    }
    let UpstreamStatus::Succeeded { outputs, .. } = fal.poll(&handle).await.unwrap() else { panic!() };
    assert_eq!(
        outputs,
        vec![
            OutputRef::new("https://v3.fal.media/files/a/one.jpeg", Some("image/jpeg".into())),
            OutputRef::new("https://v3.fal.media/files/a/two.png", Some("image/png".into())),
        ]
    );
    assert!(fake.requests().iter().all(authorized));
    fake.stop().await;
}

#[tokio::test]
async fn urls_on_another_origin_are_not_trusted_with_the_key() {
    let fake = started(|r, _| match r.route().as_str() {
        "GET /fal-ai/kling-video/requests/r9/status" => Reply::json(200, json!({"status": "COMPLETED"})),
        "GET /fal-ai/kling-video/requests/r9" => Reply::json(
            200,
            json!({"video": {"url": "https://v3.fal.media/files/b/clip.mp4", "content_type": "video/mp4", "file_size": 1234}}),
        ),
        "PUT /fal-ai/kling-video/requests/r9/cancel" => Reply::json(202, json!({"status": "CANCELLATION_REQUESTED"})),
        _ => Reply::status(404),
    })
    .await;
    let fal = adapter(&fake);
    let mut handle = handle_for(&fake, "fal-ai/kling-video", "r9");
    for field in ["status_url", "response_url", "cancel_url"] {
        handle.data.insert(field.into(), "https://elsewhere.example/steal".into());
    }
    let UpstreamStatus::Succeeded { outputs, .. } = fal.poll(&handle).await.unwrap() else { panic!() };
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    fal.cancel(&handle).await.unwrap();
    fal.delete_upstream(&handle).await.unwrap();
    let routes: Vec<String> = fake.requests().iter().map(Request::route).collect();
    assert_eq!(
        routes,
        ["GET /fal-ai/kling-video/requests/r9/status", "GET /fal-ai/kling-video/requests/r9", "PUT /fal-ai/kling-video/requests/r9/cancel"]
    );
    assert!(fake.requests().iter().all(authorized));
    fake.stop().await;
}

#[tokio::test]
async fn failures_and_http_errors_map_to_classes() {
    let fake = started(|r, _| {
        let app = r.path.trim_start_matches("/fal-ai/flux-pro/requests/");
        let (id, tail) = app.split_once('/').unwrap_or((app, ""));
        match (id, tail) {
            ("errored", "status") => {
                Reply::json(200, json!({"status": "COMPLETED", "error": "Prompt exceeds the maximum length", "error_type": "validation_error"}))
            }
            ("moderated", "status") | ("flagged", "status") | ("empty", "status") => Reply::json(200, json!({"status": "COMPLETED"})),
            ("moderated", "") => Reply::json(
                422,
                json!({"detail": [{"loc": ["body", "prompt"], "msg": "The content could not be processed because it contained material flagged by a content checker.", "type": "content_policy_violation"}]}),
            ),
            ("flagged", "") => Reply::json(200, json!({"images": [{"url": "https://v3.fal.media/x.jpeg"}], "has_nsfw_concepts": [true]})),
            ("empty", "") => Reply::json(200, json!({"images": []})),
            ("auth", _) => Reply::json(401, json!({"detail": "No user found for Key ID and Secret"})),
            ("invalid", _) => Reply::json(422, json!({"detail": [{"loc": ["body", "aspect_ratio"], "msg": "unexpected value", "type": "value_error"}]})),
            ("broke", _) => Reply::json(403, json!({"detail": "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."})),
            ("limited", _) => Reply::json(429, json!({"detail": "Too many requests"})).header("retry-after", 4),
            ("down", _) => Reply::text(502, "Bad Gateway"),
            ("gone", _) => Reply::json(404, json!({"detail": "Request not found"})),
            ("garbled", _) => Reply::bytes(200, "application/json", "{\"status"),
            _ => Reply::hang(),
        }
    })
    .await;
    let fal = adapter(&fake);
    let handle = |id: &str| UpstreamHandle { id: id.into(), data: BTreeMap::from([("app".to_string(), "fal-ai/flux-pro".to_string())]) };
    let failed = |s: UpstreamStatus| match s {
        UpstreamStatus::Failed(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(failed(fal.poll(&handle("errored")).await.unwrap()).code(), "provider.invalid_input");
    assert_eq!(fal.poll(&handle("moderated")).await.unwrap_err().code(), "provider.content_policy");
    assert_eq!(failed(fal.poll(&handle("flagged")).await.unwrap()).code(), "provider.content_policy");
    assert_eq!(failed(fal.poll(&handle("empty")).await.unwrap()).code(), "provider.transient");
    assert!(matches!(fal.poll(&handle("auth")).await.unwrap_err(), ProviderError::Auth(m) if m.contains("No user found")));
    assert!(matches!(fal.poll(&handle("invalid")).await.unwrap_err(), ProviderError::InvalidInput(m) if m.contains("unexpected value")));
    assert_eq!(fal.poll(&handle("broke")).await.unwrap_err().code(), "provider.insufficient_credit");
    assert_eq!(fal.poll(&handle("limited")).await.unwrap_err().retry_after(), Some(Duration::from_secs(4)));
    assert_eq!(fal.poll(&handle("down")).await.unwrap_err().code(), "provider.transient");
    assert_eq!(fal.poll(&handle("gone")).await.unwrap_err().code(), "provider.not_found");
    assert_eq!(fal.poll(&handle("garbled")).await.unwrap_err().code(), "provider.transient");
    let short = Fal::new(&config(&fake, Duration::from_millis(300))).unwrap();
    assert_eq!(short.submit(&job(ULTRA, &[])).await.unwrap_err(), ProviderError::Timeout);
    fake.stop().await;
}

#[tokio::test]
async fn cdn_outputs_are_fetched_without_the_key_and_capped() {
    let api = FakeUpstream::start(|_| Reply::status(500)).await;
    let handle = handle_for(&api, "fal-ai/kling-video", "r1");
    testing::assert_cdn_outputs_fetched_keyless(&adapter(&api), &handle, &api).await;
    api.stop().await;
}

/// An Ed25519 key pair from a fixed seed: (PKCS#8 signer, raw public key).
fn signer() -> (Arc<dyn rustls::sign::SigningKey>, Vec<u8>) {
    let mut pkcs8 = hex::decode("302e020100300506032b657004220420").unwrap();
    pkcs8.extend([7u8; 32]);
    let key = rustls::crypto::ring::sign::any_eddsa_type(&PrivatePkcs8KeyDer::from(pkcs8)).unwrap();
    let spki = key.public_key().unwrap();
    let public = spki.as_ref()[spki.as_ref().len() - 32..].to_vec();
    (key, public)
}

fn signed(key: &dyn rustls::sign::SigningKey, request_id: &str, timestamp: u64, body: &[u8]) -> Callback {
    let message = format!("{request_id}\nuser-1\n{timestamp}\n{}", hex::encode(sha2::Sha256::digest(body)));
    let signature = key.choose_scheme(&[rustls::SignatureScheme::ED25519]).unwrap().sign(message.as_bytes()).unwrap();
    Callback {
        headers: BTreeMap::from([
            ("x-fal-webhook-request-id".into(), request_id.into()),
            ("x-fal-webhook-user-id".into(), "user-1".into()),
            ("x-fal-webhook-timestamp".into(), timestamp.to_string()),
            ("x-fal-webhook-signature".into(), hex::encode(signature)),
        ]),
        body: Bytes::copy_from_slice(body),
    }
}

#[tokio::test]
async fn webhooks_are_verified_with_fals_ed25519_keys() {
    let (key, public) = signer();
    let jwk = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&public);
    let fake = FakeUpstream::start(move |r| match r.path.as_str() {
        "/jwks.json" => Reply::json(200, json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": jwk, "kid": "k1"}]})),
        _ => Reply::status(404),
    })
    .await;
    let fal = adapter(&fake);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let body = serde_json::to_vec(&json!({"request_id": "req-2", "gateway_request_id": "req-1", "status": "OK", "payload": {}})).unwrap();
    let good = signed(key.as_ref(), "req-2", now, &body);
    assert!(matches!(fal.callback(&good), Err(ProviderError::Auth(_))), "refused until the keys are loaded");
    for _ in 0..100 {
        if fal.keys.get().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fal.callback(&good).unwrap(), Some("req-1".to_string()), "the id the submit answered with");
    let mut tampered = good.clone();
    tampered.body = Bytes::from(String::from_utf8(body.clone()).unwrap().replace("OK", "ERROR"));
    assert!(matches!(fal.callback(&tampered), Err(ProviderError::Auth(_))));
    let stale = signed(key.as_ref(), "req-2", now - 3600, &body);
    assert!(matches!(fal.callback(&stale), Err(ProviderError::Auth(m)) if m.contains("too old")));
    let other_job = signed(key.as_ref(), "req-3", now, &body);
    assert!(matches!(fal.callback(&other_job), Err(ProviderError::Auth(m)) if m.contains("does not match")));
    let mut unsigned = good.clone();
    unsigned.headers.remove("x-fal-webhook-signature");
    assert!(matches!(fal.callback(&unsigned), Err(ProviderError::Auth(_))));
    assert_eq!(fake.requests_to("GET /jwks.json").len(), 1);
    fake.stop().await;
}

#[test]
fn apps_are_the_first_two_segments() {
    assert_eq!(app_of(ULTRA), "fal-ai/flux-pro");
    assert_eq!(app_of("fal-ai/fast-sdxl"), "fal-ai/fast-sdxl");
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Fal::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::Submit(&job(ULTRA, &[])), "", "/fal-ai/flux-pro/v1.1-ultra").await;
}
