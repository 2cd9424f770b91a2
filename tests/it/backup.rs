//! `reelvault backup` while the service runs, `reelvault restore` into an empty data
//! directory, and a restored instance that serves every record and media file as before; with
//! media on a real Garage, copied into the backup or left in their bucket, restored to either
//! backend.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::generate;
use crate::support::process::run;
use crate::support::{TestApp, api_get};
use crate::support::{app_with_credits, wait_terminal};
use crate::uploads::{jpeg_with_gps, upload};

async fn cli(args: &[&str], stdin: Option<&str>) -> String {
    let (code, out, err) = run(args, stdin).await;
    assert_eq!(code, 0, "reelvault {args:?} failed:\n{out}\n{err}");
    out
}

/// The records a restore must bring back, read through the API.
async fn generation_view(base: &str, token: &str, id: &str) -> serde_json::Value {
    let g = api_get(base, &format!("/api/v1/generations/{id}"), Some(token)).await.json();
    let outputs: Vec<_> = g["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| serde_json::json!({"id": o["id"], "bytes": o["bytes"], "sha256": o["sha256"], "content_type": o["content_type"]}))
        .collect();
    serde_json::json!({
        "state": g["state"], "reason": g["reason"], "cost": g["cost"], "model": g["model"], "prompt": g["prompt"],
        "params": g["params"], "references": g["references"], "created_at": g["created_at"], "finished_at": g["finished_at"],
        "outputs": outputs,
    })
}

/// Downloads every output of a generation through its signed URL; returns their SHA-256.
async fn download_hashes(base: &str, token: &str, id: &str) -> Vec<String> {
    let g = api_get(base, &format!("/api/v1/generations/{id}"), Some(token)).await.json();
    let mut hashes = Vec::new();
    for o in g["outputs"].as_array().unwrap() {
        let url = o["url"].as_str().unwrap();
        assert!(url.starts_with(base), "{url} is served by {base}");
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        hashes.push(hex::encode(Sha256::digest(response.bytes().await.unwrap())));
    }
    hashes
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_every_record_and_media_file() {
    let (app, _admin, admin_token) = app_with_credits(Duration::ZERO, 500).await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let master_key = data.with_file_name("data.key");
    assert!(master_key.exists());

    // people, tokens and credits made on the command line (through the admin socket)
    cli(&["user", "add", "--email", "mia@example.com", "--name", "Mia", "--password-stdin", "--data-dir", d], Some("mia's password 1"))
        .await;
    cli(&["user", "add", "--email", "olu@example.com", "--role", "admin", "--password-stdin", "--data-dir", d], Some("olu password 12"))
        .await;
    cli(&["user", "disable", "--email", "olu@example.com", "--data-dir", d], None).await;
    cli(&["credits", "grant", "--email", "mia@example.com", "--amount", "40", "--data-dir", d], None).await;
    let mia_token =
        cli(&["token", "create", "--email", "mia@example.com", "--data-dir", d], None).await.lines().next().unwrap().to_string();

    // demo generations: images, a video, one from a reference upload, and one that fails
    let reference = upload(&app.url, &admin_token, jpeg_with_gps(), "ref.jpg").await;
    assert_eq!(reference.status, 201, "{}", reference.body);
    let requests = [
        (&admin_token, serde_json::json!({"model": "demo-image", "prompt": "a red kite", "params": {"seed": 1}})),
        (&admin_token, serde_json::json!({"model": "demo-image", "prompt": "two kites", "params": {"seed": 2, "count": 2}})),
        (&admin_token, serde_json::json!({"model": "demo-video", "prompt": "a kite at dusk", "params": {"duration": 2}})),
        (
            &admin_token,
            serde_json::json!({"model": "demo-video", "prompt": "from a photo", "params": {"duration": 2},
                "references": [{"role": "first_frame", "upload": reference.json()["id"]}]}),
        ),
        (&mia_token, serde_json::json!({"model": "demo-image", "prompt": "mia's kite"})),
    ];
    let mut generations = Vec::new();
    for (token, body) in requests {
        let created = generate(&app.url, token, body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.json()["id"].as_str().unwrap().to_string();
        let done = wait_terminal(&app.url, token, &id).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        generations.push((token.clone(), id));
    }

    // 6 outputs, 4 image thumbnails, 1 upload, and a poster frame per video where ffmpeg makes them
    let video_posters = if crate::support::has_ffmpeg() { 2 } else { 0 };
    let assets = 11 + video_posters;
    // image thumbnails are recorded just after their generation succeeds
    let posters = format!("reelvault_stored_files{{kind=\"poster\"}} {}", 4 + video_posters);
    crate::support::eventually("the image thumbnails", async || {
        let metrics = reqwest::Client::new().get(format!("{}/metrics", app.url)).bearer_auth(&admin_token).send().await;
        match metrics {
            Ok(response) => response.text().await.is_ok_and(|text| text.lines().any(|l| l == posters)),
            Err(_) => false,
        }
    })
    .await;
    let root = tempfile::tempdir().unwrap();
    let backup_dir = root.path().join("backup-1");
    let b = backup_dir.to_str().unwrap();
    let out = cli(&["backup", b, "--data-dir", d], None).await;
    assert!(out.contains("backup written to"), "{out}");
    assert!(out.contains("master key is NOT in the backup"), "{out}");
    assert!(out.contains(&format!("3 users, 5 generations, {assets} assets")), "{out}");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["master_key_included"], false);
    assert_eq!(manifest["schema_version"], reelvault::store::migrations::CURRENT);
    assert_eq!(manifest["tables"]["users-1"], 3);
    assert_eq!(manifest["tables"]["generations-1"], 5);
    let media = manifest["media"].as_array().unwrap();
    assert_eq!(media.len(), assets, "one upload, every output and a thumbnail per image (and video): {manifest}");
    for m in media {
        let on_disk = std::fs::read(backup_dir.join(m["path"].as_str().unwrap())).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&on_disk)), m["sha256"].as_str().unwrap());
        assert!(on_disk.starts_with(b"age-encryption.org/v1"), "media stay encrypted in the backup");
    }
    let key_text = std::fs::read_to_string(&master_key).unwrap();
    let secret = key_text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
    for file in files_under(&backup_dir) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the master key is in {}", file.display());
    }
    let (code, _, err) = run(&["backup", b, "--data-dir", d], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("is not empty"), "{err}");

    // restore into a fresh data directory, refusing one that holds anything
    let restored = root.path().join("restored");
    let r = restored.to_str().unwrap();
    let (code, _, err) = run(&["restore", b, "--data-dir", d], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("is not empty") && err.contains("nothing was changed"), "{err}");
    let out = cli(&["restore", b, "--data-dir", r], None).await;
    assert!(out.contains("restored the backup") && out.contains("master key is NOT in the backup"), "{out}");

    let users_before = cli(&["user", "list", "--data-dir", d], None).await;
    let copy = TestApp::start_with(|c| {
        c.data_dir = restored.clone();
        c.master_key_file = master_key.clone();
    })
    .await;
    assert!(copy.running.setup_secret.is_none(), "the restored instance has its admin");
    assert_eq!(cli(&["user", "list", "--data-dir", r], None).await, users_before);
    for token in [&admin_token, &mia_token] {
        let before = api_get(&app.url, "/api/v1/credits", Some(token)).await;
        let after = api_get(&copy.url, "/api/v1/credits", Some(token)).await;
        assert_eq!(after.status, 200, "API tokens still work: {}", after.body);
        assert_eq!(before.json(), after.json());
        assert_eq!(api_get(&app.url, "/api/v1/me", Some(token)).await.json(), api_get(&copy.url, "/api/v1/me", Some(token)).await.json());
    }
    for (token, id) in &generations {
        let before = generation_view(&app.url, token, id).await;
        assert_eq!(generation_view(&copy.url, token, id).await, before);
        let expected: Vec<String> =
            before["outputs"].as_array().unwrap().iter().map(|o| o["sha256"].as_str().unwrap().to_string()).collect();
        assert_eq!(download_hashes(&copy.url, token, id).await, expected, "every output decrypts to the same bytes");
    }
    let cleaned = upload(&copy.url, &admin_token, jpeg_with_gps(), "again.jpg").await;
    assert_eq!(cleaned.status, 201, "the restored instance takes new uploads: {}", cleaned.body);
    let signed_in = copy.browser().sign_in("mia@example.com", "mia's password 1").await;
    assert_eq!(signed_in.status, 303, "passwords survive");
    assert_eq!(copy.browser().sign_in("olu@example.com", "olu password 12").await.status, 403, "and so does a disabled account");
    copy.stop().await;
    let config = root.path().join("config.toml");
    std::fs::write(&config, format!("master_key_file = {:?}\n", master_key.to_str().unwrap())).unwrap();
    let ledger = cli(&["check", "--data-dir", r, "--config", config.to_str().unwrap()], None).await;
    assert!(ledger.contains("every balance equals the sum of its ledger"), "{ledger}");
    assert!(!root.path().join("restored.key").exists(), "no stray master key was made");
    app.stop().await;
}

