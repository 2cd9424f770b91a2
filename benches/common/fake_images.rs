//! A loopback fake of the OpenAI Images API that answers every request at once with one PNG
//! as `b64_json`, on the shared `fake-upstream` server (127.0.0.1:0).

#![allow(dead_code)]

use base64::Engine;
use fake_upstream::{FakeUpstream, Reply};

/// A PNG of incompressible pixels of about `bytes` bytes (64 pixels wide, at least one row).
pub fn noise_png(bytes: usize, seed: u64) -> Vec<u8> {
    const WIDTH: u32 = 64;
    let height = (bytes / (WIDTH as usize * 3)).max(1) as u32;
    let pixels = super::studio::video_bytes((WIDTH * height * 3) as usize, seed);
    let image = image::RgbImage::from_raw(WIDTH, height, pixels).expect("pixel buffer of the right size");
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// Starts the fake: every request (whatever its path, key or body) is answered 200 with
/// `{"created": 1, "data": [{"b64_json": png}], "output_format": "png"}`.
/// Must be called inside a tokio runtime, which keeps serving it.
pub async fn start(png: &[u8]) -> FakeUpstream {
    let answer = serde_json::json!({
        "created": 1,
        "data": [{"b64_json": base64::engine::general_purpose::STANDARD.encode(png)}],
        "output_format": "png",
    })
    .to_string();
    FakeUpstream::start(move |_| Reply::bytes(200, "application/json", answer.clone().into_bytes())).await
}
