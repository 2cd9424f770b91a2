//! Deleting a generation: its files and records go, in a crash-safe order; the ledger stays.

use std::time::Duration;

use reelvault::domain::ids::GenerationId;
use reelvault::services::privacy::audit::Context;
use reelvault::services::privacy::deletion;

use crate::support::generate;
use crate::support::{Browser, TestApp, api_get};
use crate::support::{admin_with_credits, credits, wait_terminal};

const CREDITS: i64 = 50;

async fn app_with_delay(delay: Duration) -> (TestApp, Browser, String) {
    let app = TestApp::start_with(|c| c.connection[0].delay = delay).await;
    let (admin, token) = admin_with_credits(&app, CREDITS).await;
    (app, admin, token)
}

async fn image(app: &TestApp, token: &str) -> serde_json::Value {
    let created = generate(&app.url, token, serde_json::json!({"model": "demo-image", "prompt": "a kite"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    done
}

async fn delete(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    client.delete(format!("{}/api/v1/generations/{id}", app.url)).bearer_auth(token).send().await.unwrap()
}

/// The encrypted file of an output on disk.
fn file_of(app: &TestApp, output: &serde_json::Value) -> std::path::PathBuf {
    app.running.state.media.path_of(output["id"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_finished_generation_is_deleted_with_its_files_and_its_charge_stays() {
    let (app, admin, token) = app_with_delay(Duration::ZERO).await;
    let done = image(&app, &token).await;
    let id = done["id"].as_str().unwrap();
    let file = file_of(&app, &done["outputs"][0]);
    assert!(file.exists());
    let url = done["outputs"][0]["url"].as_str().unwrap().to_string();

    assert_eq!(delete(&app, &token, id).await.status(), 204);
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.status, 404);
    assert!(!file.exists(), "the encrypted file is gone");
    let media = reqwest::Client::builder().no_proxy().build().unwrap().get(&url).send().await.unwrap();
    // an unknown asset answers like a bad signature, so ids cannot be probed
    assert_eq!(media.status(), 403, "the signed link opens nothing any more");
    assert_eq!(admin.get(&format!("/generations/{id}")).await.status, 404);
    assert_eq!(credits(&app.url, &token).await, (CREDITS - 1, 0), "the charge stays in the ledger");
    assert_eq!(delete(&app, &token, id).await.status(), 404, "deleting twice");
    assert!(admin.get("/admin/audit").await.body.contains("generation.deleted"));
    app.stop().await;
}

#[tokio::test]
async fn a_running_generation_must_be_cancelled_before_it_is_deleted() {
    let (app, _admin, token) = app_with_delay(Duration::from_secs(30)).await;
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "slow"})).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    let refused = delete(&app, &token, &id).await;
    assert_eq!(refused.status(), 409);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("cancel it first"), "{body}");
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.status, 200, "nothing was lost");
    app.stop().await;
}

#[tokio::test]
async fn another_persons_generation_cannot_be_deleted() {
    let (app, admin, token) = app_with_delay(Duration::ZERO).await;
    let done = image(&app, &token).await;
    let member = app.invite_member(&admin, "m@example.com", "a long member password").await;
    let other = member.post_form("/account/tokens", &[("name", "m"), ("expires", "30")]).await.text_of("#new-token");
    let id = done["id"].as_str().unwrap();
    assert_eq!(delete(&app, &other, id).await.status(), 404);
    assert!(file_of(&app, &done["outputs"][0]).exists());
    assert_eq!(delete(&app, &token, "not-an-id").await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_deletion_interrupted_after_its_first_step_finishes_at_the_next_start() {
    let (app, _admin, token) = app_with_delay(Duration::ZERO).await;
    let done = image(&app, &token).await;
    let id: GenerationId = done["id"].as_str().unwrap().parse().unwrap();
    let file = file_of(&app, &done["outputs"][0]);
    // step 1 only, as a crash right after its commit leaves it
    assert!(deletion::mark(&app.running.state, &Context::cli(), id).await.unwrap());
    assert!(file.exists(), "the files are still there");
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(&token)).await.status, 404, "but gone for the user");

    let app = app.restart().await;
    let mut finished = false;
    for _ in 0..100 {
        let pending = app.running.state.store.read(reelvault::store::generations::pending_deletions).await.unwrap();
        if pending.is_empty() && !file.exists() {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(finished, "the restart finished the deletion: no file and no queue row");
    let record = app.running.state.store.read(move |tx| reelvault::store::generations::get(tx, id)).await.unwrap();
    assert!(record.is_none(), "no dangling record");
    app.stop().await;
}
