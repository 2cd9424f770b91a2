//! Media on an S3-compatible store (a real single-node Garage) and on the local disk: the same
//! generation, full and Range downloads, deletion and erasure on both backends; on S3, the
//! objects are age files under id-only keys, a kill -9 during a big upload leaves no multipart
//! upload behind and charges once, and a stopped store fails custody with a clear reason
//! (credits refunded) and makes media answer 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ConnectionConfig, MediaBackendConfig, S3Config, Secret};
use reelvault::domain::ids::UserId;

use crate::support::garage::Garage;
use crate::support::process::{Served, cli_admin_token};
use crate::support::{TestApp, admin_with_credits, api_get, credits, generate, sha256_hex, wait_terminal};

/// The size of the fake provider's video: more than one 8 MiB part once encrypted.
const VIDEO_LEN: usize = 20 * 1024 * 1024 + 12_345;
/// The age file's first line: what every stored object starts with.
const AGE_INTRO: &[u8] = b"age-encryption.org/v1\n";

/// A video that starts like an MP4, then bytes that never repeat in a short window.
fn video() -> Bytes {
    let mut v = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    let mut x: u32 = 0x9e37_79b9;
    while v.len() < VIDEO_LEN {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(VIDEO_LEN);
    Bytes::from(v)
}

/// An OpenAI videos API whose jobs complete at once and whose content is [`video`]; while
/// `stall` is set, the content sends its first 12 MiB and then stalls. No thumbnail.
async fn fake_videos(stall: Arc<AtomicBool>) -> FakeUpstream {
    let body = video();
    let next = AtomicU64::new(1);
    FakeUpstream::start(move |r| {
        let route = r.route();
        let completed =
            |id: &str| Reply::json(200, serde_json::json!({"id": id, "object": "video", "status": "completed", "progress": 100}));
        if route == "POST /v1/videos" {
            completed(&format!("video_{}", next.fetch_add(1, Ordering::SeqCst)))
        } else if route.starts_with("GET /v1/videos/") && route.ends_with("/content") {
            if r.query_param("variant").is_some() {
                Reply::status(404)
            } else if stall.load(Ordering::SeqCst) {
                Reply::stall("video/mp4", body.len() as u64, body.slice(..12 * 1024 * 1024))
            } else {
                Reply::bytes(200, "video/mp4", body.clone())
            }
        } else if let Some(id) = route.strip_prefix("GET /v1/videos/") {
            completed(id)
        } else {
            Reply::status(404)
        }
    })
    .await
}

/// A Garage node, or `None` (the test skips) when there is no Garage binary.
fn garage() -> Option<Garage> {
    reelvault::providers::http::install_crypto_provider();
    Garage::start()
}

fn videos_connection(fake: &FakeUpstream) -> ConnectionConfig {
    ConnectionConfig {
        base_url: Some(fake.at("/v1")),
        api_key: Some(Secret::new("sk-test")),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(30),
        ..ConnectionConfig::new("videos", "openai_videos")
    }
}

/// `[media]` for the bucket of `garage`, under `prefix`.
fn s3_media(garage: &Garage, prefix: &str) -> MediaBackendConfig {
    MediaBackendConfig::S3(S3Config {
        endpoint: garage.endpoint.parse().unwrap(),
        region: garage.region.clone(),
        bucket: garage.bucket.clone(),
        prefix: prefix.to_string(),
        access_key_id: garage.access_key_id.clone(),
        secret_access_key: Secret::new(garage.secret_access_key.clone()),
        path_style: true,
        allow_private_network: true,
        cache: reelvault::config::DEFAULT_MEDIA_CACHE,
    })
}

/// Where a backend keeps an asset's age file, read back from outside the app.
enum Kept<'a> {
    Disk,
    Bucket { garage: &'a Garage, prefix: &'a str },
}

impl Kept<'_> {
    fn key(prefix: &str, asset: &str) -> String {
        format!("{prefix}{}/{asset}.age", asset[asset.len() - 2..].to_ascii_lowercase())
    }

    async fn stored(&self, app: &TestApp, asset: &str) -> Option<Vec<u8>> {
        match self {
            Kept::Disk => std::fs::read(app.running.state.media.path_of(asset).unwrap()).ok(),
            Kept::Bucket { garage, prefix } => garage.object(&Self::key(prefix, asset)).await,
        }
    }
}

