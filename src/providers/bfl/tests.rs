//! Tests of the bfl adapter against a loopback fake of its wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};
use futures_util::TryStreamExt;

use super::*;
use crate::domain::catalog::{MediaKind, ParamValue, ReferenceRole};
use crate::providers::ReferenceFile;
use crate::providers::kit::testing::{self, Probe, connection};

const KEY: &str = "bfl-test-key";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0 fake flux jpeg";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { timeout, ..connection(fake, "bfl", KEY) }
}

fn adapter(fake: &FakeUpstream) -> Bfl {
    Bfl::new(&config(fake, Duration::from_secs(2))).unwrap()
}

fn job(model: &str, ratio: &str) -> ProviderJob {
    let params =
        [("aspect_ratio", ParamValue::Text(ratio.into())), ("output_format", ParamValue::Text("png".into())), ("seed", ParamValue::Int(7))];
    testing::job(MediaKind::Image, model).prompt("a glass whale").params(&params).build()
}

fn handle(fake: &FakeUpstream, id: &str) -> UpstreamHandle {
    UpstreamHandle {
        id: id.into(),
        data: [
            ("polling_url".to_string(), fake.at(&format!("v1/get_result?id={id}")).to_string()),
            ("output_format".to_string(), "png".to_string()),
        ]
        .into(),
    }
}

async fn poll_once(reply: Reply) -> Result<UpstreamStatus, ProviderError> {
    let fake = FakeUpstream::start(move |_| reply.clone()).await;
    let result = adapter(&fake).poll(&handle(&fake, "t1")).await;
    fake.stop().await;
    result
}

async fn collect(stream: ByteStream) -> Vec<u8> {
    stream.try_collect::<Vec<Bytes>>().await.unwrap().concat()
}

fn result(status: &str) -> Reply {
    Reply::json(200, serde_json::json!({"id": "t1", "status": status, "result": null, "progress": null}))
}

#[tokio::test]
async fn submit_polls_the_returned_url_through_pending_to_ready_and_fetches_the_sample_without_the_key() {
    let polls = Arc::new(Mutex::new(0));
    let count = polls.clone();
    let fake = FakeUpstream::start(move |r: &Request| {
        let host = r.header("host").unwrap().to_string();
        match r.route().as_str() {
            "POST /v1/flux-pro-1.1" => Reply::json(
                200,
                serde_json::json!({"id": "task-1", "polling_url": format!("http://{host}/cluster-2/v1/get_result?id=task-1"), "cost": 4.0}),
            ),
            "GET /cluster-2/v1/get_result" => {
                let mut n = count.lock().unwrap();
                *n += 1;
                match *n {
                    1 => Reply::json(200, serde_json::json!({"id": "task-1", "status": "Pending", "result": null, "progress": 0.4})),
                    _ => Reply::json(
                        200,
                        serde_json::json!({"id": "task-1", "status": "Ready", "result": {"sample": format!("http://{host}/delivery/sample.png?sig=abc"), "prompt": "a glass whale", "seed": 7}}),
                    ),
                }
            }
            "GET /delivery/sample.png" => Reply::bytes(200, "image/png", JPEG),
            _ => Reply::status(404),
        }
    })
    .await;
    let provider = adapter(&fake);
    let job = job("flux-pro-1.1", "16:9");
    let submitted = provider.submit(&job).await.unwrap();
    assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));
    assert_eq!(submitted.handle.id, "task-1");
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("x-key"), Some(KEY));
    assert_eq!(
        sent.json(),
        serde_json::json!({"prompt": "a glass whale", "width": 1344, "height": 768, "seed": 7, "output_format": "png"}),
        "FLUX1.1 [pro] takes a pixel size, no webhook without a callback URL"
    );

    let first = provider.poll(&submitted.handle).await.unwrap();
    assert!(matches!(first, UpstreamStatus::Pending { progress: Some(40), poll_after: Some(POLL_EVERY) }), "{first:?}");
    let UpstreamStatus::Succeeded { outputs, usage } = provider.poll(&submitted.handle).await.unwrap() else { panic!() };
    assert_eq!(outputs[0].content_type.as_deref(), Some("image/png"));
    let reported = ProviderUsage { cost_cents: Some(4.0), units: None, unit: "megapixels".into() };
    assert_eq!(usage, Some(reported), "the submit's cost in BFL credits (1 credit = 1 cent) is reported at success");
    assert_eq!(collect(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await, JPEG);

    let polls = fake.requests_to("GET /cluster-2/v1/get_result");
    assert_eq!(polls.len(), 2, "the returned polling_url is used as given");
    assert!(polls.iter().all(|p| p.header("x-key") == Some(KEY) && p.query_param("id").as_deref() == Some("task-1")));
    let download = fake.requests_to("GET /delivery/sample.png").remove(0);
    assert_eq!(download.header("x-key"), None, "the signed URL is fetched without the key");
    assert_eq!(download.query_param("sig").as_deref(), Some("abc"));
    provider.cancel(&submitted.handle).await.unwrap();
    provider.delete_upstream(&submitted.handle).await.unwrap();
    assert_eq!(fake.requests().len(), 4, "no cancel or delete endpoint is called");
    fake.stop().await;
}

