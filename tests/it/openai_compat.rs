//! The OpenAI-compatible `/v1`: the official `openai` Python package against the running
//! app (images, edits, videos with and without a first frame, downloads), checked against
//! what reelvault's own API reports; and over plain HTTP: error shapes, paging, deletion,
//! privacy between users, Range downloads.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::search::wait_total;
use crate::support::{Browser, Page, TestApp, api_get, api_post_raw};
use crate::support::{admin_with_credits, app_with_credits, client, wait_terminal};

async fn v1_post(app: &TestApp, path: &str, token: &str, body: Value) -> Page {
    Browser::read(client().post(format!("{}/v1{path}", app.url)).bearer_auth(token).json(&body).send().await.unwrap()).await
}

async fn v1_get(app: &TestApp, path: &str, token: &str) -> Page {
    api_get(&app.url, &format!("/v1{path}"), Some(token)).await
}

async fn v1_delete(app: &TestApp, path: &str, token: &str) -> Page {
    Browser::read(client().delete(format!("{}/v1{path}", app.url)).bearer_auth(token).send().await.unwrap()).await
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Asserts an OpenAI error body with `status`, `type` and (when given) `param` and `code`.
fn assert_error(page: &Page, status: u16, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    assert_eq!(page.status, status, "{}", page.body);
    let error = page.json()["error"].clone();
    assert_eq!(error["type"], kind, "{}", page.body);
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", page.body);
    assert!(error.as_object().unwrap().contains_key("param") && error.as_object().unwrap().contains_key("code"), "{}", page.body);
    if let Some(param) = param {
        assert_eq!(error["param"], param, "{}", page.body);
    }
    if let Some(code) = code {
        assert_eq!(error["code"], code, "{}", page.body);
    }
    error
}

/// A member with their own API token.
async fn member_token(app: &TestApp, admin: &Browser) -> String {
    let member = app.invite_member(admin, "mia@example.com", "another long password").await;
    member.post_form("/account/tokens", &[("name", "mia"), ("expires", "30")]).await.text_of("#new-token")
}

fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([(x * 8) as u8, (y * 10) as u8, 60]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python")
}

#[tokio::test]
async fn the_openai_python_package_generates_edits_and_downloads_into_the_library() {
    if !python().exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must install the openai package into target/pyenv (.ci/run does)");
        eprintln!("skipping the OpenAI SDK test: no target/pyenv (python3 -m venv target/pyenv && target/pyenv/bin/pip install openai)");
        return;
    }
    let (app, _admin, token) = app_with_credits(Duration::from_millis(200), 100).await;
    let out = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/openai_sdk/check.py");
    let run = tokio::process::Command::new(python())
        .arg(&script)
        .env("RV_BASE_URL", format!("{}/v1", app.url))
        .env("RV_TOKEN", &token)
        .env("RV_OUT_DIR", out.path())
        .env("NO_PROXY", "*")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .output();
    let run = tokio::time::timeout(Duration::from_secs(300), run).await.expect("the SDK script finishes").unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "check.py failed:\n{stdout}\n{stderr}");
    let result: Value = serde_json::from_slice(&std::fs::read(out.path().join("result.json")).unwrap()).unwrap();

    // every file the SDK wrote is exactly an output the library holds, and each request
    // (two generations, one edit, two videos) is one generation in the library
    let library = wait_total(&app.url, &token, "", 5).await;
    let outputs: Vec<(String, Value)> = library["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["outputs"].as_array().unwrap().iter().map(move |o| (o["sha256"].as_str().unwrap().to_string(), g.clone())))
        .collect();
    let holds = |file: &Value| {
        let bytes = std::fs::read(out.path().join(file["file"].as_str().unwrap())).unwrap();
        assert_eq!(sha256_hex(&bytes), file["sha256"], "the script hashed what it saved");
        outputs.iter().find(|(sha, _)| *sha == file["sha256"]).map(|(_, g)| g.clone()).unwrap_or_else(|| panic!("{file} is no output"))
    };
    let generated: Vec<Value> = result["generate_b64"]["images"].as_array().unwrap().iter().map(holds).collect();
    assert_eq!(generated.len(), 2);
    assert_eq!(generated[0]["id"], generated[1]["id"], "n=2 is one generation with two images");
    assert_eq!((generated[0]["model"].clone(), generated[0]["params"]["count"].clone()), (json!("demo-image"), json!(2)));
    assert_eq!(generated[0]["params"]["aspect_ratio"], "1:1");
    let linked = holds(&result["generate_url"]["images"][0]);
    assert_eq!(linked["params"]["aspect_ratio"], "16:9", "1536x1024 is nearest to 16:9");
    assert!(result["generate_url"]["url"].as_str().unwrap().starts_with(&format!("{}/media/", app.url)));
    let edited = holds(&result["edit"]["images"][0]);
    assert_eq!(edited["references"][0]["role"], "reference");
    assert_eq!(edited["prompt"], "the same, in blue");

    for video in result["videos"].as_array().unwrap() {
        let id = video["id"].as_str().unwrap();
        let g = api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.json();
        assert_eq!(g["state"], "succeeded");
        assert_eq!(g["outputs"][0]["sha256"], video["video"]["sha256"], "the download is the stored MP4");
        assert_eq!(g["outputs"][0]["bytes"], video["video"]["bytes"]);
        assert_eq!(holds(&video["video"])["id"], id);
        assert_eq!((g["params"]["duration"].clone(), g["params"]["aspect_ratio"].clone()), (json!(2), json!("16:9")));
        assert_eq!(
            (video["seconds"].clone(), video["model"].clone(), video["progress"].clone()),
            (json!("2"), json!("demo-video"), json!(100))
        );
        assert!(video["completed_at"].as_i64().is_some());
        let references = g["references"].as_array().unwrap();
        if video["name"] == "reference" {
            assert_eq!(references.len(), 1);
            assert_eq!(references[0]["role"], "first_frame");
        } else {
            assert!(references.is_empty());
        }
        assert!(result["listed"].as_array().unwrap().contains(&json!(id)));
    }

    // charged to the token owner: 2 + 1 + 1 images at 1 credit, two 2-second videos at 2 a second
    let credits = api_get(&app.url, "/api/v1/credits", Some(&token)).await.json();
    assert_eq!((credits["available"].clone(), credits["held"].clone()), (json!(100 - 4 - 8), json!(0)));
    app.stop().await;
}

