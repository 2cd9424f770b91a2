//! The search index on disk: rebuilt at start when missing, damaged or of an older schema,
//! replayed from the outbox after kill -9 (the real binary), and rebuilt on demand by
//! `reelvault reindex`, with the service stopped or running.

use std::path::Path;
use std::time::Duration;

use reelvault::domain::ids::UserId;

use crate::search::{generation, me, put, search, wait_total};
use crate::support::api_get;
use crate::support::generate;
use crate::support::process::{BIN, Served, cli_admin_token, run};
use crate::support::{TestApp, app_with_credits, wait_terminal};

fn index_dir(data: &Path) -> std::path::PathBuf {
    data.join("search/index")
}

/// Flips bytes in the middle of every segment file (each one's checksum then fails).
fn damage_segments(data: &Path) {
    let mut damaged = 0;
    for entry in std::fs::read_dir(index_dir(data)).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".json") || name.starts_with('.') {
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if bytes.len() < 8 {
            continue;
        }
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle.saturating_sub(2)..middle + 2] {
            *b ^= 0xA5;
        }
        std::fs::write(&path, bytes).unwrap();
        damaged += 1;
    }
    assert!(damaged > 0, "there were segment files to damage");
}

/// Stores `count` generations of the member with `token`, prompted `word 0`, `word 1`, …;
/// the member's id.
async fn put_numbered(app: &TestApp, token: &str, word: &str, count: i64) -> UserId {
    let owner = me(&app.url, token).await;
    put(app, (0..count).map(|n| generation(owner, &format!("{word} {n}"), 1_000 + n)).collect()).await;
    owner
}

fn meta(data: &Path) -> String {
    std::fs::read_to_string(index_dir(data).join("meta.json")).unwrap()
}

