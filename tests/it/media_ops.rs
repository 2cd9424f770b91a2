//! Operating the media storage: `reelvault check` finds every record's object and names the
//! missing ones and the orphans (on the local disk and on a real Garage, with the service
//! running and stopped), and `reelvault media migrate` moves the media to S3 and back while
//! the service runs and makes new generations (and with it stopped), resuming an interrupted
//! run, with every media URL answering the same bytes throughout.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::garage::Garage;
use crate::support::process::run;
use crate::support::{TestApp, admin_with_credits, api_get, client, generate, wait_terminal};

/// A stored output: its asset id, signed URL and plaintext SHA-256.
struct Output {
    id: String,
    url: String,
    sha256: String,
}

/// A 2-second demo video (stored as an object, never kept in the store), waited for.
async fn make_video(base: &str, token: &str, prompt: &str) -> Vec<Output> {
    let created = generate(base, token, serde_json::json!({"model": "demo-video", "prompt": prompt, "params": {"duration": 2}})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let done = wait_terminal(base, token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let g = api_get(base, &format!("/api/v1/generations/{id}"), Some(token)).await.json();
    g["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| Output {
            id: o["id"].as_str().unwrap().to_string(),
            url: o["url"].as_str().unwrap().to_string(),
            sha256: o["sha256"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Every output downloads through its signed URL to the bytes it was stored with.
async fn assert_byte_exact(outputs: &[Output], when: &str) {
    for o in outputs {
        let response = client().get(&o.url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{when}: {}", o.url);
        let body = response.bytes().await.unwrap();
        assert_eq!(hex::encode(Sha256::digest(&body)), o.sha256, "{when}: {} answers its stored bytes", o.id);
    }
}

/// The age files under the data directory's `media/` (its temp folder aside).
fn local_files(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(data.join("media")).unwrap().flatten() {
        if shard.file_name() == "tmp" || !shard.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(shard.path()).unwrap().flatten() {
            if let Some(id) = file.file_name().to_str().and_then(|n| n.strip_suffix(".age")) {
                out.push(id.to_string());
            }
        }
    }
    out
}

async fn cli_ok(args: &[&str]) -> String {
    let (code, out, err) = run(args, None).await;
    assert_eq!(code, 0, "reelvault {args:?} failed:\n{out}\n{err}");
    out
}

/// The shared body: check on the backend `garage` gives (the local disk when none).
async fn check_names_missing_objects_and_orphans(garage: Option<&Garage>) {
    const PREFIX: &str = "m/";
    let app = TestApp::start_with(|c| {
        if let Some(g) = garage {
            c.media = g.media_config(PREFIX);
        }
    })
    .await;
    let (_admin, token) = admin_with_credits(&app, 100).await;
    let outputs = make_video(&app.url, &token, "a kite").await;
    let data = app.data_dir();
    let d = data.to_str().unwrap().to_string();
    let backend = if garage.is_some() { "s3" } else { "local" };

    let out = cli_ok(&["check", "--data-dir", &d]).await;
    assert!(out.contains(&format!("media backend in force: {backend} (from the config)")), "{out}");
    assert!(out.contains("0 only on the other backend, 0 missing") && out.contains("orphans: 0 objects"), "{out}");

    // an age file no record names, and a record whose object is gone
    let orphan = reelvault::domain::ids::AssetId::generate().to_string();
    let gone = &outputs[0].id;
    match garage {
        Some(g) => {
            g.s3().put(&Garage::key_of(PREFIX, &orphan), b"age-encryption.org/v1\n-> X25519 orphan\n".to_vec()).await;
            g.s3().delete(&Garage::key_of(PREFIX, gone)).await;
        }
        None => {
            let path = app.running.state.media.path_of(&orphan).unwrap();
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"age-encryption.org/v1\n-> X25519 orphan\n").unwrap();
            std::fs::remove_file(app.running.state.media.path_of(gone).unwrap()).unwrap();
        }
    }
    let expect_problems = |code: i32, err: &str, when: &str| {
        assert_ne!(code, 0, "{when}: a missing object fails the check");
        assert!(err.contains(&format!("missing: asset {gone} has no object")), "{when}: {err}");
        assert!(err.contains(&format!("orphan: {orphan}")) && err.contains("orphans: 1 objects"), "{when}: {err}");
    };
    let (code, _, err) = run(&["check", "--data-dir", &d], None).await;
    expect_problems(code, &err, "service running");

    // the same with the service stopped (the store opened directly, the bucket from the config)
    let dir = app.stop().await;
    let mut args = vec!["check".to_string(), "--data-dir".into(), d.clone()];
    if let Some(g) = garage {
        let config = g.write_config(dir.path(), PREFIX, "");
        args.extend(["--config".to_string(), config.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&args, None).await;
    assert!(out.contains("every balance equals the sum of its ledger"), "{out}");
    expect_problems(code, &err, "service stopped");
}

#[tokio::test]
async fn check_names_missing_objects_and_orphans_on_the_local_disk() {
    check_names_missing_objects_and_orphans(None).await;
}

#[tokio::test]
async fn check_names_missing_objects_and_orphans_on_s3() {
    let Some(garage) = Garage::start() else { return };
    check_names_missing_objects_and_orphans(Some(&garage)).await;
}

#[tokio::test]
async fn media_move_to_s3_and_back_while_serving_resuming_an_interrupted_run() {
    const PREFIX: &str = "media/";
    let Some(garage) = Garage::start() else { return };
    let root = tempfile::tempdir().unwrap();
    // the service runs on the local disk; its config file gained [media] S3 settings since
    let config = garage.write_config(root.path(), PREFIX, "");
    let app = TestApp::start_with(|c| c.source = Some(config.clone())).await;
    let (_admin, token) = admin_with_credits(&app, 500).await;
    let data = app.data_dir();
    let (d, f) = (data.to_str().unwrap().to_string(), config.to_str().unwrap().to_string());
    let mut outputs = Vec::new();
    for prompt in ["one", "two", "three"] {
        outputs.extend(make_video(&app.url, &token, prompt).await);
    }
    let on_disk = local_files(&data).len();
    assert!(on_disk >= 3, "{on_disk}");

    // interrupted after two objects: nothing switched, everything readable
    let out = cli_ok(&["media", "migrate", "--to", "s3", "--stop-after", "2", "--data-dir", &d, "--config", &f]).await;
    assert!(out.contains("stopped after copying 2 objects"), "{out}");
    assert_eq!(garage.keys(PREFIX).await.len(), 2, "two objects copied");
    assert_byte_exact(&outputs, "after the interrupted run").await;
    let out = cli_ok(&["check", "--data-dir", &d]).await;
    assert!(
        out.contains("media backend in force: local") && out.contains("a migration to s3 has not finished (2 objects copied)"),
        "{out}"
    );
    // stored on the local disk, the backend still in force
    outputs.extend(make_video(&app.url, &token, "between the runs").await);

    // the second run continues where the first stopped while a generation is made
    let migrate = ["media", "migrate", "--to", "s3", "--data-dir", &d, "--config", &f];
    let ((code, out, err), during) = tokio::join!(run(&migrate, None), make_video(&app.url, &token, "during the run"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("resuming the migration to s3") && out.contains("2 objects copied so far"), "{out}");
    assert!(out.contains("switched: new media are stored on s3") && out.contains("media are now on s3"), "{out}");
    assert!(out.contains(&format!("set `backend = \"s3\"` under [media] in {f}")), "{out}");
    outputs.extend(during);
    assert_byte_exact(&outputs, "on s3").await;
    let keys = garage.keys(PREFIX).await;
    for o in &outputs {
        assert!(keys.contains(&Garage::key_of(PREFIX, &o.id)), "{} is in the bucket: {keys:?}", o.id);
        let object = garage.object(&Garage::key_of(PREFIX, &o.id)).await.unwrap();
        assert!(object.starts_with(b"age-encryption.org/v1\n"), "copied as its age file");
    }
    assert_eq!(local_files(&data), Vec::<String>::new(), "the old copies are removed after the switch");
    let out = cli_ok(&["check", "--data-dir", &d]).await;
    assert!(out.contains("media backend in force: s3 (recorded in the store by `reelvault media migrate`"), "{out}");
    assert!(out.contains("0 only on the other backend, 0 missing") && !out.contains("has not finished"), "{out}");
    // new outputs go to the bucket at once
    let after = make_video(&app.url, &token, "after the switch").await;
    assert!(garage.object(&Garage::key_of(PREFIX, &after[0].id)).await.is_some());
    outputs.extend(after);
    let audit = api_get(&app.url, "/api/v1/admin/audit?action=media.backend_switched", Some(&token)).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    assert!(audit.body.contains("media backend local -> s3"), "the switch is audited: {}", audit.body);

    // and back to the local disk
    let out = cli_ok(&["media", "migrate", "--to", "local", "--data-dir", &d, "--config", &f]).await;
    assert!(out.contains("media are now on local") && out.contains("set `backend = \"local\"`"), "{out}");
    assert!(garage.keys(PREFIX).await.is_empty(), "the bucket keeps no old copy");
    let mut files = local_files(&data);
    files.sort();
    for o in &outputs {
        assert!(files.binary_search(&o.id).is_ok(), "{} is on the disk", o.id);
    }
    assert_byte_exact(&outputs, "back on the local disk").await;

    // the recorded choice outlives a restart whose config still names s3
    let before = app.url.clone();
    let app = app.restart_with(|c| c.media = garage.media_config(PREFIX)).await;
    let out = cli_ok(&["check", "--data-dir", &d]).await;
    assert!(out.contains("media backend in force: local (recorded in the store"), "{out}");
    for o in &mut outputs {
        o.url = o.url.replace(&before, &app.url);
    }
    assert_byte_exact(&outputs, "after a restart").await;
    app.stop().await;
}

#[tokio::test]
async fn migrating_to_s3_without_its_settings_says_what_to_add() {
    let (app, _admin, _token) = crate::support::app_with_credits(std::time::Duration::ZERO, 1).await;
    let data = app.data_dir();
    let (code, _, err) = run(&["media", "migrate", "--to", "s3", "--data-dir", data.to_str().unwrap()], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("S3 settings under [media]"), "{err}");
    let (code, _, err) = run(&["media", "migrate", "--to", "tape", "--data-dir", data.to_str().unwrap()], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("expected \"local\" or \"s3\""), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn media_move_to_s3_with_the_service_stopped() {
    const PREFIX: &str = "cold/";
    let Some(garage) = Garage::start() else { return };
    let app = TestApp::start().await;
    let (_admin, token) = admin_with_credits(&app, 100).await;
    let mut outputs = make_video(&app.url, &token, "stored on the disk").await;
    let data = app.data_dir();
    let dir = app.stop().await;

    // the config now names s3; the media are still on the disk
    let config = garage.write_config(dir.path(), PREFIX, "");
    let (d, f) = (data.to_str().unwrap().to_string(), config.to_str().unwrap().to_string());
    let out = cli_ok(&["media", "migrate", "--to", "s3", "--data-dir", &d, "--config", &f]).await;
    assert!(out.contains("media are now on s3") && !out.contains(" 0 objects copied"), "{out}");
    assert!(local_files(&data).is_empty(), "{:?}", local_files(&data));
    assert!(garage.object(&Garage::key_of(PREFIX, &outputs[0].id)).await.is_some());

    let app = TestApp::start_with(|c| {
        c.data_dir = data.clone();
        c.master_key_file = data.with_file_name("data.key");
        c.media = garage.media_config(PREFIX);
    })
    .await;
    let before = outputs[0].url.split("/media/").next().unwrap().to_string();
    for o in &mut outputs {
        o.url = o.url.replace(&before, &app.url);
    }
    assert_byte_exact(&outputs, "served from the bucket").await;
    app.stop().await;
    drop(dir);
}
