//! Batches over the API: a CSV's dry run (prices and the reasons of invalid rows), a JSON
//! manifest with a preset and a ZIP of references (the references each generation got), one
//! row at a time onto a board, the budget cap, stop and resume, a restart in the middle,
//! malformed manifests and ZIPs, another person's batch; and the pages in chromium.

use std::io::Write;
use std::time::Duration;

use reelvault::domain::audit::AuditAction;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::support::provider_rig::image_bytes;
use crate::support::{Page, TestApp, admin_with_credits, api_get, api_multipart, api_post, client};

const BATCHES: &str = "/api/v1/batches";

/// An app whose demo jobs take `delay`, with an admin holding `credits` and a token that may
/// poll often.
async fn app(delay: Duration, credits: i64) -> (TestApp, crate::support::Browser, String) {
    let app = TestApp::start_with(|c| {
        c.connection[0].delay = delay;
        c.api.requests_per_minute = 100_000;
    })
    .await;
    let (admin, token) = admin_with_credits(&app, credits).await;
    (app, admin, token)
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        out.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn png(seed: u8) -> Vec<u8> {
    image_bytes(image::ImageFormat::Png, 24, 16, seed)
}

/// Uploads a manifest (and a references ZIP) with these extra fields.
async fn upload(base: &str, token: &str, manifest: &str, zip: Option<Vec<u8>>, fields: &[(&str, &str)]) -> Page {
    let mut form = Form::new().part("manifest", Part::bytes(manifest.as_bytes().to_vec()).file_name("manifest.csv"));
    if let Some(zip) = zip {
        form = form.part("references", Part::bytes(zip).file_name("refs.zip"));
    }
    let mut named = false;
    for (name, value) in fields {
        named |= *name == "name";
        form = form.text(name.to_string(), value.to_string());
    }
    if !named {
        form = form.text("name", "Campaign");
    }
    api_multipart(base, BATCHES, token, form).await
}

async fn batch(base: &str, token: &str, id: &str) -> Value {
    let got = api_get(base, &format!("{BATCHES}/{id}"), Some(token)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()
}

/// Polls the batch until `done` says so (at most about a minute); every look is checked by
/// `each` too.
async fn follow(base: &str, token: &str, id: &str, mut each: impl FnMut(&Value), done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let b = batch(base, token, id).await;
        each(&b);
        if done(&b) {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("batch {id} did not get there: {}", batch(base, token, id).await);
}

fn states(b: &Value) -> Vec<String> {
    b["rows"].as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap().to_string()).collect()
}

async fn board_items(base: &str, token: &str, board: &str) -> Vec<String> {
    let got = api_get(base, &format!("/api/v1/boards/{board}"), Some(token)).await.json();
    got["items"].as_array().unwrap().iter().map(|i| i["generation"].as_str().unwrap().to_string()).collect()
}

async fn post(base: &str, path: &str, token: &str) -> Page {
    api_post(base, path, token, json!({})).await
}

#[tokio::test]
async fn a_csv_dry_run_prices_every_valid_row_and_says_why_the_others_are_invalid() {
    let (app, admin, token) = app(Duration::ZERO, 100).await;
    let base = &app.url;
    let csv = "model,prompt,references,param.count,param.duration,value.who\n\
               demo-image,\"a cat, in a hat\",,2,,\n\
               demo-video,a walk,,,2,\n\
               no-such-model,a dog,,,,\n\
               demo-image,,,,,\n\
               demo-image,too many,,9,,\n\
               demo-image,a lost file,missing.png,,,\n\
               demo-image,values without preset,,,,fox\n\
               demo-image,a bad role,wings:x.png,,,\n";
    let made = upload(base, &token, csv, None, &[("budget", "50"), ("parallel", "3")]).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let b = made.json();
    assert_eq!((b["state"].as_str(), b["budget"].as_u64(), b["parallel"].as_u64()), (Some("draft"), Some(50), Some(3)));
    let rows = b["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(states(&b), ["pending", "pending", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid"]);
    // priced exactly as a submit prices: 2 images at 1 credit, 2 seconds of video at 2
    assert_eq!((rows[0]["price"].as_u64(), rows[1]["price"].as_u64()), (Some(2), Some(4)));
    assert_eq!(rows[0]["prompt"], "a cat, in a hat");
    assert_eq!(b["total"], 6);
    let reason = |i: usize| rows[i]["error"].as_str().unwrap_or_default().to_string();
    assert!(reason(2).contains("no-such-model"), "{}", reason(2));
    assert!(reason(3).contains("prompt"), "{}", reason(3));
    assert!(reason(4).contains("count"), "{}", reason(4));
    assert!(reason(5).contains("missing reference file \"missing.png\""), "{}", reason(5));
    assert!(reason(6).contains("preset"), "{}", reason(6));
    assert!(reason(7).contains("role"), "{}", reason(7));
    assert!(rows[0]["error"].is_null());
    // nothing was held by a dry run
    assert_eq!(crate::support::credits(base, &token).await, (100, 0));
    // a new board named after the batch holds the results
    let board = api_get(base, &format!("/api/v1/boards/{}", b["board_id"].as_str().unwrap()), Some(&token)).await.json();
    assert_eq!(board["name"], "Campaign");
    let listed = api_get(base, BATCHES, Some(&token)).await.json();
    assert_eq!(listed["batches"].as_array().unwrap().len(), 1);
    assert!(listed["batches"][0].get("rows").is_none());

    // malformed manifests, ZIPs and fields are refused whole, saying why
    let empty = upload(base, &token, "", None, &[]).await;
    assert_eq!(empty.status, 400, "an empty file part is no manifest: {}", empty.body);
    for bad in ["\n\n", "model,colour\nx,y\n", "[{\"model\": ", "model,prompt\ndemo-image,\"never closed\n"] {
        let refused = upload(base, &token, bad, None, &[]).await;
        assert_eq!(refused.status, 422, "{bad:?}: {}", refused.body);
    }
    let too_many = format!("model,prompt\n{}", "demo-image,x\n".repeat(501));
    assert_eq!(upload(base, &token, &too_many, None, &[]).await.status, 422);
    let not_zip = upload(base, &token, "model,prompt\ndemo-image,x\n", Some(b"not a zip".to_vec()), &[]).await;
    assert_eq!(not_zip.status, 422, "{}", not_zip.body);
    assert!(not_zip.json()["message"].as_str().unwrap().contains("references ZIP"), "{}", not_zip.body);
    let escaping = upload(base, &token, "model,prompt\ndemo-image,x\n", Some(zip_of(&[("../up.png", png(1))])), &[]).await;
    assert_eq!(escaping.status, 422, "{}", escaping.body);
    // a few kilobytes that unpack to more than a ZIP may hold
    let zeros = vec![0u8; 40 * 1024 * 1024];
    let bomb = zip_of(&[("a.png", zeros.clone()), ("b.png", zeros)]);
    let bombed = upload(base, &token, "model,prompt\ndemo-image,x\n", Some(bomb), &[]).await;
    assert_eq!(bombed.status, 422, "{}", bombed.body);
    assert_eq!(upload(base, &token, "model,prompt\ndemo-image,x\n", None, &[("parallel", "9")]).await.status, 422);
    assert_eq!(upload(base, &token, "model,prompt\ndemo-image,x\n", None, &[("budget", "-1")]).await.status, 400);
    assert_eq!(upload(base, &token, "model,prompt\ndemo-image,x\n", None, &[("name", " ")]).await.status, 422);
    let no_manifest = api_multipart(base, BATCHES, &token, Form::new().text("name", "x")).await;
    assert_eq!(no_manifest.status, 400, "{}", no_manifest.body);
    assert_eq!(api_get(base, BATCHES, Some(&token)).await.json()["batches"].as_array().unwrap().len(), 1, "nothing refused was kept");

    // another person's batch is not found, whatever they try
    let member = app.invite_member(&admin, "mo@example.com", "correct horse battery").await;
    let id = b["id"].as_str().unwrap();
    assert_eq!(member.get(&format!("{BATCHES}/{id}")).await.status, 404);
    assert_eq!(member.get(&format!("/batches/{id}")).await.status, 404);
    assert!(member.get(BATCHES).await.json()["batches"].as_array().unwrap().is_empty());
    // the draft is deleted; its board stays
    let deleted = client().delete(format!("{base}{BATCHES}/{id}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(api_get(base, &format!("{BATCHES}/{id}"), Some(&token)).await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_json_manifest_fills_a_preset_and_sends_the_zips_references_by_role() {
    let (app, _admin, token) = app(Duration::ZERO, 100).await;
    let base = &app.url;
    let preset = api_post(
        base,
        "/api/v1/presets",
        &token,
        json!({"name": "Animals", "model": "demo-image", "prompt_template": "A {animal} at dawn"}),
    )
    .await;
    assert_eq!(preset.status, 201, "{}", preset.body);
    let preset = preset.json()["id"].as_str().unwrap().to_string();
    let (mira, images) = crate::cast::member(base, &token, "Mira", &[(30, 20)]).await;
    let cast_preset = json!({"name": "Mira", "model": "demo-image", "prompt_template": "Mira {doing}", "cast": [mira]});
    let cast_preset = api_post(base, "/api/v1/presets", &token, cast_preset).await.json()["id"].as_str().unwrap().to_string();
    let manifest = json!([
        {"preset": preset, "values": {"animal": "fox"}, "references": ["cat.png"]},
        {"model": "demo-video", "prompt": "a walk", "params": {"duration": 2}, "references": ["first_frame:cat.png", "last_frame:shots/dog.png"]},
        {"preset": preset, "values": {}},
        {"preset": cast_preset, "values": {"doing": "waving"}},
    ]);
    let zip = zip_of(&[("cat.png", png(1)), ("shots/dog.png", png(2))]);
    let made = upload(base, &token, &manifest.to_string(), Some(zip), &[("parallel", "2")]).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let b = made.json();
    assert_eq!(states(&b), ["pending", "pending", "invalid", "pending"]);
    assert!(b["rows"][2]["error"].as_str().unwrap().contains("animal"), "{}", b["rows"][2]);
    assert_eq!(b["rows"][0]["prompt"], "A fox at dawn");
    let id = b["id"].as_str().unwrap();
    let started = post(base, &format!("{BATCHES}/{id}/start"), &token).await;
    assert_eq!(started.status, 200, "{}", started.body);
    let done = follow(base, &token, id, |_| {}, |b| b["state"] == "finished").await;
    assert_eq!(states(&done), ["succeeded", "succeeded", "invalid", "succeeded"]);
    let generation = |i: usize| format!("/api/v1/generations/{}", done["rows"][i]["generation_id"].as_str().unwrap());
    let image = api_get(base, &generation(0), Some(&token)).await.json();
    let video = api_get(base, &generation(1), Some(&token)).await.json();
    let refs = |g: &Value| -> Vec<(String, String)> {
        g["references"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["role"].as_str().unwrap().to_string(), r["upload"].as_str().unwrap().to_string()))
            .collect()
    };
    let (image_refs, video_refs) = (refs(&image), refs(&video));
    assert_eq!(image["prompt"], "A fox at dawn");
    assert_eq!(image_refs.len(), 1, "{image}");
    assert_eq!(image_refs[0].0, "reference");
    assert_eq!(video_refs.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["first_frame", "last_frame"], "{video}");
    // cat.png was stored once, as one upload both rows use
    assert_eq!(video_refs[0].1, image_refs[0].1);
    assert_ne!(video_refs[1].1, image_refs[0].1);
    // a preset's cast member reaches the model as its reference, with its tag
    let waving = api_get(base, &generation(3), Some(&token)).await.json();
    assert_eq!(waving["prompt"], "Mira waving");
    assert_eq!(waving["references"][0]["upload"].as_str(), Some(images[0].as_str()), "{waving}");
    assert!(waving["references"][0]["tag"].is_string(), "{waving}");
    // the export lists the batch with its rows
    let exported = crate::export::json_of(&crate::export::exported(&app, &token).await, "batches.json");
    assert_eq!(exported[0]["id"], id, "{exported}");
    assert_eq!(exported[0]["rows"][0]["prompt"], "A fox at dawn");
    assert_eq!(exported[0]["rows"][1]["generation"], done["rows"][1]["generation_id"]);
    let filter = reelvault::services::privacy::audit::AuditFilter { action: Some(AuditAction::BatchStarted), ..Default::default() };
    assert_eq!(reelvault::services::privacy::audit::list(&app.running.state, filter, 10).await.unwrap().0.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn one_row_at_a_time_onto_the_board_until_the_budget_then_resumed_without_a_cap() {
    let (app, _admin, token) = app(Duration::from_millis(600), 100).await;
    let base = &app.url;
    let csv = "model,prompt\ndemo-image,one\ndemo-image,two\ndemo-image,three\n";
    let made = upload(base, &token, csv, None, &[]).await.json();
    let id = made["id"].as_str().unwrap().to_string();
    let board = made["board_id"].as_str().unwrap().to_string();
    assert_eq!(made["total"], 3);
    // the budget fits two rows of 1 credit
    let started = api_post(base, &format!("{BATCHES}/{id}/start"), &token, json!({"budget": 2, "parallel": 1})).await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.json()["state"], "running");
    assert_eq!(post(base, &format!("{BATCHES}/{id}/start"), &token).await.status, 409, "started once");
    let delete_running = client().delete(format!("{base}{BATCHES}/{id}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(delete_running.status(), 409, "a running batch is not deleted");
    let mut most = 0;
    let stopped = follow(
        base,
        &token,
        &id,
        |b| most = most.max(b["in_flight"].as_u64().unwrap()),
        |b| b["state"] == "stopped" && b["in_flight"] == 0,
    )
    .await;
    assert_eq!(most, 1, "never more than one row in flight");
    assert_eq!(stopped["stop_reason"], "budget");
    assert_eq!(states(&stopped), ["succeeded", "succeeded", "pending"]);
    assert_eq!(stopped["committed"], 2);
    let gens: Vec<String> =
        stopped["rows"].as_array().unwrap()[..2].iter().map(|r| r["generation_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(board_items(base, &token, &board).await, gens, "the results are on the board, in order");
    // resumed without a cap (`null` removes it; an absent budget would keep it)
    let resumed = api_post(base, &format!("{BATCHES}/{id}/resume"), &token, json!({"budget": null})).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert!(resumed.json()["budget"].is_null(), "{}", resumed.body);
    let done = follow(base, &token, &id, |_| {}, |b| b["state"] == "finished").await;
    assert_eq!(states(&done), ["succeeded", "succeeded", "succeeded"]);
    assert_eq!(board_items(base, &token, &board).await.len(), 3);
    assert_eq!(crate::support::credits(base, &token).await, (97, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_stopped_batch_submits_nothing_new_and_a_restart_in_the_middle_carries_on() {
    let (app, _admin, token) = app(Duration::from_millis(800), 100).await;
    let base = app.url.clone();
    let csv = "model,prompt\ndemo-image,one\ndemo-image,two\ndemo-image,three\ndemo-image,four\n";
    let id = upload(&base, &token, csv, None, &[]).await.json()["id"].as_str().unwrap().to_string();
    assert_eq!(post(&base, &format!("{BATCHES}/{id}/stop"), &token).await.status, 409, "a draft is not running");
    let started = api_post(&base, &format!("{BATCHES}/{id}/start"), &token, json!({"parallel": 1})).await;
    assert_eq!(started.status, 200, "{}", started.body);
    follow(&base, &token, &id, |_| {}, |b| b["in_flight"] == 1).await;
    let stopped = post(&base, &format!("{BATCHES}/{id}/stop"), &token).await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!((stopped.json()["state"].as_str(), stopped.json()["stop_reason"].as_str()), (Some("stopped"), Some("asked")));
    let settled = follow(&base, &token, &id, |_| {}, |b| b["in_flight"] == 0).await;
    assert_eq!(settled["state"], "stopped");
    // the row in flight when it stopped finished (on a slow machine, one more may have been
    // submitted before the stop arrived); nothing new was submitted after
    let ran = settled["counts"]["succeeded"].as_u64().unwrap();
    assert!((1..=2).contains(&ran), "{settled}");
    assert_eq!(settled["counts"]["pending"].as_u64(), Some(4 - ran));
    assert_eq!(batch(&base, &token, &id).await["counts"]["pending"].as_u64(), Some(4 - ran));

    // resumed, then the server restarts while rows run: it carries on and finishes
    assert_eq!(post(&base, &format!("{BATCHES}/{id}/resume"), &token).await.status, 200);
    follow(&base, &token, &id, |_| {}, |b| b["in_flight"] == 1).await;
    let app = app.restart().await;
    let base = app.url.clone();
    let done = follow(&base, &token, &id, |_| {}, |b| b["state"] == "finished").await;
    assert_eq!(states(&done), ["succeeded", "succeeded", "succeeded", "succeeded"]);
    let generations: std::collections::HashSet<&str> =
        done["rows"].as_array().unwrap().iter().map(|r| r["generation_id"].as_str().unwrap()).collect();
    assert_eq!(generations.len(), 4, "each row ran once");
    let filter = reelvault::services::privacy::audit::AuditFilter { action: Some(AuditAction::BatchStopped), ..Default::default() };
    assert!(!reelvault::services::privacy::audit::list(&app.running.state, filter, 10).await.unwrap().0.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn too_few_credits_stop_the_batch_with_the_reason() {
    let (app, _admin, token) = app(Duration::ZERO, 2).await;
    let base = &app.url;
    let csv = "model,prompt,param.count\ndemo-image,one,1\ndemo-image,two,4\n";
    let id = upload(base, &token, csv, None, &[]).await.json()["id"].as_str().unwrap().to_string();
    assert_eq!(post(base, &format!("{BATCHES}/{id}/start"), &token).await.status, 200);
    let stopped = follow(base, &token, &id, |_| {}, |b| b["state"] == "stopped" && b["in_flight"] == 0).await;
    assert_eq!(stopped["stop_reason"], "credits");
    assert_eq!(states(&stopped), ["succeeded", "pending"]);
    assert!(stopped["rows"][1]["error"].as_str().unwrap().contains("credit"), "{}", stopped["rows"][1]);
    app.stop().await;
}

#[tokio::test]
async fn a_batch_whose_board_was_deleted_stops_with_the_reason() {
    let (app, _admin, token) = app(Duration::ZERO, 10).await;
    let base = &app.url;
    let made = upload(base, &token, "model,prompt\ndemo-image,one\n", None, &[]).await.json();
    let id = made["id"].as_str().unwrap().to_string();
    let board = made["board_id"].as_str().unwrap();
    let gone = client().delete(format!("{base}/api/v1/boards/{board}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(post(base, &format!("{BATCHES}/{id}/start"), &token).await.status, 200);
    let stopped = follow(base, &token, &id, |_| {}, |b| b["state"] == "stopped").await;
    assert_eq!(stopped["stop_reason"], "board");
    assert_eq!(states(&stopped), ["pending"]);
    assert_eq!(crate::support::credits(base, &token).await, (10, 0), "nothing was held");
    app.stop().await;
}

#[tokio::test]
async fn the_pages_forms_start_with_a_budget_and_resume_without_a_cap() {
    let (app, admin, token) = app(Duration::ZERO, 10).await;
    let base = &app.url;
    let id =
        upload(base, &token, "model,prompt\ndemo-image,one\ndemo-image,two\n", None, &[]).await.json()["id"].as_str().unwrap().to_string();
    let page = admin.get(&format!("/batches/{id}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.count("#batch-rows tr[data-state=pending]"), 2);
    let started = admin.post_form(&format!("/batches/{id}/start"), &[("budget", "1"), ("parallel", "1")]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let stopped = follow(base, &token, &id, |_| {}, |b| b["state"] == "stopped" && b["in_flight"] == 0).await;
    assert_eq!((stopped["stop_reason"].as_str(), stopped["budget"].as_u64()), (Some("budget"), Some(1)));
    let bad = admin.post_form(&format!("/batches/{id}/resume"), &[("budget", "lots"), ("parallel", "1")]).await;
    assert_eq!(bad.status, 303, "refused back onto the page: {}", bad.body);
    assert_eq!(batch(base, &token, &id).await["state"], "stopped");
    let resumed = admin.post_form(&format!("/batches/{id}/resume"), &[("budget", ""), ("parallel", "2")]).await;
    assert_eq!(resumed.status, 303, "{}", resumed.body);
    let done = follow(base, &token, &id, |_| {}, |b| b["state"] == "finished").await;
    assert_eq!((done["budget"].clone(), done["parallel"].as_u64()), (Value::Null, Some(2)));
    let list = admin.get("/batches").await;
    assert_eq!(list.count("#batches li[data-batch]"), 1);
    let deleted = admin.post_form(&format!("/batches/{id}/delete"), &[]).await;
    assert_eq!(deleted.status, 303);
    assert_eq!(admin.get(&format!("/batches/{id}")).await.status, 404);
    app.stop().await;
}

/// What makes a batch row run at most once across a crash: its generation id is recorded before
/// the submit, and a submit repeated under that id returns the first generation, holding nothing
/// more.
#[tokio::test]
async fn a_submit_repeated_under_the_same_id_makes_one_generation_and_one_hold() {
    use reelvault::domain::ids::GenerationId;
    use reelvault::services::privacy::audit::Context;
    use reelvault::services::studio::generations::{self, NewGeneration};

    let app = TestApp::start().await;
    let (_admin, token) = admin_with_credits(&app, 10).await;
    let state = &app.running.state;
    let email = reelvault::domain::user::Email::parse(crate::support::ADMIN_EMAIL).unwrap();
    let ada = state.store.read_now(|tx| reelvault::store::users::find_by_email(tx, &email)).unwrap().unwrap();
    let ctx = Context::user(ada.id, ada.email.as_str(), Default::default());
    let id = GenerationId::generate();
    let request = || NewGeneration { model: "demo-image".into(), prompt: "one lantern".into(), id: Some(id), ..NewGeneration::default() };
    let first = generations::submit(state, &ctx, &ada, request()).await.unwrap();
    let again = generations::submit(state, &ctx, &ada, request()).await.unwrap();
    assert_eq!((first.id, again.id), (id, id));
    let owner = ada.id;
    let stored = state.store.read_now(|tx| reelvault::store::generations::list_for_owner(tx, owner, None, 10)).unwrap();
    assert_eq!(stored.len(), 1, "one generation");
    let ledger = api_get(&app.url, "/api/v1/credits/ledger", Some(&token)).await.json();
    let holds = ledger["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "hold").count();
    assert_eq!(holds, 1, "{ledger}");
}