#[tokio::test]
async fn a_missing_damaged_or_outdated_index_is_rebuilt_at_start() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    put_numbered(&app, &token, "ember", 5).await;
    wait_total(&app.url, &token, "q=ember", 5).await;
    assert!(meta(&app.data_dir()).contains(r#"\"schema\":1"#), "the commit point is the payload: {}", meta(&app.data_dir()));

    let app = app.restart_after(|data| std::fs::remove_dir_all(data.join("search")).unwrap()).await;
    wait_total(&app.url, &token, "q=ember", 5).await;

    let before = meta(&app.data_dir());
    let app = app.restart_after(damage_segments).await;
    let page = wait_total(&app.url, &token, "q=ember", 5).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_ne!(meta(&app.data_dir()), before, "new segments: the damaged ones were not kept");

    let app = app.restart_after(|data| std::fs::write(index_dir(data).join("meta.json"), b"{ not json").unwrap()).await;
    wait_total(&app.url, &token, "q=ember", 5).await;

    let app = app
        .restart_after(|data| {
            let old = meta(data).replace(r#"\"schema\":1"#, r#"\"schema\":0"#);
            assert!(old.contains(r#"\"schema\":0"#));
            std::fs::write(index_dir(data).join("meta.json"), old).unwrap();
        })
        .await;
    wait_total(&app.url, &token, "q=ember", 5).await;
    assert!(meta(&app.data_dir()).contains(r#"\"schema\":1"#), "rebuilt in the current schema");
    app.stop().await;
}

#[tokio::test]
async fn kill_9_before_the_indexer_commits_loses_nothing_the_outbox_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_string();
    let config = dir.path().join("config.toml");
    let connection = "[[connection]]\nname = \"demo\"\nkind = \"demo\"\ndelay = \"0\"\n";
    // an hour between commits: nothing of this run reaches the index before the kill
    std::fs::write(&config, format!("[search]\ncommit_interval = \"1h\"\ncommit_docs = 100000\n\n{connection}")).unwrap();
    let c = config.to_str().unwrap().to_string();
    let token = cli_admin_token("k@example.com", "kill password 12", 100, &["--data-dir", &d, "--config", &c]).await;

    let mut served = Served::start(&data, &["--config", &c]);
    let url = served.url();
    // the first start builds the (empty) index; generations made meanwhile could land in it
    wait_total(&url, &token, "q=glacier", 0).await;
    let mut ids = Vec::new();
    for prompt in ["glacier at dawn", "glacier under stars", "a glacier cave"] {
        let created = generate(&url, &token, serde_json::json!({"model": "demo-image", "prompt": prompt})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.json()["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        wait_terminal(&url, &token, id).await;
    }
    assert_eq!(search(&url, &token, "q=glacier").await["total"], 0, "not committed yet");
    served.signal("KILL");
    served.wait_exit();

    std::fs::write(&config, connection).unwrap();
    let mut again = Served::start(&data, &["--config", &c]);
    let url = again.url();
    let page = wait_total(&url, &token, "q=glacier", 3).await;
    let mut found: Vec<String> = page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    found.sort();
    ids.sort();
    assert_eq!(found, ids);
    assert!(page["items"].as_array().unwrap().iter().all(|i| i["state"] == "succeeded"), "the latest state of each: {page}");
    let opened = again.wait_for_line("replaying the outbox");
    assert!(!again.all_output().contains("rebuilding from the store"), "{}", again.all_output());
    assert!(opened.contains("from=0"), "{opened}");
    again.signal("TERM");
    assert_eq!(again.wait_exit(), Some(0));
}

#[tokio::test]
async fn reindex_rebuilds_with_progress_when_the_service_is_stopped_or_running() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let owner = put_numbered(&app, &token, "harbour", 7).await;
    wait_total(&app.url, &token, "q=harbour", 7).await;

    let mut direct = None;
    let app = app
        .restart_after(|data| {
            std::fs::remove_dir_all(data.join("search")).unwrap();
            let out = std::process::Command::new(BIN).args(["reindex", "--data-dir"]).arg(data).env_remove("RUST_LOG").output().unwrap();
            direct = Some(out);
        })
        .await;
    let out = direct.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("indexed 0 of 7 generations"), "{stdout}");
    assert!(stdout.contains("indexed 7 of 7 generations ("), "{stdout}");
    assert!(stdout.contains("search index rebuilt: 7 generations in"), "{stdout}");
    assert!(app.data_dir().join("search/index/meta.json").exists());
    wait_total(&app.url, &token, "q=harbour", 7).await;

    let d = app.data_dir().to_str().unwrap().to_string();
    let (code, stdout, err) = run(&["reindex", "--data-dir", &d], None).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.first().is_some_and(|l| l.starts_with("indexed 0 of 7 generations")), "{stdout}");
    assert!(lines.last().is_some_and(|l| l.starts_with("search index rebuilt: 7 generations in")), "{stdout}");
    wait_total(&app.url, &token, "q=harbour", 7).await;
    put(&app, vec![generation(owner, "harbour after the rebuild", 2_000)]).await;
    wait_total(&app.url, &token, "q=harbour", 8).await;

    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["reindex", "--data-dir", empty.path().to_str().unwrap()], None).await;
    assert_eq!(code, 1);
    assert!(err.contains("no store"), "{err}");
    assert_eq!(api_get(&app.url, "/readyz", None).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_graceful_stop_commits_what_the_indexer_holds() {
    let app = crate::support::TestApp::start_with(|c| c.search.commit_interval = Duration::from_secs(3600)).await;
    let (_admin, token) = crate::support::admin_with_credits(&app, 10).await;
    put_numbered(&app, &token, "willow", 3).await;
    // applied to the writer but not committed: an hour between commits
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(search(&app.url, &token, "q=willow").await["total"], 0);
    }
    let mut committed = String::new();
    let app = app.restart_after(|data| committed = meta(data)).await;
    assert!(!committed.contains(r#"\"seq\":0"#), "the stop committed the pending changes: {committed}");
    wait_total(&app.url, &token, "q=willow", 3).await;
    app.stop().await;
}

/// The search writer's threads in the process `pid` (tantivy names them).
#[cfg(target_os = "linux")]
fn writer_threads(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| name.starts_with("thrd-tantivy") || name.starts_with("merge_thread") || name == "segment_updater")
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn an_idle_indexer_lets_its_writer_go_and_takes_it_again_for_new_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_string();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[search]\ncommit_interval = \"100ms\"\n\n[[connection]]\nname = \"demo\"\nkind = \"demo\"\ndelay = \"0\"\n")
        .unwrap();
    let c = config.to_str().unwrap().to_string();
    let token = cli_admin_token("idle@example.com", "idle password 12", 100, &["--data-dir", &d, "--config", &c]).await;
    let mut served = Served::start(&data, &["--config", &c]);
    let url = served.url();
    let pid = served.child.id();
    wait_total(&url, &token, "q=tundra", 0).await;

    for (n, prompt) in ["tundra at noon", "tundra at dusk"].into_iter().enumerate() {
        let created = generate(&url, &token, serde_json::json!({"model": "demo-image", "prompt": prompt})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        wait_terminal(&url, &token, created.json()["id"].as_str().unwrap()).await;
        wait_total(&url, &token, "q=tundra", n as u64 + 1).await;
        // once the outbox has stayed empty for a while (5 s), the writer and its threads are
        // gone; a minute allows for a machine busy with other tests
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !writer_threads(pid).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the idle indexer still runs {:?}; the server said:\n{}",
                writer_threads(pid),
                served.all_output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(search(&url, &token, "q=dusk").await["total"], 1, "the writer taken again indexed the new work");
    served.signal("TERM");
    assert_eq!(served.wait_exit(), Some(0));
}
