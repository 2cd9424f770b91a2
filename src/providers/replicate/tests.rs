//! Tests of the replicate adapter against a loopback fake of its wire format.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply, Request};
use futures_util::TryStreamExt;

use super::*;
use crate::config::Secret;
use crate::domain::catalog::{MediaKind, ParamValue};
use crate::providers::kit::testing::{self, Probe, connection};

const KEY: &str = "r8_test_key";
const SIGNING_KEY: &[u8] = b"replicate-signing-key";

fn config(fake: &FakeUpstream, timeout: Duration) -> ConnectionConfig {
    ConnectionConfig { base_url: Some(fake.at("v1/")), timeout, ..connection(fake, "replicate", KEY) }
}

fn adapter(fake: &FakeUpstream) -> Replicate {
    Replicate::new(&config(fake, Duration::from_secs(10))).unwrap()
}

fn job(upstream: &str) -> ProviderJob {
    let params = [("aspect_ratio", ParamValue::Text("16:9".into())), ("count", ParamValue::Int(2)), ("seed", ParamValue::Int(42))];
    testing::job(MediaKind::Image, "replicate-flux-schnell")
        .upstream(upstream)
        .prompt("a lighthouse at dusk")
        .params(&params)
        .outputs(2)
        .build()
}

fn handle(id: &str) -> UpstreamHandle {
    UpstreamHandle { id: id.into(), data: Default::default() }
}

fn prediction(status: &str, extra: Value) -> Value {
    let mut p = json!({"id": "p1", "status": status, "urls": {"get": "x", "cancel": "y"}});
    p.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    p
}

fn authorized(r: &Request) -> bool {
    r.header("authorization") == Some(&format!("Bearer {KEY}"))
}

fn secret_reply() -> Reply {
    Reply::json(200, json!({"key": format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(SIGNING_KEY))}))
}

fn signed(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> Callback {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Callback {
        headers: BTreeMap::from([
            ("webhook-id".into(), id.into()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), format!("v1,bm90IGl0 v1,{sig}")),
        ]),
        body: Bytes::copy_from_slice(body),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn an_official_model_is_created_by_name_with_wait_and_webhook_and_finishes_in_the_answer() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "GET /v1/webhooks/default/secret" => secret_reply(),
        "POST /v1/models/black-forest-labs/flux-schnell/predictions" => Reply::json(
            201,
            prediction(
                "succeeded",
                json!({"output": ["https://replicate.delivery/a/out-0.webp", "https://replicate.delivery/a/out-1.png"]}),
            ),
        ),
        _ => Reply::status(404),
    })
    .await;
    let mut job = job("black-forest-labs/flux-schnell");
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/replicate/s3cret").unwrap());
    let submitted = adapter(&fake).submit(&job).await.unwrap();
    assert_eq!(submitted.handle.id, "p1");
    let UpstreamStatus::Succeeded { outputs } = submitted.status else { panic!("{:?}", submitted.status) };
    assert_eq!(
        outputs,
        vec![
            OutputRef::new("https://replicate.delivery/a/out-0.webp", Some("image/webp".into())),
            OutputRef::new("https://replicate.delivery/a/out-1.png", Some("image/png".into())),
        ]
    );
    let create = &fake.requests_to("POST /v1/models/")[0];
    assert!(authorized(create));
    assert_eq!(create.header("prefer"), Some("wait=5"));
    assert_eq!(
        create.json(),
        json!({
            "input": {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "num_outputs": 2, "seed": 42},
            "webhook": "https://studio.example/hooks/replicate/s3cret",
            "webhook_events_filter": ["completed"],
        })
    );
    let secret = fake.requests_to("GET /v1/webhooks/default/secret");
    assert_eq!(secret.len(), 1, "the signing secret is loaded once a webhook is asked for");
    assert!(authorized(&secret[0]));
    fake.stop().await;
}

