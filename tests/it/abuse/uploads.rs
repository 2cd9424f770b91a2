//! Abuse of uploads: every multipart endpoint (the generate page, the picture form, the API's
//! uploads and generations, `/v1/images/edits`, `/v1/videos`) stops reading at the first part
//! it does not take, holds one part at a time within its limit, and refuses decompression
//! bombs from their header; a burst of image uploads is cleaned a few at a time. After each,
//! the bystander is still served.

use std::io::Cursor;
use std::time::Duration;

use reqwest::multipart::{Form, Part};

use super::bystander::{Bystander, within};
use crate::support::admin_with_credits;
use crate::support::{Browser, Page, TestApp};

/// The upload limit of these tests, small so oversize parts are cheap to send.
const UPLOAD_MAX: u64 = 1024 * 1024;

/// A small PNG image.
fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([(x * 8) as u8, (y * 10) as u8, 60]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A decompression bomb: a PNG of a few kilobytes claiming `side`×`side` pixels of one colour
/// (1-bit grey, so it is cheap to make; decoded, it is `side`² bytes and more).
fn bomb(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; side.div_ceil(8) as usize];
        for _ in 0..side {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
        writer.finish().unwrap();
    }
    out
}

/// A file part.
fn file(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_string())
}

/// One multipart endpoint and how to reach it.
struct Endpoint {
    path: &'static str,
    /// The file part it takes.
    file: &'static str,
    /// Text fields a valid form carries.
    fields: &'static [(&'static str, &'static str)],
    /// By the browser (a session and the CSRF token in the query), else by the API token.
    page: bool,
}

const ENDPOINTS: [Endpoint; 6] = [
    Endpoint { path: "/api/v1/uploads", file: "file", fields: &[], page: false },
    Endpoint { path: "/api/v1/generations", file: "reference", fields: &[("model", "demo-image"), ("prompt", "a kite")], page: false },
    Endpoint { path: "/v1/images/edits", file: "image", fields: &[("model", "demo-image"), ("prompt", "a kite")], page: false },
    Endpoint { path: "/v1/videos", file: "input_reference", fields: &[("model", "demo-video"), ("prompt", "a kite")], page: false },
    Endpoint { path: "/generate", file: "ref_reference", fields: &[("model", "demo-image"), ("prompt", "a kite")], page: true },
    Endpoint { path: "/account/picture", file: "picture", fields: &[], page: true },
];

/// Someone with a browser session and an API token of their own.
struct Sender {
    browser: Browser,
    token: String,
    csrf: String,
}

impl Sender {
    async fn post(&self, app: &TestApp, endpoint: &Endpoint, form: Form) -> Page {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let request = if endpoint.page {
            let url = format!("{}{}?csrf_token={}", app.url, endpoint.path, self.csrf);
            self.browser.client.post(url).header("origin", &app.url).multipart(form)
        } else {
            client.post(format!("{}{}", app.url, endpoint.path)).bearer_auth(&self.token).multipart(form)
        };
        let sent = within("a multipart request", endpoint.path, request.send()).await;
        Browser::read(sent.unwrap_or_else(|e| panic!("{}: {e}", endpoint.path))).await
    }
}

fn with_fields(endpoint: &Endpoint) -> Form {
    endpoint.fields.iter().fold(Form::new(), |form, (name, value)| form.text(*name, *value))
}

