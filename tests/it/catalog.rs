//! The living catalog as people use it: models as data that admins change without a release,
//! inputs checked before anything is held, lifecycle dates that retire and deprecate models,
//! catalog files checked, installed and exported, and history that keeps what it was made with.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::process::run;
use crate::support::provider_rig::image_bytes;
use crate::support::{Browser, Page, TestApp, api_get, app_with_credits, client, credits, generate, wait_terminal};
use crate::uploads::upload_id;

pub(crate) async fn send(base: &str, method: Method, path: &str, token: &str, body: Option<Value>) -> Page {
    let mut request = client().request(method, format!("{base}{path}")).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    Browser::read(request.send().await.expect("request")).await
}

pub(crate) fn day(offset: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(offset);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// An image-to-video model added by the admin: like the demo video, but it needs a first frame.
async fn add_image_to_video(base: &str, token: &str) {
    let body = json!({
        "id": "demo-i2v", "like": "demo-video", "label": "Demo image to video",
        "inputs": [{ "role": "first_frame", "required": true }, { "role": "reference", "max": 2 }],
    });
    let added = send(base, Method::POST, "/api/v1/admin/models", token, Some(body)).await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.json()["layer"], "edited");
}

#[tokio::test]
async fn a_model_that_needs_a_first_frame_refuses_a_submit_without_one_before_holding_anything() {
    let (app, admin, token) = app_with_credits(std::time::Duration::ZERO, 100).await;
    let base = &app.url;
    add_image_to_video(base, &token).await;
    let listed = api_get(base, "/api/v1/models", Some(&token)).await.json();
    let model = listed["models"].as_array().unwrap().iter().find(|m| m["id"] == "demo-i2v").expect("the new model is offered").clone();
    assert_eq!(model["inputs"][0], json!({ "role": "first_frame", "required": true, "max": 1, "types": [] }));
    let before = credits(base, &token).await;

    // no first frame: refused at once, naming the field, nothing held
    let refused = generate(base, &token, json!({ "model": "demo-i2v", "prompt": "a cat" })).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["details"]["parameter"], "references.first_frame");
    assert!(refused.json()["message"].as_str().unwrap().contains("first frame"), "{}", refused.body);
    // the same through /v1
    let v1 = send(base, Method::POST, "/v1/videos", &token, Some(json!({ "model": "demo-i2v", "prompt": "a cat" }))).await;
    assert_eq!(v1.status, 422, "{}", v1.body);
    assert_eq!(v1.json()["error"]["param"], "references.first_frame");

    let frame = upload_id(base, &token, image_bytes(image::ImageFormat::Png, 64, 36, 1), "frame.png").await;
    let refs = |roles: &[&str]| -> Vec<Value> { roles.iter().map(|r| json!({ "role": r, "upload": frame })).collect() };
    for (references, field) in [
        (refs(&["first_frame", "reference", "reference", "reference"]), "references.reference"),
        (refs(&["first_frame", "driving_audio"]), "references.driving_audio"),
        (refs(&["first_frame", "first_frame"]), "references.first_frame"),
    ] {
        let refused = generate(base, &token, json!({ "model": "demo-i2v", "prompt": "a cat", "references": references })).await;
        assert_eq!((refused.status, refused.json()["details"]["parameter"].as_str()), (422, Some(field)), "{}", refused.body);
    }
    let bad_param = generate(base, &token, json!({ "model": "demo-i2v", "prompt": "a cat", "params": { "duration": 7 } })).await;
    assert_eq!(bad_param.json()["details"]["parameter"], "params.duration", "{}", bad_param.body);
    assert_eq!(credits(base, &token).await, before, "no refusal held a credit");

    // the form says what the model needs
    let form = admin.get("/generate?model=demo-i2v").await;
    assert!(form.text_of("label[for='ref-first_frame']").contains("(required)"), "{}", form.body);
    assert_eq!(form.attr_of("#ref-first_frame", "required").as_deref(), Some(""));

    // with its first frame it runs, and keeps what it was made with
    let made = generate(base, &token, json!({ "model": "demo-i2v", "prompt": "a cat", "references": refs(&["first_frame"]) })).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(base, &token, &id).await["state"], "succeeded");
    let relabelled = send(
        base,
        Method::PUT,
        "/api/v1/admin/models/demo-i2v/catalog",
        &token,
        Some(json!({ "label": "Renamed", "price": { "type": "per_second", "credits": 9 } })),
    )
    .await;
    assert_eq!(relabelled.status, 200, "{}", relabelled.body);
    let g = api_get(base, &format!("/api/v1/generations/{id}"), Some(&token)).await.json();
    assert_eq!(g["made_with"]["label"], "Demo image to video", "history keeps the label it was made with: {g}");
    assert_eq!(g["made_with"]["price"], "2 credits per second of video");
    assert_eq!(g["cost"], 6, "the ledger is not rewritten");
}

