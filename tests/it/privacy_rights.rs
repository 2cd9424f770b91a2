//! Privacy rights as people use them: deleting all content or the whole account (key
//! destroyed, ledger kept anonymised, the audit log naming them only by id), correcting the
//! profile, the data-use preference, an admin's freeze and legal holds, and the expiry
//! warnings.

use std::time::Duration;

use reelvault::config::{ConnectionConfig, Secret};
use reelvault::domain::ids::{AssetId, GenerationId, UserId};
use reelvault::services::privacy::retention;
use reelvault::store;

use crate::support::generate;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, Page, TestApp, api_get};
use crate::support::{admin_with_credits, credits, wait_terminal};
use crate::uploads::{jpeg_with_gps, upload};

const MEMBER: &str = "mo@example.com";
const MEMBER_PASSWORD: &str = "mo's long password";

/// An app whose demo provider answers after `delay`, an admin with credits and a token, and
/// a member with 100 credits and a token.
async fn team(delay: Duration) -> (TestApp, Browser, String, Browser, String) {
    let app = TestApp::start_with(|c| c.connection[0].delay = delay).await;
    team_in(app).await
}

async fn team_in(app: TestApp) -> (TestApp, Browser, String, Browser, String) {
    let (admin, admin_token) = admin_with_credits(&app, 100).await;
    let member = app.invite_member(&admin, MEMBER, MEMBER_PASSWORD).await;
    let token = member.post_form("/account/tokens", &[("name", "script"), ("expires", "30")]).await.text_of("#new-token");
    let id = member_id(&app, &token).await;
    let granted = admin.post_form(&format!("/admin/users/{id}/credits"), &[("amount", "100")]).await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    (app, admin, admin_token, member, token)
}

async fn member_id(app: &TestApp, token: &str) -> UserId {
    api_get(&app.url, "/api/v1/me", Some(token)).await.json()["id"].as_str().unwrap().parse().unwrap()
}

