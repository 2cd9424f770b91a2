//! The library and a generation's page actions over real HTTP: keep and share (and undo),
//! who may open a shared generation, delete with a confirmation step, reusing settings;
//! thumbnails and posters (the provider's own thumbnail of a video, an ffmpeg frame, none).

use std::time::Duration;

use reelvault::config::{ConnectionConfig, Secret};

use crate::search::wait_total;
use crate::support::fake_openai::{self, Behaviour, Content, FakeOpenAi, Route, Thumbnail};
use crate::support::generate;
use crate::support::{Browser, TestApp, api_get, walk};
use crate::support::{api_post, app_with_credits, wait_terminal};

/// Makes one demo image with `prompt` and waits for it; returns its id.
pub async fn make_image(app: &TestApp, token: &str, prompt: &str) -> String {
    let body = serde_json::json!({"model": "demo-image", "prompt": prompt, "params": {"seed": 5}});
    let created = generate(&app.url, token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, token, &id).await["state"], "succeeded");
    id
}

/// A member's browser, signed in.
async fn teammate(app: &TestApp, admin: &Browser) -> Browser {
    app.invite_member(admin, "tess@example.com", "tess password 1").await
}

#[tokio::test]
async fn library_keep_and_share_change_the_generation_and_the_search_filters() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a paper lantern").await;
    let kept = api_post(&app.url, &format!("/api/v1/generations/{id}/keep"), &token, serde_json::json!({})).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json()["kept"], true);
    wait_total(&app.url, &token, "kept=true", 1).await;
    let shared = api_post(&app.url, &format!("/api/v1/generations/{id}/share"), &token, serde_json::json!({})).await;
    assert_eq!(shared.json()["shared"], true);
    let unkept = api_post(&app.url, &format!("/api/v1/generations/{id}/unkeep"), &token, serde_json::json!({})).await;
    assert_eq!(unkept.json()["kept"], false);
    wait_total(&app.url, &token, "kept=true", 0).await;

    // the page's buttons do the same
    let page = admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.count("#keep"), 1);
    let done = admin.post_form(&format!("/generations/{id}/keep"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(admin.get(&format!("/generations/{id}")).await.count("#kept-badge"), 1);

    // bad input is a clear 4xx
    for path in ["/api/v1/generations/nonsense/keep", "/api/v1/generations/01ARZ3NDEKTSV4RRFFQ69G5FAV/keep"] {
        assert_eq!(api_post(&app.url, path, &token, serde_json::json!({})).await.status, 404, "{path}");
    }
    assert_eq!(admin.post_form("/generations/nonsense/share", &[]).await.status, 404);
}

#[tokio::test]
async fn library_a_teammate_sees_a_shared_generation_read_only_and_never_an_unshared_one() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a copper teapot").await;
    let tess = teammate(&app, &admin).await;
    assert_eq!(tess.get(&format!("/generations/{id}")).await.status, 404, "unshared by default");
    assert_eq!(tess.get(&format!("/generate?from={id}")).await.status, 404);

    assert_eq!(admin.post_form(&format!("/generations/{id}/share"), &[]).await.status, 303);
    let page = tess.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.count("#shared-note"), 1);
    assert_eq!(page.count("#keep") + page.count("#share") + page.count("#delete"), 0, "read-only");
    let media = page.attr_of("img.player", "src").expect("the image");
    assert_eq!(tess.get(&media).await.status, 200, "the media opens too");
    // a teammate may not change or delete it
    assert_eq!(tess.post_form(&format!("/generations/{id}/keep"), &[]).await.status, 404);
    assert_eq!(tess.post_form(&format!("/generations/{id}/delete"), &[]).await.status, 404);
    // settings can be reused, without the owner's reference uploads
    let form = tess.get(&format!("/generate?from={id}")).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.text_of("#prompt"), "a copper teapot");

    assert_eq!(admin.post_form(&format!("/generations/{id}/unshare"), &[]).await.status, 303);
    assert_eq!(tess.get(&format!("/generations/{id}")).await.status, 404);
}