#[tokio::test]
async fn refusals_come_in_openai_error_shape_with_the_right_status() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 5).await;
    let image = json!({"model": "demo-image", "prompt": "a lighthouse"});

    // no token, a bad token, a malformed header, a browser session alone: 401
    let anonymous = Browser::read(client().post(format!("{}/v1/images/generations", app.url)).json(&image).send().await.unwrap()).await;
    assert_error(&anonymous, 401, "invalid_request_error", None, Some("missing_api_key"));
    assert_error(
        &v1_post(&app, "/images/generations", "rv_not_a_token", image.clone()).await,
        401,
        "invalid_request_error",
        None,
        Some("invalid_api_key"),
    );
    let basic = client().get(format!("{}/v1/videos", app.url)).header("authorization", "Basic abc").send().await.unwrap();
    assert_error(&Browser::read(basic).await, 401, "invalid_request_error", None, Some("invalid_api_key"));
    assert_error(&admin.get("/v1/videos").await, 401, "invalid_request_error", None, Some("missing_api_key"));
    let cookie_post = admin
        .client
        .post(format!("{}/v1/images/generations", app.url))
        .header("x-csrf-token", admin.csrf_token().await)
        .json(&image)
        .send()
        .await
        .unwrap();
    assert_error(&Browser::read(cookie_post).await, 401, "invalid_request_error", None, Some("missing_api_key"));

    // requests OpenAI would refuse too
    let unknown = v1_post(&app, "/images/generations", &token, json!({"model": "dall-e-9", "prompt": "x"})).await;
    assert_error(&unknown, 404, "invalid_request_error", Some("model"), Some("model_not_found"));
    let no_model = v1_post(&app, "/images/generations", &token, json!({"prompt": "x"})).await;
    assert_error(&no_model, 400, "invalid_request_error", Some("model"), Some("missing_required_parameter"));
    let wrong_kind = v1_post(&app, "/videos", &token, json!({"model": "demo-image", "prompt": "x"})).await;
    let e = assert_error(&wrong_kind, 400, "invalid_request_error", Some("model"), None);
    assert!(e["message"].as_str().unwrap().contains("/v1/images/generations"), "{e}");
    let video_on_images = v1_post(&app, "/images/generations", &token, json!({"model": "demo-video", "prompt": "x"})).await;
    assert_error(&video_on_images, 400, "invalid_request_error", Some("model"), None);
    for n in [json!(0), json!(11), json!(5)] {
        let page = v1_post(&app, "/images/generations", &token, json!({"model": "demo-image", "prompt": "x", "n": n})).await;
        assert_error(&page, 400, "invalid_request_error", Some("n"), None);
    }
    let extra = v1_post(&app, "/images/generations", &token, json!({"model": "demo-image", "prompt": "x", "colour": "red"})).await;
    assert_error(&extra, 400, "invalid_request_error", Some("colour"), Some("unknown_parameter"));
    let size = v1_post(&app, "/images/generations", &token, json!({"model": "demo-image", "prompt": "x", "size": "huge"})).await;
    assert_error(&size, 400, "invalid_request_error", Some("size"), None);
    let format =
        v1_post(&app, "/images/generations", &token, json!({"model": "demo-image", "prompt": "x", "response_format": "gif"})).await;
    assert_error(&format, 400, "invalid_request_error", Some("response_format"), None);
    let seconds = v1_post(&app, "/videos", &token, json!({"model": "demo-video", "prompt": "x", "seconds": "4"})).await;
    assert_error(&seconds, 400, "invalid_request_error", Some("seconds"), None);
    let no_prompt = v1_post(&app, "/videos", &token, json!({"model": "demo-video"})).await;
    assert_error(&no_prompt, 400, "invalid_request_error", Some("prompt"), None);
    let link = v1_post(
        &app,
        "/videos",
        &token,
        json!({"model": "demo-video", "prompt": "x", "input_reference": {"image_url": "https://example.com/a.png"}}),
    )
    .await;
    assert_error(&link, 400, "invalid_request_error", Some("input_reference"), None);
    let not_json = api_post_raw(&app.url, "/v1/videos", &token, "application/json", "{").await;
    assert_error(&not_json, 400, "invalid_request_error", None, None);
    let plain_text = api_post_raw(&app.url, "/v1/videos", &token, "text/plain", "model=demo-video").await;
    assert_error(&plain_text, 415, "invalid_request_error", None, None);
    let bad_form = api_post_raw(&app.url, "/v1/videos", &token, "application/x-www-form-urlencoded", "model=demo-video&seconds=-3").await;
    assert_error(&bad_form, 400, "invalid_request_error", Some("prompt"), None);
    assert_error(&v1_get(&app, "/nothing-here", &token).await, 404, "invalid_request_error", None, None);

    // 5 credits: a 5-second demo video (10 credits) is over the quota, and nothing is held
    let quota = v1_post(&app, "/videos", &token, json!({"model": "demo-video", "prompt": "x", "seconds": "5"})).await;
    assert_error(&quota, 429, "insufficient_quota", None, Some("insufficient_quota"));
    assert_eq!(quota.header("x-should-retry"), Some("false"));
    let credits = api_get(&app.url, "/api/v1/credits", Some(&token)).await.json();
    assert_eq!((credits["available"].clone(), credits["held"].clone()), (json!(5), json!(0)));

    // an edit with a mask, which no model here takes
    let png = png();
    let form = reqwest::multipart::Form::new()
        .text("model", "demo-image")
        .text("prompt", "x")
        .part("image", reqwest::multipart::Part::bytes(png.clone()).file_name("a.png"))
        .part("mask", reqwest::multipart::Part::bytes(png).file_name("mask.png"));
    let masked = client().post(format!("{}/v1/images/edits", app.url)).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_error(&Browser::read(masked).await, 400, "invalid_request_error", Some("mask"), None);

    // the model policy applies: a model an admin turned off for this person is 403
    let denied = admin.post_form("/admin/models/demo-image/overrides", &[("email", "admin@example.com"), ("access", "deny")]).await;
    assert_eq!(denied.status, 303, "{}", denied.body);
    let refused = v1_post(&app, "/images/generations", &token, image.clone()).await;
    let e = assert_error(&refused, 403, "invalid_request_error", None, Some("generation.model_disabled"));
    assert!(e["message"].as_str().unwrap().contains("off for your account"), "{e}");
    app.stop().await;
}

