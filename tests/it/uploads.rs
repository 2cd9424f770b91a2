//! Reference uploads through the API and the page: cleaned, stored encrypted, shown as sent.

use std::io::Cursor;
use std::time::Duration;

use crate::support::generate;
use crate::support::{app_with_credits, wait_terminal};

/// A JPEG carrying an EXIF segment with a GPS marker.
pub fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
    // APP1 "Exif\0\0" with a little-endian TIFF header and a GPS IFD pointer tag (0x8825)
    let mut tiff = b"II*\0\x08\0\0\0\x01\0\x25\x88\x04\0\x01\0\0\0\x1a\0\0\0\0\0\0\0".to_vec();
    tiff.extend_from_slice(b"GPSLatitude=52.52N");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

pub async fn upload(base: &str, token: &str, bytes: Vec<u8>, name: &str) -> crate::support::Page {
    reelvault::providers::http::install_crypto_provider();
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    crate::support::api_multipart(base, "/api/v1/uploads", token, form).await
}

/// Uploads `bytes` as `name` (it must be accepted); returns the upload's id.
pub async fn upload_id(base: &str, token: &str, bytes: Vec<u8>, name: &str) -> String {
    let uploaded = upload(base, token, bytes, name).await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    uploaded.json()["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn uploads_are_stripped_of_metadata_and_can_be_used_as_references() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 20).await;
    let original = jpeg_with_gps();
    assert!(original.windows(4).any(|w| w == b"Exif"));
    let r = upload(&app.url, &token, original, "holiday.jpg").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let u = r.json();
    assert_eq!(u["content_type"], "image/jpeg");
    assert_eq!((u["width"].as_u64(), u["height"].as_u64()), (Some(64), Some(48)));
    let cleaned = reqwest::get(u["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    assert!(cleaned.starts_with(&[0xFF, 0xD8]), "still a JPEG");
    assert!(!cleaned.windows(4).any(|w| w == b"Exif"), "the user sees the stripped result");
    assert!(!cleaned.windows(11).any(|w| w == b"GPSLatitude"));

    let g = generate(
        &app.url,
        &token,
        serde_json::json!({
            "model": "demo-video", "prompt": "from a photo", "params": {"duration": 2},
            "references": [{"role": "first_frame", "upload": u["id"]}]
        }),
    )
    .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let done = wait_terminal(&app.url, &token, g.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["references"][0]["role"], "first_frame");
    let page = admin.get(&format!("/generations/{}", done["id"].as_str().unwrap())).await;
    assert!(page.count("img.reference") == 1, "the page shows the reference as sent");
    app.stop().await;
}

#[tokio::test]
async fn unsupported_corrupt_and_oversized_uploads_are_refused() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 1).await;
    let text = upload(&app.url, &token, b"just some text".to_vec(), "notes.txt").await;
    assert_eq!(text.status, 422, "{}", text.body);
    assert!(text.json()["message"].as_str().unwrap().to_lowercase().contains("png"), "{}", text.body);
    let svg = upload(&app.url, &token, b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(), "a.svg").await;
    assert_eq!(svg.status, 422, "an SVG is no reference: {}", svg.body);
    let mut truncated = jpeg_with_gps();
    truncated.truncate(truncated.len() / 2);
    assert_eq!(upload(&app.url, &token, truncated, "cut.jpg").await.status, 422);
    let huge = vec![0u8; 21 * 1024 * 1024];
    let r = upload(&app.url, &token, huge, "huge.png").await;
    assert_eq!(r.status, 413, "{}", r.body);
    let client = reqwest::Client::new();
    let wrong_part = reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("x.png"));
    let r = client.post(format!("{}/api/v1/uploads", app.url)).bearer_auth(&token).multipart(wrong_part).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let not_multipart = client.post(format!("{}/api/v1/uploads", app.url)).bearer_auth(&token).body("x").send().await.unwrap();
    assert_eq!(not_multipart.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn the_new_generation_page_submits_and_the_status_streams_live() {
    let (app, admin, _token) = app_with_credits(Duration::from_millis(800), 20).await;
    let form = admin.get("/generate?model=demo-video").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("(demo)"), "demo models are labelled");
    assert_eq!(form.count("select[name=param_duration] option"), 3, "the form follows the model's parameters");
    assert!(form.count("input[type=file][name=ref_first_frame]") == 1);
    assert!(form.text_of("#price").contains("6 credits"), "price before submitting");
    let price = admin.get("/generate/price?model=demo-video&param_duration=5").await;
    assert_eq!(price.body, "10 credits");

    let action = form.attr_of("form[enctype='multipart/form-data']", "action").unwrap();
    let multipart = reqwest::multipart::Form::new()
        .text("model", "demo-video")
        .text("prompt", "waves on a beach")
        .text("param_duration", "2")
        .text("param_aspect_ratio", "16:9")
        .text("param_seed", "");
    let r = admin.post_multipart(&action, multipart, &[("origin", app.url.as_str())]).await;
    assert_eq!(r.status, 303);
    let location = r.location().unwrap().to_string();
    assert!(location.starts_with("/generations/"));
    let page = admin.get(&location).await;
    assert!(page.attr_of("[sse-connect]", "sse-connect").is_some(), "a running job's page listens for live updates");

    let events = admin.client.get(format!("{}{location}/events", app.url)).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(Duration::from_secs(30), events.text()).await.expect("the stream ends when the job does").unwrap();
    assert!(body.contains("event: status"), "{body}");
    assert!(body.contains("succeeded") && body.trim_end().ends_with("data: done"), "{body}");
    assert!(body.contains("<video"), "the final status carries the player");
    let done = admin.get(&location).await;
    assert_eq!(done.count("video.player"), 1);
    assert!(done.attr_of("video.player", "src").unwrap().contains("sig="));

    let form = |prompt| reqwest::multipart::Form::new().text("model", "demo-video").text("prompt", prompt);
    assert_eq!(admin.post_multipart(&action, form(""), &[]).await.status, 422);
    let forged = admin.post_multipart("/generate", form("x"), &[]).await;
    assert_eq!(forged.status, 403, "multipart forms need the CSRF token too");
    app.stop().await;
}