#[tokio::test]
async fn kontext_sends_the_reference_as_raw_base64_input_image_and_the_webhook() {
    let fake = FakeUpstream::start(|_| {
        Reply::json(200, serde_json::json!({"id": "k1", "polling_url": "https://api.eu1.bfl.ai/v1/get_result?id=k1"}))
    })
    .await;
    let mut config = config(&fake, Duration::from_secs(2));
    config.secret_key = Some(Secret::new("whsec"));
    let provider = Bfl::new(&config).unwrap();
    let mut job = job("flux-kontext-pro", "21:9");
    job.references = vec![ReferenceFile {
        role: ReferenceRole::Reference,
        content_type: "image/png".into(),
        bytes: Bytes::from_static(b"PNGDATA"),
        tag: None,
    }];
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/bfl/s3cret").unwrap());
    let submitted = provider.submit(&job).await.unwrap();
    assert_eq!(
        fake.requests()[0].json(),
        serde_json::json!({
            "prompt": "a glass whale", "aspect_ratio": "21:9", "seed": 7, "output_format": "png",
            "input_image": "UE5HREFUQQ==",
            "webhook_url": "https://studio.example/hooks/bfl/s3cret", "webhook_secret": "whsec"
        })
    );
    assert_eq!(submitted.handle.data["polling_url"], "https://api.eu1.bfl.ai/v1/get_result?id=k1", "kept as given");

    // Ultra takes the reference as an image prompt
    let mut ultra = job.clone();
    ultra.upstream_model = "flux-pro-1.1-ultra".into();
    ultra.callback_url = None;
    provider.submit(&ultra).await.unwrap();
    let body = fake.requests()[1].json();
    assert_eq!(body["image_prompt"], "UE5HREFUQQ==");
    assert!(body.get("input_image").is_none() && body.get("webhook_url").is_none(), "{body}");
    assert_eq!(fake.requests()[1].path, "/v1/flux-pro-1.1-ultra");
    fake.stop().await;
}

#[tokio::test]
async fn the_key_goes_only_to_the_api_host_and_bfl_clusters() {
    let fake = FakeUpstream::start(|_| result("Pending")).await;
    let provider = adapter(&fake);
    let port = fake.url.port().unwrap();
    let elsewhere = UpstreamHandle {
        id: "t1".into(),
        data: [("polling_url".to_string(), format!("http://localhost:{port}/v1/get_result?id=t1"))].into(),
    };
    assert!(matches!(provider.poll(&elsewhere).await.unwrap(), UpstreamStatus::Pending { .. }));
    assert_eq!(fake.requests()[0].header("x-key"), None, "another host does not get the key");
    let key = provider.api.key().unwrap();
    assert!(key.belongs_to(&url::Url::parse("https://api.us1.bfl.ai/v1/get_result?id=1").unwrap()));
    assert!(!key.belongs_to(&url::Url::parse("https://evilbfl.ai/v1/get_result?id=1").unwrap()));
    assert!(!key.belongs_to(&url::Url::parse("http://api.bfl.ai/v1/get_result?id=1").unwrap()), "never in clear text");
    let odd = UpstreamHandle { id: "t1".into(), data: [("polling_url".to_string(), "file:///etc/passwd".to_string())].into() };
    assert!(matches!(provider.poll(&odd).await, Err(ProviderError::InvalidInput(_))));
    // no polling_url (older answers): the documented get_result path on the base
    provider.poll(&UpstreamHandle { id: "old-1".into(), data: Default::default() }).await.unwrap();
    let last = fake.requests().pop().unwrap();
    assert_eq!((last.path.as_str(), last.query_param("id").as_deref()), ("/v1/get_result", Some("old-1")));
    assert_eq!(last.header("x-key"), Some(KEY));
    fake.stop().await;
}