/// A 4-second sora-2 video, waited for; returns the generation.
async fn make_video(url: &str, token: &str, prompt: &str) -> serde_json::Value {
    let body = serde_json::json!({"model": "sora-2", "prompt": prompt, "params": {"duration": 4}});
    let created = generate(url, token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    wait_terminal(url, token, created.json()["id"].as_str().unwrap()).await
}

async fn get_range(url: &str, range: &str) -> reqwest::Response {
    crate::support::client().get(url).header("range", range).send().await.unwrap()
}

/// The shared body: a big output is stored as an age file, downloads whole and by Range
/// byte-exact, and deleting its generation removes it.
async fn generation_ranges_and_deletion(app: &TestApp, token: &str, kept: &Kept<'_>) {
    let expected = video();
    let done = make_video(&app.url, token, "a lighthouse at dusk").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let output = &done["outputs"][0];
    let asset = output["id"].as_str().unwrap().to_string();
    assert_eq!(output["bytes"], VIDEO_LEN as u64);
    assert_eq!(output["sha256"], sha256_hex(&expected));

    let stored = kept.stored(app, &asset).await.expect("the output is stored as its own file or object");
    assert!(stored.starts_with(AGE_INTRO), "an age file");
    assert!(stored.len() > VIDEO_LEN, "sealed whole: every chunk with its tag");
    let window = &expected[1_000_000..1_000_064];
    assert!(!stored.windows(window.len()).any(|w| w == window), "no plaintext in what is stored");

    let link = output["url"].as_str().unwrap();
    let whole = crate::support::client().get(link).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap(), expected, "the whole download is the video");
    let last = VIDEO_LEN - 1;
    // a byte, spans across age chunks and store blocks, the tail, a suffix
    let ranges =
        [(0, 0), (65_530, 65_540), (1_048_000, 3_200_000), (VIDEO_LEN - 70_000, last), (17 * 1024 * 1024, 17 * 1024 * 1024 + 1023)];
    for (start, end) in ranges {
        let response = get_range(link, &format!("bytes={start}-{end}")).await;
        assert_eq!(response.status(), 206, "bytes={start}-{end}");
        assert_eq!(response.headers()["content-range"], format!("bytes {start}-{end}/{VIDEO_LEN}").as_str());
        assert_eq!(response.bytes().await.unwrap(), &expected[start..=end], "bytes={start}-{end}");
    }
    // from the middle to the end, as a player seeking asks: read ahead through every window
    let rest = get_range(link, "bytes=3000000-").await;
    assert_eq!(rest.status(), 206);
    assert_eq!(rest.bytes().await.unwrap(), &expected[3_000_000..], "bytes=3000000-");
    let suffix = get_range(link, "bytes=-500").await;
    assert_eq!(suffix.status(), 206);
    assert_eq!(suffix.bytes().await.unwrap(), &expected[VIDEO_LEN - 500..]);
    assert_eq!(get_range(link, &format!("bytes={VIDEO_LEN}-")).await.status(), 416, "outside the video");

    let id = done["id"].as_str().unwrap();
    let deleted = crate::support::client().delete(format!("{}/api/v1/generations/{id}", app.url)).bearer_auth(token).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    crate::support::eventually("the deleted output's file or object is removed", async || kept.stored(app, &asset).await.is_none()).await;
    let gone = crate::support::client().get(link).send().await.unwrap().status();
    assert!(matches!(gone.as_u16(), 403 | 404), "its link serves nothing: {gone}");
}

