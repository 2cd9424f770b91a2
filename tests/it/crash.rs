//! Crash recovery: kill -9 the real binary while jobs are queued, running and fetching;
//! after a restart every job finishes, none is charged twice, no hold stays open, and
//! every output reported done is there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::api_get;
use crate::support::generate;
use crate::support::process::{Served, cli_admin_token, run};
use crate::support::wait_terminal;

/// A throwaway instance for the real binary: its temp dir, data dir (as a path and as text)
/// and `config.toml` (written with `config`, named as text).
fn instance(config: String) -> (tempfile::TempDir, std::path::PathBuf, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let (d, c) = (data.to_str().unwrap().to_string(), path.to_str().unwrap().to_string());
    (dir, data, d, c)
}

/// The output the fake serves: 3 MiB that starts like an MP4.
fn video_bytes() -> Vec<u8> {
    let mut v = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    v.extend((0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8));
    v
}

/// A minimal OpenAI-compatible videos server: every job is `completed` at once; while
/// `stall` is set, `/content` sends its headers and half the body, then hangs; there is no
/// thumbnail (`/content?variant=thumbnail` is a 404, not counted as a download).
async fn fake_videos(stall: Arc<AtomicBool>, content_requests: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let stall = stall.clone();
            let content_requests = content_requests.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // read the head, then the body by Content-Length
                let head_end = loop {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break pos + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let line = head.lines().next().unwrap_or_default().to_string();
                let json = |body: String| {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                if line.starts_with("POST /v1/videos ") {
                    let id = format!("video_{}", rand::random::<u32>());
                    let _ = socket
                        .write_all(json(format!(r#"{{"id":"{id}","object":"video","status":"completed","progress":100}}"#)).as_bytes())
                        .await;
                } else if line.starts_with("GET /v1/videos/") && line.contains("/content?variant=thumbnail") {
                    // no thumbnail here: the poster is skipped (or an ffmpeg frame), the job unaffected
                    let body = r#"{"error":{"message":"No thumbnail.","type":"invalid_request_error","code":"not_found"}}"#;
                    let head = format!(
                        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(format!("{head}{body}").as_bytes()).await;
                } else if line.starts_with("GET /v1/videos/") && line.contains("/content") {
                    content_requests.fetch_add(1, Ordering::SeqCst);
                    let body = video_bytes();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    if stall.load(Ordering::SeqCst) {
                        let _ = socket.write_all(&body[..body.len() / 2]).await;
                        tokio::time::sleep(Duration::from_secs(120)).await;
                    } else {
                        let _ = socket.write_all(&body).await;
                    }
                } else if line.starts_with("GET /v1/videos/") {
                    let id = line.split_whitespace().nth(1).unwrap_or("").rsplit('/').next().unwrap_or("");
                    let _ = socket
                        .write_all(json(format!(r#"{{"id":"{id}","object":"video","status":"completed","progress":100}}"#)).as_bytes())
                        .await;
                } else {
                    let _ = socket.write_all(json("{}".into()).as_bytes()).await;
                }
            });
        }
    });
    port
}

async fn state_of(url: &str, token: &str, id: &str) -> String {
    api_get(url, &format!("/api/v1/generations/{id}"), Some(token)).await.json()["state"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn kill_9_with_jobs_queued_running_and_fetching_loses_nothing_and_charges_once() {
    let stall = Arc::new(AtomicBool::new(true));
    let content_requests = Arc::new(AtomicUsize::new(0));
    let port = fake_videos(stall.clone(), content_requests.clone()).await;
    let (_dir, data, d, c) = instance(format!(
        "[[connection]]\nname = \"demo\"\nkind = \"demo\"\ndelay = \"4s\"\nmax_concurrent = 1\n\n\
             [[connection]]\nname = \"videos\"\nkind = \"openai-videos\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\napi_key = \"sk-test\"\n\
             allow_private_network = true\ntimeout = \"60s\"\n\n{}",
        crate::support::DEMO_PRICES
    ));
    let token = cli_admin_token("ops@example.com", "ops password 12", 100, &["--data-dir", &d, "--config", &c]).await;

    let mut served = Served::start(&data, &["--config", &c]);
    let url = served.url();
    let running =
        generate(&url, &token, serde_json::json!({"model": "demo-video", "prompt": "running", "params": {"duration": 2}})).await.json();
    let queued = generate(&url, &token, serde_json::json!({"model": "demo-image", "prompt": "queued"})).await.json();
    let fetching =
        generate(&url, &token, serde_json::json!({"model": "sora-2", "prompt": "fetching", "params": {"duration": 4}})).await.json();
    let ids = [
        running["id"].as_str().unwrap().to_string(),
        queued["id"].as_str().unwrap().to_string(),
        fetching["id"].as_str().unwrap().to_string(),
    ];
    let costs: i64 = [&running, &queued, &fetching].iter().map(|g| g["cost"].as_i64().unwrap()).sum();
    assert_eq!(costs, 4 + 1 + 40);
    let expected = ["running", "queued", "fetching"];
    for _ in 0..100 {
        let mut now = Vec::new();
        for id in &ids {
            now.push(state_of(&url, &token, id).await);
        }
        if now == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (id, want) in ids.iter().zip(expected) {
        assert_eq!(state_of(&url, &token, id).await, want, "before the crash");
    }
    served.signal("KILL");
    served.wait_exit();

    stall.store(false, Ordering::SeqCst);
    let mut again = Served::start(&data, &["--config", &c]);
    let url = again.url();
    for id in &ids {
        let done = wait_terminal(&url, &token, id).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        let output = &done["outputs"][0];
        let bytes = reqwest::get(output["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), output["sha256"].as_str().unwrap(), "the stored output is whole");
    }
    assert_eq!(content_requests.load(Ordering::SeqCst), 2, "the interrupted download was fetched again, once");
    let credits = api_get(&url, "/api/v1/credits", Some(&token)).await.json();
    assert_eq!(credits["held"], 0, "no hold stays open");
    assert_eq!(credits["available"], 100 - costs, "each job charged exactly once");
    again.signal("TERM");
    assert_eq!(again.wait_exit(), Some(0));

    let (code, out, err) = run(&["check", "--data-dir", &d, "--config", &c], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every balance equals the sum of its ledger"), "{out}");
    let tmp = std::fs::read_dir(data.join("media/tmp")).unwrap().count();
    assert_eq!(tmp, 0, "the interrupted temp file was swept");
}

/// OpenAI's synchronous image calls: a job nobody has been told of yet is written with its end
/// (one durable transaction from accepted to succeeded). A kill -9 with such calls in flight
/// loses none that was answered, leaves no hold open and charges nothing for the others.
#[tokio::test]
async fn kill_9_with_synchronous_image_calls_in_flight_keeps_every_answered_image_and_holds_nothing() {
    use base64::Engine;
    let png = crate::support::provider_rig::image_bytes(image::ImageFormat::Png, 48, 32, 7);
    let answer = serde_json::json!({"created": 1, "data": [{"b64_json": base64::engine::general_purpose::STANDARD.encode(&png)}]});
    let fake = fake_upstream::FakeUpstream::start(move |r: &fake_upstream::Request| {
        match (r.route().as_str(), r.json()["prompt"].as_str().unwrap_or("").starts_with("stalled")) {
            ("POST /v1/images/generations", false) => fake_upstream::Reply::json(200, answer.clone()),
            ("POST /v1/images/generations", true) => fake_upstream::Reply::hang(),
            _ => fake_upstream::Reply::status(404),
        }
    })
    .await;
    let (_dir, data, d, c) = instance(format!(
        "[[connection]]\nname = \"images\"\nkind = \"openai_images\"\nbase_url = \"{}\"\napi_key = \"sk-test\"\n\
             allow_private_network = true\ntimeout = \"60s\"\n",
        fake.at("/v1").as_str().trim_end_matches('/')
    ));
    let token = cli_admin_token("sync@example.com", "sync password 12", 100, &["--data-dir", &d, "--config", &c]).await;

    let mut served = Served::start(&data, &["--config", &c]);
    let url = served.url();
    let client = reqwest::Client::new();
    let call = |prompt: String| {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        async move {
            client
                .post(format!("{url}/v1/images/generations"))
                .bearer_auth(token)
                .json(&serde_json::json!({"model": "gpt-image-2", "prompt": prompt, "quality": "low"}))
                .send()
                .await
        }
    };
    // answered before the kill: each must survive it
    let mut answered = Vec::new();
    for n in 0..4 {
        let response = call(format!("answered {n}")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(body["data"][0]["b64_json"].as_str().unwrap()).unwrap();
        assert_eq!(bytes, png, "the image as the provider made it");
        answered.push(format!("answered {n}"));
    }
    // in flight at the kill: the provider holds them
    let stalled: Vec<_> = (0..3).map(|n| tokio::spawn(call(format!("stalled {n}")))).collect();
    let arrived = fake
        .wait_until(Duration::from_secs(20), |seen| {
            seen.iter().filter(|r| r.json()["prompt"].as_str().is_some_and(|p| p.starts_with("stalled"))).count() == 3
        })
        .await;
    assert!(arrived, "the stalled calls reached the provider");
    served.signal("KILL");
    served.wait_exit();
    for call in stalled {
        assert!(call.await.unwrap().is_err(), "a call in flight at the kill gets no answer");
    }

    let mut again = Served::start(&data, &["--config", &c]);
    let url = again.url();
    // the library lists what the search index holds: wait until it has caught up
    let mut listed = serde_json::Value::Null;
    for _ in 0..100 {
        listed = api_get(&url, "/api/v1/generations?limit=100", Some(&token)).await.json();
        let prompts: Vec<&str> =
            listed["items"].as_array().map(|i| i.iter().filter_map(|g| g["prompt"].as_str()).collect()).unwrap_or_default();
        if answered.iter().all(|p| prompts.contains(&p.as_str())) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let items = listed["items"].as_array().unwrap().clone();
    let mut charged = 0;
    for prompt in &answered {
        let item = items.iter().find(|g| g["prompt"] == prompt.as_str()).unwrap_or_else(|| panic!("{prompt:?} is kept: {listed}"));
        let done = wait_terminal(&url, &token, item["id"].as_str().unwrap()).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        let output = &done["outputs"][0];
        let bytes = reqwest::get(output["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
        assert_eq!(bytes.as_ref(), png.as_slice(), "the stored image is whole");
        charged += done["cost"].as_i64().unwrap();
    }
    // the calls cut off left either nothing or a job the restart ends as interrupted
    for item in items.iter().filter(|g| g["prompt"].as_str().is_some_and(|p| p.starts_with("stalled"))) {
        let done = wait_terminal(&url, &token, item["id"].as_str().unwrap()).await;
        assert_eq!(done["state"], "failed", "a call cut off by the kill is not charged: {done}");
    }
    let mut credits = serde_json::Value::Null;
    for _ in 0..100 {
        credits = api_get(&url, "/api/v1/credits", Some(&token)).await.json();
        if credits["held"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(credits["held"], 0, "no hold stays open");
    assert_eq!(credits["available"], 100 - charged, "only the answered images are charged, each once");
    again.signal("TERM");
    assert_eq!(again.wait_exit(), Some(0));
    let (code, out, err) = run(&["check", "--data-dir", &d, "--config", &c], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every balance equals the sum of its ledger"), "{out}");
}