#[tokio::test]
async fn a_version_is_created_on_predictions_with_references_as_data_uris() {
    let fake = FakeUpstream::start(|_| Reply::json(201, prediction("starting", json!({})))).await;
    let mut job = job("bytedance/seedance-1-pro:5e1f2c");
    job.params = BTreeMap::from([("duration".to_string(), ParamValue::Int(5))]);
    job.negative_prompt = Some("blur".into());
    job.references = testing::first_and_last_frames();
    // a short connection timeout leaves no room for Prefer: wait
    let replicate = Replicate::new(&config(&fake, Duration::from_secs(1))).unwrap();
    let submitted = replicate.submit(&job).await.unwrap();
    assert!(matches!(submitted.status, UpstreamStatus::Pending { progress: None, .. }));
    let create = &fake.requests()[0];
    assert_eq!(create.route(), "POST /v1/predictions");
    assert_eq!(create.header("prefer"), None);
    assert_eq!(
        create.json(),
        json!({"version": "5e1f2c", "input": {
            "prompt": "a lighthouse at dusk",
            "negative_prompt": "blur",
            "duration": 5,
            "image": "data:image/png;base64,Zmlyc3Q=",
            "last_frame_image": "data:image/jpeg;base64,bGFzdA==",
        }})
    );
    assert_eq!(fake.requests().len(), 1, "no webhook, so no signing secret is fetched");
    fake.stop().await;
}

#[tokio::test]
async fn polls_walk_from_starting_through_progress_to_a_single_url_output() {
    let step = Arc::new(AtomicUsize::new(0));
    let seen = step.clone();
    let fake = FakeUpstream::start(move |r| {
        assert_eq!(r.route(), "GET /v1/predictions/p1");
        match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::json(200, prediction("starting", json!({"logs": ""}))),
            1 => Reply::json(200, prediction("processing", json!({"logs": "loading\n 45%|████▌     | 9/20 [00:02<00:03]\n"}))),
            _ => Reply::json(200, prediction("succeeded", json!({"output": "https://replicate.delivery/x/video.mp4"}))),
        }
    })
    .await;
    let replicate = adapter(&fake);
    assert!(matches!(replicate.poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { progress: None, .. }));
    assert!(matches!(replicate.poll(&handle("p1")).await.unwrap(), UpstreamStatus::Pending { progress: Some(45), .. }));
    let UpstreamStatus::Succeeded { outputs } = replicate.poll(&handle("p1")).await.unwrap() else { panic!() };
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    assert!(fake.requests().iter().all(authorized));
    fake.stop().await;
}

#[tokio::test]
async fn failed_canceled_aborted_and_unknown_statuses_map_to_classes() {
    let answers = Arc::new(Mutex::new(vec![
        prediction("failed", json!({"error": "NSFW content detected. Try running it again, or try a different prompt."})),
        prediction("failed", json!({"error": "input.duration must be at most 12"})),
        prediction("failed", json!({"error": "You have insufficient credit to run this model."})),
        prediction("canceled", json!({})),
        prediction("aborted", json!({})),
        prediction("warming_up", json!({})),
        prediction("succeeded", json!({"output": null})),
    ]));
    let queue = answers.clone();
    let fake = FakeUpstream::start(move |_| Reply::json(200, queue.lock().unwrap().remove(0))).await;
    let replicate = adapter(&fake);
    let mut codes = Vec::new();
    for _ in 0..7 {
        codes.push(match replicate.poll(&handle("p1")).await.unwrap() {
            UpstreamStatus::Failed(e) => e.code(),
            UpstreamStatus::Pending { .. } => "pending",
            UpstreamStatus::Succeeded { .. } => "succeeded",
        });
    }
    assert_eq!(
        codes,
        [
            "provider.content_policy",
            "provider.invalid_input",
            "provider.insufficient_credit",
            "provider.transient",
            "provider.timeout",
            "pending",
            "provider.transient"
        ]
    );
    fake.stop().await;
}

