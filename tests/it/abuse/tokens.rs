//! Abuse of API tokens: every submit path a token can use (`/api/v1` and the OpenAI-compatible
//! `/v1`, JSON and multipart) counts against its limit of unfinished generations, refused
//! before anything is stored or held; and a member cannot give a token limits above the
//! instance's `[api]` defaults (admins and the operator's command line may). After each, the
//! bystander is still served.

use std::path::Path;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::json;

use super::bystander::Bystander;
use crate::support::generate;
use crate::support::process::run;
use crate::support::{Browser, Page, TestApp};
use crate::support::{admin_with_credits, api_post, credits};

/// A generation form for `model` and `prompt` with a PNG as the part named `part`.
fn with_png(model: &str, prompt: &str, part: &str) -> Form {
    Form::new()
        .text("model", model.to_string())
        .text("prompt", prompt.to_string())
        .part(part.to_string(), Part::bytes(png()).file_name("a.png"))
}

fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([(x * 8) as u8, (y * 10) as u8, 60]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn post_form(app: &TestApp, path: &str, token: &str, form: Form) -> Page {
    crate::support::api_multipart(&app.url, path, token, form).await
}

/// The media files stored under the data directory (uploads among them).
fn media_files(data: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum()
    }
    count(&data.join("media")) - count(&data.join("media").join("tmp"))
}

#[tokio::test]
async fn every_submit_path_of_a_token_counts_against_its_unfinished_jobs() {
    let app = TestApp::start_with(|c| {
        c.api.concurrent_jobs = 1;
        // the first video stays unfinished for the whole test
        c.connection[0].delay = Duration::from_secs(120);
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 500).await;
    let bystander = Bystander::join(&app, &admin).await;

    let video = api_post(&app.url, "/v1/videos", &token, json!({"model": "demo-video", "prompt": "a long take"})).await;
    assert_eq!(video.status, 200, "{}", video.body);
    let video_id = video.json()["id"].as_str().unwrap().to_string();
    let held = credits(&app.url, &token).await;
    let stored = media_files(&app.data_dir());

    let refused = [
        ("/v1/videos", api_post(&app.url, "/v1/videos", &token, json!({"model": "demo-video", "prompt": "again"})).await),
        ("/v1/videos (form)", post_form(&app, "/v1/videos", &token, with_png("demo-video", "again", "input_reference")).await),
        (
            "/v1/images/generations",
            api_post(&app.url, "/v1/images/generations", &token, json!({"model": "demo-image", "prompt": "a kite"})).await,
        ),
        ("/v1/images/edits", post_form(&app, "/v1/images/edits", &token, with_png("demo-image", "a kite", "image")).await),
        ("/api/v1/generations", generate(&app.url, &token, json!({"model": "demo-image", "prompt": "a kite"})).await),
        ("/api/v1/generations (form)", post_form(&app, "/api/v1/generations", &token, with_png("demo-image", "a kite", "reference")).await),
    ];
    for (path, page) in &refused {
        assert_eq!(page.status, 429, "{path}: {}", page.body);
        assert!(page.body.contains("unfinished generations"), "{path}: the refusal says why: {}", page.body);
        assert!(page.header("retry-after").is_some(), "{path}");
    }
    assert_eq!(credits(&app.url, &token).await, held, "nothing was held for the refused submits");
    assert_eq!(media_files(&app.data_dir()), stored, "no reference image was stored for the refused submits");
    bystander.still_served(&app, "a token at its limit submitting on every path").await;

    // the video's end frees the place
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let deleted = client.delete(format!("{}/v1/videos/{video_id}", app.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let again = api_post(&app.url, "/v1/videos", &token, json!({"model": "demo-video", "prompt": "a new take"})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    app.stop().await;
}

/// Creates a token on the tokens page with the given limits (empty: the default).
async fn create(browser: &Browser, rpm: &str, jobs: &str) -> Page {
    browser
        .post_form("/account/tokens", &[("name", "script"), ("expires", "30"), ("requests_per_minute", rpm), ("concurrent_jobs", jobs)])
        .await
}

#[tokio::test]
async fn only_admins_and_the_command_line_may_raise_a_tokens_limits_above_the_defaults() {
    let app = TestApp::start_with(|c| {
        c.api.requests_per_minute = 60;
        c.api.concurrent_jobs = 4;
    })
    .await;
    let admin = app.setup_admin().await;
    let member = app.invite_member(&admin, "mallory@example.com", "mallory's password 1").await;
    let bystander = Bystander::join(&app, &admin).await;
    let form = member.get("/account/tokens").await;
    assert_eq!(form.attr_of("input[name=requests_per_minute]", "max").as_deref(), Some("60"), "the form offers the defaults at most");
    for (rpm, jobs) in [("1000000", ""), ("", "1000"), ("61", "4"), ("60", "5")] {
        let refused = create(&member, rpm, jobs).await;
        assert_eq!(refused.status, 422, "{rpm}/{jobs}: {}", refused.body);
        assert!(refused.text_of("[role=alert]").contains("only an admin may raise them"), "{}", refused.body);
        assert_eq!(refused.count("#new-token"), 0, "no token was made");
    }
    for (rpm, jobs) in [("60", "4"), ("5", "1"), ("", "")] {
        let made = create(&member, rpm, jobs).await;
        assert_eq!(made.status, 200, "{rpm}/{jobs}: {}", made.body);
        assert_eq!(made.count("#new-token"), 1);
    }
    let listed = member.get("/account/tokens").await;
    assert!(!listed.body.contains("1000000/min"), "no token of the member's is above the defaults");

    let raised = create(&admin, "1000000", "1000").await;
    assert_eq!(raised.status, 200, "an admin may raise them: {}", raised.body);
    assert!(raised.body.contains("1000000/min, 1000 at once"));

    let data = app.data_dir();
    let (code, out, err) = run(
        &[
            "token",
            "create",
            "--email",
            "mallory@example.com",
            "--requests-per-minute",
            "1000000",
            "--concurrent-jobs",
            "1000",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(code, 0, "the operator's command line may raise them:\n{out}\n{err}");
    assert!(member.get("/account/tokens").await.body.contains("1000000/min, 1000 at once"));
    bystander.still_served(&app, "a member asking for limits above the defaults").await;
    app.stop().await;
}