async fn finished_image(app: &TestApp, token: &str, prompt: &str) -> serde_json::Value {
    let created = generate(&app.url, token, serde_json::json!({"model": "demo-image", "prompt": prompt})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    done
}

async fn api_send(method: reqwest::Method, base: &str, path: &str, token: &str, body: serde_json::Value) -> Page {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    Browser::read(client.request(method, format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap()).await
}

/// Every media file of `owner` on disk (outputs, posters, uploads, pictures).
async fn files_of(app: &TestApp, owner: UserId) -> Vec<(AssetId, std::path::PathBuf)> {
    let ids = app
        .running
        .state
        .store
        .read(move |tx| {
            let mut ids = Vec::new();
            store::assets::each(tx, |a| {
                if a.owner == owner {
                    ids.push(a.id);
                }
                Ok(())
            })?;
            Ok::<_, store::StoreError>(ids)
        })
        .await
        .unwrap();
    ids.into_iter().map(|id| (id, app.running.state.media.path_of(&id.to_string()).unwrap())).collect()
}

/// Waits (at most 30 s) until `user` has no erasure left to do.
async fn erased(app: &TestApp, user: UserId) {
    for _ in 0..300 {
        if app.running.state.store.read(move |tx| store::erasures::get(tx, user)).await.unwrap().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the erasure of {user} did not finish");
}

/// Uploads a profile picture through the account page's multipart form.
pub async fn upload_picture(b: &Browser, bytes: Vec<u8>) -> Page {
    let token = b.csrf_token().await;
    let form = reqwest::multipart::Form::new()
        .part("picture", reqwest::multipart::Part::bytes(bytes).file_name("me.jpg").mime_str("image/jpeg").unwrap());
    let same_origin = [("origin", b.base.as_str()), ("sec-fetch-site", "same-origin")];
    b.post_multipart(&format!("/account/picture?csrf_token={token}"), form, &same_origin).await
}

#[tokio::test]
async fn deleting_an_account_signs_it_out_destroys_its_content_and_key_and_keeps_the_ledger_anonymised() {
    let (app, admin, admin_token, member, token) = team(Duration::ZERO).await;
    let id = member_id(&app, &token).await;
    let first = finished_image(&app, &token, "a red kite").await;
    finished_image(&app, &token, "two kites").await;
    let reference = upload(&app.url, &token, jpeg_with_gps(), "ref.jpg").await;
    assert_eq!(reference.status, 201, "{}", reference.body);
    assert_eq!(upload_picture(&member, jpeg_with_gps()).await.status, 303);
    let admins_own = finished_image(&app, &admin_token, "the admin's kite").await;
    let files = files_of(&app, id).await;
    assert_eq!(files.len(), 2 + 2 + 1 + 1, "two outputs, their thumbnails, an upload and a picture");
    let copies = tempfile::tempdir().unwrap();
    for (asset, path) in &files {
        std::fs::copy(path, copies.path().join(asset.to_string())).unwrap();
    }
    let (available, held) = credits(&app.url, &token).await;

    let wrong = member.post_form("/account/delete", &[("password", "not my password")]).await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.text_of("[role=alert]").contains("password is not correct"), "{}", wrong.body);
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&token)).await.status, 200, "nothing changed");

    let done = member.post_form("/account/delete", &[("password", MEMBER_PASSWORD)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some("/login"));
    assert_eq!(member.get("/account").await.status, 303, "signed out at once");
    assert!(api_get(&app.url, "/api/v1/me", Some(&token)).await.status >= 401, "the token stops at once");
    erased(&app, id).await;

    for (_, path) in &files {
        assert!(!path.exists(), "{} was not removed", path.display());
    }
    let state = &app.running.state;
    assert!(state.store.read(move |tx| store::users::get(tx, id)).await.unwrap().is_none(), "the account is gone");
    let ledger = state.store.read(move |tx| store::credits::entries_for_user(tx, id)).await.unwrap();
    assert!(!ledger.is_empty(), "ledger entries stay for the accounts");
    let sum: i64 = ledger.iter().map(|e| e.available_delta).sum();
    assert_eq!((sum, held), (available, 0), "the ledger still sums to what the person had");
    let problems = reelvault::services::team::credits::verify_ledger(&state.store).await.unwrap();
    assert!(problems.is_empty(), "`reelvault check` still finds every balance equal to its ledger: {problems:?}");
    assert!(matches!(state.keyring.identity(&state.store, id).await, Err(reelvault::vault::keyring::KeyringError::Missing)));
    // surviving copies of the files cannot be read with any key the instance still has
    let admin_id = member_id(&app, &admin_token).await;
    let admin_key = state.keyring.identity(&state.store, admin_id).await.unwrap();
    for (asset, path) in &files {
        std::fs::copy(copies.path().join(asset.to_string()), path).unwrap();
        let read = state.media.read_range(&asset.to_string(), admin_key.clone(), None).await;
        assert!(read.is_err(), "a copy of {asset} decrypted");
    }
    let generation: GenerationId = first["id"].as_str().unwrap().parse().unwrap();
    assert!(state.store.read(move |tx| store::generations::get(tx, generation)).await.unwrap().is_none());
    assert_eq!(app.browser().sign_in(MEMBER, MEMBER_PASSWORD).await.status, 401, "no one can sign in as them");
    let mine = api_get(&app.url, &format!("/api/v1/generations/{}", admins_own["id"].as_str().unwrap()), Some(&admin_token)).await;
    assert_eq!(mine.status, 200, "other people's content stays");
    let audit = admin.get("/admin/audit?action=user.account_deleted").await;
    assert!(audit.body.contains(&id.to_string()), "{}", audit.body);
    app.stop().await;
}