#[tokio::test]
async fn http_errors_map_to_classes_with_retry_after() {
    let fake = FakeUpstream::start(|r| {
        let problem = |status: u16, title: &str, detail: &str| Reply::json(status, json!({"title": title, "detail": detail, "status": status}));
        match r.path.as_str() {
            "/v1/predictions/auth" => problem(401, "Unauthenticated", "You did not pass a valid authentication token"),
            "/v1/predictions/invalid" => Reply::json(
                422,
                json!({"title": "Input validation failed", "status": 422, "detail": "- input.aspect_ratio: aspect_ratio must be one of the following", "invalid_fields": [{"field": "input.aspect_ratio"}]}),
            ),
            "/v1/predictions/credit" => problem(402, "Insufficient credit", "You have insufficient credit to run this model. Go to https://replicate.com/account/billing"),
            "/v1/predictions/limited" => problem(429, "Too Many Requests", "Request was throttled.").header("retry-after", 7),
            "/v1/predictions/throttled" => problem(429, "Too Many Requests", "Request was throttled. Your rate limit resets in ~30s."),
            "/v1/predictions/down" => Reply::text(503, "upstream connect error"),
            "/v1/predictions/gone" => problem(404, "Not found", "The requested resource could not be found."),
            "/v1/predictions/garbled" => Reply::bytes(200, "application/json", "{\"id\": "),
            _ => Reply::hang(),
        }
    })
    .await;
    let replicate = adapter(&fake);
    let poll = |id: &'static str| {
        let replicate = &replicate;
        async move { replicate.poll(&handle(id)).await.unwrap_err() }
    };
    assert!(matches!(poll("auth").await, ProviderError::Auth(m) if m.contains("valid authentication token")));
    assert!(matches!(poll("invalid").await, ProviderError::InvalidInput(m) if m.contains("aspect_ratio")));
    assert_eq!(poll("credit").await.code(), "provider.insufficient_credit");
    assert_eq!(poll("limited").await.retry_after(), Some(Duration::from_secs(7)));
    let throttled = poll("throttled").await;
    assert_eq!((throttled.code(), throttled.retry_after()), ("provider.rate_limited", Some(Duration::from_secs(30))));
    assert_eq!(poll("down").await.code(), "provider.transient");
    assert_eq!(poll("gone").await.code(), "provider.not_found");
    assert_eq!(poll("garbled").await.code(), "provider.transient");
    let short = Replicate::new(&config(&fake, Duration::from_millis(300))).unwrap();
    assert_eq!(short.poll(&handle("hang")).await.unwrap_err(), ProviderError::Timeout);
    fake.stop().await;
}

#[tokio::test]
async fn outputs_on_another_host_are_fetched_without_the_key_and_capped() {
    let api = FakeUpstream::start(|_| Reply::status(500)).await;
    let replicate = adapter(&api);
    testing::assert_cdn_outputs_fetched_keyless(&replicate, &handle("p1"), &api).await;
    let inline = OutputRef::new("data:image/png;base64,aGVsbG8=", content_type_of("data:image/png;base64,aGVsbG8="));
    assert_eq!(inline.content_type.as_deref(), Some("image/png"));
    let bytes: Vec<Bytes> = replicate.fetch(&handle("p1"), &inline, 100).await.unwrap().try_collect().await.unwrap();
    assert_eq!(bytes.concat(), b"hello");
    assert!(api.requests().is_empty());
    api.stop().await;
}

#[tokio::test]
async fn cancel_posts_to_the_cancel_route_and_delete_sends_nothing() {
    let fake = FakeUpstream::start(|_| Reply::json(200, prediction("canceled", json!({})))).await;
    let replicate = adapter(&fake);
    replicate.cancel(&handle("p9")).await.unwrap();
    replicate.delete_upstream(&handle("p9")).await.unwrap();
    let requests = fake.requests();
    assert_eq!(requests.iter().map(Request::route).collect::<Vec<_>>(), ["POST /v1/predictions/p9/cancel"]);
    assert!(authorized(&requests[0]));
    fake.stop().await;
}