#[tokio::test]
async fn on_s3_a_big_output_is_an_age_object_under_an_id_only_key_read_by_range_and_deleted() {
    let Some(garage) = garage() else { return };
    let fake = fake_videos(Arc::new(AtomicBool::new(false))).await;
    let (connection, media) = (videos_connection(&fake), s3_media(&garage, "media/"));
    let app = TestApp::start_with(|c| {
        c.connection.push(connection);
        c.media = media;
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 200).await;
    let kept = Kept::Bucket { garage: &garage, prefix: "media/" };

    // while the output is stored: one object, named by its id only
    let done = make_video(&app.url, &token, "keys say nothing of this prompt").await;
    let asset = done["outputs"][0]["id"].as_str().unwrap().to_string();
    let keys = garage.keys("").await;
    assert_eq!(keys, vec![Kept::key("media/", &asset)], "one object, under the prefix, named by the asset id");
    assert!(garage.multipart_uploads("").await.is_empty(), "the upload was completed");
    generation_ranges_and_deletion(&app, &token, &kept).await;

    // the backend's calls in /metrics and on the Background work page
    let metrics = api_get(&app.url, "/metrics", Some(&token)).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("reelvault_media_backend_info{backend=\"s3\"} 1"), "{}", metrics.body);
    let parts =
        metrics.body.lines().find(|l| l.starts_with("reelvault_media_backend_request_duration_seconds_count{operation=\"put_part\"}"));
    assert!(parts.is_some_and(|l| !l.ends_with(" 0")), "parts were uploaded: {parts:?}");
    assert!(metrics.body.contains("reelvault_media_backend_errors_total{operation=\"get\"} 0"), "{}", metrics.body);
    let page = admin.get("/admin/workers").await;
    assert_eq!(page.attr_of(".media-backend", "data-backend").as_deref(), Some("s3"), "{}", page.body);
    assert!(page.text_of(".media-backend").contains("S3-compatible object store"), "{}", page.body);
    let answer = api_get(&app.url, "/api/v1/admin/media", Some(&token)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let media = answer.json();
    assert_eq!(media["backend"], "s3", "the API names the backend the page names: {media}");
    assert!(media["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "a latency after the generation: {media}");
    assert_eq!(media["errors"], 0, "{media}");
    assert!(media["last_error"].is_null(), "{media}");
    app.stop().await;
}

#[tokio::test]
async fn on_the_local_disk_the_same_output_is_stored_read_by_range_and_deleted() {
    let fake = fake_videos(Arc::new(AtomicBool::new(false))).await;
    let connection = videos_connection(&fake);
    let app = TestApp::start_with(|c| c.connection.push(connection)).await;
    let (_admin, token) = admin_with_credits(&app, 200).await;
    assert_eq!(app.running.state.media.backend_name(), "local");
    generation_ranges_and_deletion(&app, &token, &Kept::Disk).await;
    app.stop().await;
}

#[tokio::test]
async fn on_s3_deleting_an_account_removes_its_objects_and_destroys_its_key() {
    let Some(garage) = garage() else { return };
    let fake = fake_videos(Arc::new(AtomicBool::new(false))).await;
    let (connection, media) = (videos_connection(&fake), s3_media(&garage, ""));
    let app = TestApp::start_with(|c| {
        c.connection.push(connection);
        c.media = media;
    })
    .await;
    let (admin, _) = admin_with_credits(&app, 10).await;
    let (email, password) = ("mo@example.com", "mo's long password");
    let member = app.invite_member(&admin, email, password).await;
    let token = member.post_form("/account/tokens", &[("name", "script"), ("expires", "30")]).await.text_of("#new-token");
    let me: UserId = api_get(&app.url, "/api/v1/me", Some(&token)).await.json()["id"].as_str().unwrap().parse().unwrap();
    let granted = admin.post_form(&format!("/admin/users/{me}/credits"), &[("amount", "100")]).await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    let done = make_video(&app.url, &token, "to be erased").await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let key = Kept::key("", done["outputs"][0]["id"].as_str().unwrap());
    let copy = garage.object(&key).await.expect("stored");

    let deleted = member.post_form("/account/delete", &[("password", password)]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    crate::support::eventually("the person's objects are removed", async || garage.object(&key).await.is_none()).await;
    let state = app.running.state.clone();
    assert!(matches!(state.keyring.identity(&state.store, me).await, Err(reelvault::vault::keyring::KeyringError::Missing)));
    assert!(copy.starts_with(AGE_INTRO), "a surviving copy is an age file whose key is gone");
    app.stop().await;
}

#[tokio::test]
async fn kill_9_during_a_big_upload_leaves_no_multipart_upload_and_charges_once() {
    let Some(garage) = garage() else { return };
    let stall = Arc::new(AtomicBool::new(true));
    let fake = fake_videos(stall.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let connection = format!(
        "[[connection]]\nname = \"videos\"\nkind = \"openai_videos\"\nbase_url = \"{}\"\napi_key = \"sk-test\"\n\
         allow_private_network = true\ntimeout = \"60s\"\n",
        fake.at("/v1").as_str().trim_end_matches('/')
    );
    let config = garage.write_config(dir.path(), "media/", &connection);
    let (d, c) = (data.to_str().unwrap().to_string(), config.to_str().unwrap().to_string());
    let token = cli_admin_token("ops@example.com", "ops password 12", 100, &["--data-dir", &d, "--config", &c]).await;

    let mut served = Served::start(&data, &["--config", &c]);
    let url = served.url();
    let created = generate(&url, &token, serde_json::json!({"model": "sora-2", "prompt": "big", "params": {"duration": 4}})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let cost = created.json()["cost"].as_i64().unwrap();
    crate::support::eventually("a multipart upload is under way", async || !garage.multipart_uploads("media/").await.is_empty()).await;
    served.signal("KILL");
    served.wait_exit();
    assert_eq!(garage.multipart_uploads("media/").await.len(), 1, "the kill left the upload open");

    stall.store(false, Ordering::SeqCst);
    let mut again = Served::start(&data, &["--config", &c]);
    let url = again.url();
    let done = wait_terminal(&url, &token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let output = &done["outputs"][0];
    let bytes = reqwest::get(output["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    assert_eq!(sha256_hex(&bytes), output["sha256"].as_str().unwrap(), "the stored output is whole");
    assert!(garage.multipart_uploads("media/").await.is_empty(), "the interrupted upload was aborted at start-up");
    assert_eq!(garage.keys("media/").await, vec![Kept::key("media/", output["id"].as_str().unwrap())], "one object: the output");
    let (available, held) = credits(&url, &token).await;
    assert_eq!((available, held), (100 - cost, 0), "charged once, no hold left");
    again.signal("TERM");
    assert_eq!(again.wait_exit(), Some(0));
}

#[tokio::test]
async fn a_stopped_store_fails_custody_with_a_clear_reason_refunds_and_media_answer_503() {
    let Some(mut garage) = garage() else { return };
    let fake = fake_videos(Arc::new(AtomicBool::new(false))).await;
    let (connection, media) = (videos_connection(&fake), s3_media(&garage, "media/"));
    // no block cache: every read below goes to the store (a poster frame read of the first
    // video would otherwise leave its blocks in memory, served while the store is down)
    let MediaBackendConfig::S3(mut media) = media else { unreachable!() };
    media.cache = 0;
    let app = TestApp::start_with(|c| {
        c.connection.push(connection);
        c.media = MediaBackendConfig::S3(media);
    })
    .await;
    let (_admin, token) = admin_with_credits(&app, 200).await;
    let before = make_video(&app.url, &token, "made while the store is up").await;
    let link = before["outputs"][0]["url"].as_str().unwrap().to_string();
    let (available, _) = credits(&app.url, &token).await;

    garage.stop();
    let failed = make_video(&app.url, &token, "made while the store is down").await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let reason = failed.to_string();
    assert!(reason.contains("media store unreachable"), "the reason says why: {failed}");
    assert!(!reason.contains(&garage.endpoint), "without the store's address: {failed}");
    assert_eq!(credits(&app.url, &token).await, (available, 0), "refunded, no hold left");
    let media = api_get(&app.url, "/api/v1/admin/media", Some(&token)).await.json();
    assert!(media["errors"].as_u64().is_some_and(|n| n > 0), "the failed calls are counted: {media}");
    assert!(media["last_error"].is_string() && media["last_error_at"].is_string(), "with the last one's reason and time: {media}");

    let response = crate::support::client().get(&link).send().await.unwrap();
    assert_eq!(response.status(), 503, "media say the store is unreachable");
    let body = response.text().await.unwrap();
    assert!(body.contains("media store is unreachable"), "{body}");
    assert!(!body.contains(".age") && !body.contains(&garage.endpoint), "neither the store's address nor the object is shown: {body}");

    garage.restart();
    let back = crate::support::client().get(&link).send().await.unwrap();
    assert_eq!(back.status(), 200, "served again once the store is back");
    app.stop().await;
}

#[tokio::test]
async fn the_gc_aborts_abandoned_uploads_and_removes_orphan_objects_and_a_wrong_key_stops_the_start() {
    use reelvault::services::team::gc;
    use reelvault::store::media_uploads::{self, MediaUpload};
    let Some(garage) = garage() else { return };
    let media = s3_media(&garage, "media/");
    let app = TestApp::start_with(|c| c.media = media.clone()).await;
    let state = app.running.state.clone();
    let orphan = reelvault::domain::ids::AssetId::generate().to_string();
    let orphan_key = Kept::key("media/", &orphan);
    garage.s3().put(&orphan_key, AGE_INTRO.to_vec()).await;
    let stray_key = "media/zz/not-an-asset.age";
    garage.s3().put(stray_key, b"left alone".to_vec()).await;
    let abandoned_key = Kept::key("media/", &reelvault::domain::ids::AssetId::generate().to_string());
    let upload = garage.s3().start_multipart(&abandoned_key).await;
    let record = MediaUpload { key: abandoned_key.clone(), started_ms: 1 };
    let recorded = upload.clone();
    state.store.write(move |tx| media_uploads::put(tx, &recorded, &record)).await.unwrap();

    let now = std::time::SystemTime::now();
    assert_eq!(gc::collect(&state, now).await.unwrap(), 0, "a fresh object is spared");
    assert!(garage.multipart_uploads("media/").await.is_empty(), "an upload recorded before this start is aborted");
    assert!(state.store.read(media_uploads::list).await.unwrap().is_empty(), "and its record removed");
    assert_eq!(gc::collect(&state, now + gc::GRACE * 2).await.unwrap(), 1, "the orphan, once older than the grace");
    assert_eq!(garage.object(&orphan_key).await, None);
    assert!(garage.object(stray_key).await.is_some(), "a key the vault does not write is left alone");
    app.stop().await;

    // a key the store refuses: the start stops with a message that says so
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::test_config(dir.path());
    let MediaBackendConfig::S3(mut wrong) = media else { unreachable!() };
    wrong.secret_access_key = Secret::new("not the secret");
    config.media = MediaBackendConfig::S3(wrong);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = reelvault::app::build(config, listener).await.err().expect("the start is refused");
    assert!(refused.to_string().contains("media store"), "{refused}");
}