#[tokio::test]
async fn deleting_all_content_cancels_running_jobs_and_keeps_the_account_and_its_charges() {
    let (app, _admin, _admin_token, member, token) = team(Duration::from_secs(3)).await;
    let id = member_id(&app, &token).await;
    let finished = app.running.state.config.connection[0].delay;
    assert_eq!(finished, Duration::from_secs(3));
    let running = generate(&app.url, &token, serde_json::json!({"model": "demo-video", "prompt": "slow", "params": {"duration": 2}})).await;
    assert_eq!(running.status, 201, "{}", running.body);
    let uploaded = upload(&app.url, &token, jpeg_with_gps(), "ref.jpg").await;
    assert_eq!(uploaded.status, 201);

    let wrong =
        api_send(reqwest::Method::DELETE, &app.url, "/api/v1/account/content", &token, serde_json::json!({"password": "nope"})).await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(wrong.json()["code"], "invalid_input");
    let accepted =
        api_send(reqwest::Method::DELETE, &app.url, "/api/v1/account/content", &token, serde_json::json!({"password": MEMBER_PASSWORD}))
            .await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    erased(&app, id).await;

    let (available, held) = credits(&app.url, &token).await;
    assert_eq!((available, held), (100, 0), "the running job was cancelled and its hold released");
    let listed = api_get(&app.url, "/api/v1/generations", Some(&token)).await;
    assert_eq!(listed.status, 200, "the account and its token still work: {}", listed.body);
    assert!(files_of(&app, id).await.is_empty(), "no file of theirs is left");
    let gone = api_get(&app.url, &format!("/api/v1/generations/{}", running.json()["id"].as_str().unwrap()), Some(&token)).await;
    assert_eq!(gone.status, 404);
    assert_eq!(app.browser().sign_in(MEMBER, MEMBER_PASSWORD).await.status, 303, "they can still sign in");
    assert_eq!(member.get("/account").await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn people_correct_their_name_email_bio_and_picture_and_bad_input_changes_nothing() {
    let (app, admin, _admin_token, member, token) = team(Duration::ZERO).await;
    let patch = |body: serde_json::Value| api_send(reqwest::Method::PATCH, &app.url, "/api/v1/account", &token, body);

    let changed = patch(serde_json::json!({"name": "Mo Ibrahim", "bio": "Makes kites.\nFlies them too."})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["name"], "Mo Ibrahim");
    assert_eq!(changed.json()["bio"], "Makes kites.\nFlies them too.");
    for (body, status) in [
        (serde_json::json!({"email": "mo.new@example.com"}), 422),
        (serde_json::json!({"email": "mo.new@example.com", "password": "wrong one"}), 422),
        (serde_json::json!({"email": ADMIN_EMAIL, "password": MEMBER_PASSWORD}), 409),
        (serde_json::json!({"email": "not an email", "password": MEMBER_PASSWORD}), 422),
        (serde_json::json!({"bio": "x".repeat(501)}), 422),
        (serde_json::json!({"name": "bad\u{7}name"}), 422),
        (serde_json::json!({"nickname": "Mo"}), 400),
    ] {
        let refused = patch(body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {}", refused.body);
        assert!(refused.json()["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", refused.body);
    }
    let now = api_get(&app.url, "/api/v1/account", Some(&token)).await.json();
    assert_eq!((now["email"].as_str(), now["name"].as_str()), (Some(MEMBER), Some("Mo Ibrahim")), "refusals changed nothing");

    let moved = patch(serde_json::json!({"email": "Mo.New@Example.com", "password": MEMBER_PASSWORD})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["email"], "mo.new@example.com");
    assert_eq!(app.browser().sign_in("mo.new@example.com", MEMBER_PASSWORD).await.status, 303);
    assert_eq!(app.browser().sign_in(MEMBER, MEMBER_PASSWORD).await.status, 401);

    // the picture is cleaned like any upload, shown on the page and replaced or removed cleanly
    assert_eq!(upload_picture(&member, b"not an image".to_vec()).await.status, 422);
    assert_eq!(upload_picture(&member, jpeg_with_gps()).await.status, 303);
    let page = member.get("/account").await;
    let src = page.attr_of("img.avatar", "src").expect("picture on the account page");
    let picture = reqwest::get(format!("{}{src}", app.url)).await.unwrap().bytes().await.unwrap();
    assert!(!picture.is_empty());
    assert!(!picture.windows(4).any(|w| w == b"Exif"), "the picture is stored without its EXIF block");
    let id = member_id(&app, &token).await;
    let before = files_of(&app, id).await;
    assert_eq!(before.len(), 1);
    assert_eq!(upload_picture(&member, jpeg_with_gps()).await.status, 303);
    let after = files_of(&app, id).await;
    assert_eq!(after.len(), 1, "the old picture was replaced");
    assert!(!before[0].1.exists(), "and its file removed");
    assert_eq!(member.post_form("/account/picture/delete", &[]).await.status, 303);
    assert!(files_of(&app, id).await.is_empty());
    assert!(!after[0].1.exists());
    assert!(api_get(&app.url, "/api/v1/account", Some(&token)).await.json()["picture_url"].is_null());
    let audit = admin.get("/admin/audit?action=user.profile_changed").await;
    assert!(audit.count("tbody tr") >= 4, "{}", audit.body);
    app.stop().await;
}

/// A Replicate connection that nothing is sent to: its provider's training stance is unknown.
fn with_replicate(config: &mut reelvault::config::Config) {
    config.connection[0].delay = Duration::ZERO;
    config.connection.push(ConnectionConfig {
        base_url: Some("http://127.0.0.1:9/v1/".parse().unwrap()),
        api_key: Some(Secret::new("r8_unused")),
        allow_private_network: true,
        ..ConnectionConfig::new("replicate", "replicate")
    });
}

async fn usable(app: &TestApp, token: &str, model: &str) -> (bool, String) {
    let models = api_get(&app.url, "/api/v1/models", Some(token)).await.json()["models"].clone();
    let m = models.as_array().unwrap().iter().find(|m| m["id"] == model).unwrap_or_else(|| panic!("{model} in {models}")).clone();
    (m["available"].as_bool().unwrap(), m["unavailable_reason"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn a_data_use_preference_hides_and_blocks_providers_that_may_train() {
    let app = TestApp::start_with(with_replicate).await;
    let (app, admin, admin_token, member, token) = team_in(app).await;
    let flux = "replicate-flux-schnell";
    assert!(usable(&app, &token, flux).await.0, "served and allowed at first");

    assert_eq!(member.post_form("/account/data-use", &[("forbid_training", "true")]).await.status, 303);
    let (ok, reason) = usable(&app, &token, flux).await;
    assert!(!ok && reason.contains("data-use preference"), "{reason}");
    assert!(usable(&app, &token, "demo-image").await.0, "the demo provider does not train");
    let refused = generate(&app.url, &token, serde_json::json!({"model": flux, "prompt": "p"})).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["code"], "generation.model_disabled");
    assert_eq!(credits(&app.url, &token).await, (100, 0), "nothing held");
    let form = member.get(&format!("/generate?model={flux}")).await;
    assert!(!form.body.contains(&format!("value=\"{flux}\"")), "hidden from the New generation form");
    assert!(usable(&app, &admin_token, flux).await.0, "only that person's preference");

    assert_eq!(member.post_form("/account/data-use", &[("forbid_training", "maybe")]).await.status, 400);
    assert_eq!(member.post_form("/account/data-use", &[("forbid_training", "false")]).await.status, 303);
    assert!(usable(&app, &token, flux).await.0);

    assert_eq!(member.post_form("/admin/data-use", &[("forbid_training", "true")]).await.status, 403, "admins only");
    assert_eq!(app.browser().get("/privacy").await.count("#no-training"), 0);
    assert_eq!(admin.post_form("/admin/data-use", &[("forbid_training", "true")]).await.status, 303);
    let notice = app.browser().get("/privacy").await;
    assert!(notice.text_of("#no-training").contains("only to providers that say they do not train"), "{}", notice.body);
    for t in [&token, &admin_token] {
        let (ok, reason) = usable(&app, t, flux).await;
        assert!(!ok && reason.contains("This instance does not"), "{reason}");
    }
    let app = app.restart().await;
    assert!(!usable(&app, &token, flux).await.0, "the instance setting survives a restart");
    let audit = app.browser();
    audit.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(audit.get("/admin/audit?action=data_use.changed").await.count("tbody tr") >= 3);
    app.stop().await;
}

#[tokio::test]
async fn a_frozen_account_has_nothing_processed_and_keeps_its_data_until_the_freeze_is_lifted() {
    let (app, admin, _admin_token, member, token) = team(Duration::from_secs(3)).await;
    let id = member_id(&app, &token).await;
    let kept = {
        let c = app.running.state.config.connection[0].delay;
        assert_eq!(c, Duration::from_secs(3));
        let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "kept"})).await;
        wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await
    };
    let running = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "running"})).await;
    assert_eq!(running.status, 201);

    assert_eq!(admin.post_form(&format!("/admin/users/{id}/freeze"), &[("frozen", "true")]).await.status, 303);
    assert!(admin.get("/admin/users").await.body.contains("frozen"));
    let stopped = wait_terminal(&app.url, &token, running.json()["id"].as_str().unwrap()).await;
    assert_eq!(stopped["state"], "cancelled", "{stopped}");
    let (available, held) = credits(&app.url, &token).await;
    assert_eq!(held, 0, "the hold was released");
    let refused = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "p"})).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["code"], "account.frozen");
    assert_eq!(upload(&app.url, &token, jpeg_with_gps(), "r.jpg").await.status, 403);
    assert_eq!(credits(&app.url, &token).await, (available, 0), "nothing was held");
    let still = api_get(&app.url, &format!("/api/v1/generations/{}", kept["id"].as_str().unwrap()), Some(&token)).await;
    assert_eq!(still.status, 200, "the data is kept and readable");
    assert_eq!(member.get("/library").await.status, 200);

    assert_eq!(admin.post_form(&format!("/admin/users/{id}/freeze"), &[("frozen", "maybe")]).await.status, 400);
    assert_eq!(admin.post_form(&format!("/admin/users/{id}/freeze"), &[("frozen", "false")]).await.status, 303);
    let again = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "p"})).await;
    assert_eq!(again.status, 201, "{}", again.body);
    let audit = admin.get("/admin/audit").await.body;
    assert!(audit.contains("user.frozen") && audit.contains("user.unfrozen"));
    app.stop().await;
}