#[tokio::test]
async fn images_come_back_inline_and_videos_page_download_delete_and_stay_private() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 200).await;

    // an image over plain HTTP: base64 by default, the same bytes the library holds
    let made = v1_post(&app, "/images/generations", &token, json!({"model": "demo-image", "prompt": "a kite", "seed": 7})).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let b64 = made.json()["data"][0]["b64_json"].as_str().unwrap().to_string();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let library = wait_total(&app.url, &token, "kind=image", 1).await;
    assert_eq!(library["items"][0]["outputs"][0]["sha256"], sha256_hex(&bytes));
    assert_eq!(library["items"][0]["params"]["seed"], 7);

    // three videos: JSON bodies, then a plain HTML form's body
    let mut ids = Vec::new();
    for i in 0..3 {
        let v = if i < 2 {
            v1_post(&app, "/videos", &token, json!({"model": "demo-video", "prompt": format!("clip {i}"), "seconds": 2})).await
        } else {
            let form = "model=demo-video&prompt=clip+2%3A+a+kite&seconds=2";
            api_post_raw(&app.url, "/v1/videos", &token, "application/x-www-form-urlencoded", form).await
        };
        assert_eq!(v.status, 200, "{}", v.body);
        let v = v.json();
        assert_eq!((v["object"].clone(), v["model"].clone(), v["seconds"].clone()), (json!("video"), json!("demo-video"), json!("2")));
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        wait_terminal(&app.url, &token, id).await;
    }
    let done = v1_get(&app, &format!("/videos/{}", ids[0]), &token).await.json();
    assert_eq!((done["status"].clone(), done["progress"].clone(), done["size"].clone()), (json!("completed"), json!(100), json!("16:9")));
    assert!(done["expires_at"].as_i64().unwrap() > done["created_at"].as_i64().unwrap());

    // pages: newest first, `after` the last id, `has_more` until the end; `order=asc` reverses
    let first = v1_get(&app, "/videos?limit=2", &token).await.json();
    assert_eq!((first["object"].clone(), first["has_more"].clone()), (json!("list"), json!(true)));
    let page_ids: Vec<&str> = first["data"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(page_ids, [ids[2].as_str(), ids[1].as_str()]);
    assert_eq!((first["first_id"].clone(), first["last_id"].clone()), (json!(ids[2]), json!(ids[1])));
    let second = v1_get(&app, &format!("/videos?limit=2&after={}", ids[1]), &token).await.json();
    assert_eq!(
        (second["data"].as_array().unwrap().len(), second["has_more"].clone(), second["last_id"].clone()),
        (1, json!(false), json!(ids[0]))
    );
    let ascending = v1_get(&app, "/videos?order=asc", &token).await.json();
    let asc_ids: Vec<&str> = ascending["data"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(asc_ids, [ids[0].as_str(), ids[1].as_str(), ids[2].as_str()], "only videos are listed, oldest first");
    assert_error(&v1_get(&app, "/videos?limit=0", &token).await, 400, "invalid_request_error", Some("limit"), None);
    assert_error(&v1_get(&app, "/videos?order=sideways", &token).await, 400, "invalid_request_error", Some("order"), None);

    // the content: the stored MP4, with Range like /media
    let stored = api_get(&app.url, &format!("/api/v1/generations/{}", ids[0]), Some(&token)).await.json();
    let whole = client().get(format!("{}/v1/videos/{}/content", app.url, ids[0])).bearer_auth(&token).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    let whole = whole.bytes().await.unwrap();
    assert_eq!(sha256_hex(&whole), stored["outputs"][0]["sha256"]);
    let ranged = client()
        .get(format!("{}/v1/videos/{}/content?variant=video", app.url, ids[0]))
        .bearer_auth(&token)
        .header("range", "bytes=4-11")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.headers()["content-range"], format!("bytes 4-11/{}", whole.len()));
    assert_eq!(ranged.bytes().await.unwrap(), whole[4..12]);
    // the poster frame, where ffmpeg made one
    let thumbnail =
        client().get(format!("{}/v1/videos/{}/content?variant=thumbnail", app.url, ids[0])).bearer_auth(&token).send().await.unwrap();
    if thumbnail.status() == 200 {
        assert_eq!(thumbnail.headers()["content-type"], "image/jpeg");
    } else {
        assert_error(&Browser::read(thumbnail).await, 404, "invalid_request_error", None, None);
    }
    let sprites = v1_get(&app, &format!("/videos/{}/content?variant=spritesheet", ids[0]), &token).await;
    assert_error(&sprites, 400, "invalid_request_error", Some("variant"), None);

    // an image generation is no video
    let image_id = library["items"][0]["id"].as_str().unwrap().to_string();
    assert_error(&v1_get(&app, &format!("/videos/{image_id}"), &token).await, 404, "invalid_request_error", None, Some("not_found"));

    // another person sees none of it
    let other = member_token(&app, &admin).await;
    assert_error(&v1_get(&app, &format!("/videos/{}", ids[0]), &other).await, 404, "invalid_request_error", None, Some("not_found"));
    assert_error(&v1_get(&app, &format!("/videos/{}/content", ids[0]), &other).await, 404, "invalid_request_error", None, None);
    assert_error(&v1_delete(&app, &format!("/videos/{}", ids[0]), &other).await, 404, "invalid_request_error", None, None);
    let theirs = v1_get(&app, "/videos", &other).await.json();
    assert_eq!((theirs["data"].as_array().unwrap().len(), theirs["has_more"].clone()), (0, json!(false)));
    assert_error(&v1_get(&app, &format!("/videos?after={}", ids[0]), &other).await, 400, "invalid_request_error", Some("after"), None);

    // delete, then it is gone everywhere
    let deleted = v1_delete(&app, &format!("/videos/{}", ids[0]), &token).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.json(), json!({"id": ids[0], "object": "video.deleted", "deleted": true}));
    assert_error(&v1_get(&app, &format!("/videos/{}", ids[0]), &token).await, 404, "invalid_request_error", None, Some("not_found"));
    assert_error(&v1_get(&app, &format!("/videos/{}/content", ids[0]), &token).await, 404, "invalid_request_error", None, None);
    assert_error(&v1_delete(&app, &format!("/videos/{}", ids[0]), &token).await, 404, "invalid_request_error", None, None);
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{}", ids[0]), Some(&token)).await.status, 404);
    let left = v1_get(&app, "/videos", &token).await.json();
    assert_eq!(left["data"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_running_video_cancels_it_and_releases_its_credits() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::from_secs(30)).await;
    let (_admin, token) = admin_with_credits(&app, 20).await;
    let v = v1_post(&app, "/videos", &token, json!({"model": "demo-video", "prompt": "slow", "seconds": "5"})).await.json();
    assert!(["queued", "in_progress"].contains(&v["status"].as_str().unwrap()), "{v}");
    let id = v["id"].as_str().unwrap();
    let deleted = v1_delete(&app, &format!("/videos/{id}"), &token).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let credits = api_get(&app.url, "/api/v1/credits", Some(&token)).await.json();
    assert_eq!((credits["available"].clone(), credits["held"].clone()), (json!(20), json!(0)));
    app.stop().await;
}