async fn setup() -> (TestApp, Sender, Bystander) {
    let app = TestApp::start_with(|c| {
        // a form's file part may be as large as the largest of the image, audio and video limits
        (c.limits.upload_max, c.limits.audio_upload_max, c.limits.video_upload_max) = (UPLOAD_MAX, UPLOAD_MAX, UPLOAD_MAX);
        c.connection[0].delay = Duration::ZERO;
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 500).await;
    let bystander = Bystander::join(&app, &admin).await;
    let csrf = admin.csrf_token().await;
    (app, Sender { browser: admin, token, csrf }, bystander)
}

/// The message of an error answer, page or JSON.
fn message(page: &Page) -> String {
    match serde_json::from_str::<serde_json::Value>(&page.body) {
        Ok(json) => json["message"].as_str().or(json["error"]["message"].as_str()).unwrap_or_default().to_string(),
        Err(_) => page.body.clone(),
    }
}

#[tokio::test]
async fn a_form_stops_at_the_first_part_its_endpoint_does_not_take() {
    let (app, sender, bystander) = setup().await;
    for endpoint in &ENDPOINTS {
        // many junk file parts of the largest allowed size: the first one ends the read
        let mut form = with_fields(endpoint);
        for n in 0..40 {
            form = form.part(format!("junk{n}"), file(vec![b'x'; UPLOAD_MAX as usize], "junk.bin"));
        }
        let refused = sender.post(&app, endpoint, form).await;
        assert_eq!(refused.status, 400, "{}: {}", endpoint.path, refused.body);
        assert!(message(&refused).contains("junk0"), "{}: the refusal names the part: {}", endpoint.path, refused.body);
        assert!(!message(&refused).contains("junk1"), "{}: nothing after it was read: {}", endpoint.path, refused.body);

        // an unexpected text field where the endpoint takes named fields only
        if endpoint.fields.is_empty() {
            let form = Form::new().text("note", "x".repeat(60_000)).part(endpoint.file, file(png(), "a.png"));
            let refused = sender.post(&app, endpoint, form).await;
            assert_eq!(refused.status, 400, "{}: {}", endpoint.path, refused.body);
            assert!(message(&refused).contains("note"), "{}: {}", endpoint.path, refused.body);
        }
    }
    bystander.still_served(&app, "forms of junk parts").await;
    app.stop().await;
}

#[tokio::test]
async fn an_oversize_part_and_too_many_parts_are_refused_naming_the_part() {
    let (app, sender, bystander) = setup().await;
    for endpoint in &ENDPOINTS {
        let form = with_fields(endpoint).part(endpoint.file, file(vec![0u8; UPLOAD_MAX as usize + 1], "big.png"));
        let refused = sender.post(&app, endpoint, form).await;
        assert_eq!(refused.status, 413, "{}: {}", endpoint.path, refused.body);
        assert!(message(&refused).contains(endpoint.file), "{}: {}", endpoint.path, refused.body);

        // one file more than the endpoint takes
        // the API's form takes a file per image role, the page's a file per reference role
        let most = match endpoint.path {
            "/generate" => 7,
            path if path.ends_with("/generations") => 3,
            _ => 1,
        };
        let mut form = with_fields(endpoint);
        for _ in 0..=most {
            form = form.part(endpoint.file, file(png(), "a.png"));
        }
        let refused = sender.post(&app, endpoint, form).await;
        assert_eq!(refused.status, 400, "{}: {}", endpoint.path, refused.body);
        assert!(message(&refused).contains(&format!("at most {most} file")), "{}: {}", endpoint.path, refused.body);
    }
    // a flood of small text fields ends at the form's limit on parts
    let endpoint = &ENDPOINTS[1];
    let mut form = with_fields(endpoint);
    for n in 0..500 {
        form = form.text(format!("p{n}"), "1");
    }
    let refused = sender.post(&app, endpoint, form).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(message(&refused).contains("parts"), "{}", refused.body);
    bystander.still_served(&app, "oversize and surplus parts").await;
    app.stop().await;
}

#[tokio::test]
async fn decompression_bombs_are_refused_from_their_header_on_every_endpoint() {
    let (app, sender, bystander) = setup().await;
    let bomb = bomb(20_000);
    assert!(bomb.len() < 200 * 1024, "a tiny file: {} bytes", bomb.len());
    for endpoint in &ENDPOINTS {
        let form = with_fields(endpoint).part(endpoint.file, file(bomb.clone(), "bomb.png"));
        let refused = sender.post(&app, endpoint, form).await;
        assert!([400, 422].contains(&refused.status), "{}: {} {}", endpoint.path, refused.status, refused.body);
        assert!(refused.body.contains("20000x20000"), "{}: the refusal says why: {}", endpoint.path, refused.body);
    }
    bystander.still_served(&app, "decompression bombs").await;
    app.stop().await;
}

#[tokio::test]
async fn a_burst_of_uploads_is_cleaned_a_few_at_a_time_and_each_is_answered() {
    let (app, sender, bystander) = setup().await;
    // large enough to take real decoding work, far below the pixel limit
    let big = {
        let image = image::GrayImage::from_fn(1500, 1500, |x, y| image::Luma([((x ^ y) & 0xff) as u8]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    assert!(big.len() as u64 <= UPLOAD_MAX, "{}", big.len());
    let sender = &sender;
    let uploads = (0..16).map(|_| {
        let form = Form::new().part("file", file(big.clone(), "big.png"));
        sender.post(&app, &ENDPOINTS[0], form)
    });
    let answers = futures_util::future::join_all(uploads).await;
    for answer in &answers {
        // stored, or told to come back shortly; never a failure of the server
        assert!([201, 503].contains(&answer.status), "{} {}", answer.status, answer.body);
    }
    assert!(answers.iter().any(|a| a.status == 201), "the burst is served, a few at a time");
    bystander.still_served(&app, "a burst of image uploads").await;
    app.stop().await;
}
