//! Sound: audio references (WAV, MP3, M4A) stored without their metadata and within their
//! limits; video outputs with a sound track say so, play unmuted and are found by the
//! library's "with sound" filter.

use std::time::Duration;

use crate::library::{app_with_openai, make_sora_video};
use crate::support::fake_openai::{Behaviour, Content};
use crate::support::{TestApp, admin_with_credits, api_get, app_with_credits, eventually, generate, wait_terminal};
use crate::uploads::upload;

/// A RIFF chunk (little-endian size, padded to an even length).
fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = [id.as_slice(), &(body.len() as u32).to_le_bytes(), body].concat();
    if body.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A mono 8 kHz 8-bit WAV of `seconds` with an INFO list naming its artist and place.
pub(crate) fn wav_with_info(seconds: u32) -> Vec<u8> {
    let fmt = [
        &1u16.to_le_bytes()[..],
        &1u16.to_le_bytes(),
        &8000u32.to_le_bytes(),
        &8000u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &8u16.to_le_bytes(),
    ]
    .concat();
    let info = [&b"INFO"[..], &chunk(b"IART", b"Alice Example\0"), &chunk(b"ICMT", b"Recorded at 12 Rue de Rivoli\0")].concat();
    let body =
        [&b"WAVE"[..], &chunk(b"fmt ", &fmt), &chunk(b"LIST", &info), &chunk(b"data", &vec![0x80; 8000 * seconds as usize])].concat();
    [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat()
}

/// An MP3 of 40 silent-ish MPEG-1 layer III frames between an ID3v2 and an ID3v1 tag.
fn mp3_with_tags() -> Vec<u8> {
    let title = b"TIT2\0\0\0\x0c\0\0\x03Alice Demo";
    let mut out = [&b"ID3\x04\0\0\0\0\0"[..], &[title.len() as u8], title].concat();
    let mut frame = vec![0u8; 417]; // 128 kbit/s at 44.1 kHz
    frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
    out.extend(frame.repeat(40));
    let mut v1 = b"TAGRecorded on the Rivoli".to_vec();
    v1.resize(128, 0);
    out.extend(v1);
    out
}

/// An ISO media box.
fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    [&((payload.len() + 8) as u32).to_be_bytes()[..], kind, payload].concat()
}

/// An M4A of 3 s with one sound track and a `udta` naming its author.
fn m4a_with_udta() -> Vec<u8> {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&3000u32.to_be_bytes());
    let hdlr = [&[0u8; 8][..], b"soun", &[0u8; 12], b"SoundHandler\0"].concat();
    let trak = mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr)));
    let udta = mp4_box(b"udta", &mp4_box(b"\xa9ART", b"Alice Example, Rue de Rivoli"));
    let moov = mp4_box(b"moov", &[mp4_box(b"mvhd", &mvhd), trak, udta].concat());
    [mp4_box(b"ftyp", b"M4A \0\0\0\0M4A isom"), moov, mp4_box(b"mdat", b"aac frames")].concat()
}

#[tokio::test]
async fn audio_references_are_stored_as_what_their_bytes_are_without_metadata() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 1).await;
    for (bytes, name, content_type) in [
        (wav_with_info(1), "take.wav", "audio/wav"),
        (mp3_with_tags(), "take.mp3", "audio/mpeg"),
        (m4a_with_udta(), "take.m4a", "audio/mp4"),
    ] {
        let original_len = bytes.len();
        // the name a client gives does not decide the type
        let r = upload(&app.url, &token, bytes, &format!("{name}.png")).await;
        assert_eq!(r.status, 201, "{name}: {}", r.body);
        let u = r.json();
        assert_eq!(u["content_type"], content_type, "{name}");
        let media = reqwest::get(u["url"].as_str().unwrap()).await.unwrap();
        assert_eq!(media.status(), 200);
        assert_eq!(media.headers()["content-type"], content_type, "{name}: served inline as audio");
        let stored = media.bytes().await.unwrap();
        assert_eq!(stored.len() as u64, u["bytes"].as_u64().unwrap());
        for secret in [&b"Alice"[..], b"Rivoli"] {
            assert!(!stored.windows(secret.len()).any(|w| w == secret), "{name} still holds {:?}", String::from_utf8_lossy(secret));
        }
        if content_type == "audio/mp4" {
            assert_eq!(stored.len(), original_len, "an MP4's boxes keep their sizes");
        }
        // players seek: ranges work as for video
        let range = reqwest::Client::new().get(u["url"].as_str().unwrap()).header("range", "bytes=4-11").send().await.unwrap();
        assert_eq!(range.status(), 206, "{name}");
        assert_eq!(range.bytes().await.unwrap(), stored.slice(4..12), "{name}");
    }
    // a video reference: an MP4 with a sound track, typed and measured from its boxes
    let clip = reelvault::providers::demo_media::render_mp4_with_sound("a reference clip", 1, 64, 64, 2, 12).unwrap();
    let r = upload(&app.url, &token, clip, "clip.bin").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["content_type"], "video/mp4");
    app.stop().await;
}