#[tokio::test]
async fn a_damaged_or_incomplete_backup_is_refused_before_anything_is_written() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "p"})).await;
    wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let root = tempfile::tempdir().unwrap();
    let backup_dir = root.path().join("b");
    let b = backup_dir.to_str().unwrap();
    cli(&["backup", b, "--data-dir", d], None).await;
    app.stop().await;

    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).unwrap()).unwrap();
    let media = backup_dir.join(manifest["media"][0]["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&media).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&media, &bytes).unwrap();
    let target = root.path().join("target");
    let t = target.to_str().unwrap();
    let (code, _, err) = run(&["restore", b, "--data-dir", t], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("does not match the manifest"), "{err}");
    assert!(!target.exists(), "nothing was written");

    std::fs::remove_file(backup_dir.join("manifest.json")).unwrap();
    let (code, _, err) = run(&["restore", b, "--data-dir", t], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("no manifest.json"), "{err}");
}

/// Every file under `dir` is 0600 and every folder 0700 (`dir` itself included).
fn assert_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            assert_private(&path);
        } else {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}

/// Runs `reelvault ARGS` under umask 000, which would leave every file it makes world-writable.
async fn lax_umask(args: &str) {
    let shell = format!("umask 000; exec \"$0\" {args}");
    let out = tokio::process::Command::new("sh").args(["-c", &shell, crate::support::process::BIN]).output().await.unwrap();
    assert!(out.status.success(), "reelvault {args}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn backups_and_restores_write_files_0600_and_folders_0700_even_under_a_lax_umask() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 50).await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a kite"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(upload(&app.url, &token, jpeg_with_gps(), "ref.jpg").await.status, 201);

    let root = tempfile::tempdir().unwrap();
    // an empty folder made by someone else with a lax mode, and a new one under a lax umask
    let given = root.path().join("given");
    std::fs::create_dir(&given).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&given, std::fs::Permissions::from_mode(0o755)).unwrap();
    let new = root.path().join("new").join("backup");
    for dir in [&given, &new] {
        lax_umask(&format!("backup {} --data-dir {d}", dir.display())).await;
        assert_private(dir);
        assert!(dir.join("media").exists(), "the media were copied too");
    }
    let restored = root.path().join("restored");
    lax_umask(&format!("restore {} --data-dir {}", given.display(), restored.display())).await;
    assert_private(&restored);
    app.stop().await;
}

