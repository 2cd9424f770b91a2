//! Every page in a real browser (Debian's chromium): axe-core finds no serious or critical
//! accessibility violation on any of them, light and dark; none is wider than a 390 px phone;
//! and a screenshot of each at 1280 and 390 px wide, light and dark (and, in Japanese, light),
//! is saved under `target/screenshots/` for people to look at.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::webdriver::{self, Browser as Chromium};
use crate::support::{app_with_credits, generate, wait_terminal};

/// axe-core as `.ci/run` installs it from the npm registry (used by the tests only).
pub fn axe_script() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe-core/package/axe.min.js");
    std::fs::read_to_string(path).ok()
}

/// Runs axe-core on the page: its serious and critical WCAG 2 A/AA violations, each with the
/// first elements it names.
pub async fn violations(b: &Chromium, axe: &str) -> Vec<String> {
    b.js(axe).await;
    let found = b
        .js_async(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(function (r) { \
               done(r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; }) \
                 .map(function (v) { return v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }).join(' | '); })); \
             }).catch(function (e) { done(['axe failed: ' + e]); });",
        )
        .await;
    found
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_else(|| vec![format!("no answer: {found}")])
}

/// Opens `url` at `width` px, saves a screenshot to `shot`, and returns what is wrong with the
/// page, each line starting with `label`: axe-core's findings at 1280 px, its width at 390 px.
async fn look(b: &Chromium, axe: &str, url: &str, width: u32, shot: &std::path::Path, label: &str) -> Vec<String> {
    b.set_window(width, if width == 1280 { 900 } else { 844 }).await;
    b.go(url).await;
    b.wait_for("return document.readyState === 'complete'", 10).await;
    b.screenshot_to(shot).await;
    if width == 1280 {
        return violations(b, axe).await.into_iter().map(|v| format!("{label}: {v}")).collect();
    }
    let wide = b.js("return document.documentElement.scrollWidth").await.as_i64().unwrap_or(i64::MAX);
    if wide > 400 { vec![format!("{label}: {wide} px wide on a 390 px phone")] } else { Vec::new() }
}

#[tokio::test]
async fn every_page_passes_axe_core_and_is_photographed_at_1280_and_390_px_light_and_dark() {
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the page checks: chromium and chromium-driver are not installed");
        return;
    }
    let Some(axe) = axe_script() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install axe-core (.ci/run does)");
        eprintln!("skipping the page checks: axe-core is not in target/axe-core (see .ci/run)");
        return;
    };
    let (app, _admin, token) = app_with_credits(Duration::from_millis(20), 100).await;
    let image = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a lighthouse at dusk"})).await.json();
    let image = image["id"].as_str().unwrap().to_string();
    wait_terminal(&app.url, &token, &image).await;
    let board = crate::support::api_post(&app.url, "/api/v1/boards", &token, serde_json::json!({"name": "Lighthouses"})).await.json();
    let board = board["id"].as_str().unwrap().to_string();
    crate::support::api_post(&app.url, &format!("/api/v1/boards/{board}/items"), &token, serde_json::json!({"items": [image]})).await;
    let shared = crate::support::api_post(
        &app.url,
        "/api/v1/share-links",
        &token,
        serde_json::json!({"generation_id": image, "show_prompt": true, "allow_download": true}),
    )
    .await
    .json();
    let shared = shared["url"].as_str().unwrap().strip_prefix(&app.url).unwrap().to_string();
    let manifest =
        reqwest::multipart::Part::bytes(b"model,prompt\ndemo-image,a lighthouse\nno-such-model,a boat\n".to_vec()).file_name("m.csv");
    let batch_form = reqwest::multipart::Form::new().text("name", "Lighthouses").part("manifest", manifest);
    let batch = crate::support::api_multipart(&app.url, "/api/v1/batches", &token, batch_form).await.json();
    let batch = batch["id"].as_str().unwrap().to_string();
    let b = Chromium::start().await;
    // signed out first
    let mut pages: Vec<(&str, String)> = vec![("sign-in", "/login".into()), ("shared", shared)];
    let signed_in: Vec<(&str, String)> = vec![
        ("home", "/".into()),
        ("generate", "/generate".into()),
        ("generation", format!("/generations/{image}")),
        ("library", "/library".into()),
        ("boards", "/boards".into()),
        ("board", format!("/boards/{board}")),
        ("board-item", format!("/boards/{board}/items/{image}")),
        ("presets", "/presets".into()),
        ("cast", "/cast".into()),
        ("batches", "/batches".into()),
        ("batch", format!("/batches/{batch}")),
        ("models", "/models".into()),
        ("model", "/models/demo-video".into()),
        ("account", "/account".into()),
        ("tokens", "/account/tokens".into()),
        ("sessions", "/account/sessions".into()),
        ("webhooks", "/account/webhooks".into()),
        ("export", "/account/export".into()),
        ("privacy", "/privacy".into()),
        ("api-docs", "/api/docs".into()),
        ("admin-users", "/admin/users".into()),
        ("admin-connections", "/admin/connections".into()),
        ("admin-models", "/admin/models".into()),
        ("admin-reconciliation", "/admin/reconciliation".into()),
        ("admin-retention", "/admin/retention".into()),
        ("admin-audit", "/admin/audit".into()),
        ("admin-workers", "/admin/workers".into()),
        ("admin-notifications", "/admin/notifications".into()),
        ("usage", "/usage".into()),
        ("share-links", "/share-links".into()),
        ("admin-sharing", "/admin/sharing".into()),
        ("not-found", "/no/such/page".into()),
    ];
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let mut problems = Vec::new();
    for phase in 0..2 {
        if phase == 1 {
            assert!(b.sign_in_as_admin(&app.url).await, "signed in");
            pages = signed_in.clone();
        }
        for (name, path) in &pages {
            for dark in [false, true] {
                b.set_color_scheme(dark).await;
                let theme = if dark { "dark" } else { "light" };
                for width in [1280u32, 390] {
                    let shot = shots.join(format!("{name}-{width}-{theme}.png"));
                    problems.extend(look(&b, &axe, &format!("{}{path}", app.url), width, &shot, &format!("{name} ({theme})")).await);
                }
            }
        }
    }
    // the same pages in Japanese, chosen on the account page (light, both widths)
    b.go(&format!("{}/account", app.url)).await;
    b.js("var s=document.getElementById('language-choice'); s.value='ja'; s.form.submit();").await;
    assert!(b.wait_for("return document.documentElement.lang === 'ja'", 10).await, "the account page in Japanese");
    b.set_color_scheme(false).await;
    for (name, path) in &signed_in {
        for width in [1280u32, 390] {
            let shot = shots.join(format!("{name}-ja-{width}-light.png"));
            problems.extend(look(&b, &axe, &format!("{}{path}", app.url), width, &shot, &format!("{name} (ja)")).await);
            if b.js("return document.documentElement.lang").await != "ja" {
                problems.push(format!("{name} (ja): not in Japanese"));
            }
        }
    }
    b.quit().await;
    app.stop().await;
    assert!(problems.is_empty(), "serious or critical axe-core violations, or pages too wide:\n{}", problems.join("\n"));
}
