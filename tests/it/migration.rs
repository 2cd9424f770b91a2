//! A store written at schema 1 is upgraded on open, after a copy is taken; a store from a
//! newer build is refused with a clear message.

use std::path::Path;

use reelvault::store::migrations::{self, CURRENT};

use crate::support::process::run;
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

    // the store was copied before the first migration step ran
    let copies: Vec<_> = std::fs::read_dir(data.join("backups")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let name = copies[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("reelvault-1-") && name.ends_with(".redb"), "{name}");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&copies[0]), 0o600, "the copy is readable by the service only, whatever the store's own mode");
    assert_eq!(mode(&data.join("backups")), 0o700);
    let copy = redb::Database::create(&copies[0]).unwrap();
    assert_eq!(migrations::stored_version(&copy).unwrap(), 1, "the copy is the store as schema 1 left it");
    drop(copy);

    // an up-to-date store is not copied again
    let app = TestApp::start_with(|c| {
        c.data_dir = data.clone();
        c.master_key_file = dir.path().join("data.key");
    })
    .await;
    app.stop().await;
    assert_eq!(std::fs::read_dir(data.join("backups")).unwrap().count(), 1);
}

#[tokio::test]
async fn an_older_binary_refuses_a_newer_store_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = redb::Database::create(data.join("reelvault.redb")).unwrap();
    let tx = db.begin_write().unwrap();
    tx.open_table(reelvault::store::tables::META).unwrap().insert("schema_version", (CURRENT + 1).to_le_bytes().as_slice()).unwrap();
    tx.commit().unwrap();
    drop(db);
    let d = data.to_str().unwrap();
    for args in [&["serve", "--listen", "127.0.0.1:0", "--data-dir", d][..], &["user", "list", "--data-dir", d][..]] {
        let (code, _, err) = run(args, None).await;
        assert_ne!(code, 0, "{args:?}");
        let expected = format!(
            "written by a newer reelvault (store schema {}; this reelvault {} understands up to schema {CURRENT})",
            CURRENT + 1,
            env!("CARGO_PKG_VERSION")
        );
        assert!(err.contains(&expected) && err.contains("run the newer version"), "{args:?}: {err}");
    }
    let db = redb::Database::create(data.join("reelvault.redb")).unwrap();
    assert_eq!(migrations::stored_version(&db).unwrap(), CURRENT + 1, "the newer store is left as it was");
    assert!(!data.join("backups").exists());
}