#[tokio::test]
async fn a_backup_of_media_on_s3_copies_them_or_names_their_bucket_and_restores_to_either_backend() {
    let Some(garage) = crate::support::garage::Garage::start() else { return };
    let app = TestApp::start_with(|c| c.media = garage.media_config("live/")).await;
    let (_admin, token) = crate::support::admin_with_credits(&app, 100).await;
    let created =
        generate(&app.url, &token, serde_json::json!({"model": "demo-video", "prompt": "a kite at dusk", "params": {"duration": 2}})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, &token, &id).await["state"], "succeeded");
    let expected = download_hashes(&app.url, &token, &id).await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let master_key = data.with_file_name("data.key");
    let root = tempfile::tempdir().unwrap();
    let key_line = format!("master_key_file = {:?}\n", master_key.to_str().unwrap());

    // the media copied out of the bucket into the backup
    let copied = root.path().join("copied");
    let out = cli(&["backup", copied.to_str().unwrap(), "--data-dir", d], None).await;
    assert!(out.contains("media files from s3"), "{out}");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(copied.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["media_backend"], "s3");
    let media = manifest["media"].as_array().unwrap();
    assert!(!media.is_empty(), "{manifest}");
    for m in media {
        let file = std::fs::read(copied.join(m["path"].as_str().unwrap())).unwrap();
        assert!(file.starts_with(b"age-encryption.org/v1"), "media stay encrypted in the backup");
        assert_eq!(hex::encode(Sha256::digest(&file)), m["sha256"].as_str().unwrap());
    }
    // or left in their bucket, which the manifest names
    let in_place = root.path().join("in-place");
    let out = cli(&["backup", in_place.to_str().unwrap(), "--data-dir", d, "--media-in-place"], None).await;
    assert!(out.contains("left in place on s3"), "{out}");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(in_place.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["media_in_place"]["bucket"], garage.bucket.as_str());
    assert_eq!(manifest["media_in_place"]["prefix"], "live/");
    assert_eq!(manifest["media"].as_array().unwrap().len(), 0);
    assert!(!in_place.join("media").exists(), "no media copied");
    let _app_dir = app.stop().await; // holds the master key

    // restored to the local disk
    let on_disk = root.path().join("on-disk");
    cli(&["restore", copied.to_str().unwrap(), "--data-dir", on_disk.to_str().unwrap()], None).await;
    let copy = TestApp::start_with(|c| {
        c.data_dir = on_disk.clone();
        c.master_key_file = master_key.clone();
    })
    .await;
    assert_eq!(download_hashes(&copy.url, &token, &id).await, expected, "restored to the local disk");
    copy.stop().await;

    // restored into the bucket under another prefix
    let config_dir = root.path().join("config-restored");
    std::fs::create_dir(&config_dir).unwrap();
    let config = garage.write_config(&config_dir, "restored/", &key_line);
    let in_bucket = root.path().join("in-bucket");
    let out = cli(
        &[
            "restore",
            copied.to_str().unwrap(),
            "--data-dir",
            in_bucket.to_str().unwrap(),
            "--media-to",
            "s3",
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert!(out.contains("media restored to s3"), "{out}");
    assert_eq!(garage.keys("restored/").await.len(), media.len(), "every media file is an object again");
    let copy = TestApp::start_with(|c| {
        c.data_dir = in_bucket.clone();
        c.master_key_file = master_key.clone();
        c.media = garage.media_config("restored/");
    })
    .await;
    assert_eq!(download_hashes(&copy.url, &token, &id).await, expected, "restored into the bucket");
    copy.stop().await;

    // a backup that left its media in place restores onto them, and not onto the local disk
    let nope = root.path().join("nope");
    let (code, _, err) =
        run(&["restore", in_place.to_str().unwrap(), "--data-dir", nope.to_str().unwrap(), "--media-to", "local"], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("restore with --media-to s3"), "{err}");
    let (code, _, err) = run(&["restore", in_place.to_str().unwrap(), "--data-dir", nope.to_str().unwrap()], None).await;
    assert_ne!(code, 0, "onto the bucket by default, whose settings the config lacks");
    assert!(err.contains("no S3 settings under [media]"), "{err}");
    assert!(!nope.exists(), "nothing was written");
    let config_dir = root.path().join("config-live");
    std::fs::create_dir(&config_dir).unwrap();
    let config = garage.write_config(&config_dir, "live/", &key_line);
    let onto = root.path().join("onto-bucket");
    cli(&["restore", in_place.to_str().unwrap(), "--data-dir", onto.to_str().unwrap(), "--config", config.to_str().unwrap()], None).await;
    let copy = TestApp::start_with(|c| {
        c.data_dir = onto.clone();
        c.master_key_file = master_key.clone();
        c.media = garage.media_config("live/");
    })
    .await;
    assert_eq!(download_hashes(&copy.url, &token, &id).await, expected, "restored onto the media left in place");
    copy.stop().await;
}