#[tokio::test]
async fn statuses_map_to_outcomes() {
    let moderated = Reply::json(
        200,
        serde_json::json!({"id": "t1", "status": "Request Moderated", "result": null, "details": {"Moderation Reasons": ["Derivative Works"]}}),
    );
    let Ok(UpstreamStatus::Failed(ProviderError::ContentPolicy(message))) = poll_once(moderated).await else { panic!() };
    assert!(message.contains("Derivative Works"), "{message}");
    assert!(matches!(poll_once(result("Content Moderated")).await, Ok(UpstreamStatus::Failed(ProviderError::ContentPolicy(_)))));
    assert!(matches!(poll_once(result("Task not found")).await, Ok(UpstreamStatus::Failed(ProviderError::NotFound(_)))));
    assert!(matches!(poll_once(result("Error")).await, Ok(UpstreamStatus::Failed(ProviderError::Transient(_)))));
    assert!(matches!(poll_once(result("Ready")).await, Ok(UpstreamStatus::Failed(ProviderError::Transient(_)))), "Ready without a sample");
    assert!(matches!(poll_once(result("Warming Up")).await, Ok(UpstreamStatus::Pending { .. })), "an unknown status keeps waiting");
    assert!(matches!(poll_once(Reply::text(200, "<html>")).await, Err(ProviderError::Transient(_))), "malformed JSON");
}

#[tokio::test]
async fn http_errors_map_to_the_classes() {
    let submit = |reply: Reply| async move {
        let fake = FakeUpstream::start(move |_| reply.clone()).await;
        let err = adapter(&fake).submit(&job("flux-dev", "1:1")).await.unwrap_err();
        fake.stop().await;
        err
    };
    assert!(matches!(submit(Reply::json(401, serde_json::json!({"detail": "Not authenticated"}))).await, ProviderError::Auth(_)));
    assert!(matches!(submit(Reply::json(403, serde_json::json!({"detail": "Forbidden"}))).await, ProviderError::Auth(_)));
    assert!(matches!(
        submit(Reply::json(402, serde_json::json!({"detail": "Insufficient credits"}))).await,
        ProviderError::InsufficientUpstreamCredit(_)
    ));
    let invalid = submit(Reply::json(
        422,
        serde_json::json!({"detail": [{"loc": ["body", "width"], "msg": "Input should be a multiple of 32", "type": "value_error"}]}),
    ))
    .await;
    assert_eq!(invalid, ProviderError::InvalidInput("Input should be a multiple of 32".into()));
    let limited = submit(Reply::json(429, serde_json::json!({"detail": "Too many active tasks"})).header("retry-after", "3")).await;
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
    let body_hint = submit(Reply::json(429, serde_json::json!({"detail": "Rate limit", "retry_after": 5}))).await;
    assert_eq!(body_hint.retry_after(), Some(Duration::from_secs(5)), "the body's retry_after when no header");
    assert!(matches!(submit(Reply::json(503, serde_json::json!({"detail": "busy"}))).await, ProviderError::Transient(_)));
    assert!(matches!(submit(Reply::json(500, serde_json::json!({}))).await, ProviderError::Transient(_)));

    let fake = FakeUpstream::start(|_| Reply::hang()).await;
    let slow = Bfl::new(&config(&fake, Duration::from_millis(300))).unwrap();
    assert_eq!(slow.submit(&job("flux-dev", "1:1")).await.unwrap_err(), ProviderError::Timeout);
    assert_eq!(slow.poll(&handle(&fake, "t1")).await.unwrap_err(), ProviderError::Timeout);
    fake.stop().await;
}