#[tokio::test]
async fn library_delete_asks_first_then_removes_it_and_returns_to_the_library() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a glass of water").await;
    let confirm = admin.get(&format!("/generations/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.count("#confirm-delete"), 1);
    let done = admin.post_form(&format!("/generations/{id}/delete"), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some("/library"));
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.status, 404);
    assert_eq!(admin.post_form(&format!("/generations/{id}/delete"), &[]).await.status, 404, "already gone");
}

#[tokio::test]
async fn library_use_these_settings_again_prefills_the_form_and_a_variation_clears_the_seed() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let body = serde_json::json!({"model": "demo-video", "prompt": "waves on a pier", "params": {"duration": 2, "seed": 42}});
    let created = generate(&app.url, &token, body).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    wait_terminal(&app.url, &token, &id).await;
    let page = admin.get(&format!("/generations/{id}")).await;
    let reuse = page.attr_of("#reuse", "href").unwrap();
    let form = admin.get(&reuse).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.text_of("#prompt"), "waves on a pier");
    assert_eq!(form.attr_of("#param-seed", "value").as_deref(), Some("42"));
    assert_eq!(form.attr_of("#param-duration option[selected]", "value").as_deref(), Some("2"));
    assert_eq!(form.attr_of("input[name=model]", "value").as_deref(), Some("demo-video"));
    let variation = admin.get(&page.attr_of("#variation", "href").unwrap()).await;
    assert_eq!(variation.attr_of("#param-seed", "value").as_deref(), Some(""));
    assert_eq!(variation.text_of("#prompt"), "waves on a pier");
    assert_eq!(admin.get("/generate?from=nonsense").await.status, 400);
}

/// `POST /library/bulk` with action zip, as bytes (must be a 200 ZIP).
async fn download_zip(browser: &Browser, ids: &[&str]) -> Vec<u8> {
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let response = crate::abuse::downloads::start_zip(browser, &ids).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    response.bytes().await.unwrap().to_vec()
}

/// The ids of the cards on a library page.
fn card_ids(page: &crate::support::Page) -> Vec<String> {
    let doc = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse("li.tile").unwrap();
    doc.select(&sel).filter_map(|e| e.value().attr("id").map(|id| id.trim_start_matches("card-").to_string())).collect()
}

#[tokio::test]
async fn library_page_lists_searches_filters_and_pages_with_load_more() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let kite = make_image(&app, &token, "a red kite over green hills").await;
    let boat = make_image(&app, &token, "a small boat at sea").await;
    wait_total(&app.url, &token, "", 2).await;
    let page = admin.get("/library").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(card_ids(&page), [boat.clone(), kite.clone()], "newest first");
    assert!(page.attr_of(&format!("#card-{kite} .thumb img"), "src").is_some_and(|s| s.contains("sig=")), "a thumbnail");
    assert!(page.body.contains("(2)"), "facet counts beside the options");
    assert_eq!(page.count("nav a[href='/library']"), 1);

    let found = admin.get("/library?q=kites").await;
    assert_eq!(card_ids(&found), [kite.as_str()]);
    assert_eq!(found.text_of(&format!("#card-{kite} mark")), "kite", "highlighted");
    assert_eq!(card_ids(&admin.get("/library?sort=oldest").await), [kite.clone(), boat.clone()]);
    assert_eq!(card_ids(&admin.get("/library?kind=video").await), Vec::<String>::new());
    assert_eq!(admin.get("/library?kind=audio").await.status, 400);

    let first = admin.get("/library?limit=1").await;
    assert_eq!(card_ids(&first), [boat.as_str()]);
    let more = first.attr_of("#more a", "href").expect("load more");
    let next = admin.get(&more).await;
    assert_eq!(card_ids(&next), [kite.as_str()]);
    assert_eq!(next.count("#more"), 0, "the last page");
}

