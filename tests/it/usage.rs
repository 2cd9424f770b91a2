//! The Usage report (`/api/v1/usage`, `/usage`, `/usage.csv`): its figures equal what the
//! demo jobs cost, members see only themselves, the CSV holds the same rows, and the page
//! shows the day chart and the tables (also in a real browser, 390 px wide).

use std::time::Duration;

use serde_json::json;

use crate::support::webdriver::{self, Browser as WebBrowser};
use crate::support::{Browser, TestApp, admin_with_credits, api_get, generate, wait_terminal};

const MEMBER: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "member password 1";

/// Runs a demo image job (1 credit) to its end.
async fn image(app: &TestApp, token: &str, prompt: &str) {
    let created = generate(&app.url, token, json!({"model": "demo-image", "prompt": prompt})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
}

/// An admin with a token and 10 credits, and a member with a token and 10 credits; the
/// admin ran two image jobs and the member one.
async fn team() -> (TestApp, Browser, String, Browser, String) {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::from_millis(100)).await;
    let (admin, admin_token) = admin_with_credits(&app, 10).await;
    let member = app.invite_member(&admin, MEMBER, MEMBER_PASSWORD).await;
    let users = admin.get("/admin/users").await;
    assert_eq!(admin.post_form(&users.row_action(MEMBER, "form[action$='/credits']"), &[("amount", "10")]).await.status, 303);
    let member_token = member.post_form("/account/tokens", &[("name", "t"), ("expires", "30")]).await.text_of("#new-token");
    image(&app, &admin_token, "a red kite").await;
    image(&app, &admin_token, "a blue kite").await;
    image(&app, &member_token, "a quiet lake").await;
    (app, admin, admin_token, member, member_token)
}