#[tokio::test]
async fn over_long_and_unreadable_audio_is_refused_with_the_reason() {
    let app = TestApp::start_with(|config| config.limits.audio_duration_max = Duration::from_secs(5)).await;
    let (_admin, token) = admin_with_credits(&app, 1).await;
    let long = upload(&app.url, &token, wav_with_info(6), "long.wav").await;
    assert_eq!(long.status, 422, "{}", long.body);
    let reason = |page: &crate::support::Page| page.json()["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(reason(&long).contains("the audio file plays for 6.0 s; at most 5 s are allowed"), "{}", long.body);
    let junk = upload(&app.url, &token, b"RIFF\x10\0\0\0WAVEjunkjunkjunk".to_vec(), "junk.wav").await;
    assert_eq!(junk.status, 422, "{}", junk.body);
    assert!(reason(&junk).starts_with("the audio file could not be read"), "{}", junk.body);
    let no_frames = upload(&app.url, &token, b"ID3\x04\0\0\0\0\0\x04abcd then nothing".to_vec(), "empty.mp3").await;
    assert_eq!(no_frames.status, 422, "{}", no_frames.body);
    assert!(reason(&no_frames).contains("no mpeg layer iii audio frame"), "{}", no_frames.body);
    app.stop().await;
}

#[tokio::test]
async fn a_video_with_a_sound_track_says_so_plays_unmuted_and_the_library_finds_it() {
    let (app, _fake, admin, token) = app_with_openai(Behaviour { content: Content::WithSound, ..Behaviour::default() }).await;
    let loud = make_sora_video(&app, &token, "waves breaking loudly").await;
    let quiet =
        generate(&app.url, &token, serde_json::json!({"model": "demo-video", "prompt": "a quiet pier", "params": {"duration": 2}})).await;
    assert_eq!(quiet.status, 201, "{}", quiet.body);
    let quiet = quiet.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, &token, &quiet).await["state"], "succeeded");

    let output = |id: &str| {
        let (url, token, id) = (app.url.clone(), token.clone(), id.to_string());
        async move { api_get(&url, &format!("/api/v1/generations/{id}"), Some(&token)).await.json()["outputs"][0].clone() }
    };
    assert_eq!(output(&loud).await["has_sound"], true);
    assert_eq!(output(&quiet).await["has_sound"], false);

    let ids = async |query: &str| -> Vec<String> {
        let page = api_get(&app.url, &format!("/api/v1/generations?{query}"), Some(&token)).await.json();
        page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
    };
    eventually("both generations are searchable", async || ids("").await.len() == 2).await;
    assert_eq!(ids("sound=true").await, vec![loud.as_str()]);
    assert_eq!(ids("sound=false").await, vec![quiet.as_str()]);
    let all = api_get(&app.url, "/api/v1/generations", Some(&token)).await.json();
    assert_eq!(all["facets"]["with_sound"], 1);
    assert_eq!(api_get(&app.url, "/api/v1/generations?sound=maybe", Some(&token)).await.status, 400);

    let library = admin.get("/library?sound=true").await;
    assert_eq!(library.count(&format!("#card-{loud}")), 1);
    assert_eq!(library.count(&format!("#card-{quiet}")), 0);
    assert_eq!(library.count(&format!("#card-{loud} .badge.sound")), 1, "the card says it has sound");

    let page = admin.get(&format!("/generations/{loud}")).await;
    assert_eq!(page.count("video.player"), 1);
    assert_eq!(page.count("video.player[muted]"), 0, "the player plays the sound");
    assert!(page.attr_of("video.player", "controls").is_some());
    assert!(page.text_of("figure.output figcaption").contains("with sound"));
    let silent = admin.get(&format!("/generations/{quiet}")).await;
    assert!(!silent.text_of("figure.output figcaption").contains("with sound"));
    app.stop().await;
}