#[tokio::test]
async fn an_expired_sample_url_is_not_found_and_a_declared_oversize_is_refused() {
    let fake = FakeUpstream::start(|r: &Request| match r.path.as_str() {
        "/expired.jpg" => Reply::text(403, "<Error><Code>AuthenticationFailed</Code></Error>"),
        "/big.jpg" => Reply::stall("image/jpeg", 10_000_000, &b"\xff\xd8"[..]),
        _ => Reply::status(404),
    })
    .await;
    let provider = adapter(&fake);
    let h = handle(&fake, "t1");
    let output = |path: &str| OutputRef::new(fake.at(path).to_string(), Some("image/jpeg".into()));
    assert!(matches!(provider.fetch(&h, &output("expired.jpg"), 1 << 20).await, Err(ProviderError::NotFound(_))));
    assert!(matches!(provider.fetch(&h, &output("gone.jpg"), 1 << 20).await, Err(ProviderError::NotFound(_))));
    assert_eq!(provider.fetch(&h, &output("big.jpg"), 1 << 20).await.err(), Some(ProviderError::TooLarge { cap: 1 << 20 }));
    fake.stop().await;
}

fn signed(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn hook(body: &'static [u8], signature: Option<String>) -> Callback {
    Callback { headers: signature.map(|s| ("x-bfl-signature".to_string(), s)).into_iter().collect(), body: Bytes::from_static(body) }
}

#[tokio::test]
async fn callbacks_give_the_task_id_and_are_verified_when_a_secret_is_set() {
    let fake = FakeUpstream::start(|_| Reply::status(404)).await;
    let body: &'static [u8] = br#"{"id":"task-9","status":"SUCCESS","result":{"sample":"https://x/y.jpg"}}"#;
    assert_eq!(adapter(&fake).callback(&hook(body, None)).unwrap().as_deref(), Some("task-9"), "unsigned without a secret");

    let mut config = config(&fake, Duration::from_secs(2));
    config.secret_key = Some(Secret::new("whsec"));
    let provider = Bfl::new(&config).unwrap();
    assert_eq!(provider.callback(&hook(body, Some(signed("whsec", body)))).unwrap().as_deref(), Some("task-9"));
    assert!(matches!(provider.callback(&hook(body, Some(signed("other", body)))), Err(ProviderError::Auth(_))));
    assert!(matches!(provider.callback(&hook(body, None)), Err(ProviderError::Auth(_))));
    assert!(matches!(provider.callback(&hook(body, Some("sha256=zz".into()))), Err(ProviderError::Auth(_))));
    let task_id: &'static [u8] = br#"{"task_id":"task-10","status":"Error"}"#;
    assert_eq!(provider.callback(&hook(task_id, Some(signed("whsec", task_id)))).unwrap().as_deref(), Some("task-10"));
    assert!(fake.requests().is_empty(), "a callback alone calls nothing upstream");
    fake.stop().await;
}

#[tokio::test]
async fn test_connection_reads_the_credits() {
    let fake = FakeUpstream::start(|r: &Request| match (r.route().as_str(), r.header("x-key")) {
        ("GET /v1/credits", Some(KEY)) => Reply::json(200, serde_json::json!({"credits": 99.5})),
        _ => Reply::json(401, serde_json::json!({"detail": "Not authenticated"})),
    })
    .await;
    assert_eq!(adapter(&fake).test_connection().await.unwrap(), "The key works: the account has 99.50 BFL credits.");
    let mut wrong = config(&fake, Duration::from_secs(2));
    wrong.api_key = Some(Secret::new("nope"));
    assert!(matches!(Bfl::new(&wrong).unwrap().test_connection().await, Err(ProviderError::Auth(_))));
    fake.stop().await;
}

/// Submits with `answer` as BFL's submit answer and polls once to `ready`; returns the usage.
async fn usage_of(answer: serde_json::Value, ready: serde_json::Value) -> Option<ProviderUsage> {
    let fake = FakeUpstream::start(move |r: &Request| match r.route().as_str() {
        "POST /v1/flux-2-pro" => Reply::json(200, answer.clone()),
        _ => Reply::json(200, ready.clone()),
    })
    .await;
    let provider = adapter(&fake);
    let submitted = provider.submit(&job("flux-2-pro", "1:1")).await.unwrap();
    let status = provider.poll(&submitted.handle).await.unwrap();
    fake.stop().await;
    let UpstreamStatus::Succeeded { usage, .. } = status else { panic!("{status:?}") };
    usage
}

#[tokio::test]
async fn the_cost_and_megapixels_are_reported_and_a_settled_cost_wins() {
    let ready = |extra: serde_json::Value| {
        let mut body = serde_json::json!({"id": "t1", "status": "Ready", "result": {"sample": "https://delivery.example/s.png"}});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let priced = serde_json::json!({"id": "t1", "cost": 4.5, "input_mp": 1.0, "output_mp": "1.05"});
    let usage = usage_of(priced.clone(), ready(serde_json::json!({}))).await.unwrap();
    assert_eq!(usage.cost_cents, Some(4.5));
    assert!((usage.units.unwrap() - 2.05).abs() < 1e-9, "input and output megapixels: {usage:?}");
    assert_eq!(usage.unit, "megapixels");

    let settled = usage_of(priced, ready(serde_json::json!({"cost": 6}))).await.unwrap();
    assert_eq!(settled.cost_cents, Some(6.0), "the poll's settled cost replaces the submit's");

    let odd = serde_json::json!({"id": "t1", "cost": "free", "input_mp": null, "output_mp": -3});
    assert_eq!(usage_of(odd, ready(serde_json::json!({"cost": {"credits": 1}}))).await, None, "odd values are no report, never an error");
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Bfl::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/v1/credits").await;
    testing::assert_base_url_forms(adapter, Probe::Submit(&job("flux-pro-1.1", "16:9")), "v1", "/v1/flux-pro-1.1").await;
}

#[tokio::test]
async fn flux2_takes_a_pixel_size_up_to_eight_reference_images_and_flex_steps_and_guidance() {
    let fake = FakeUpstream::start(|_| Reply::json(200, serde_json::json!({"id": "f2", "polling_url": "http://127.0.0.1:1/x"}))).await;
    let provider = adapter(&fake);
    let mut pro = job("flux-2-pro", "9:16");
    pro.references = (0..9).map(|_| testing::reference(ReferenceRole::Reference, b"ref")).collect();
    provider.submit(&pro).await.unwrap();
    let sent = fake.requests_to("POST /v1/flux-2-pro")[0].json();
    assert_eq!((sent["width"].clone(), sent["height"].clone()), (serde_json::json!(768), serde_json::json!(1344)));
    assert!(sent.get("aspect_ratio").is_none(), "{sent}");
    let fields = [
        "input_image",
        "input_image_2",
        "input_image_3",
        "input_image_4",
        "input_image_5",
        "input_image_6",
        "input_image_7",
        "input_image_8",
    ];
    assert!(fields.iter().all(|f| sent[*f] == "cmVm"), "{sent}");
    assert!(sent.get("input_image_9").is_none() && sent.get("image_prompt").is_none(), "{sent}");

    let mut flex = job("flux-2-flex", "1:1");
    flex.params.insert("steps".into(), ParamValue::Int(28));
    flex.params.insert("guidance".into(), ParamValue::Text("4.5".into()));
    provider.submit(&flex).await.unwrap();
    assert_eq!(
        fake.requests_to("POST /v1/flux-2-flex")[0].json(),
        serde_json::json!({"prompt": "a glass whale", "width": 1024, "height": 1024, "seed": 7, "output_format": "png", "steps": 28, "guidance": 4.5})
    );
    fake.stop().await;
}
