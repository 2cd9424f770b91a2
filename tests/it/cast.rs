//! The cast over the API: members made of uploaded images become each model's references
//! (reference images, or a first frame), reach a provider as its reference image, are refused
//! by a model that takes none, and keep their files from retention while they exist.

use std::time::Duration;

use fake_upstream::{Reply, Request};
use reelvault::domain::audit::AuditAction;
use reelvault::domain::time::Timestamp;
use reelvault::services::privacy::retention;
use reqwest::Method;
use serde_json::{Value, json};

use crate::catalog::send;
use crate::support::provider_rig::{image_bytes, provider};
use crate::support::{TestApp, api_get, api_post, app_with_credits, wait_terminal};
use crate::uploads::upload_id;

const CAST: &str = "/api/v1/cast";

fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    image_bytes(image::ImageFormat::Png, width, height, seed)
}

/// A cast member called `name` made of fresh uploads of these sizes; its id and its images' ids.
pub async fn member(base: &str, token: &str, name: &str, sizes: &[(u32, u32)]) -> (String, Vec<String>) {
    let mut images = Vec::new();
    for (n, (w, h)) in sizes.iter().enumerate() {
        images.push(upload_id(base, token, png(*w, *h, n as u8 + 1), "face.png").await);
    }
    let created = api_post(base, CAST, token, json!({"name": name, "description": "the hero", "images": images})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let view = created.json();
    assert_eq!(view["images"].as_array().unwrap().len(), sizes.len());
    (view["id"].as_str().unwrap().to_string(), images)
}

fn references(g: &Value) -> Vec<(String, String)> {
    g["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["role"].as_str().unwrap().to_string(), r["upload"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn cast_members_become_references_by_what_each_model_takes() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let base = &app.url;
    let (ann, images) = member(base, &token, "Ann", &[(40, 30), (30, 40)]).await;
    let (bob, _) = member(base, &token, "Bob", &[(32, 32)]).await;

    // members need a name and 1 to 8 images of the caller's
    assert_eq!(api_post(base, CAST, &token, json!({"name": "Empty", "images": []})).await.json()["details"]["parameter"], "images");
    assert_eq!(api_post(base, CAST, &token, json!({"name": "", "images": [images[0]]})).await.json()["details"]["parameter"], "name");
    let stranger = json!({"name": "X", "images": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]});
    assert_eq!(api_post(base, CAST, &token, stranger).await.status, 404);

    // demo-image takes one reference image: the first member's first image
    let made = api_post(base, "/api/v1/generations", &token, json!({"model": "demo-image", "prompt": "a portrait", "cast": [ann]})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(references(&made.json()), vec![("reference".to_string(), images[0].clone())]);
    // demo-video takes a first frame: one member's first image
    let video = json!({"model": "demo-video", "prompt": "walking", "params": {"duration": 2}, "cast": [ann]});
    let moving = api_post(base, "/api/v1/generations", &token, video).await;
    assert_eq!(moving.status, 201, "{}", moving.body);
    assert_eq!(references(&moving.json()), vec![("first_frame".to_string(), images[0].clone())]);
    let two = json!({"model": "demo-video", "prompt": "walking", "cast": [ann, bob]});
    let refused = api_post(base, "/api/v1/generations", &token, two).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.json()["message"].as_str().unwrap().contains("pick one cast member"), "{}", refused.body);
    for g in [made.json(), moving.json()] {
        assert_eq!(wait_terminal(base, &token, g["id"].as_str().unwrap()).await["state"], "succeeded");
    }

    // a model that takes no reference images says so by name
    let plain = json!({"id": "demo-plain", "like": "demo-image", "label": "Plain demo", "inputs": []});
    assert_eq!(api_post(base, "/api/v1/admin/models", &token, plain).await.status, 201);
    let refused = api_post(base, "/api/v1/generations", &token, json!({"model": "demo-plain", "prompt": "x", "cast": [ann]})).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["message"], "Plain demo (demo-plain) takes no reference images; remove the cast member.");
    assert_eq!(refused.json()["details"]["parameter"], "cast");

    // a voice clip is an audio upload; a model taking reference audio gets it
    let voice = upload_id(base, &token, crate::sound::wav_with_info(1), "voice.wav").await;
    let not_audio = json!({"name": "Cleo", "images": [images[1]], "voice": images[0]});
    assert_eq!(api_post(base, CAST, &token, not_audio).await.json()["details"]["parameter"], "voice");
    let cleo = api_post(base, CAST, &token, json!({"name": "Cleo", "images": [images[1]], "voice": voice})).await;
    assert_eq!(cleo.status, 201, "{}", cleo.body);
    assert_eq!(cleo.json()["voice"]["content_type"], "audio/wav");
    let cleo = cleo.json()["id"].as_str().unwrap().to_string();
    let talking = json!({"id": "demo-voice", "like": "demo-image", "label": "Voice demo",
        "inputs": [{"role": "reference", "max": 2}, {"role": "reference_audio"}]});
    assert_eq!(api_post(base, "/api/v1/admin/models", &token, talking).await.status, 201);
    let spoken = api_post(base, "/api/v1/generations", &token, json!({"model": "demo-voice", "prompt": "hello", "cast": [cleo]})).await;
    assert_eq!(spoken.status, 201, "{}", spoken.body);
    assert_eq!(
        references(&spoken.json()),
        vec![("reference".to_string(), images[1].clone()), ("reference_audio".to_string(), voice.clone())]
    );

    // changed and listed; another person sees none of it
    let renamed = send(base, Method::PATCH, &format!("{CAST}/{ann}"), &token, Some(json!({"name": "Ann B."}))).await;
    assert_eq!((renamed.status, renamed.json()["name"].as_str()), (200, Some("Ann B.")), "{}", renamed.body);
    assert_eq!(api_get(base, CAST, Some(&token)).await.json()["cast"].as_array().unwrap().len(), 3);
    let added = crate::support::api_multipart(
        base,
        &format!("{CAST}/{bob}/images"),
        &token,
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(png(20, 20, 9)).file_name("b.png")),
    )
    .await;
    assert_eq!((added.status, added.json()["images"].as_array().map(Vec::len)), (200, Some(2)), "{}", added.body);
    app.stop().await;
}