#[tokio::test]
async fn a_retired_model_names_its_successor_and_a_deprecated_one_warns_with_sunset_headers() {
    let (app, admin, token) = app_with_credits(std::time::Duration::ZERO, 100).await;
    let base = &app.url;
    add_image_to_video(base, &token).await;
    // demo-i2v shuts down in ten days; demo-video was shut down yesterday
    let soon = json!({ "deprecated_on": day(-5), "shutdown_on": day(10), "successor": "demo-video" });
    assert_eq!(send(base, Method::PUT, "/api/v1/admin/models/demo-i2v/catalog", &token, Some(soon)).await.status, 200);
    let policy = send(
        base,
        Method::PUT,
        "/api/v1/admin/models/demo-i2v",
        &token,
        Some(json!({ "enabled_for_admins": true, "enabled_for_members": false, "credits": null })),
    )
    .await;
    assert_eq!(policy.status, 200, "{}", policy.body);

    let frame = upload_id(base, &token, image_bytes(image::ImageFormat::Png, 64, 36, 2), "frame.png").await;
    let made = generate(
        base,
        &token,
        json!({ "model": "demo-i2v", "prompt": "a dog", "references": [{ "role": "first_frame", "upload": frame }] }),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(made.header("deprecation").is_some_and(|v| v.starts_with('@')), "{:?}", made.headers);
    let sunset = made.header("sunset").expect("a Sunset header").to_string();
    assert!(sunset.ends_with("00:00:00 GMT"), "{sunset}");
    let models = api_get(base, "/api/v1/models", Some(&token)).await.json();
    let i2v = models["models"].as_array().unwrap().iter().find(|m| m["id"] == "demo-i2v").unwrap().clone();
    assert_eq!(i2v["lifecycle"]["status"], "deprecated");
    assert!(i2v["lifecycle"]["warning"].as_str().unwrap().contains(&day(10)));
    assert!(admin.get("/generate?model=demo-i2v").await.text_of("#lifecycle-warning").contains(&day(10)));

    // the admin home lists it with what names it, and one action moves that to the successor
    let home = admin.get("/").await;
    assert!(home.text_of("#due").contains("Its model policy names it"), "{}", home.text_of("#due"));
    let remap = home.attr_of("#due form", "action").expect("a remap form");
    assert_eq!(admin.post_form(&remap, &[]).await.status, 303);
    let due = api_get(base, "/api/v1/admin/catalog/due", Some(&token)).await.json();
    assert_eq!(due[0]["model"], "demo-i2v");
    assert_eq!(due[0]["policy"], false, "the policy moved: {due}");
    let policies = api_get(base, "/api/v1/admin/models", Some(&token)).await.json();
    let video = policies["models"].as_array().unwrap().iter().find(|m| m["model"] == "demo-video").unwrap().clone();
    assert_eq!(video["enabled_for_members"], false, "demo-video took over demo-i2v's policy");

    // retired: unavailable everywhere, naming the successor
    let gone = json!({ "shutdown_on": day(-1), "successor": "demo-i2v" });
    assert_eq!(send(base, Method::PUT, "/api/v1/admin/models/demo-video/catalog", &token, Some(gone)).await.status, 200);
    let models = api_get(base, "/api/v1/models", Some(&token)).await.json();
    let video = models["models"].as_array().unwrap().iter().find(|m| m["id"] == "demo-video").unwrap().clone();
    assert_eq!((video["available"].as_bool(), video["lifecycle"]["status"].as_str()), (Some(false), Some("retired")));
    assert!(video["unavailable_reason"].as_str().unwrap().contains("demo-i2v"), "{video}");
    let refused = generate(base, &token, json!({ "model": "demo-video", "prompt": "x" })).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.json()["message"].as_str().unwrap().contains("Demo image to video (demo-i2v)"), "{}", refused.body);
    let v1 = send(base, Method::POST, "/v1/videos", &token, Some(json!({ "model": "demo-video", "prompt": "x" }))).await;
    assert!(v1.json()["error"]["message"].as_str().unwrap().contains("demo-i2v"), "{}", v1.body);
    assert!(admin.get("/models").await.body.contains("shut this model down"));
}

