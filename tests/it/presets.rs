//! Presets over the API: templates with placeholders checked on save, generating from a preset
//! by filling every placeholder (the prompt the demo provider got), a preset on a retired
//! model that names the successor and moves to it, and presets in the export and the audit.

use std::time::Duration;

use reelvault::domain::audit::AuditAction;
use reqwest::Method;
use serde_json::{Value, json};

use crate::catalog::{day, send};
use crate::support::{TestApp, api_get, api_post, app_with_credits, wait_terminal};

const PRESETS: &str = "/api/v1/presets";

async fn audited(app: &TestApp, action: AuditAction) -> usize {
    let filter = reelvault::services::privacy::audit::AuditFilter { action: Some(action), ..Default::default() };
    reelvault::services::privacy::audit::list(&app.running.state, filter, 50).await.unwrap().0.len()
}

#[tokio::test]
async fn templates_are_checked_on_save_and_generating_fills_every_placeholder() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let base = &app.url;
    let preset =
        |template: &str| json!({"name": "Animals", "model": "demo-image", "prompt_template": template, "params": {"aspect_ratio": "1:1"}});

    // unbalanced templates and bad models or parameters are refused, saying why
    for (template, says) in
        [("A {animal", "never closed"), ("A } b", "closes no placeholder"), ("A {} b", "no name"), ("{two words}", "letters")]
    {
        let refused = api_post(base, PRESETS, &token, preset(template)).await;
        assert_eq!(refused.status, 422, "{template}: {}", refused.body);
        assert_eq!(refused.json()["details"]["parameter"], "prompt_template", "{}", refused.body);
        assert!(refused.json()["message"].as_str().unwrap().contains(says), "{}", refused.body);
    }
    let unknown = api_post(base, PRESETS, &token, json!({"name": "x", "model": "no-such-model", "prompt_template": "a"})).await;
    assert_eq!((unknown.status, unknown.json()["code"].as_str()), (422, Some("generation.unknown_model")), "{}", unknown.body);
    let bad_param = json!({"name": "x", "model": "demo-image", "prompt_template": "a", "params": {"aspect_ratio": "7:3"}});
    assert_eq!(api_post(base, PRESETS, &token, bad_param).await.status, 422);
    let nameless = json!({"name": " ", "model": "demo-image", "prompt_template": "a"});
    assert_eq!(api_post(base, PRESETS, &token, nameless).await.json()["details"]["parameter"], "name");

    let created = api_post(base, PRESETS, &token, preset("A {animal} in the {place}, {{studio}} light, {animal} again")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let saved = created.json();
    assert_eq!(saved["placeholders"], json!(["animal", "place"]));
    assert_eq!(saved["can_change"], true);
    assert!(saved["owner"]["person"].is_string(), "{saved}");
    let id = saved["id"].as_str().unwrap().to_string();
    let generate = format!("{PRESETS}/{id}/generate");

    // a placeholder left out (or blank) is refused by name, before anything is held
    let missing = api_post(base, &generate, &token, json!({"values": {"animal": "fox"}})).await;
    assert_eq!(missing.status, 422, "{}", missing.body);
    assert_eq!(missing.json()["details"]["parameter"], "values.place");
    assert!(missing.json()["message"].as_str().unwrap().contains("{place}"), "{}", missing.body);
    let blank = api_post(base, &generate, &token, json!({"values": {"animal": "fox", "place": "  "}})).await;
    assert_eq!(blank.json()["details"]["parameter"], "values.place");
    let long = "x".repeat(1_001);
    assert_eq!(api_post(base, &generate, &token, json!({"values": {"animal": long, "place": "a"}})).await.status, 422);

    let made = api_post(base, &generate, &token, json!({"values": {"animal": "fox", "place": "snowy forest"}})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let done = wait_terminal(base, &token, made.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["prompt"], "A fox in the snowy forest, {studio} light, fox again");
    assert_eq!((done["model"].as_str(), done["params"]["aspect_ratio"].as_str()), (Some("demo-image"), Some("1:1")));

    // listed, changed, deleted; created and deleted are audited
    let listed = api_get(base, PRESETS, Some(&token)).await.json();
    assert_eq!(listed["presets"].as_array().unwrap().len(), 1);
    let renamed = send(base, Method::PATCH, &format!("{PRESETS}/{id}"), &token, Some(json!({"name": "Creatures"}))).await;
    assert_eq!((renamed.status, renamed.json()["name"].as_str()), (200, Some("Creatures")), "{}", renamed.body);
    let broken = send(base, Method::PATCH, &format!("{PRESETS}/{id}"), &token, Some(json!({"prompt_template": "a {b"}))).await;
    assert_eq!(broken.status, 422);
    assert_eq!(api_get(base, &format!("{PRESETS}/{id}"), Some(&token)).await.json()["prompt_template"], saved["prompt_template"]);
    assert_eq!(send(base, Method::DELETE, &format!("{PRESETS}/{id}"), &token, None).await.status, 204);
    assert_eq!(api_get(base, &format!("{PRESETS}/{id}"), Some(&token)).await.status, 404);
    assert_eq!((audited(&app, AuditAction::PresetCreated).await, audited(&app, AuditAction::PresetDeleted).await), (1, 1));
    app.stop().await;
}

#[tokio::test]
async fn a_preset_on_a_retired_model_shows_the_warning_and_moves_to_the_successor() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let base = &app.url;
    let body = json!({"name": "Waves", "model": "demo-video", "prompt_template": "waves at {time}",
        "params": {"duration": 2, "aspect_ratio": "16:9"}});
    let created = api_post(base, PRESETS, &token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(created.json()["model_standing"]["retired"], Value::Null);

    let gone = json!({"shutdown_on": day(-1), "successor": "demo-image"});
    let edited = send(base, Method::PUT, "/api/v1/admin/models/demo-video/catalog", &token, Some(gone)).await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let shown = api_get(base, &format!("{PRESETS}/{id}"), Some(&token)).await.json();
    let retired = shown["model_standing"]["retired"].as_str().expect("the retirement is shown").to_string();
    assert!(retired.contains("demo-image"), "{retired}");
    assert_eq!(shown["model_standing"]["successor"], "demo-image");

    let refused = api_post(base, &format!("{PRESETS}/{id}/generate"), &token, json!({"values": {"time": "dusk"}})).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.json()["message"].as_str().unwrap().contains("demo-image"), "{}", refused.body);

    // one call moves it: parameters the successor does not take are dropped
    let moved = api_post(base, &format!("{PRESETS}/{id}/use-successor"), &token, json!({})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let moved = moved.json();
    assert_eq!(moved["model"], "demo-image");
    assert_eq!(moved["params"], json!({"aspect_ratio": "16:9"}));
    assert_eq!(moved["model_standing"]["retired"], Value::Null);
    let made = api_post(base, &format!("{PRESETS}/{id}/generate"), &token, json!({"values": {"time": "dusk"}})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let done = wait_terminal(base, &token, made.json()["id"].as_str().unwrap()).await;
    assert_eq!((done["state"].as_str(), done["prompt"].as_str()), (Some("succeeded"), Some("waves at dusk")));
    // a preset on a live model has no successor to move to
    let again = api_post(base, &format!("{PRESETS}/{id}/use-successor"), &token, json!({})).await;
    assert_eq!(again.status, 422, "{}", again.body);
    app.stop().await;
}

#[tokio::test]
async fn another_persons_preset_is_not_found_and_the_export_holds_ones_own() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let base = &app.url;
    let body = json!({"name": "Mine", "model": "demo-image", "prompt_template": "a {thing}", "params": {"seed": 7}});
    let id = api_post(base, PRESETS, &token, body).await.json()["id"].as_str().unwrap().to_string();
    let (_tess, tess_token) = crate::export::member_with_token(&app, &admin).await;
    assert_eq!(api_get(base, &format!("{PRESETS}/{id}"), Some(&tess_token)).await.status, 404);
    assert_eq!(api_post(base, &format!("{PRESETS}/{id}/generate"), &tess_token, json!({"values": {"thing": "x"}})).await.status, 404);
    assert_eq!(send(base, Method::DELETE, &format!("{PRESETS}/{id}"), &tess_token, None).await.status, 404);
    assert!(api_get(base, PRESETS, Some(&tess_token)).await.json()["presets"].as_array().unwrap().is_empty());

    assert_eq!(api_post(base, "/api/v1/account/export", &token, json!({})).await.status, 202);
    let status = crate::export::wait_export(base, &token).await;
    let (_, _, zip) = crate::export::fetch(status["url"].as_str().unwrap()).await;
    let presets = crate::export::json_of(&crate::export::entries(&zip), "presets.json");
    assert_eq!(presets[0]["name"], "Mine");
    assert_eq!(presets[0]["prompt_template"], "a {thing}");
    assert_eq!(presets[0]["params"], json!({"seed": 7}));
    app.stop().await;
}

#[tokio::test]
async fn a_boards_preset_and_cast_are_used_by_its_viewers_and_changed_only_by_its_editors() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let base = &app.url;
    let (_tess, tess) = crate::export::member_with_token(&app, &admin).await;
    let tess_id = api_get(base, "/api/v1/me", Some(&tess)).await.json()["id"].as_str().unwrap().to_string();
    let granted = api_post(base, &format!("/api/v1/admin/users/{tess_id}/credits"), &token, json!({"amount": 20})).await;
    assert!(granted.status < 300, "{}", granted.body);
    let board = api_post(base, "/api/v1/boards", &token, json!({"name": "Client A", "description": ""})).await;
    assert_eq!(board.status, 201, "{}", board.body);
    let board = board.json()["id"].as_str().unwrap().to_string();
    let owner = json!({"board": board});
    let joined =
        api_post(base, &format!("/api/v1/boards/{board}/members"), &token, json!({"person": "tess@example.com", "role": "viewer"})).await;
    assert_eq!(joined.status, 201, "{}", joined.body);

    // an editor makes the board's cast member and preset; a board's preset takes only the board's cast
    let (mine, _) = crate::cast::member(base, &token, "Mine", &[(20, 20)]).await;
    let image =
        crate::uploads::upload_id(base, &token, crate::support::provider_rig::image_bytes(image::ImageFormat::Png, 40, 30, 3), "m.png")
            .await;
    let member = api_post(base, "/api/v1/cast", &token, json!({"owner": owner, "name": "Mascot", "images": [image]})).await;
    assert_eq!(member.status, 201, "{}", member.body);
    let mascot = member.json()["id"].as_str().unwrap().to_string();
    let body = |cast: &str| json!({"owner": owner, "name": "Mascot shots", "model": "demo-image", "prompt_template": "the mascot {doing}", "cast": [cast]});
    let refused = api_post(base, PRESETS, &token, body(&mine)).await;
    assert_eq!((refused.status, refused.json()["details"]["parameter"].as_str()), (422, Some("cast")), "{}", refused.body);
    let created = api_post(base, PRESETS, &token, body(&mascot)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();

    // the viewer sees and uses them, and may not change them
    let listed = api_get(base, PRESETS, Some(&tess)).await.json();
    assert_eq!(listed["presets"][0]["id"], id.as_str());
    assert_eq!(listed["presets"][0]["can_change"], false);
    assert_eq!(api_get(base, "/api/v1/cast", Some(&tess)).await.json()["cast"][0]["can_change"], false);
    let edit = send(base, Method::PATCH, &format!("{PRESETS}/{id}"), &tess, Some(json!({"name": "Mine now"}))).await;
    assert_eq!((edit.status, edit.json()["code"].as_str()), (403, Some("board.not_editor")), "{}", edit.body);
    assert_eq!(send(base, Method::DELETE, &format!("{PRESETS}/{id}"), &tess, None).await.status, 403);
    assert_eq!(send(base, Method::DELETE, &format!("/api/v1/cast/{mascot}"), &tess, None).await.status, 403);
    let theirs = json!({"owner": owner, "name": "x", "model": "demo-image", "prompt_template": "a"});
    assert_eq!(api_post(base, PRESETS, &tess, theirs).await.status, 403);
    let made = api_post(base, &format!("{PRESETS}/{id}/generate"), &tess, json!({"values": {"doing": "waving"}})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let done = wait_terminal(base, &tess, made.json()["id"].as_str().unwrap()).await;
    assert_eq!((done["state"].as_str(), done["prompt"].as_str()), (Some("succeeded"), Some("the mascot waving")), "{done}");
    let reference = done["references"][0]["upload"].as_str().unwrap();
    assert_ne!(reference, image, "the viewer's generation takes a copy of the editor's image as their own");

    // someone outside the board finds nothing
    let uma = app.invite_member(&admin, "uma@example.com", "uma password 1").await;
    let uma = uma.post_form("/account/tokens", &[("name", "tests"), ("expires", "30")]).await.text_of("#new-token");
    assert_eq!(api_get(base, &format!("{PRESETS}/{id}"), Some(&uma)).await.status, 404);
    assert_eq!(api_get(base, &format!("/api/v1/cast/{mascot}"), Some(&uma)).await.status, 404);

    // a deleted board's preset and cast go at the next sweep, and their files follow the upload class
    let state = &app.running.state;
    let later = reelvault::domain::time::Timestamp::now().plus(Duration::from_secs(31 * 86_400));
    let file = state.media.path_of(&image).unwrap();
    reelvault::services::privacy::retention::run(state, "test", later).await.unwrap();
    assert!(file.exists(), "kept while the board's cast member exists");
    assert_eq!(send(base, Method::DELETE, &format!("/api/v1/boards/{board}"), &token, None).await.status, 204);
    reelvault::services::privacy::retention::run(state, "test", later).await.unwrap();
    assert!(!file.exists(), "the deleted board's cast member no longer keeps its image");
    assert_eq!(api_get(base, &format!("{PRESETS}/{id}"), Some(&token)).await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn saving_a_generation_as_a_preset_keeps_its_reference_image_if_left_ticked() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let png = crate::support::provider_rig::image_bytes(image::ImageFormat::Png, 32, 32, 1);
    let kept = crate::uploads::upload_id(&app.url, &token, png, "kept.png").await;
    let body = json!({"model": "demo-image", "prompt": "a teapot", "references": [{"role": "reference", "upload": kept}]});
    let made = crate::support::generate(&app.url, &token, body).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_string();
    wait_terminal(&app.url, &token, &id).await;

    let form = admin.get(&format!("/presets?from={id}")).await;
    assert_eq!(form.status, 200);
    let field = format!("reference_{kept}");
    assert_eq!(form.attr_of("#preset-references input[type=checkbox][checked]", "name"), Some(field.clone()), "offered, ticked");
    let save = |name: &'static str, ticked: bool| {
        let mut fields = vec![("name", name), ("model", "demo-image"), ("prompt_template", "a {thing}"), ("params", "")];
        if ticked {
            fields.push((field.as_str(), "reference"));
        }
        let admin = &admin;
        async move { admin.post_form("/presets", &fields).await }
    };
    assert_eq!(save("With the reference", true).await.status, 303);
    assert_eq!(save("Without it", false).await.status, 303);
    let presets = api_get(&app.url, PRESETS, Some(&token)).await.json();
    let by_name = |name: &str| presets["presets"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["references"].clone();
    assert_eq!(by_name("With the reference"), json!([{"role": "reference", "upload": kept}]), "{presets}");
    assert_eq!(by_name("Without it"), json!([]), "{presets}");
}
