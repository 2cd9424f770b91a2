//! Background work: the admin page "Background work", `GET /api/v1/admin/workers` and the
//! per-worker gauges of `/metrics` show every worker, and `GET /api/v1/admin/media` the media
//! backend line of the page; only admins see them; a stop joins them.

use reelvault::workers::Health;

use crate::support::{TestApp, api_get, eventually};

/// The workers every instance runs (a served process adds memory trimming and, under systemd,
/// the watchdog).
const EVERY_INSTANCE: [&str; 11] = [
    "admin-socket",
    "slow-heads",
    "settler",
    "indexer",
    "engine",
    "progress",
    "webhooks",
    "erasures",
    "scheduler",
    "resume-deletions",
    "resume-exports",
];
/// The ones that resume interrupted work once and then stop.
const ONE_SHOT: [&str; 2] = ["resume-deletions", "resume-exports"];

#[tokio::test]
async fn an_admin_sees_every_worker_on_the_page_and_in_the_api() {
    let (app, admin) = TestApp::with_admin().await;
    let token = admin.post_form("/account/tokens", &[("name", "ops"), ("expires", "30")]).await.text_of("#new-token");

    // the resumptions finish at once on a fresh instance; the loops keep running
    eventually("the workers settle", async || {
        let listed = api_get(&app.url, "/api/v1/admin/workers", Some(&token)).await.json();
        listed.as_array().is_some_and(|workers| {
            workers.iter().all(|w| {
                if ONE_SHOT.contains(&w["name"].as_str().unwrap_or("")) {
                    w["state"] == "stopped"
                } else {
                    w["state"] == "idle" || w["state"] == "running"
                }
            })
        })
    })
    .await;
    let answer = api_get(&app.url, "/api/v1/admin/workers", Some(&token)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let listed = answer.json();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    for name in EVERY_INSTANCE {
        assert!(names.contains(&name), "{name} is listed: {listed}");
    }
    for worker in listed.as_array().unwrap() {
        assert_eq!(worker["restarts"], 0, "{worker}");
        assert!(worker["last_error"].is_null(), "{worker}");
        assert!(worker["started_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{worker}");
    }
    let resumed = listed.as_array().unwrap().iter().find(|w| w["name"] == "resume-exports").unwrap();
    assert!(resumed["last_run_at"].is_string(), "a finished resumption has run: {resumed}");

    let page = admin.get("/admin/workers").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.text_of("h1"), "Background work");
    for name in EVERY_INSTANCE {
        assert_eq!(page.count(&format!("tr[data-worker=\"{name}\"]")), 1, "{name} has a row: {}", page.body);
    }
    // the indexer works in rounds (the token's audit row is one): between them the page says idle
    eventually("the page shows the indexer idle", async || {
        let page = admin.get("/admin/workers").await;
        page.attr_of("tr[data-worker=\"indexer\"] td[data-state]", "data-state").as_deref() == Some("idle")
    })
    .await;
    let home = admin.get("/").await;
    assert!(home.attr_of("nav a[href=\"/admin/workers\"]", "href").is_some(), "the admin navigation links the page: {}", home.body);
    app.stop().await;
}

#[tokio::test]
async fn an_admin_reads_the_media_backend_line_of_the_page_in_the_api() {
    let (app, admin) = TestApp::with_admin().await;
    let token = admin.post_form("/account/tokens", &[("name", "ops"), ("expires", "30")]).await.text_of("#new-token");
    let answer = api_get(&app.url, "/api/v1/admin/media", Some(&token)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let media = answer.json();
    assert_eq!(media["backend"], "local", "{media}");
    assert_eq!(media["errors"], 0, "{media}");
    assert!(media["latency_ms"].is_null() && media["last_error"].is_null() && media["last_error_at"].is_null(), "{media}");
    let page = admin.get("/admin/workers").await;
    assert_eq!(page.attr_of(".media-backend", "data-backend").as_deref(), Some("local"), "the page names the same backend: {}", page.body);
    app.stop().await;
}

#[tokio::test]
async fn a_member_sees_no_workers() {
    let (app, admin) = TestApp::with_admin().await;
    let member = app.invite_member(&admin, "m@example.com", "member password 1").await;
    let token = member.post_form("/account/tokens", &[("name", "mine"), ("expires", "30")]).await.text_of("#new-token");
    let refused = api_get(&app.url, "/api/v1/admin/workers", Some(&token)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["code"], "auth.admin_only");
    assert_eq!(member.get("/admin/workers").await.status, 403);
    assert_eq!(api_get(&app.url, "/api/v1/admin/workers", None).await.status, 401);
    let media = api_get(&app.url, "/api/v1/admin/media", Some(&token)).await;
    assert_eq!((media.status, media.json()["code"].as_str()), (403, Some("auth.admin_only")), "{}", media.body);
    assert_eq!(api_get(&app.url, "/api/v1/admin/media", None).await.status, 401);
    let signed_out = app.browser().get("/admin/workers").await;
    assert!(signed_out.status == 303 || signed_out.status == 302, "to the sign-in page: {}", signed_out.status);
    app.stop().await;
}

#[tokio::test]
async fn metrics_show_each_worker() {
    let (app, admin) = TestApp::with_admin().await;
    let token = admin.post_form("/account/tokens", &[("name", "scrape"), ("expires", "30")]).await.text_of("#new-token");
    let page = api_get(&app.url, "/metrics", Some(&token)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for name in ["indexer", "scheduler", "webhooks", "settler"] {
        assert!(page.body.contains(&format!("reelvault_worker_up{{worker=\"{name}\"}} 1")), "{name} is up: {}", page.body);
        assert!(page.body.contains(&format!("reelvault_worker_restarts_total{{worker=\"{name}\"}} 0")), "{}", page.body);
        assert!(page.body.contains(&format!("reelvault_worker_last_run_timestamp_seconds{{worker=\"{name}\"}}")), "{}", page.body);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_library_zip_is_seen_as_bounded_work_while_written_and_counted_once_finished() {
    let (app, admin, token) = crate::support::app_with_credits(std::time::Duration::ZERO, 20).await;
    let created = crate::support::generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a red kite"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(crate::support::wait_terminal(&app.url, &token, &id).await["state"], "succeeded");
    let page = admin.get("/admin/workers").await;
    assert_eq!(page.count("tr[data-kind]"), 0, "nothing written yet: {}", page.body);

    let zip = crate::abuse::downloads::start_zip(&admin, std::slice::from_ref(&id)).await;
    assert_eq!(zip.status(), 200);
    let bytes = zip.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a ZIP arrived");
    eventually("the finished archive is counted", async || {
        let page = admin.get("/admin/workers").await;
        page.text_of("tr[data-kind=\"library-zip\"] td:nth-of-type(2)") == "1"
    })
    .await;
    let page = admin.get("/admin/workers").await;
    assert_eq!(page.text_of("tr[data-kind=\"library-zip\"] td:nth-of-type(1)"), "0", "none runs any more: {}", page.body);
    let metrics = api_get(&app.url, "/metrics", Some(&token)).await;
    assert!(metrics.body.contains("reelvault_bounded_work_finished_total{kind=\"library-zip\"} 1"), "{}", metrics.body);
    assert!(metrics.body.contains("reelvault_bounded_work_running{kind=\"library-zip\"} 0"), "{}", metrics.body);
    app.stop().await;
}

#[tokio::test]
async fn a_stop_joins_every_worker() {
    let (app, _admin) = TestApp::with_admin().await;
    let workers = app.running.state.workers.clone();
    assert!(workers.status().len() >= EVERY_INSTANCE.len());
    app.stop().await;
    let after = workers.status();
    assert!(after.iter().all(|w| w.state == Health::Stopped), "every worker stopped (none aborted): {after:?}");
}

/// The named worker as the API lists it.
async fn worker(app: &TestApp, token: &str, name: &str) -> serde_json::Value {
    let listed = api_get(&app.url, "/api/v1/admin/workers", Some(token)).await.json();
    listed.as_array().and_then(|all| all.iter().find(|w| w["name"] == name).cloned()).unwrap_or_else(|| panic!("no {name}: {listed}"))
}

#[tokio::test]
async fn an_indexer_that_cannot_write_shows_its_error_restarts_and_recovers() {
    let (app, _admin, token) = crate::support::app_with_credits(std::time::Duration::ZERO, 10).await;
    eventually("the indexer opens the index", async || worker(&app, &token, "indexer").await["state"] == "idle").await;
    // the disk under the index goes away: a file stands where its directory was
    let search = app.data_dir().join("search");
    let moved = app.data_dir().join("search-moved");
    std::fs::rename(&search, &moved).unwrap();
    std::fs::write(&search, b"not a directory").unwrap();
    let created =
        crate::support::api_post(&app.url, "/api/v1/generations", &token, serde_json::json!({"model": "demo-image", "prompt": "a kite"}))
            .await;
    assert_eq!(created.status, 201, "{}", created.body);
    eventually("the indexer fails and restarts", async || {
        let indexer = worker(&app, &token, "indexer").await;
        indexer["restarts"].as_u64() >= Some(1) && indexer["last_error"].is_string()
    })
    .await;
    let page = api_get(&app.url, "/metrics", Some(&token)).await;
    assert!(!page.body.contains("reelvault_worker_restarts_total{worker=\"indexer\"} 0"), "{}", page.body);

    // the disk is back: the next start of the indexer opens the index and catches up
    std::fs::remove_file(&search).unwrap();
    std::fs::rename(&moved, &search).unwrap();
    eventually("the indexer recovers", async || {
        let indexer = worker(&app, &token, "indexer").await;
        indexer["state"] == "idle" && indexer["last_run_at"].as_str() > indexer["started_at"].as_str()
    })
    .await;
    let indexer = worker(&app, &token, "indexer").await;
    assert!(indexer["last_error"].is_string(), "the last error stays shown: {indexer}");
    app.stop().await;
}
