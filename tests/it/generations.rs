//! Generations end to end with the offline demo provider: submit, live status, custody,
//! signed media URLs with Range, cancel, credits held, settled and released.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::generate;
use crate::support::{api_get, api_post, api_post_raw, app_with_credits, credits, wait_terminal};

#[tokio::test]
async fn a_demo_video_is_generated_stored_encrypted_and_streams_with_ranges() {
    let (app, _admin, token) = app_with_credits(Duration::from_millis(600), 100).await;
    let created = generate(
        &app.url,
        &token,
        serde_json::json!({
            "model": "demo-video", "prompt": "a lighthouse at dusk", "params": {"duration": 2, "seed": 7}
        }),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let g = created.json();
    assert_eq!(g["state"], "queued");
    assert_eq!(g["cost"], 4, "2 credits per second");
    assert_eq!(credits(&app.url, &token).await, (96, 4), "held at submit");

    let id = g["id"].as_str().unwrap().to_string();
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(credits(&app.url, &token).await, (96, 0), "settled on success");
    let output = &done["outputs"][0];
    assert_eq!(output["content_type"], "video/mp4");
    let url = output["url"].as_str().unwrap();
    assert!(url.starts_with(&app.url) && url.contains("sig="), "{url}");

    let client = reqwest::Client::new();
    let full = client.get(url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    assert_eq!(full.headers()["content-type"], "video/mp4");
    let disposition = full.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(
        disposition.starts_with("inline; filename=\"demo-video-a-lighthouse-at-dusk-") && disposition.ends_with(".mp4\""),
        "{disposition}"
    );
    let download = client.get(format!("{url}&download=1")).send().await.unwrap();
    assert!(download.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    let bytes = full.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, output["bytes"].as_u64().unwrap());
    assert_eq!(hex::encode(Sha256::digest(&bytes)), output["sha256"].as_str().unwrap());
    assert_eq!(&bytes[4..8], b"ftyp", "an MP4");

    let part = client.get(url).header("range", "bytes=100-1123").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 100-1123/{}", bytes.len()));
    assert_eq!(part.bytes().await.unwrap(), bytes.slice(100..1124));
    let tail = client.get(url).header("range", "bytes=-10").send().await.unwrap();
    assert_eq!(tail.bytes().await.unwrap(), bytes.slice(bytes.len() - 10..));
    let beyond = client.get(url).header("range", format!("bytes={}-", bytes.len())).send().await.unwrap();
    assert_eq!(beyond.status(), 416);

    // on disk the file is encrypted
    let media = app.data_dir().join("media");
    let mut found = false;
    for dir in std::fs::read_dir(&media).unwrap().flatten() {
        for file in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let on_disk = std::fs::read(file.path()).unwrap();
            if file.path().extension().is_some_and(|e| e == "age") {
                found = true;
                assert!(on_disk.starts_with(b"age-encryption.org/v1"));
                assert!(!on_disk.windows(4).any(|w| w == b"ftyp"), "no plaintext MP4 on disk");
            }
        }
    }
    assert!(found, "the output is in the vault");

    // the same prompt and seed give the same bytes
    let again = generate(
        &app.url,
        &token,
        serde_json::json!({
            "model": "demo-video", "prompt": "a lighthouse at dusk", "params": {"duration": 2, "seed": 7}
        }),
    )
    .await
    .json();
    let again = wait_terminal(&app.url, &token, again["id"].as_str().unwrap()).await;
    assert_eq!(again["outputs"][0]["sha256"], output["sha256"]);
    app.stop().await;
}

#[tokio::test]
async fn signed_urls_open_only_their_asset_and_expire_or_break_when_tampered() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let mut urls = Vec::new();
    for prompt in ["one", "two"] {
        let g = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": prompt})).await.json();
        let done = wait_terminal(&app.url, &token, g["id"].as_str().unwrap()).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        assert_eq!(done["outputs"][0]["content_type"], "image/png");
        urls.push(done["outputs"][0]["url"].as_str().unwrap().to_string());
    }
    let client = reqwest::Client::new();
    assert_eq!(client.get(&urls[0]).send().await.unwrap().status(), 200);
    let (path0, query0) = urls[0].split_once('?').unwrap();
    let (path1, _) = urls[1].split_once('?').unwrap();
    let swapped = client.get(format!("{path1}?{query0}")).send().await.unwrap();
    assert_eq!(swapped.status(), 403, "a URL signed for one asset does not open another");
    let body: serde_json::Value = serde_json::from_str(&swapped.text().await.unwrap()).unwrap_or_default();
    let _ = body;
    let tampered = client.get(format!("{path0}?{}", query0.replace("exp=", "exp=9"))).send().await.unwrap();
    assert_eq!(tampered.status(), 403);
    let unsigned = client.get(path0).send().await.unwrap();
    assert_eq!(unsigned.status(), 403);
    let expired_query = {
        let state = &app.running.state;
        let asset = path0.rsplit('/').next().unwrap();
        let owner = api_get(&app.url, "/api/v1/me", Some(&token)).await.json()["id"].as_str().unwrap().to_string();
        state.signer.sign(asset, &owner, 1)
    };
    let expired = client.get(format!("{path0}?{expired_query}")).send().await.unwrap();
    assert_eq!(expired.status(), 403);
    assert!(expired.text().await.unwrap().contains("expired"));
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_held() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 5).await;
    let cases = [
        (serde_json::json!({"model": "nope", "prompt": "x"}), 422, "generation.unknown_model"),
        (serde_json::json!({"model": "sora-2", "prompt": "x"}), 403, "generation.model_disabled"),
        (serde_json::json!({"model": "demo-video", "prompt": "x", "params": {"duration": 99}}), 422, "invalid_input"),
        (serde_json::json!({"model": "demo-video", "prompt": "x", "params": {"fps": 99}}), 422, "invalid_input"),
        (serde_json::json!({"model": "demo-video", "prompt": "x".repeat(5000)}), 422, "invalid_input"),
        (serde_json::json!({"model": "demo-video", "prompt": "   "}), 422, "invalid_input"),
        (serde_json::json!({"model": "demo-video", "prompt": "x", "params": {"duration": 5}}), 402, "credits.insufficient"),
        (
            serde_json::json!({"model": "demo-video", "prompt": "x", "references": [{"role": "reference", "upload": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}]}),
            422,
            "invalid_input",
        ),
        (
            serde_json::json!({"model": "demo-video", "prompt": "x", "references": [{"role": "first_frame", "upload": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}]}),
            404,
            "not_found",
        ),
        (
            serde_json::json!({"model": "demo-video", "prompt": "x", "references": [{"role": "first_frame", "upload": "../../etc"}]}),
            422,
            "invalid_input",
        ),
        (serde_json::json!({"model": "demo-video"}), 400, "bad_request"),
        (serde_json::json!({"model": "demo-video", "prompt": "x", "surprise": 1}), 400, "bad_request"),
    ];
    for (body, status, code) in cases {
        let r = generate(&app.url, &token, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.json()["code"], code, "{body}");
    }
    assert_eq!(credits(&app.url, &token).await, (5, 0), "nothing was held");
    let garbage = api_post_raw(&app.url, "/api/v1/generations", &token, "application/json", "{not json").await;
    assert_eq!(garbage.status, 400);
    assert_eq!(api_get(&app.url, "/api/v1/generations/not-an-id", Some(&token)).await.status, 404);
    assert_eq!(api_get(&app.url, "/api/v1/generations/01ARZ3NDEKTSV4RRFFQ69G5FAV", Some(&token)).await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn cancelling_a_running_job_releases_its_credits() {
    let (app, _admin, token) = app_with_credits(Duration::from_secs(30), 20).await;
    let g =
        generate(&app.url, &token, serde_json::json!({"model": "demo-video", "prompt": "slow", "params": {"duration": 5}})).await.json();
    let id = g["id"].as_str().unwrap().to_string();
    for _ in 0..100 {
        let now = api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.json();
        if now["state"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(credits(&app.url, &token).await, (10, 10));
    let cancelled = api_post(&app.url, &format!("/api/v1/generations/{id}/cancel"), &token, serde_json::json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "cancelled");
    assert_eq!(credits(&app.url, &token).await, (20, 0), "released");
    let again = api_post(&app.url, &format!("/api/v1/generations/{id}/cancel"), &token, serde_json::json!({})).await;
    assert_eq!(again.status, 409);
    app.stop().await;
}

#[tokio::test]
async fn others_cannot_see_or_cancel_my_generations() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 5).await;
    let g = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "mine"})).await.json();
    let id = g["id"].as_str().unwrap().to_string();
    let member = app.invite_member(&admin, "other@example.com", "other password 1").await;
    assert_eq!(member.get(&format!("/api/v1/generations/{id}")).await.status, 404);
    assert_eq!(member.get(&format!("/generations/{id}")).await.status, 404);
    let token2 = member.post_form("/account/tokens", &[("name", "t"), ("expires", "30")]).await.text_of("#new-token");
    let r = api_post(&app.url, &format!("/api/v1/generations/{id}/cancel"), &token2, serde_json::json!({})).await;
    assert_eq!(r.status, 404);
    app.stop().await;
}
