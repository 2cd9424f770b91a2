//! Abuse through what providers send and receive: an output that is really HTML, SVG or script
//! is never rendered from our origin (types come from the bytes); a provider's key never
//! follows a redirect to another origin, for every adapter that sends one; platform metadata
//! addresses stay unreachable even for connections and webhooks allowed private networks.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply, Request};
use reelvault::config::{ConnectionConfig, Secret};
use reelvault::domain::generation::{OutputRef, UpstreamHandle};
use reelvault::domain::ids::GenerationId;
use reelvault::providers::ProviderJob;
use reelvault::providers::registry::Registry;
use serde_json::json;

use super::bystander::Bystander;
use crate::support::generate;
use crate::support::{TestApp, api_get};
use crate::support::{admin_with_credits, api_post, wait_terminal};

const BFL_KEY: &str = "bfl-outbound-key";

fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(16, 9, |x, y| image::Rgb([(x * 9) as u8, (y * 20) as u8, 40]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("encode");
    out.into_inner()
}

/// What the fake BFL sample server hands out for task `t`: the claimed type and the bytes.
fn sample(task: &str) -> (&'static str, Vec<u8>) {
    match task {
        "html" => ("image/png", b"<!doctype html><html><body><script>fetch('/api/v1/me')</script></body></html>".to_vec()),
        "svg" => ("image/png", br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"/>"#.to_vec()),
        "script" => ("image/png", b"fetch('/api/v1/tokens',{method:'POST'})".to_vec()),
        _ => ("text/html", png()),
    }
}

/// A BFL fake whose jobs are ready at once; the prompt names the sample (see [`sample`]).
async fn bfl_with_samples() -> FakeUpstream {
    FakeUpstream::start(|r: &Request| {
        let host = r.header("host").unwrap_or_default().to_string();
        match r.route().as_str() {
            "POST /v1/flux-pro-1.1" => {
                let task = r.json()["prompt"].as_str().unwrap_or_default().to_string();
                Reply::json(200, json!({"id": task, "polling_url": format!("http://{host}/v1/get_result?id={task}")}))
            }
            "GET /v1/get_result" => {
                let task = r.query_param("id").unwrap_or_default();
                Reply::json(200, json!({"id": task, "status": "Ready", "result": {"sample": format!("http://{host}/delivery/{task}")}}))
            }
            route if route.starts_with("GET /delivery/") => {
                let (claimed, bytes) = sample(route.trim_start_matches("GET /delivery/"));
                Reply::bytes(200, claimed, bytes)
            }
            _ => Reply::json(404, json!({"detail": "Not Found"})),
        }
    })
    .await
}

fn bfl_connection(base: url::Url) -> ConnectionConfig {
    ConnectionConfig {
        base_url: Some(base),
        api_key: Some(Secret::new(BFL_KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(5),
        max_retries: 0,
        ..ConnectionConfig::new("bfl", "bfl")
    }
}

#[tokio::test]
async fn outputs_are_typed_by_their_bytes_and_only_images_and_videos_are_shown_inline() {
    let fake = bfl_with_samples().await;
    let connection = bfl_connection(fake.url.clone());
    let app = TestApp::start_with(|c| c.connection.push(connection)).await;
    let (admin, token) = admin_with_credits(&app, 100).await;
    let bystander = Bystander::join(&app, &admin).await;
    let plain = reqwest::Client::builder().no_proxy().build().expect("client");

    for task in ["html", "svg", "script", "real-png"] {
        let created = generate(&app.url, &token, json!({"model": "flux-pro-1.1", "prompt": task})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let done = wait_terminal(&app.url, &token, created.json()["id"].as_str().expect("id")).await;
        assert_eq!(done["state"], "succeeded", "{task}: {done}");
        let output = &done["outputs"][0];
        let url = output["url"].as_str().expect("signed url");
        let served = plain.get(url).send().await.expect("media");
        assert_eq!(served.status(), 200, "{task}");
        let header = |name: &str| served.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let (content_type, disposition, nosniff) =
            (header("content-type"), header("content-disposition"), header("x-content-type-options"));
        assert_eq!(nosniff, "nosniff", "{task}");
        let (_, bytes) = sample(task);
        if task == "real-png" {
            assert_eq!(output["content_type"], "image/png", "the bytes decide, not the claimed text/html: {done}");
            assert_eq!(content_type, "image/png");
            assert!(disposition.starts_with("inline;"), "{task}: {disposition}");
        } else if task == "svg" {
            // a known type, but one that can carry script: only ever a download
            assert_eq!(output["content_type"], "image/svg+xml", "{done}");
            assert_eq!(content_type, "image/svg+xml");
            assert!(disposition.starts_with("attachment;") && disposition.ends_with(".svg\""), "{task}: {disposition}");
            assert!(header("content-security-policy").contains("sandbox"), "{task}");
        } else {
            assert_eq!(output["content_type"], "application/octet-stream", "{task} claimed image/png: {done}");
            assert_eq!(content_type, "application/octet-stream", "{task}");
            assert!(disposition.starts_with("attachment;"), "{task} must never render from our origin: {disposition}");
            assert!(disposition.ends_with(".bin\""), "{task}: {disposition}");
        }
        assert_eq!(served.bytes().await.expect("body").as_ref(), bytes.as_slice(), "{task}: the stored bytes are served unchanged");
    }
    bystander.still_served(&app, "outputs that are HTML, SVG and script").await;
    app.stop().await;
    fake.stop().await;
}

/// Every adapter kind that sends a key, with a key of its own (so each is found by its value).
const KEYED_KINDS: [&str; 13] = [
    "openai_images",
    "openai_videos",
    "runway",
    "bfl",
    "stability",
    "kling",
    "minimax",
    "luma",
    "luma_agents",
    "comfyui",
    "fal",
    "replicate",
    "gemini",
];

fn key_of(kind: &str) -> String {
    format!("outbound-secret-{kind}")
}

fn carries(request: &Request, key: &str) -> bool {
    request.headers.values().any(|v| v.contains(key)) || request.query.contains(key)
}

/// Calls every method of every adapter that talks to the API (submit, poll, fetch, cancel,
/// delete, test) against `api`, which redirects everything to another origin with `status`;
/// returns the requests the other origin received.
async fn exercise_every_adapter(status: u16) -> (Vec<Request>, Vec<Request>) {
    let elsewhere = FakeUpstream::start(|_| Reply::json(200, json!({}))).await;
    let target = elsewhere.url.clone();
    let api = FakeUpstream::start(move |r: &Request| {
        let mut next = target.join(r.path.trim_start_matches('/')).expect("URL");
        next.set_query(Some(&r.query).filter(|q| !q.is_empty()).map(String::as_str));
        Reply::status(status).header("location", next)
    })
    .await;
    let configs: Vec<ConnectionConfig> = KEYED_KINDS
        .iter()
        .map(|kind| ConnectionConfig {
            base_url: Some(api.url.clone()),
            api_key: Some(Secret::new(key_of(kind))),
            allow_private_network: true,
            timeout: Duration::from_secs(3),
            ..ConnectionConfig::new(kind, kind)
        })
        .collect();
    let registry = Registry::from_config(&configs).expect("every adapter builds");
    for kind in KEYED_KINDS {
        let connection = registry.connection(kind).expect("connection");
        let model = registry.models_of(kind).first().and_then(|id| registry.model(id)).expect("a model of the kind");
        let job = ProviderJob {
            generation: GenerationId::generate(),
            model: model.id.to_string(),
            upstream_model: model.upstream.to_string(),
            kind: model.kind,
            prompt: "a lighthouse at dusk".into(),
            negative_prompt: None,
            params: Default::default(),
            references: Vec::new(),
            output_count: 1,
            callback_url: None,
            source: None,
            operation: None,
        };
        let handle = UpstreamHandle { id: "job-1".into(), data: BTreeMap::new() };
        let output = OutputRef::new(api.at("/v1/files/out-1/content").to_string(), None);
        let provider = &connection.provider;
        let bounded = Duration::from_secs(20);
        let _ = tokio::time::timeout(bounded, provider.submit(&job)).await.expect("submit is bounded");
        let _ = tokio::time::timeout(bounded, provider.poll(&handle)).await.expect("poll is bounded");
        let _ = tokio::time::timeout(bounded, provider.fetch(&handle, &output, 1 << 20)).await.expect("fetch is bounded");
        let _ = tokio::time::timeout(bounded, provider.cancel(&handle)).await.expect("cancel is bounded");
        let _ = tokio::time::timeout(bounded, provider.delete_upstream(&handle)).await.expect("delete is bounded");
        let _ = tokio::time::timeout(bounded, provider.test_connection()).await.expect("test is bounded");
    }
    let (sent, followed) = (api.requests(), elsewhere.requests());
    api.stop().await;
    elsewhere.stop().await;
    (sent, followed)
}

#[tokio::test]
async fn no_provider_key_follows_a_redirect_to_another_origin() {
    for status in [307, 302] {
        let (sent, followed) = exercise_every_adapter(status).await;
        for kind in KEYED_KINDS {
            let key = key_of(kind);
            assert!(sent.iter().any(|r| carries(r, &key)), "{kind} sent its key to its own API ({status})");
            let leaked: Vec<String> = followed.iter().filter(|r| carries(r, &key)).map(Request::route).collect();
            assert!(leaked.is_empty(), "{kind}'s key reached another origin after a {status}: {leaked:?}");
        }
        assert!(followed.len() >= KEYED_KINDS.len(), "the redirects were followed ({status}): {} requests", followed.len());
    }
}

#[tokio::test]
async fn platform_metadata_addresses_are_refused_even_where_private_networks_are_allowed() {
    let metadata = ["168.63.129.16", "100.100.100.200", "192.0.0.192", "169.254.170.2", "[fd00:ec2::254]"];
    let connection = bfl_connection(url::Url::parse("http://168.63.129.16/").expect("URL"));
    let app = TestApp::start_with(|c| {
        c.webhooks.allow_private_network = true;
        c.connection.push(connection);
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 100).await;
    let bystander = Bystander::join(&app, &admin).await;

    for host in metadata {
        let hook = api_post(&app.url, "/api/v1/webhooks", &token, json!({"url": format!("http://{host}/hook")})).await;
        assert_eq!(hook.status, 422, "a webhook to {host}: {}", hook.body);
        assert!(hook.json()["message"].as_str().unwrap_or_default().contains("never allowed"), "{}", hook.body);
    }
    assert_eq!(api_get(&app.url, "/api/v1/webhooks", Some(&token)).await.json()["webhooks"], json!([]));

    // a connection pointed at the Azure WireServer, with private networks allowed, is refused
    // before any connection is made
    let created = generate(&app.url, &token, json!({"model": "flux-pro-1.1", "prompt": "a map"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, &token, created.json()["id"].as_str().expect("id")).await;
    assert_eq!(done["state"], "failed", "{done}");
    let reason = done["reason"].to_string();
    assert!(reason.contains("168.63.129.16") && reason.contains("never allowed"), "{reason}");

    bystander.still_served(&app, "requests to platform metadata addresses").await;
    app.stop().await;
}