#[tokio::test]
async fn admins_put_people_and_single_generations_on_legal_hold_and_retention_spares_them() {
    let (app, admin, _admin_token, _member, token) = team(Duration::ZERO).await;
    let id = member_id(&app, &token).await;
    let held_item = finished_image(&app, &token, "evidence").await;
    let other = finished_image(&app, &token, "ordinary").await;
    let held_id: GenerationId = held_item["id"].as_str().unwrap().parse().unwrap();
    let other_id: GenerationId = other["id"].as_str().unwrap().parse().unwrap();

    let bad = admin.post_form("/admin/generations/hold", &[("generation", "no-such-id")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let missing = admin.post_form("/admin/generations/hold", &[("generation", &GenerationId::generate().to_string())]).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(admin.post_form("/admin/generations/hold", &[("generation", &held_id.to_string())]).await.status, 303);
    let far = reelvault::domain::time::Timestamp::now().plus(Duration::from_secs(400 * 86_400));
    let plan = retention::plan(&app.running.state, far).await.unwrap();
    let planned: Vec<&str> = plan.items.iter().map(|i| i.id.as_str()).collect();
    assert!(planned.contains(&other_id.to_string().as_str()) && !planned.contains(&held_id.to_string().as_str()), "{planned:?}");

    assert_eq!(admin.post_form(&format!("/admin/users/{id}/hold"), &[("hold", "true")]).await.status, 303);
    assert!(admin.get("/admin/users").await.body.contains("legal hold"));
    let plan = retention::plan(&app.running.state, far).await.unwrap();
    assert!(plan.items.iter().all(|i| i.owner != id.to_string()), "nothing of a held person is planned");
    let audit = admin.get("/admin/audit?action=legal_hold.set").await;
    assert_eq!(audit.count("tbody tr"), 2, "{}", audit.body);
    retention::run(&app.running.state, "test", far).await.unwrap();
    let admin = app.browser(); // the sweep at that date ended every session
    assert_eq!(admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    for g in [&held_item, &other] {
        let still = api_get(&app.url, &format!("/api/v1/generations/{}", g["id"].as_str().unwrap()), Some(&token)).await;
        assert_eq!(still.status, 200, "held through the sweep");
    }
    assert_eq!(admin.post_form(&format!("/admin/users/{id}/hold"), &[("hold", "false")]).await.status, 303);
    retention::run(&app.running.state, "test", far).await.unwrap();
    let kept = api_get(&app.url, &format!("/api/v1/generations/{held_id}"), Some(&token)).await;
    assert_eq!(kept.status, 200, "the item's own hold still stands");
    let swept = api_get(&app.url, &format!("/api/v1/generations/{other_id}"), Some(&token)).await;
    assert_eq!(swept.status, 404, "the rest expired");
    app.stop().await;
}

#[tokio::test]
async fn outputs_about_to_expire_show_a_banner_and_their_days_left() {
    let (app, _admin, _admin_token, member, token) = team(Duration::ZERO).await;
    let done = finished_image(&app, &token, "soon gone").await;
    let id: GenerationId = done["id"].as_str().unwrap().parse().unwrap();
    let page = member.get(&format!("/generations/{id}")).await;
    assert_eq!(page.text_of("#expires"), "Expires in 180 days");
    assert_eq!(member.get("/library").await.count("#expiry-banner"), 0, "nothing expires this week");

    // the output finished 175 days ago: five days are left
    app.running
        .state
        .store
        .write(move |tx| {
            let mut g = store::generations::get(tx, id)?.unwrap();
            store::expiry::unindex_generation(tx, &g)?;
            g.finished_at = Some(reelvault::domain::time::Timestamp::now().minus(Duration::from_secs(175 * 86_400)));
            store::generations::put(tx, &g)
        })
        .await
        .unwrap();
    let page = member.get(&format!("/generations/{id}")).await;
    assert!(page.text_of("#expires").contains("Expires in 5 days: download or keep it"), "{}", page.text_of("#expires"));
    let library = member.get("/library").await;
    assert!(library.text_of("#expiry-banner").starts_with("1 of your outputs is deleted by retention within a week"), "{}", library.body);
    assert_eq!(member.post_form(&format!("/generations/{id}/keep"), &[]).await.status, 303);
    assert_eq!(member.get("/library").await.count("#expiry-banner"), 0, "kept items are not warned about");
    assert_eq!(member.get(&format!("/generations/{id}")).await.count("#expires"), 0);
    app.stop().await;
}

/// A browser request from the member's own machine, as a trusted proxy forwards it.
const MEMBER_ADDRESS: &str = "203.0.113.77";
const MEMBER_AGENT: &str = "MembersOwnBrowser/7.1";

#[tokio::test]
async fn after_an_account_is_deleted_the_audit_log_names_it_only_by_its_id() {
    let app = TestApp::start_with(|c| {
        c.connection[0].delay = Duration::ZERO;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let (app, admin, _admin_token, _member, token) = team_in(app).await;
    let id = member_id(&app, &token).await;
    let from_home = [("x-forwarded-for", MEMBER_ADDRESS), ("user-agent", MEMBER_AGENT)];
    let browser = app.browser();
    let csrf = browser.csrf_token().await;
    let mut headers = vec![("origin", browser.base.as_str()), ("sec-fetch-site", "same-origin")];
    headers.extend(from_home);
    let failed = browser.post_raw("/login", &[("csrf_token", &csrf), ("email", MEMBER), ("password", "a wrong guess")], &headers).await;
    assert_eq!(failed.status, 401, "{}", failed.body);
    let signed_in = browser.post_raw("/login", &[("csrf_token", &csrf), ("email", MEMBER), ("password", MEMBER_PASSWORD)], &headers).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(admin.post_form(&format!("/admin/users/{id}/freeze"), &[("frozen", "true")]).await.status, 303);
    assert_eq!(admin.post_form(&format!("/admin/users/{id}/freeze"), &[("frozen", "false")]).await.status, 303);
    let before = admin.get("/admin/audit").await.body;
    for trace in [MEMBER, MEMBER_ADDRESS, MEMBER_AGENT] {
        assert!(before.contains(trace), "the log names {trace} while the account exists");
    }

    let csrf = browser.csrf_token().await;
    let deleted = browser.post_raw("/account/delete", &[("csrf_token", &csrf), ("password", MEMBER_PASSWORD)], &headers).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    erased(&app, id).await;

    let label = format!("user:{id}");
    for (what, view) in [("audit page", admin.get("/admin/audit").await), ("CSV export", admin.get("/admin/audit.csv").await)] {
        assert_eq!(view.status, 200, "{what}");
        for trace in [MEMBER, MEMBER_ADDRESS, MEMBER_AGENT] {
            assert!(!view.body.contains(trace), "the {what} still shows {trace}: {}", view.body);
        }
        assert!(view.body.contains(&label), "the {what} names them by id: {}", view.body);
    }
    app.stop().await;
}