#[tokio::test]
async fn library_bulk_keep_zip_and_delete_check_every_id() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let a = make_image(&app, &token, "an orange cat").await;
    let b = make_image(&app, &token, "a grey dog").await;
    let kept = admin.post_form("/library/bulk", &[("action", "keep"), ("id", &a), ("id", &b)]).await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    wait_total(&app.url, &token, "kept=true", 2).await;

    // the ZIP: one entry per output plus a JSON sidecar each, with the stored hashes
    let zip = download_zip(&admin, &[&a, &b]).await;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a valid ZIP");
    assert_eq!(archive.len(), 4);
    let names: Vec<String> = archive.file_names().map(|n| n.unwrap().to_string()).collect();
    let sidecar_name = names.iter().find(|n| n.ends_with(".json")).unwrap().clone();
    let sidecar: serde_json::Value = serde_json::from_reader(archive.by_name(&sidecar_name).unwrap()).unwrap();
    assert_eq!(sidecar["model"], "demo-image");
    assert_eq!(sidecar["kept"], true);
    let file = sidecar["files"][0]["file"].as_str().unwrap().to_string();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_name(&file).unwrap(), &mut bytes).unwrap();
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), sidecar["files"][0]["sha256"].as_str().unwrap());

    // bad selections change nothing
    let tess = teammate(&app, &admin).await;
    assert_eq!(tess.post_form("/library/bulk", &[("action", "delete"), ("id", &a)]).await.status, 404, "not theirs");
    assert_eq!(admin.post_form("/library/bulk", &[("action", "delete")]).await.status, 422, "nothing selected");
    assert_eq!(admin.post_form("/library/bulk", &[("action", "delete"), ("id", "x")]).await.status, 400);
    assert_eq!(admin.post_form("/library/bulk", &[("action", "melt"), ("id", &a)]).await.status, 400);
    let other = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assert_eq!(admin.post_form("/library/bulk", &[("action", "delete"), ("id", &a), ("id", other)]).await.status, 404);
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{a}"), Some(&token)).await.status, 200, "still there");

    let deleted = admin.post_form("/library/bulk", &[("action", "delete"), ("id", &a), ("id", &b)]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    for id in [&a, &b] {
        assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.status, 404);
    }
    wait_total(&app.url, &token, "", 0).await;
}

#[tokio::test]
async fn library_image_outputs_get_an_encrypted_jpeg_thumbnail_that_deletion_removes() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a tall lighthouse").await;
    wait_total(&app.url, &token, "", 1).await;
    let g = api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.json();
    // the thumbnail is made after the success is recorded: until then the card shows the image
    let output = g["outputs"][0]["id"].as_str().unwrap().to_string();
    let card = format!("#card-{id} .thumb img");
    crate::support::eventually("the thumbnail", async || {
        admin.get("/library").await.attr_of(&card, "src").is_some_and(|src| !src.contains(&output))
    })
    .await;
    let page = admin.get("/library").await;
    let thumb = page.attr_of(&card, "src").expect("a thumbnail");
    assert_eq!(g["outputs"].as_array().unwrap().len(), 1, "the poster is not an output");
    assert!(!thumb.contains(g["outputs"][0]["id"].as_str().unwrap()), "the card shows the poster, not the output");
    let response = admin.client.get(format!("{}{thumb}", app.url)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let jpeg = response.bytes().await.unwrap();
    let decoded = image::load_from_memory(&jpeg).expect("a JPEG");
    assert!(decoded.width() <= reelvault::engine::posters::WIDTH);

    let files = |app: &TestApp| walk(&app.data_dir().join("media"));
    assert_eq!(files(&app), 2, "the output and its poster");
    assert_eq!(admin.post_form(&format!("/generations/{id}/delete"), &[]).await.status, 303);
    assert_eq!(files(&app), 0);
}

