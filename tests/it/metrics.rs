//! `GET /metrics`: Prometheus text for scrapers at addresses listed in `metrics.allow` and for
//! admins, nobody else.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::generate;
use crate::support::process::run;
use crate::support::wait_terminal;
use crate::support::{Browser, Page, TestApp, api_get};

/// An OpenAI-compatible provider that refuses every API key.
async fn refusing_provider() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // read the whole request (head and Content-Length body) before answering
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        if n == 0 {
                            return;
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let length: usize =
                        head.lines().find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))).unwrap_or(0);
                    if buf.len() >= end + 4 + length || n == 0 {
                        break;
                    }
                }
                let body = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#;
                let response = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

async fn metrics(base: &str, headers: &[(&str, &str)], token: Option<&str>) -> Page {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client.get(format!("{base}/metrics"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    Browser::read(request.send().await.unwrap()).await
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.parse().ok()))
}

#[tokio::test]
async fn metrics_count_requests_jobs_credits_media_and_provider_errors() {
    let port = refusing_provider().await;
    let app = TestApp::start_with(|c| {
        c.metrics.allow = vec!["127.0.0.1".parse().unwrap()];
        c.connection[0].delay = Duration::from_millis(1500);
        let mut videos = c.connection[0].clone();
        videos.name = "videos".into();
        videos.kind = "openai_videos".into();
        videos.base_url = Some(format!("http://127.0.0.1:{port}/v1").parse().unwrap());
        videos.api_key = Some(reelvault::config::Secret::new("sk-wrong"));
        videos.allow_private_network = true;
        videos.max_retries = 0;
        c.connection.push(videos);
    })
    .await;
    let admin = app.setup_admin().await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let admin_token = admin.post_form("/account/tokens", &[("name", "metrics"), ("expires", "30")]).await.text_of("#new-token");
    run(&["credits", "grant", "--email", crate::support::ADMIN_EMAIL, "--amount", "100", "--data-dir", d], None).await;
    let (code, _, err) =
        run(&["user", "add", "--email", "m@example.com", "--password-stdin", "--data-dir", d], Some("member password 1")).await;
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&["token", "create", "--email", "m@example.com", "--data-dir", d], None).await;
    let member_token = out.lines().next().unwrap().to_string();

    // a running job shows as a gauge, with its credits held
    let created = generate(&app.url, &admin_token, serde_json::json!({"model": "demo-image", "prompt": "kite"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics(&app.url, &[], None).await.body;
        if sample(&text, r#"reelvault_jobs{state="running",provider="demo",connection="demo"}"#) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sample(&text, r#"reelvault_jobs{state="running",provider="demo",connection="demo"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"reelvault_jobs{state="queued",provider="openai_videos",connection="videos"}"#), Some(0.0), "{text}");
    assert_eq!(sample(&text, r#"reelvault_credits{state="held"}"#), Some(1.0), "{text}");
    let done = wait_terminal(&app.url, &admin_token, &id).await;
    assert_eq!(done["state"], "succeeded");

    // a provider that refuses the key: the job fails, counted by class
    let refused =
        generate(&app.url, &admin_token, serde_json::json!({"model": "sora-2", "prompt": "refused", "params": {"duration": 4}})).await;
    assert_eq!(refused.status, 201, "{}", refused.body);
    let failed = wait_terminal(&app.url, &admin_token, refused.json()["id"].as_str().unwrap()).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["reason"]["code"], "provider.auth", "{failed}");

    let page = metrics(&app.url, &[], None).await;
    assert_eq!(page.status, 200, "a scraper at a listed address needs no token");
    assert!(page.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"), "{:?}", page.header("content-type"));
    let text = page.body;
    assert_eq!(sample(&text, r#"reelvault_provider_errors_total{class="auth"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, r#"reelvault_jobs{state="running",provider="demo",connection="demo"}"#), Some(0.0), "{text}");
    assert_eq!(sample(&text, r#"reelvault_credits{state="held"}"#), Some(0.0), "{text}");
    assert_eq!(sample(&text, r#"reelvault_credits{state="available"}"#), Some(99.0), "the failed job was released: {text}");
    let output_bytes = done["outputs"][0]["bytes"].as_f64().unwrap();
    assert_eq!(sample(&text, r#"reelvault_stored_bytes{kind="output"}"#), Some(output_bytes), "{text}");
    assert_eq!(sample(&text, r#"reelvault_stored_files{kind="output"}"#), Some(1.0), "{text}");
    assert_eq!(sample(&text, "reelvault_retention_deletions_total"), Some(0.0), "{text}");
    assert!(sample(&text, r#"reelvault_http_requests_total{route="/api/v1/generations",status="2xx"}"#) >= Some(2.0), "{text}");
    assert!(sample(&text, r#"reelvault_http_requests_total{route="/api/v1/generations/{id}",status="2xx"}"#) >= Some(1.0), "{text}");
    assert!(text.contains(r#"reelvault_http_request_duration_seconds_bucket{route="/api/v1/generations",le="+Inf"}"#), "{text}");
    assert!(!text.contains(&id) && !text.contains("kite") && !text.contains("m@example.com"), "no ids, prompts or people: {text}");

    // behind a reverse proxy on this machine (not a trusted proxy), only admins get in
    let proxied = [("x-forwarded-for", "203.0.113.7")];
    assert_eq!(metrics(&app.url, &proxied, None).await.status, 401);
    assert_eq!(metrics(&app.url, &[("forwarded", "for=203.0.113.7")], None).await.status, 401);
    let member = metrics(&app.url, &proxied, Some(&member_token)).await;
    assert_eq!(member.status, 403, "{}", member.body);
    assert_eq!(member.json()["code"], "auth.admin_only");
    assert_eq!(metrics(&app.url, &proxied, Some(&admin_token)).await.status, 200);
    let session = admin.client.get(format!("{}/metrics", app.url)).header("x-forwarded-for", "203.0.113.7").send().await.unwrap();
    assert_eq!(session.status(), 200, "an admin's browser session works too");
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&member_token)).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn metrics_need_an_admin_unless_the_client_address_is_listed() {
    // by default no address is listed: a loopback peer (a proxy on this machine, or anyone
    // else on it) is asked for an admin's credentials like everyone
    let (app, admin) = TestApp::with_admin().await;
    let anonymous = metrics(&app.url, &[], None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.json()["code"], "auth.required");
    let token = admin.post_form("/account/tokens", &[("name", "prometheus"), ("expires", "30")]).await.text_of("#new-token");
    assert_eq!(metrics(&app.url, &[], Some(&token)).await.status, 200, "an admin's token, as Prometheus' bearer token");

    // behind a trusted proxy, the address that counts is the client's, not the proxy's
    let app = app
        .restart_with(|c| {
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            c.metrics.allow = vec!["127.0.0.1".parse().unwrap(), "198.51.100.5".parse().unwrap()];
        })
        .await;
    assert_eq!(metrics(&app.url, &[], None).await.status, 200, "the listed scraper on this machine");
    assert_eq!(metrics(&app.url, &[("x-forwarded-for", "198.51.100.5")], None).await.status, 200, "a listed scraper behind the proxy");
    for relayed in [("x-forwarded-for", "203.0.113.7"), ("x-forwarded-for", "198.51.100.5, 203.0.113.7"), ("forwarded", "for=198.51.100.5")]
    {
        let refused = metrics(&app.url, &[relayed], None).await;
        assert_eq!(refused.status, 401, "{relayed:?}: {}", refused.body);
        assert!(!refused.body.contains("reelvault_"));
    }
    app.stop().await;
}