/// `gpt-image-2` through a fake OpenAI Images API: `/v1` passes the OpenAI size, quality
/// and count on, hands back the stored bytes, and answers a moderation refusal with the
/// refusal's reason (the hold released).
#[tokio::test]
async fn a_provider_model_answers_like_openai_and_its_refusals_keep_their_reason() {
    use base64::Engine;
    use fake_upstream::{Reply, Request};

    use crate::provider_openai_images::{b64_image, images_rig};

    let image = png();
    let answer = json!({"created": 1, "data": [b64_image(&image)]});
    let rig = images_rig("sk-fake", move |r: &Request| {
        if r.json()["prompt"] == "refuse this" {
            return Reply::json(
                400,
                json!({"error": {"message": "Rejected by the safety system.", "type": "image_generation_user_error", "param": null, "code": "moderation_blocked"}}),
            );
        }
        Reply::json(200, answer.clone())
    })
    .await;
    let (app, token) = (&rig.app, &rig.token);

    let body = json!({"model": "gpt-image-2", "prompt": "a kite", "size": "1536x1024", "quality": "low", "response_format": "b64_json"});
    let made = v1_post(app, "/images/generations", token, body).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let b64 = made.json()["data"][0]["b64_json"].as_str().unwrap().to_string();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), image);
    let sent = rig.fake.requests()[0].json();
    assert_eq!(
        (sent["size"].clone(), sent["quality"].clone(), sent["model"].clone()),
        (json!("1536x1024"), json!("low"), json!("gpt-image-2"))
    );
    // handing the image over inline is a download like any other: audited once, as saved
    let library = wait_total(&app.url, token, "kind=image", 1).await;
    let output = library["items"][0]["outputs"][0]["id"].as_str().unwrap().to_string();
    let log = rig.admin.get("/admin/audit?action=media.downloaded").await;
    assert_eq!(log.count("tbody tr"), 1, "one download for the one output: {}", log.body);
    assert!(log.body.contains(&output) && log.body.contains("saved as a file"), "{}", log.body);

    let refused = v1_post(app, "/images/generations", token, json!({"model": "gpt-image-2", "prompt": "refuse this"})).await;
    let e = assert_error(&refused, 400, "invalid_request_error", None, Some("moderation_blocked"));
    assert!(e["message"].as_str().unwrap().contains("safety system"), "{e}");
    rig.assert_settled(6).await;
    let url_answer = json!({"model": "gpt-image-2", "prompt": "a kite", "response_format": "url"});
    assert_eq!(v1_post(app, "/images/generations", token, url_answer).await.status, 200);
    let log = rig.admin.get("/admin/audit?action=media.downloaded").await;
    assert_eq!(log.count("tbody tr"), 1, "a link handed out is not a download until fetched: {}", log.body);
    rig.stop().await;
}