fn id_of(usage: &serde_json::Value, email: &str) -> String {
    let row = usage["by_person"].as_array().unwrap().iter().find(|r| r["label"].as_str().unwrap().contains(email)).expect("a row");
    row["key"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_figures_are_what_the_jobs_cost_and_members_see_only_themselves() {
    let (app, _admin, admin_token, _member, member_token) = team().await;
    let everyone = api_get(&app.url, "/api/v1/usage", Some(&admin_token)).await;
    assert_eq!(everyone.status, 200, "{}", everyone.body);
    let all = everyone.json();
    assert_eq!(all["total_credits"], 3, "{all}");
    assert_eq!(all["total_generations"], 3);
    assert_eq!(all["by_day"].as_array().unwrap().len(), 30, "the last 30 days by default");
    assert_eq!(all["by_day"][29]["credits"], 3, "all of it today: {}", all["by_day"]);
    assert_eq!(all["by_model"], json!([{"key": "demo-image", "label": "Demo image", "generations": 3, "credits": 3}]));
    assert_eq!(all["by_provider"][0]["credits"], 3);
    assert_eq!(all["by_person"].as_array().unwrap().len(), 2);
    assert_eq!(all["by_person"][0]["credits"], 2, "the admin spent most: {}", all["by_person"]);
    assert!(all["person"].is_null());

    let mine = api_get(&app.url, "/api/v1/usage", Some(&member_token)).await.json();
    assert_eq!(mine["total_credits"], 1, "{mine}");
    assert_eq!(mine["by_person"].as_array().unwrap().len(), 1);
    let member_id = id_of(&mine, MEMBER);
    assert_eq!(mine["person"], member_id.as_str());
    let admin_id = id_of(&all, crate::support::ADMIN_EMAIL);
    let refused = api_get(&app.url, &format!("/api/v1/usage?person={admin_id}"), Some(&member_token)).await;
    assert_eq!(refused.status, 403, "a member may not see someone else: {}", refused.body);

    let one = api_get(&app.url, &format!("/api/v1/usage?person={member_id}"), Some(&admin_token)).await.json();
    assert_eq!(one["total_credits"], 1, "an admin can pick one person: {one}");

    for bad in ["from=2026-13-01", "from=2026-01-02&to=2026-01-01", "from=2025-01-01&to=2026-06-01", "group=everything", "format=xml"] {
        let page = api_get(&app.url, &format!("/api/v1/usage?{bad}"), Some(&admin_token)).await;
        assert_eq!(page.status, 400, "{bad}: {}", page.body);
    }
    let old = api_get(&app.url, "/api/v1/usage?from=2020-01-01&to=2020-01-31", Some(&admin_token)).await.json();
    assert_eq!(old["total_credits"], 0, "nothing then: {old}");
}

#[tokio::test]
async fn the_csv_holds_the_same_rows_as_the_report() {
    let (app, admin, admin_token, member, _member_token) = team().await;
    let report = api_get(&app.url, "/api/v1/usage", Some(&admin_token)).await.json();
    let csv = api_get(&app.url, "/api/v1/usage?format=csv&group=person", Some(&admin_token)).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "person,label,generations,credits");
    assert_eq!(lines.len(), 3, "{}", csv.body);
    for (line, row) in lines[1..].iter().zip(report["by_person"].as_array().unwrap()) {
        assert!(line.starts_with(row["key"].as_str().unwrap()), "{line}");
        assert!(line.ends_with(&format!(",{},{}", row["generations"], row["credits"])), "{line} vs {row}");
    }
    let days = api_get(&app.url, "/api/v1/usage?format=csv", Some(&admin_token)).await.body;
    assert_eq!(days.split("\r\n").filter(|l| !l.is_empty()).count(), 31, "a header and 30 days");
    assert!(days.trim_end().ends_with(",3"), "{days}");

    // the page's downloads are the same CSV, and a member's are theirs only
    let page = admin.get("/usage").await;
    let links = page.attr_all("a[download]", "href");
    assert_eq!(links.len(), 5, "a download per table: {links:?}");
    assert!(links.iter().all(|l| l.starts_with("/usage.csv?")), "{links:?}");
    let models = admin.get("/usage.csv?group=model").await;
    assert_eq!(models.status, 200);
    assert_eq!(models.body, "model,label,generations,credits\r\ndemo-image,Demo image,3,3\r\n");
    let theirs = member.get("/usage.csv?group=model").await;
    assert_eq!(theirs.body, "model,label,generations,credits\r\ndemo-image,Demo image,1,1\r\n");
}

#[tokio::test]
async fn the_page_shows_the_chart_and_the_tables() {
    let (app, admin, _admin_token, member, _member_token) = team().await;
    let page = admin.get("/usage").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.count("svg#usage-chart[role='img'] > title"), 1, "the chart has a title");
    assert_eq!(page.count("svg#usage-chart rect.bar"), 30, "a bar per day");
    assert_eq!(page.count("#usage-days tbody tr"), 30, "and the same figures in a table");
    assert_eq!(page.count("#usage-models tbody tr"), 1);
    assert_eq!(page.count("#usage-people tbody tr"), 2);
    assert_eq!(page.count("#u-person option"), 3, "admins can pick a person");
    assert!(page.text_of("#usage-total").contains('3'), "{}", page.text_of("#usage-total"));

    let theirs = member.get("/usage").await;
    assert_eq!(theirs.count("#usage-people tbody tr"), 1, "a member sees only themselves");
    assert_eq!(theirs.count("#u-person"), 0);
    assert_eq!(theirs.count("#usage-link"), 1, "linked from the menu for everyone");

    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the browser part: chromium and chromium-driver are not installed");
        return;
    }
    let b = WebBrowser::start().await;
    assert!(b.sign_in_as_admin(&app.url).await, "signed in");
    b.set_window(390, 844).await;
    b.go(&format!("{}/usage", app.url)).await;
    assert!(b.wait_for("return document.querySelectorAll('#usage-chart rect.bar').length === 30", 10).await, "the chart is drawn");
    let fits = b.js("const s = document.getElementById('usage-chart').getBoundingClientRect(); return s.width > 200 && s.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth;").await;
    assert_eq!(fits, serde_json::Value::Bool(true), "the chart fits a phone's width without scrolling the page sideways");
    let tallest = b
        .js("return Math.max(...[...document.querySelectorAll('#usage-chart rect.bar')].map(r => r.getBoundingClientRect().height));")
        .await;
    assert!(tallest.as_f64().unwrap_or(0.0) > 10.0, "today's bar is visible: {tallest}");
    b.quit().await;
}