#[tokio::test]
async fn library_video_outputs_get_an_encrypted_poster_frame_taken_by_ffmpeg() {
    if !crate::support::has_ffmpeg() {
        assert!(std::env::var_os("CI").is_none(), "CI must install ffmpeg (.ci/run does)");
        eprintln!("skipping the video poster test: ffmpeg is not installed (apt-get install ffmpeg)");
        return;
    }
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let body = serde_json::json!({"model": "demo-video", "prompt": "a kite over dunes", "params": {"duration": 2}});
    let created = generate(&app.url, &token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, &token, &id).await["state"], "succeeded");
    wait_total(&app.url, &token, "", 1).await;
    let page = admin.get("/library").await;
    let poster = page.attr_of(&format!("#card-{id} .thumb img"), "src").expect("a poster frame on the card");
    let response = admin.client.get(format!("{}{poster}", app.url)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let frame = image::load_from_memory(&response.bytes().await.unwrap()).expect("a JPEG frame");
    assert!(frame.width() > 0 && frame.width() <= reelvault::engine::posters::WIDTH);
    assert_eq!(walk(&app.data_dir().join("media")), 2, "the video and its poster, both encrypted");
    app.stop().await;
}

/// The app with an `openai-videos` connection to a fake OpenAI, and its admin with credits.
pub async fn app_with_openai(behaviour: Behaviour) -> (TestApp, FakeOpenAi, Browser, String) {
    let fake = FakeOpenAi::start(behaviour).await;
    let openai = ConnectionConfig {
        base_url: Some(fake.base_url.clone()),
        api_key: Some(Secret::new(fake_openai::KEY)),
        allow_private_network: true,
        delay: Duration::ZERO,
        timeout: Duration::from_secs(5),
        ..ConnectionConfig::new("openai", "openai_videos")
    };
    let app = TestApp::start_with(|config| config.connection.push(openai)).await;
    let (admin, token) = crate::support::admin_with_credits(&app, 200).await;
    (app, fake, admin, token)
}

