//! "Export my data" over real HTTP: started by the API or the account page, written in the
//! background, stored encrypted, downloaded through a signed link that expires, and checked
//! byte for byte against the originals; interrupted exports end after a restart.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use reelvault::domain::audit::AuditAction;
use reelvault::domain::export::{Export, ExportState, MAX_ATTEMPTS};
use reelvault::domain::ids::UserId;
use reelvault::domain::time::Timestamp;
use reelvault::services::privacy::audit::{self, AuditFilter};
use sha2::{Digest, Sha256};

use crate::support::generate;
use crate::support::{Browser, Page, TestApp, api_get};
use crate::support::{api_post, app_with_credits, wait_terminal};
use crate::uploads::{jpeg_with_gps, upload};

const EXPORT: &str = "/api/v1/account/export";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Polls the export status until it is ready or failed (at most 60 s).
pub(crate) async fn wait_export(base: &str, token: &str) -> serde_json::Value {
    for _ in 0..600 {
        let status = api_get(base, EXPORT, Some(token)).await;
        assert_eq!(status.status, 200, "{}", status.body);
        let status = status.json();
        if ["ready", "failed"].contains(&status["state"].as_str().unwrap_or("")) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the export did not finish");
}

pub(crate) async fn fetch(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.bytes().await.unwrap().to_vec())
}

/// Every entry of a ZIP, by name.
pub(crate) fn entries(zip: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a valid ZIP");
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        out.insert(file.name().unwrap().to_string(), bytes);
    }
    out
}

pub(crate) fn json_of(files: &BTreeMap<String, Vec<u8>>, name: &str) -> serde_json::Value {
    serde_json::from_slice(files.get(name).unwrap_or_else(|| panic!("no {name} in the export"))).unwrap()
}

/// Asks for the token owner's export, waits for it and returns its entries by name (for other
/// areas' tests of what an export holds).
pub async fn exported(app: &TestApp, token: &str) -> BTreeMap<String, Vec<u8>> {
    let asked = api_post(&app.url, EXPORT, token, serde_json::json!({})).await;
    assert!([200, 202].contains(&asked.status), "{}", asked.body);
    let status = wait_export(&app.url, token).await;
    assert_eq!(status["state"], "ready", "{status}");
    let (code, _, zip) = fetch(status["url"].as_str().unwrap()).await;
    assert_eq!(code, 200);
    entries(&zip)
}

/// A member with an API token.
pub(crate) async fn member_with_token(app: &TestApp, admin: &Browser) -> (Browser, String) {
    let tess = app.invite_member(admin, "tess@example.com", "tess password 1").await;
    let token = tess.post_form("/account/tokens", &[("name", "tests"), ("expires", "30")]).await.text_of("#new-token");
    (tess, token)
}

async fn user_id(base: &str, token: &str) -> String {
    api_get(base, "/api/v1/me", Some(token)).await.json()["id"].as_str().unwrap().to_string()
}

/// The asset id of a `/media/<id>?…` URL.
fn asset_of(url: &str) -> String {
    url.split("/media/").nth(1).and_then(|rest| rest.split('?').next()).unwrap().to_string()
}

async fn audited(app: &TestApp, action: AuditAction) -> usize {
    let filter = AuditFilter { action: Some(action), ..AuditFilter::default() };
    audit::list(&app.running.state, filter, 50).await.unwrap().0.len()
}