#[tokio::test]
async fn catalog_files_are_checked_installed_and_exported_and_an_invalid_one_changes_nothing() {
    let (app, _admin, token) = app_with_credits(std::time::Duration::ZERO, 50).await;
    let base = app.url.clone();
    let file = "# a newer Demo\n[[model]]\nid = \"demo-video\"\nlabel = \"Demo video 2\"\n\n[[model]]\nid = \"demo-video-long\"\nlike = \"demo-video\"\nlabel = \"Long demo\"\nsound = \"none\"\n\
                params = [{ name = \"duration\", label = \"Seconds\", type = \"number\", values = [5, 10], default = 5 }]\n\
                price = { type = \"per_second\", credits = 1, minimum = 8 }\n";
    let bad = "[[model]]\nid = \"demo-video\"\n\n[[model]]\nid = \"x\"\nlike = \"demo-video\"\nprice = { type = \"per_second\", credits = 1, rules = [{ when = { resolution = \"4k\" }, credits = 3 }] }\n";

    // the command line checks a file without a store
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.toml"), file).unwrap();
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let (code, out, err) = run(&["catalog", "check", dir.path().join("good.toml").to_str().unwrap()], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("valid, 2 models"), "{out}");
    let (code, _, err) = run(&["catalog", "check", dir.path().join("bad.toml").to_str().unwrap()], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("line 4") && err.contains("model \"x\"") && err.contains("price.rules[0].when.resolution"), "{err}");

    // through the API: refused whole, then installed
    let import = |body: &'static str| {
        let (base, token) = (base.clone(), token.clone());
        async move {
            let request = client()
                .post(format!("{base}/api/v1/admin/catalog"))
                .bearer_auth(&token)
                .header("content-type", "application/toml")
                .body(body);
            Browser::read(request.send().await.unwrap()).await
        }
    };
    let refused = import(bad).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.json()["message"].as_str().unwrap().contains("line 4"), "{}", refused.body);
    let catalog = api_get(&base, "/api/v1/catalog", Some(&token)).await.json();
    assert!(catalog["models"].as_array().unwrap().iter().all(|m| m["id"] != "x"), "nothing of the invalid file is in force");
    let installed = import(file).await;
    assert_eq!(installed.status, 200, "{}", installed.body);
    assert_eq!(installed.json()["imported"], 2);
    let long = generate(&base, &token, json!({ "model": "demo-video-long", "prompt": "x", "params": { "duration": 5 } })).await;
    assert_eq!((long.status, long.json()["cost"].as_i64()), (201, Some(8)), "the minimum charge applies: {}", long.body);

    // the catalog in force, as a file that checks
    let exported = api_get(&base, "/api/v1/catalog?format=toml", Some(&token)).await;
    assert!(exported.body.contains("id = \"demo-video-long\"") && exported.body.contains("label = \"Demo video 2\""), "{}", exported.body);
    std::fs::write(dir.path().join("export.toml"), &exported.body).unwrap();
    let (code, _, err) = run(&["catalog", "check", dir.path().join("export.toml").to_str().unwrap()], None).await;
    assert_eq!(code, 0, "{err}");

    // kept across a restart, and the command line reaches the running service
    let app = app.restart().await;
    let data = app.data_dir();
    let (code, out, err) = run(&["catalog", "export", "--data-dir", data.to_str().unwrap()], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Long demo"), "{out}");
    let member_view = api_get(&app.url, "/api/v1/catalog", Some(&token)).await.json();
    assert!(member_view["models"].as_array().unwrap().iter().any(|m| m["id"] == "demo-video-long"));
}

#[tokio::test]
async fn config_model_entries_change_the_catalog_and_a_bad_one_is_a_clear_config_error() {
    let app = TestApp::start_with(|c| {
        c.model = vec![
            serde_json::from_value(json!({ "id": "demo-image", "label": "House images", "price": { "type": "per_image", "credits": 0 } }))
                .unwrap(),
        ];
    })
    .await;
    let (_admin, token) = crate::support::admin_with_credits(&app, 1).await;
    let image = api_get(&app.url, "/api/v1/models", Some(&token)).await.json()["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "demo-image")
        .unwrap()
        .clone();
    assert_eq!((image["label"].as_str(), image["price"]["credits"].as_i64()), (Some("House images"), Some(0)));
    let free = generate(&app.url, &token, json!({ "model": "demo-image", "prompt": "free" })).await;
    assert_eq!(free.status, 201, "a free model runs with no credits: {}", free.body);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[[model]]\nid = \"demo-video\"\nsuccessor = \"no-such-model\"\n").unwrap();
    let (code, _, err) = run(&["check", "--config", config.to_str().unwrap()], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("demo-video") && err.contains("successor") && err.contains("no-such-model"), "{err}");
}