/// Makes a 4-second sora-2 video and waits for it to succeed; returns its id.
pub async fn make_sora_video(app: &TestApp, token: &str, prompt: &str) -> String {
    let body = serde_json::json!({"model": "sora-2", "prompt": prompt, "params": {"duration": 4}});
    let created = generate(&app.url, token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let done = wait_terminal(&app.url, token, &id).await;
    assert_eq!(done["state"], "succeeded", "a poster never fails the job: {done}");
    assert_eq!(done["outputs"].as_array().map(Vec::len), Some(1), "the thumbnail is not an output: {done}");
    id
}

/// The poster on the library card of `id`, decoded (`None`: the card shows a placeholder).
async fn card_poster(app: &TestApp, admin: &Browser, id: &str) -> Option<image::RgbImage> {
    let page = admin.get("/library").await;
    let Some(src) = page.attr_of(&format!("#card-{id} .thumb img"), "src") else {
        assert_eq!(page.count(&format!("#card-{id} .thumb .placeholder")), 1, "neither a poster nor a placeholder: {}", page.body);
        return None;
    };
    let response = admin.client.get(format!("{}{src}", app.url)).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    Some(image::load_from_memory(&response.bytes().await.unwrap()).expect("a JPEG").to_rgb8())
}

/// Whether every pixel of `image` is pure red, give or take JPEG's rounding.
fn is_red(image: &image::RgbImage) -> bool {
    image.pixels().all(|p| p[0] >= 235 && p[1] <= 20 && p[2] <= 20)
}

#[tokio::test]
async fn library_video_posters_are_the_providers_own_thumbnail_where_its_api_gives_one() {
    let (app, fake, admin, token) = app_with_openai(Behaviour::default()).await;
    let id = make_sora_video(&app, &token, "a red kite over the dunes").await;
    assert_eq!(fake.count(Route::Thumbnail), 1, "the provider's thumbnail was fetched once");
    wait_total(&app.url, &token, "", 1).await;
    let poster = card_poster(&app, &admin, &id).await.expect("a poster on the card");
    // the fake's thumbnail is 1280×720 pure red; its video is not even decodable, so this can
    // only be the provider's thumbnail, resized
    assert_eq!(poster.dimensions(), (reelvault::engine::posters::WIDTH, 216), "resized to the thumbnail width");
    assert!(is_red(&poster), "the poster is the provider's red thumbnail");
    // the OpenAI-compatible API serves the same poster as the video's thumbnail
    let served = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/v1/videos/{id}/content?variant=thumbnail", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let served = image::load_from_memory(&served.bytes().await.unwrap()).expect("a JPEG").to_rgb8();
    assert!(served.width() <= reelvault::engine::posters::WIDTH && is_red(&served));
    assert_eq!(walk(&app.data_dir().join("media")), 2, "the video and its poster, both encrypted");
    let red = fake_openai::red_webp();
    assert!(!find_bytes(&app.data_dir(), &red[..64]), "no plaintext of the thumbnail is on disk");
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn library_video_posters_fall_back_to_a_frame_when_the_providers_thumbnail_fails() {
    let behaviour = Behaviour { content: Content::Playable, thumbnail: Thumbnail::NotFound, ..Behaviour::default() };
    let (app, fake, admin, token) = app_with_openai(behaviour.clone()).await;
    let missing = make_sora_video(&app, &token, "a blue lagoon").await;
    fake.set_behaviour(Behaviour { thumbnail: Thumbnail::Garbage, ..behaviour });
    let garbled = make_sora_video(&app, &token, "a blue lagoon again").await;
    assert_eq!(fake.count(Route::Thumbnail), 2, "each thumbnail was asked for");
    wait_total(&app.url, &token, "", 2).await;
    for id in [&missing, &garbled] {
        match card_poster(&app, &admin, id).await {
            Some(frame) => {
                assert!(crate::support::has_ffmpeg(), "without ffmpeg there is no poster");
                assert!(frame.width() <= reelvault::engine::posters::WIDTH);
                assert_eq!(frame.dimensions(), (320, 180), "a frame of the 320×180 video, taken by ffmpeg");
                assert!(!is_red(&frame));
            }
            None => assert!(!crate::support::has_ffmpeg(), "with ffmpeg the poster is a frame of the video"),
        }
    }
    let expected = if crate::support::has_ffmpeg() { 4 } else { 2 };
    assert_eq!(walk(&app.data_dir().join("media")), expected, "the videos and their posters, if any");
    app.stop().await;
    fake.stop().await;
}

/// Whether any file under `dir` contains `needle`.
fn find_bytes(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            find_bytes(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        }
    })
}

#[tokio::test]
async fn library_cards_say_when_retention_deletes_an_item_and_warn_a_week_before() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a tin robot").await;
    wait_total(&app.url, &token, "", 1).await;
    let card = |page: &crate::support::Page| page.text_of(&format!("#card-{id} .expires"));
    let page = admin.get("/library").await;
    assert_eq!(card(&page), "Expires in 180 days", "outputs are kept 180 days by default");
    assert_eq!(admin.post_form(&format!("/generations/{id}/keep"), &[]).await.status, 303);
    wait_total(&app.url, &token, "kept=true", 1).await;
    assert_eq!(admin.get("/library").await.count(&format!("#card-{id} .expires")), 0, "a kept item does not expire");
    app.stop().await;

    // with a 5-day period the card warns
    let app = TestApp::start_with(|c| {
        c.connection[0].delay = Duration::from_millis(10);
        c.retention.outputs = Duration::from_secs(5 * 86_400);
    })
    .await;
    let (admin, token) = crate::support::admin_with_credits(&app, 100).await;
    let id = make_image(&app, &token, "a glass fox").await;
    wait_total(&app.url, &token, "", 1).await;
    let text = admin.get("/library").await.text_of(&format!("#card-{id} .expires.soon"));
    assert_eq!(text, "Expires in 5 days: download or keep it");
    app.stop().await;
}
