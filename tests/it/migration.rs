//! A store written at schema 1 is upgraded on open; a store from a newer build is refused.

use std::path::Path;

use crate::support::{TestApp, api_get};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-1.redb");

#[tokio::test]
async fn a_schema_1_store_is_upgraded_and_its_emails_become_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(FIXTURE, data.join("reelvault.redb")).unwrap();
    let app = TestApp::start_with(|c| {
        c.data_dir = data.clone();
        c.master_key_file = dir.path().join("data.key");
    })
    .await;
    assert!(app.running.setup_secret.is_none(), "the fixture already has its admin");
    let b = app.browser();
    // schema 1 stored "Alice@Example.COM" as typed; schema 2 signs in case-insensitively
    let signed_in = b.sign_in("alice@example.com", "correct horse battery").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let me = b.get("/api/v1/me").await.json();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["role"], "admin");
    assert_eq!(api_get(&app.url, "/readyz", None).await.json()["schema"], reelvault::store::migrations::CURRENT);
    app.stop().await;
    assert!(Path::new(FIXTURE).exists(), "the fixture itself is untouched");
}