#[tokio::test]
async fn export_holds_the_profile_generations_ledger_and_every_file_byte_for_byte() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let reference = upload(&app.url, &token, jpeg_with_gps(), "holiday.jpg").await.json();
    let body = serde_json::json!({
        "model": "demo-image", "prompt": "a kite", "negative_prompt": "rain", "params": {"seed": 3, "count": 2},
        "references": [{"role": "reference", "upload": reference["id"]}]
    });
    let image = generate(&app.url, &token, body).await.json()["id"].as_str().unwrap().to_string();
    let body = serde_json::json!({"model": "demo-video", "prompt": "waves on a pier", "params": {"duration": 2, "seed": 9}});
    let video = generate(&app.url, &token, body).await.json()["id"].as_str().unwrap().to_string();
    let mut views = BTreeMap::new();
    for id in [&image, &video] {
        let done = wait_terminal(&app.url, &token, id).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        views.insert(id.clone(), done);
    }
    // someone else's upload, which must not be in the export
    let (tess, tess_token) = member_with_token(&app, &admin).await;
    let theirs = upload(&app.url, &tess_token, jpeg_with_gps(), "theirs.jpg").await.json();
    assert_eq!(api_get(&app.url, EXPORT, Some(&token)).await.status, 404, "none asked for yet");

    // two requests at once make one export
    let (a, b) =
        tokio::join!(api_post(&app.url, EXPORT, &token, serde_json::json!({})), api_post(&app.url, EXPORT, &token, serde_json::json!({})));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 202], "{} / {}", a.body, b.body);
    assert_eq!(a.json()["requested_at"], b.json()["requested_at"]);
    assert!(["queued", "running"].contains(&a.json()["state"].as_str().unwrap()));
    let status = wait_export(&app.url, &token).await;
    assert_eq!(status["state"], "ready", "{status}");
    assert!(status["finished_at"].is_string() && status["expires_at"].is_string() && status["requested_at"].is_string());
    let url = status["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&app.url) && url.contains("sig="), "{url}");

    // the file in the vault is age-encrypted, never a plaintext ZIP
    let asset = asset_of(&url);
    let stored = std::fs::read(app.running.state.media.path_of(&asset).unwrap()).unwrap();
    assert!(stored.starts_with(b"age-encryption.org/v1"), "encrypted at rest");
    assert!(!stored.windows(12).any(|w| w == b"profile.json"), "no plaintext entry names");

    let (code, headers, zip) = fetch(&url).await;
    assert_eq!(code, 200);
    assert_eq!(headers["content-type"], "application/zip");
    let today = Timestamp::now().rfc3339()[..10].to_string();
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"reelvault-export-{today}.zip\""));
    assert_eq!(zip.len() as u64, status["bytes"].as_u64().unwrap());
    let files = entries(&zip);

    let profile = json_of(&files, "profile.json");
    assert_eq!(
        (profile["email"].as_str(), profile["name"].as_str(), profile["role"].as_str()),
        (Some("admin@example.com"), Some("Ada Admin"), Some("admin"))
    );
    assert_eq!(profile["id"], user_id(&app.url, &token).await);
    assert_eq!(profile["format"], "reelvault-export-1");
    for (name, bytes) in files.iter().filter(|(n, _)| n.ends_with(".json")) {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("password_hash") && !text.contains("$argon2"), "{name} holds no password hash");
        assert!(!text.contains(theirs["id"].as_str().unwrap()) && !text.contains("tess@example.com"), "{name} holds nothing of tess");
    }

    // generations.json says what the API says, and its files are the outputs, byte for byte
    let generations = json_of(&files, "generations.json");
    let generations = generations.as_array().unwrap();
    assert_eq!(generations.len(), 2);
    let mut media_seen = 0;
    for g in generations {
        let api = &views[g["id"].as_str().unwrap()];
        for field in [
            "prompt",
            "negative_prompt",
            "model",
            "kind",
            "state",
            "cost",
            "params",
            "created_at",
            "finished_at",
            "kept",
            "shared",
            "references",
        ] {
            assert_eq!(g[field], api[field], "{field} of {}", g["id"]);
        }
        assert_eq!(g["provider"], "demo");
        let outputs = api["outputs"].as_array().unwrap();
        assert_eq!(g["files"].as_array().unwrap().len(), outputs.len());
        for (file, output) in g["files"].as_array().unwrap().iter().zip(outputs) {
            let name = file["file"].as_str().unwrap();
            assert!(name.starts_with("media/"), "{name}");
            let (code, _, original) = fetch(output["url"].as_str().unwrap()).await;
            assert_eq!(code, 200);
            assert_eq!(files[name], original, "{name} is the output as stored");
            assert_eq!((file["sha256"].as_str(), file["id"].as_str()), (output["sha256"].as_str(), output["id"].as_str()));
            let sidecar = json_of(&files, &format!("{name}.json"));
            assert_eq!((sidecar["role"].as_str(), sidecar["generation"].as_str()), (Some("output"), g["id"].as_str()));
            media_seen += 1;
        }
    }
    assert_eq!(media_seen, 3, "two images and a video");

    // the ledger sums to the balance
    let ledger = json_of(&files, "ledger.json");
    let ledger = ledger.as_array().unwrap();
    let credits = api_get(&app.url, "/api/v1/credits", Some(&token)).await.json();
    let sum = |field: &str| ledger.iter().map(|e| e[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("available_delta"), credits["available"].as_i64().unwrap());
    assert_eq!(sum("held_delta"), credits["held"].as_i64().unwrap());
    assert_eq!(sum("amount"), credits["available"].as_i64().unwrap() + credits["held"].as_i64().unwrap());
    assert!(ledger.iter().any(|e| e["kind"] == "grant") && ledger.iter().filter(|e| e["kind"] == "settle").count() == 2);
    assert_eq!(profile["credits"], credits);

    // the reference upload, as the owner sees it
    let uploads = json_of(&files, "uploads.json");
    assert_eq!(uploads.as_array().unwrap().len(), 1, "only the owner's upload: {uploads}");
    let up = &uploads[0];
    assert_eq!((up["id"].as_str(), up["role"].as_str()), (reference["id"].as_str(), Some("upload")));
    let (_, _, original) = fetch(reference["url"].as_str().unwrap()).await;
    assert_eq!(files[up["file"].as_str().unwrap()], original);

    // every media entry has a sidecar whose hash and size match it
    let media: Vec<&String> = files.keys().filter(|n| n.starts_with("media/") && !n.ends_with(".json")).collect();
    assert_eq!(media.len(), 4);
    for name in media {
        let sidecar = json_of(&files, &format!("{name}.json"));
        assert_eq!(sidecar["sha256"], sha256(&files[name]), "{name}");
        assert_eq!(sidecar["bytes"], files[name].len() as u64);
    }

    // the signed link: tampered or expired is 403; the download was audited
    let tampered = url.replace("sig=", "sig=A");
    assert_eq!(fetch(&tampered).await.0, 403);
    let owner = user_id(&app.url, &token).await;
    let past = Timestamp::now().millis() / 1000 - 10;
    let expired = format!("{}/media/{asset}?{}", app.url, app.running.state.signer.sign(&asset, &owner, past));
    let (code, _, body) = fetch(&expired).await;
    assert_eq!(code, 403);
    assert!(String::from_utf8_lossy(&body).contains("media.link_expired"));
    assert_eq!(audited(&app, AuditAction::ExportRequested).await, 1);
    assert_eq!(audited(&app, AuditAction::ExportDownloaded).await, 1);

    // someone else sees only their own export, whether by token or cookie
    assert_eq!(api_get(&app.url, EXPORT, Some(&tess_token)).await.status, 404);
    let by_cookie = Browser::read(tess.client.get(format!("{}{EXPORT}", app.url)).send().await.unwrap()).await;
    assert_eq!(by_cookie.status, 404);
    assert_eq!(by_cookie.json()["code"], "not_found");
    assert_eq!(api_get(&app.url, EXPORT, None).await.status, 401);

    // a new export replaces the previous one, whose file is removed
    let again = api_post(&app.url, EXPORT, &token, serde_json::json!({})).await;
    assert_eq!(again.status, 202, "{}", again.body);
    let status = wait_export(&app.url, &token).await;
    assert_eq!(status["state"], "ready");
    assert_ne!(asset_of(status["url"].as_str().unwrap()), asset);
    assert!(!app.running.state.media.path_of(&asset).unwrap().exists(), "the previous file is gone");
    assert_eq!(fetch(&url).await.0, 403, "the previous link no longer works");

    // a week later the retention sweep removes the export, file and record
    let newer = asset_of(status["url"].as_str().unwrap());
    let later = Timestamp::now().plus(reelvault::services::privacy::export::KEEP_FOR + Duration::from_secs(60));
    let run = reelvault::services::privacy::retention::run(&app.running.state, "test", later).await.unwrap();
    assert!(run.counts.files >= 1, "{:?}", run.counts);
    assert!(!app.running.state.media.path_of(&newer).unwrap().exists());
    assert_eq!(api_get(&app.url, EXPORT, Some(&token)).await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn export_from_the_account_page_shows_the_button_then_the_link() {
    let (app, admin, _token) = app_with_credits(Duration::ZERO, 10).await;
    let page = admin.get("/account").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.count("#export-start"), 1);
    assert!(page.text_of("#export").contains("7 days"), "the page says how long an export is kept");
    assert_eq!(page.count("#export-download"), 0);
    let refused = admin.post_raw("/account/export", &[], &[]).await;
    assert_eq!(refused.status, 403, "no CSRF token");

    let started = admin.post_form("/account/export", &[]).await;
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(started.location(), Some("/account"));
    let mut page: Option<Page> = None;
    for _ in 0..600 {
        let p = admin.get("/account").await;
        if p.count("#export-download") == 1 {
            page = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = page.expect("the download link appears");
    assert_eq!(page.text_of("#export-state"), "Ready");
    let link = page.attr_of("#export-download", "href").unwrap();
    let (code, headers, zip) = fetch(&format!("{}{link}", app.url)).await;
    assert_eq!(code, 200);
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"reelvault-export-"));
    assert!(entries(&zip).contains_key("profile.json"));
    // htmx asks for the panel alone; a person is sent to the page
    let panel =
        Browser::read(admin.client.get(format!("{}/account/export", app.url)).header("hx-request", "true").send().await.unwrap()).await;
    assert_eq!(panel.status, 200);
    assert_eq!(panel.count("#export-download"), 1);
    assert_eq!(admin.get("/account/export").await.location(), Some("/account"));
    app.stop().await;
}

/// Writes `export` into the store of a stopped instance.
fn put_export(data_dir: &std::path::Path, export: &Export) {
    let store = reelvault::store::Store::open(data_dir).unwrap();
    store.write_now(reelvault::store::Commit::Durable, |tx| reelvault::store::exports::put(tx, export)).unwrap();
}

#[tokio::test]
async fn export_interrupted_by_a_restart_runs_again_or_fails_never_stays_running() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_tess, tess_token) = member_with_token(&app, &admin).await;
    let admin_id: UserId = user_id(&app.url, &token).await.parse().unwrap();
    let tess_id: UserId = user_id(&app.url, &tess_token).await.parse().unwrap();
    let app = app
        .restart_after(|dir| {
            // as a killed writer leaves them: running, once and too often
            let mut once = Export::requested(admin_id, Timestamp::now());
            once.start(Timestamp::now());
            put_export(dir, &once);
            let mut often = Export::requested(tess_id, Timestamp::now());
            for _ in 0..MAX_ATTEMPTS {
                often.start(Timestamp::now());
            }
            assert_eq!(often.state, ExportState::Running);
            put_export(dir, &often);
        })
        .await;
    let status = wait_export(&app.url, &token).await;
    assert_eq!(status["state"], "ready", "{status}");
    let (code, _, zip) = fetch(status["url"].as_str().unwrap()).await;
    assert_eq!(code, 200);
    assert!(entries(&zip).contains_key("profile.json"));
    let failed = wait_export(&app.url, &tess_token).await;
    assert_eq!(failed["state"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("interrupted"), "{failed}");
    assert!(failed["url"].is_null());

    // an export running while the instance stops ends after the next start too
    let started = api_post(&app.url, EXPORT, &tess_token, serde_json::json!({})).await;
    assert_eq!(started.status, 202, "{}", started.body);
    let app = app.restart().await;
    let after = wait_export(&app.url, &tess_token).await;
    assert_eq!(after["state"], "ready", "{after}");
    app.stop().await;
}