#[tokio::test]
async fn webhooks_are_verified_with_the_lazily_loaded_secret() {
    let fake = FakeUpstream::start(|r| match r.route().as_str() {
        "GET /v1/webhooks/default/secret" => secret_reply(),
        _ => Reply::status(404),
    })
    .await;
    let replicate = adapter(&fake);
    let body = serde_json::to_vec(&prediction("succeeded", json!({"output": "https://replicate.delivery/x.png"}))).unwrap();
    let good = signed(SIGNING_KEY, "msg_1", now(), &body);
    // before the secret is known: refused, and it starts loading
    assert!(matches!(replicate.callback(&good), Err(ProviderError::Auth(_))));
    assert!(fake.wait_until(Duration::from_secs(5), |r| !r.is_empty()).await);
    for _ in 0..100 {
        if replicate.hooks.get().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(replicate.callback(&good).unwrap(), Some("p1".to_string()));
    assert!(fake.requests().iter().all(authorized));
    assert_eq!(fake.requests().len(), 1, "loaded once");

    let forged = signed(b"another key", "msg_1", now(), &body);
    assert!(matches!(replicate.callback(&forged), Err(ProviderError::Auth(_))));
    let stale = signed(SIGNING_KEY, "msg_1", now() - 600, &body);
    assert!(matches!(replicate.callback(&stale), Err(ProviderError::Auth(m)) if m.contains("too old")));
    let mut tampered = good.clone();
    tampered.body = Bytes::from(String::from_utf8(body).unwrap().replace("p1", "p2"));
    assert!(matches!(replicate.callback(&tampered), Err(ProviderError::Auth(_))));
    let mut unsigned = good.clone();
    unsigned.headers.remove("webhook-signature");
    assert!(matches!(replicate.callback(&unsigned), Err(ProviderError::Auth(_))));
    fake.stop().await;
}

#[tokio::test]
async fn test_connection_reads_the_account() {
    let fake = FakeUpstream::start(|r| {
        if authorized(r) {
            Reply::json(200, json!({"type": "user", "username": "alice", "name": "Alice"}))
        } else {
            Reply::json(401, json!({"title": "Unauthenticated", "detail": "Invalid token.", "status": 401}))
        }
    })
    .await;
    let said = adapter(&fake).test_connection().await.unwrap();
    assert!(said.contains("alice"), "{said}");
    assert_eq!(fake.requests()[0].route(), "GET /v1/account");
    let wrong =
        Replicate::new(&ConnectionConfig { api_key: Some(Secret::new("r8_wrong")), ..config(&fake, Duration::from_secs(5)) }).unwrap();
    testing::assert_key_refused(&wrong).await;
    fake.stop().await;
}

#[test]
fn model_names_versions_and_bad_names() {
    assert_eq!(target("black-forest-labs/flux-schnell").unwrap(), Target::Model { owner: "black-forest-labs", name: "flux-schnell" });
    assert_eq!(target("owner/name:abc").unwrap(), Target::Version("abc"));
    assert_eq!(
        target("5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa").unwrap(),
        Target::Version("5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa")
    );
    assert!(target("a/b/c").is_err());
}

#[tokio::test]
async fn every_form_of_the_base_url_reaches_the_api() {
    let adapter = |fake: &FakeUpstream, base: url::Url| {
        Replicate::new(&ConnectionConfig { base_url: Some(base), ..config(fake, Duration::from_secs(2)) }).unwrap()
    };
    testing::assert_base_url_forms(adapter, Probe::KeyTest, "v1", "/v1/account").await;
    testing::assert_base_url_forms(adapter, Probe::Poll(testing::handle("p-1")), "v1", "/v1/predictions/p-1").await;
}