#[tokio::test]
async fn a_model_with_a_sound_choice_makes_videos_with_or_without_sound() {
    let (app, _admin, token) = app_with_credits(std::time::Duration::ZERO, 100).await;
    let base = &app.url;
    let models = api_get(base, "/api/v1/models", Some(&token)).await.json();
    let video = models["models"].as_array().unwrap().iter().find(|m| m["id"] == "demo-video").unwrap().clone();
    assert_eq!(video["sound"], "optional");
    for (choice, expected) in [("on", true), ("off", false)] {
        let made =
            generate(base, &token, json!({ "model": "demo-video", "prompt": "waves", "params": { "audio": choice, "duration": 2 } })).await;
        assert_eq!(made.status, 201, "{}", made.body);
        let done = wait_terminal(base, &token, made.json()["id"].as_str().unwrap()).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        assert_eq!(done["outputs"][0]["has_sound"], expected, "audio {choice}: {done}");
    }
    let refused = generate(base, &token, json!({ "model": "demo-video", "prompt": "waves", "params": { "audio": "loud" } })).await;
    assert_eq!((refused.status, refused.json()["details"]["parameter"].as_str()), (422, Some("params.audio")), "{}", refused.body);
}

#[tokio::test]
async fn admins_change_add_and_revert_models_on_the_catalog_pages() {
    let (app, admin, token) = app_with_credits(std::time::Duration::ZERO, 100).await;
    let base = &app.url;
    let page = admin.get("/admin/models/demo-video/catalog").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.attr_of("#label", "value").as_deref(), Some("Demo video"));
    let save = page.attr_of("#catalog-form", "action").expect("the form");
    let fields = [("label", "Quick demo"), ("credits", "1"), ("shutdown_on", "2099-01-31"), ("successor", "demo-image"), ("status", "ga")];
    let saved = admin.post_form(&save, &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let video = api_get(base, "/api/v1/catalog", Some(&token)).await.json()["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "demo-video")
        .unwrap()
        .clone();
    assert_eq!((video["label"].as_str(), video["price"]["credits"].as_i64()), (Some("Quick demo"), Some(1)));
    assert_eq!(video["shutdown_on"], "2099-01-31");
    let made = generate(base, &token, json!({ "model": "demo-video", "prompt": "x", "params": { "duration": 2 } })).await;
    assert_eq!(made.json()["cost"], 2, "the new price is charged");
    assert!(made.header("sunset").is_some_and(|s| s.contains("2099")), "a planned shutdown deprecates it");

    // a bad date is refused with the reason and changes nothing
    let refused = admin.post_form(&save, &[("shutdown_on", "31/01/2099")]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.text_of("#form-error").contains("shutdown date"), "{}", refused.text_of("#form-error"));

    // revert: the shipped entry again
    let reverted = admin.get("/admin/models/demo-video/catalog").await;
    let revert = reverted.attr_of("form[action$='/catalog/revert']", "action").expect("a revert form");
    assert_eq!(admin.post_form(&revert, &[]).await.status, 303);
    assert_eq!(admin.get("/admin/models/demo-video/catalog").await.attr_of("#label", "value").as_deref(), Some("Demo video"));

    // add a model like another from the Models admin page
    let models = admin.get("/admin/models").await;
    let add = models.attr_of("#add-model form", "action").expect("the add form");
    let added =
        admin.post_form(&add, &[("id", "demo-image-hd"), ("like", "demo-image"), ("label", "Demo image HD"), ("upstream", "")]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let listed = api_get(base, "/api/v1/models", Some(&token)).await.json();
    let hd = listed["models"].as_array().unwrap().iter().find(|m| m["id"] == "demo-image-hd").expect("offered").clone();
    assert_eq!((hd["label"].as_str(), hd["available"].as_bool()), (Some("Demo image HD"), Some(true)));
    let member = app.invite_member(&admin, "m@example.com", "member password 1").await;
    assert_eq!(member.get("/admin/models/demo-video/catalog").await.status, 403);
}