#[tokio::test]
async fn a_cast_members_image_reaches_the_provider_as_its_reference_image() {
    let result = png(16, 16, 4);
    let answer = json!({"image": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &result), "finish_reason": "SUCCESS", "seed": 1});
    let rig = provider("stability", "stability")
        .key("sk-fake")
        .credits(100)
        .connection(|c| c.timeout = Duration::from_secs(2))
        .serve(move |r: &Request| match r.route().as_str() {
            "POST /v2beta/stable-image/generate/ultra" => Reply::json(200, answer.clone()),
            _ => Reply::status(404),
        })
        .await;
    let base = rig.app.url.clone();
    let (mira, _) = member(&base, &rig.token, "Mira", &[(48, 32), (32, 48)]).await;
    let done = rig.succeeds(json!({"model": "stable-image-ultra", "prompt": "Mira on a bridge", "cast": [mira]}), 8).await;
    assert_eq!(references(&done).len(), 1);
    let sent = rig.fake.requests_to("POST /v2beta/stable-image/generate/ultra");
    let image = sent[0].part("image").expect("the member's image as the reference part");
    let decoded = image::load_from_memory(&image.data).expect("a readable image");
    assert_eq!((decoded.width(), decoded.height()), (48, 32), "the member's first image");
    rig.stop().await;
}

#[tokio::test]
async fn retention_keeps_a_members_images_and_a_member_a_preset_uses_is_not_deleted() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::ZERO).await;
    let (_admin, token) = crate::support::admin_with_credits(&app, 50).await;
    let base = &app.url;
    let (ann, images) = member(base, &token, "Ann", &[(40, 30)]).await;
    let loose = upload_id(base, &token, png(10, 10, 7), "loose.png").await;
    let preset = json!({"name": "Ann shots", "model": "demo-image", "prompt_template": "Ann {doing}", "cast": [ann]});
    let preset = api_post(base, "/api/v1/presets", &token, preset).await;
    assert_eq!(preset.status, 201, "{}", preset.body);
    let preset_id = preset.json()["id"].as_str().unwrap().to_string();

    let state = &app.running.state;
    let later = Timestamp::now().plus(Duration::from_secs(31 * 86_400));
    let due = |plan: &retention::Plan| plan.items.iter().filter(|i| i.class == "uploads").map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(due(&retention::plan(state, later).await.unwrap()), vec![loose.clone()], "the member's image is kept");

    // the member is in use: deleting it names the preset, and nothing changes
    let refused = send(base, Method::DELETE, &format!("{CAST}/{ann}"), &token, None).await;
    assert_eq!((refused.status, refused.json()["code"].as_str()), (409, Some("in_use")), "{}", refused.body);
    assert!(refused.json()["message"].as_str().unwrap().contains("Ann shots"), "{}", refused.body);
    let made = api_post(base, &format!("/api/v1/presets/{preset_id}/generate"), &token, json!({"values": {"doing": "laughing"}})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(references(&made.json()), vec![("reference".to_string(), images[0].clone())]);
    let done = wait_terminal(base, &token, made.json()["id"].as_str().unwrap()).await;
    assert_eq!((done["state"].as_str(), done["prompt"].as_str()), (Some("succeeded"), Some("Ann laughing")));

    // once the preset and the member are gone, the image follows the upload class again
    assert_eq!(send(base, Method::DELETE, &format!("/api/v1/presets/{preset_id}"), &token, None).await.status, 204);
    assert_eq!(send(base, Method::DELETE, &format!("{CAST}/{ann}"), &token, None).await.status, 204);
    let mut now_due = due(&retention::plan(state, later).await.unwrap());
    now_due.sort();
    let mut expected = vec![loose, images[0].clone()];
    expected.sort();
    assert_eq!(now_due, expected);
    let filter = reelvault::services::privacy::audit::AuditFilter { action: Some(AuditAction::CastDeleted), ..Default::default() };
    assert_eq!(reelvault::services::privacy::audit::list(state, filter, 10).await.unwrap().0.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn deleting_ones_content_deletes_ones_presets_and_cast_and_their_files() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 20).await;
    let base = &app.url;
    let (ann, images) = member(base, &token, "Ann", &[(40, 30)]).await;
    let preset = json!({"name": "Ann shots", "model": "demo-image", "prompt_template": "Ann {doing}", "cast": [ann]});
    assert_eq!(api_post(base, "/api/v1/presets", &token, preset).await.status, 201);
    let file = app.running.state.media.path_of(&images[0]).unwrap();
    let body = json!({"password": crate::support::ADMIN_PASSWORD});
    let erased = send(base, Method::DELETE, "/api/v1/account/content", &token, Some(body)).await;
    assert!(erased.status < 300, "{}", erased.body);
    crate::support::eventually("the presets and cast are gone", async || {
        api_get(base, "/api/v1/presets", Some(&token)).await.json()["presets"].as_array().is_some_and(Vec::is_empty)
            && api_get(base, CAST, Some(&token)).await.json()["cast"].as_array().is_some_and(Vec::is_empty)
            && !file.exists()
    })
    .await;
    app.stop().await;
}
