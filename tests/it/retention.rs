//! Retention: each class against a clock the tests move (the sweep's `now`), exemptions,
//! the plan matching the run, the orphan-file GC, interrupted sweeps, the CLI and the page.

use std::time::{Duration, SystemTime};

use reelvault::domain::generation::Generation;
use reelvault::domain::ids::{AssetId, GenerationId};
use reelvault::domain::time::Timestamp;
use reelvault::services::privacy::audit::Context;
use reelvault::services::{privacy::deletion, privacy::retention};
use reelvault::store::{self, StoreError};

use crate::support::generate;
use crate::support::process::{Served, run};
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, api_get};
use crate::support::{admin_with_credits, api_post, wait_terminal};
use crate::uploads::{jpeg_with_gps, upload, upload_id};

const DAY: Duration = Duration::from_secs(86_400);

fn days_ahead(days: u32) -> Timestamp {
    Timestamp::now().plus(DAY * days)
}

async fn app() -> (TestApp, crate::support::Browser, String) {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::ZERO).await;
    let (admin, token) = admin_with_credits(&app, 50).await;
    (app, admin, token)
}

/// A finished demo image: (id, path of its output file).
async fn image(app: &TestApp, token: &str) -> (GenerationId, std::path::PathBuf) {
    let created = generate(&app.url, token, serde_json::json!({"model": "demo-image", "prompt": "a kite"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let file = app.running.state.media.path_of(done["outputs"][0]["id"].as_str().unwrap()).unwrap();
    (done["id"].as_str().unwrap().parse().unwrap(), file)
}

async fn generation(app: &TestApp, id: GenerationId) -> Option<Generation> {
    app.running.state.store.read(move |tx| store::generations::get(tx, id)).await.unwrap()
}

async fn edit(app: &TestApp, id: GenerationId, f: impl FnOnce(&mut Generation) + Send + 'static) {
    app.running
        .state
        .store
        .write(move |tx| {
            let mut g = store::generations::get(tx, id)?.unwrap();
            f(&mut g);
            store::generations::put(tx, &g)
        })
        .await
        .unwrap();
}

fn plan_ids(plan: &retention::Plan, class: &str) -> Vec<String> {
    let mut ids: Vec<String> = plan.items.iter().filter(|i| i.class == class).map(|i| i.id.clone()).collect();
    ids.sort();
    ids
}

/// Writes an unrecorded media file, last modified `age` ago.
fn orphan(app: &TestApp, age: Duration) -> std::path::PathBuf {
    let path = app.running.state.media.path_of(&AssetId::generate().to_string()).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
    path
}

#[tokio::test]
async fn retention_removes_expired_outputs_with_their_files_and_spares_kept_and_held_ones() {
    let (app, _admin, token) = app().await;
    let (plain, plain_file) = image(&app, &token).await;
    let (kept, kept_file) = image(&app, &token).await;
    let (held, held_file) = image(&app, &token).await;
    edit(&app, kept, |g| g.kept = true).await;
    edit(&app, held, |g| g.legal_hold = true).await;
    let state = &app.running.state;

    let early = retention::plan(state, days_ahead(179)).await.unwrap();
    assert!(plan_ids(&early, "outputs").is_empty(), "nothing is due before 180 days");
    let g = generation(&app, plain).await.unwrap();
    let expires = retention::expires_at(&state.config.retention, &g).unwrap();
    assert_eq!(expires, g.finished_at.unwrap().plus(DAY * 180));
    assert_eq!(retention::expires_at(&state.config.retention, &generation(&app, kept).await.unwrap()), None);

    let at = days_ahead(181);
    let plan = retention::plan(state, at).await.unwrap();
    assert_eq!(plan_ids(&plan, "outputs"), vec![plain.to_string()], "only the plain output is due");
    assert_eq!(plan.counts.outputs, 1);
    let run = retention::run(state, "test", at).await.unwrap();
    assert_eq!(run.counts.outputs, 1, "the run removed exactly what the plan listed");
    assert!(generation(&app, plain).await.is_none() && !plain_file.exists(), "record and file are gone");
    assert!(generation(&app, kept).await.is_some() && kept_file.exists(), "a kept output stays");
    assert!(generation(&app, held).await.is_some() && held_file.exists(), "an item on legal hold stays");
    assert_eq!(api_get(&app.url, &format!("/api/v1/generations/{plain}"), Some(&token)).await.status, 404);
    let again = retention::plan(state, at).await.unwrap();
    assert!(again.items.is_empty(), "a second sweep has nothing left: {:?}", again.items);
    app.stop().await;
}

#[tokio::test]
async fn retention_spares_everything_of_a_user_on_legal_hold_and_zero_keeps_forever() {
    let (app, _admin, token) = app().await;
    let (id, file) = image(&app, &token).await;
    let owner = generation(&app, id).await.unwrap().owner;
    let state = &app.running.state;
    state
        .store
        .write(move |tx| {
            let mut u = store::users::get(tx, owner)?.unwrap();
            u.legal_hold = true;
            store::users::put(tx, &u)
        })
        .await
        .unwrap();
    let run = retention::run(state, "test", days_ahead(3650)).await.unwrap();
    assert_eq!(run.counts.outputs, 0);
    assert!(generation(&app, id).await.is_some() && file.exists(), "the held user's output stays");
    app.stop().await;

    let app = TestApp::start_with(|c| {
        c.connection[0].delay = Duration::ZERO;
        c.retention.outputs = Duration::ZERO;
        c.retention.uploads = Duration::ZERO;
    })
    .await;
    let (_admin, token) = admin_with_credits(&app, 5).await;
    let (id, file) = image(&app, &token).await;
    let up = upload(&app.url, &token, jpeg_with_gps(), "a.jpg").await;
    assert_eq!(up.status, 201, "{}", up.body);
    let state = &app.running.state;
    assert_eq!(retention::expires_at(&state.config.retention, &generation(&app, id).await.unwrap()), None);
    let plan = retention::plan(state, days_ahead(36_500)).await.unwrap();
    assert!(plan.items.is_empty(), "0 keeps forever: {:?}", plan.items);
    retention::run(state, "test", days_ahead(36_500)).await.unwrap();
    assert!(generation(&app, id).await.is_some() && file.exists());
    app.stop().await;
}

#[tokio::test]
async fn retention_removes_uploads_after_their_period_and_the_plan_lists_exactly_them() {
    let (app, _admin, token) = app().await;
    let upload_id = upload_id(&app.url, &token, jpeg_with_gps(), "a.jpg").await;
    let file = app.running.state.media.path_of(&upload_id).unwrap();
    let (output, _) = image(&app, &token).await;
    let state = &app.running.state;
    assert!(retention::plan(state, days_ahead(29)).await.unwrap().items.is_empty());
    let at = days_ahead(31);
    let plan = retention::plan(state, at).await.unwrap();
    assert_eq!(plan_ids(&plan, "uploads"), vec![upload_id.clone()]);
    assert!(plan_ids(&plan, "outputs").is_empty());
    let run = retention::run(state, "test", at).await.unwrap();
    assert_eq!((run.counts.uploads, run.counts.outputs), (1, 0));
    assert!(!file.exists(), "the upload's file is gone");
    let asset: AssetId = upload_id.parse().unwrap();
    assert!(state.store.read(move |tx| store::assets::get(tx, asset)).await.unwrap().is_none(), "and its record");
    assert!(generation(&app, output).await.is_some(), "outputs keep their own period");
    app.stop().await;
}

#[tokio::test]
async fn retention_keeps_an_upload_that_a_generation_on_legal_hold_was_made_from() {
    let (app, admin, token) = app().await;
    let upload_id = upload_id(&app.url, &token, jpeg_with_gps(), "a.jpg").await;
    let body = serde_json::json!({"model": "demo-video", "prompt": "from a photo", "params": {"duration": 2},
        "references": [{"role": "first_frame", "upload": upload_id}]});
    let created = generate(&app.url, &token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let made = wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await;
    let held = admin.post_form("/admin/generations/hold", &[("generation", made["id"].as_str().unwrap())]).await;
    assert_eq!(held.status, 303, "{}", held.body);
    let state = &app.running.state;
    let at = days_ahead(31);
    assert!(plan_ids(&retention::plan(state, at).await.unwrap(), "uploads").is_empty(), "the held generation's upload is not due");
    let run = retention::run(state, "test", at).await.unwrap();
    assert_eq!(run.counts.uploads, 0);
    assert!(state.media.path_of(&upload_id).unwrap().exists(), "the upload stays with the held generation");
    app.stop().await;
}

#[tokio::test]
async fn retention_drops_old_audit_events_truncates_addresses_and_clears_expired_sessions() {
    let (app, admin, _token) = app().await;
    let state = &app.running.state;
    assert!(admin.get("/account").await.status == 200);
    let events_before = state.store.read(|tx| store::audit::count_before(tx, u128::MAX)).await.unwrap();
    assert!(events_before > 0);

    let run = retention::run(state, "test", days_ahead(31)).await.unwrap();
    assert!(run.counts.client_addresses > 0, "addresses older than 30 days are truncated: {:?}", run.counts);
    assert_eq!(run.counts.audit, 0, "events stay for a year");
    let (events, _) = state.store.read(|tx| store::audit::page(tx, None, 1000, 10_000, |_| true)).await.unwrap();
    for e in events.iter().filter(|e| e.action.as_str() != "retention.run") {
        if let Some(a) = &e.client.address {
            assert!(a.ends_with("/24") || a.ends_with("/48"), "truncated: {a}");
        }
    }
    assert!(run.counts.sessions >= 1, "the browser session has expired by then");
    assert_eq!(admin.get("/account").await.status, 303, "an expired session is gone");

    let run = retention::run(state, "test", days_ahead(366)).await.unwrap();
    assert!(run.counts.audit >= events_before, "events older than 365 days are removed: {:?}", run.counts);
    app.stop().await;
}

#[tokio::test]
async fn retention_gc_removes_old_orphan_files_and_spares_young_ones() {
    let (app, _admin, token) = app().await;
    let (id, file) = image(&app, &token).await;
    let old = orphan(&app, Duration::from_secs(2 * 3600));
    let young = orphan(&app, Duration::from_secs(60));
    let state = &app.running.state;
    let plan = retention::plan(state, Timestamp::now()).await.unwrap();
    assert_eq!(plan.counts.orphan_files, 1);
    let run = retention::run(state, "test", Timestamp::now()).await.unwrap();
    assert_eq!(run.counts.orphan_files, 1);
    assert!(!old.exists(), "an orphan older than an hour is removed");
    assert!(young.exists(), "a young file may be in custody: it stays");
    assert!(file.exists() && generation(&app, id).await.is_some(), "recorded files are never touched");
    app.stop().await;
}

#[tokio::test]
async fn retention_finishes_an_interrupted_sweep_with_no_orphan_files_or_dangling_records() {
    let (app, _admin, token) = app().await;
    let (marked, marked_file) = image(&app, &token).await;
    let (due, due_file) = image(&app, &token).await;
    let state = &app.running.state;
    // a sweep killed after step 1 of one deletion, and after removing an upload's record
    // but before its file
    assert!(deletion::mark(state, &Context::system(), marked).await.unwrap());
    let left = orphan(&app, Duration::from_secs(40 * 86_400));
    let app = app.restart().await;
    let state = &app.running.state;
    let run = retention::run(state, "test", days_ahead(181)).await.unwrap();
    assert_eq!(run.counts.outputs, 1, "{:?}", run.counts);
    for (id, file) in [(marked, &marked_file), (due, &due_file)] {
        assert!(!file.exists(), "no orphan file");
        assert!(generation(&app, id).await.is_none(), "no dangling record");
    }
    assert!(!left.exists(), "the GC removed the file the crash left");
    let pending = state.store.read(store::generations::pending_deletions).await.unwrap();
    assert!(pending.is_empty());
    let index = state
        .store
        .read(|tx| {
            use redb::ReadableTable;
            Ok::<_, StoreError>(store::Tx::table(tx, store::tables::EXPIRY)?.iter()?.count())
        })
        .await
        .unwrap();
    assert_eq!(index, 0, "no dangling expiry rows");
    app.stop().await;
}

#[tokio::test]
async fn retention_plan_and_run_work_from_the_command_line_and_the_admin_page_shows_them() {
    let (app, admin, token) = app().await;
    let (id, file) = image(&app, &token).await;
    let d = app.data_dir();
    let d = d.to_str().unwrap();
    let at = days_ahead(181).rfc3339();

    let (code, out, err) = run(&["retention", "plan", "--at", &at, "--data-dir", d], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("outputs") && out.contains(&id.to_string()), "{out}");
    let (code, _, err) = run(&["retention", "plan", "--at", "yesterday", "--data-dir", d], None).await;
    assert_ne!(code, 0);
    assert!(err.contains("RFC 3339"), "{err}");

    let page = admin.get("/admin/retention").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Next sweep") && page.body.contains("No sweep has run yet"), "{}", page.body);
    assert!(admin.get("/").await.body.contains("/admin/retention"), "linked from the admin menu");

    let (code, out, err) = run(&["retention", "run", "--at", &at, "--data-dir", d], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("outputs") && out.contains(" 1"), "{out}");
    assert!(!file.exists() && generation(&app, id).await.is_none(), "the running service swept");

    // sweeping 181 days ahead also ended the admin's session, which had expired by then
    assert_eq!(admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let page = admin.get("/admin/retention").await;
    assert!(page.body.contains("cli") && page.body.contains("outputs: 1"), "{}", page.body);
    let queued = admin.post_form("/admin/retention/run", &[]).await;
    assert_eq!(queued.status, 303);
    let mut recorded = false;
    for _ in 0..100 {
        if retention::latest_runs(&app.running.state, 5).await.unwrap().iter().any(|r| r.trigger == "admin") {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recorded, "Run now enqueues a sweep that the scheduler runs");
    let member = app.invite_member(&admin, "m@example.com", "a long member password").await;
    assert_ne!(member.get("/admin/retention").await.status, 200, "admins only");
    app.stop().await;
}

/// Media files on disk under `data/media` (outside `tmp`).
fn media_files(data: &std::path::Path) -> usize {
    let Ok(shards) = std::fs::read_dir(data.join("media")) else { return 0 };
    shards.flatten().filter(|s| s.file_name() != "tmp").map(|s| std::fs::read_dir(s.path()).map(|f| f.count()).unwrap_or(0)).sum()
}

#[tokio::test]
async fn retention_killed_mid_sweep_finishes_at_the_next_run_of_the_real_binary() {
    // more than one deletion batch, so the kill lands in the middle of the sweep
    const N: usize = 300;
    let app = TestApp::start_with(|c| {
        c.connection[0].delay = Duration::ZERO;
        c.api.concurrent_jobs = 1000;
        c.api.requests_per_minute = 1_000_000;
    })
    .await;
    let (_admin, token) = admin_with_credits(&app, N as i64 + 5).await;
    let mut ids = Vec::new();
    for _ in 0..N {
        let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "x"})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.json()["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        assert_eq!(wait_terminal(&app.url, &token, id).await["state"], "succeeded");
    }
    let dir = app.stop().await;
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_string();
    let before = media_files(&data);
    assert!(before >= N, "{before} files");
    let at = days_ahead(181).rfc3339();

    let mut served = Served::start(&data, &[]);
    served.url();
    let sweep = {
        let (d, at) = (d.clone(), at.clone());
        tokio::spawn(async move { run(&["retention", "run", "--at", &at, "--data-dir", &d], None).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while media_files(&data) == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    served.signal("KILL");
    served.wait_exit();
    let _ = sweep.await;
    let left = media_files(&data);
    assert!(left > 0 && left < before, "killed in the middle of the sweep ({left} of {before} files left)");

    let mut again = Served::start(&data, &[]);
    again.url();
    let (code, out, err) = run(&["retention", "run", "--at", &at, "--data-dir", &d], None).await;
    assert_eq!(code, 0, "{out}{err}");
    again.signal("TERM");
    assert_eq!(again.wait_exit(), Some(0));

    assert_eq!(media_files(&data), 0, "no orphan file");
    let store = reelvault::store::Store::open(&data).unwrap();
    let (generations, pending, expiry) = store
        .read(|tx| {
            use redb::ReadableTableMetadata;
            let count = |t| Ok::<_, StoreError>(store::Tx::table(tx, t)?.len()?);
            Ok::<_, StoreError>((count(store::tables::GENERATIONS)?, store::generations::pending_deletions(tx)?.len(), count_expiry(tx)?))
        })
        .await
        .unwrap();
    assert_eq!((generations, pending, expiry), (0, 0, 0), "no dangling record, queue row or index row");
    store.close().await;
    drop(dir);
}

fn count_expiry(tx: &redb::ReadTransaction) -> Result<u64, StoreError> {
    use redb::ReadableTableMetadata;
    Ok(store::Tx::table(tx, store::tables::EXPIRY)?.len()?)
}

#[tokio::test]
async fn retention_removes_cancelled_and_failed_records_after_their_own_period() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::from_secs(30)).await;
    let (_admin, token) = admin_with_credits(&app, 20).await;
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "slow"})).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    let cancelled = api_post(&app.url, &format!("/api/v1/generations/{id}/cancel"), &token, serde_json::json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(wait_terminal(&app.url, &token, &id).await["state"], "cancelled");
    let state = &app.running.state;
    let gid: GenerationId = id.parse().unwrap();
    let g = generation(&app, gid).await.unwrap();
    assert_eq!(retention::expires_at(&state.config.retention, &g), Some(g.finished_at.unwrap().plus(DAY * 30)));
    assert!(retention::plan(state, days_ahead(29)).await.unwrap().items.is_empty());
    let at = days_ahead(31);
    assert_eq!(plan_ids(&retention::plan(state, at).await.unwrap(), "failed"), vec![id.clone()]);
    let run = retention::run(state, "test", at).await.unwrap();
    assert_eq!((run.counts.failed, run.counts.outputs), (1, 0));
    assert!(generation(&app, gid).await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn retention_sweeps_run_on_the_configured_schedule() {
    let app = TestApp::start_with(|c| c.schedule.retention = "* * * * * *".into()).await;
    let mut ran = false;
    for _ in 0..60 {
        if retention::latest_runs(&app.running.state, 5).await.unwrap().iter().any(|r| r.trigger == "schedule") {
            ran = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ran, "an every-second schedule enqueued a sweep");
    app.stop().await;
}

#[tokio::test]
async fn retention_checks_holds_again_in_the_transaction_that_marks_a_batch() {
    let (app, admin, token) = app().await;
    let (due, due_file) = image(&app, &token).await;
    let (held_later, held_file) = image(&app, &token).await;
    let state = &app.running.state;
    let at = days_ahead(181);
    let plan = retention::plan(state, at).await.unwrap();
    let planned = plan_ids(&plan, "outputs");
    assert!(planned.contains(&held_later.to_string()), "{planned:?}");

    // the hold arrives between reading the plan and marking its batch
    let held = admin.post_form("/admin/generations/hold", &[("generation", &held_later.to_string())]).await;
    assert_eq!(held.status, 303, "{}", held.body);
    let marked = deletion::mark_many(state, &Context::system(), vec![due, held_later], deletion::Holds::Skip).await.unwrap();
    assert_eq!(marked, vec![due], "the held one is skipped");
    deletion::finish_many(state, marked).await.unwrap();
    assert!(!due_file.exists() && held_file.exists());
    let refused = deletion::mark_many(state, &Context::system(), vec![held_later], deletion::Holds::Refuse).await;
    assert!(matches!(refused, Err(reelvault::services::ServiceError::LegalHold(id)) if id == held_later), "{refused:?}");
    let run = retention::run(state, "test", at).await.unwrap();
    assert_eq!(run.counts.outputs, 0);
    assert!(generation(&app, held_later).await.is_some_and(|g| g.deleted_at.is_none()) && held_file.exists());
    app.stop().await;
}

#[tokio::test]
async fn retention_removes_pre_migration_copies_after_their_period_and_keeps_recent_ones() {
    let app = TestApp::start_with(|c| c.retention.pre_migration_copies = DAY * 30).await;
    let data = app.data_dir();
    let backups = data.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let copy = |name: &str, age: Duration| {
        let path = backups.join(name);
        std::fs::File::create(&path).unwrap().set_modified(SystemTime::now() - age).unwrap();
        path
    };
    let old = copy("reelvault-4-1700000000.redb", DAY * 31);
    let crashed = copy("reelvault-4-1700000100.redb.partial", DAY * 40);
    let recent = copy("reelvault-5-1760000000.redb", DAY * 2);
    let unrelated = copy("notes.txt", DAY * 400);
    let state = &app.running.state;

    let plan = retention::plan(state, Timestamp::now()).await.unwrap();
    assert_eq!(plan_ids(&plan, "pre-migration copy"), ["reelvault-4-1700000000.redb", "reelvault-4-1700000100.redb.partial"]);
    let later = retention::plan(state, days_ahead(29)).await.unwrap();
    assert_eq!(plan_ids(&later, "pre-migration copy").len(), 3, "a plan for a later day lists the recent copy too");
    let d = data.to_str().unwrap();
    let (code, out, err) = run(&["retention", "plan", "--data-dir", d], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pre-migration copy") && out.contains("reelvault-4-1700000000.redb"), "{out}");
    assert!(!out.contains("reelvault-5-1760000000.redb"), "{out}");

    let swept = retention::run(state, "test", Timestamp::now()).await.unwrap();
    assert!(!old.exists() && !crashed.exists(), "copies older than the period are removed");
    assert!(recent.exists(), "a recent copy is kept");
    assert!(unrelated.exists(), "only the copies are the sweep's to remove");
    assert!(swept.counts.files >= 2, "{:?}", swept.counts);

    // zero keeps them forever
    let app = app.restart_with(|c| c.retention.pre_migration_copies = Duration::ZERO).await;
    retention::run(&app.running.state, "test", days_ahead(1000)).await.unwrap();
    assert!(recent.exists());
    app.stop().await;
}
