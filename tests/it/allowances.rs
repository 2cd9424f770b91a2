//! Monthly allowances and daily spend limits: the renewal grants once per person and month
//! with the rollover cap (its clock driven through `spending::renew`'s `now`), a submit past
//! a daily limit (in all, or on one model) is refused with the limit and its reset, two
//! submits at once cannot both pass a limit, and the person sees where they stand.

use std::time::Duration;

use reelvault::domain::time::Timestamp;
use reelvault::services::team::spending;
use serde_json::{Value, json};

use crate::support::{Browser, Page, TestApp, api_get, api_post, app_with_credits, client, credits, generate};

/// Sends `settings` to `PUT /api/v1/admin/spending` with the admin's token; its answer.
pub async fn put_spending(app: &TestApp, token: &str, settings: Value) -> Page {
    let request = client().put(format!("{}/api/v1/admin/spending", app.url)).bearer_auth(token).json(&settings);
    Browser::read(request.send().await.unwrap()).await
}

/// The default settings with `edit` applied (the whole document, as `PUT` wants it).
pub fn spending_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut settings = json!({
        "zone": "UTC",
        "allowance": {"admin": null, "member": null},
        "person_allowance": {},
        "daily_limit": {"admin": null, "member": null},
        "person_daily_limit": {},
        "model_daily_limit": {},
        "approval_above": {"admin": null, "member": null},
        "model_approval_above": {},
        "approvers": [],
        "approval_expiry_hours": 72
    });
    edit(&mut settings);
    settings
}

/// A member invited by `admin`, granted `credits`: their browser, API token and user id.
pub async fn member_with_credits(
    app: &TestApp,
    admin: &Browser,
    admin_token: &str,
    email: &str,
    credits: i64,
) -> (Browser, String, String) {
    let member = app.invite_member(admin, email, "member password 1").await;
    let token = member.post_form("/account/tokens", &[("name", "m"), ("expires", "30")]).await.text_of("#new-token");
    let id = api_get(&app.url, "/api/v1/me", Some(&token)).await.json()["id"].as_str().unwrap().to_string();
    if credits != 0 {
        let granted = api_post(&app.url, &format!("/api/v1/admin/users/{id}/credits"), admin_token, json!({"amount": credits})).await;
        assert_eq!(granted.status, 200, "{}", granted.body);
    }
    (member, token, id)
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn image() -> Value {
    json!({"model": "demo-image", "prompt": "a paper boat"})
}

#[tokio::test]
async fn the_renewal_grants_each_month_once_and_carries_over_up_to_the_cap() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, _) = member_with_credits(&app, &admin, &token, "renee@example.com", 0).await;
    let saved = put_spending(&app, &token, spending_with(|s| s["allowance"]["member"] = json!({"monthly": 100, "rollover_cap": 30}))).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let state = &app.running.state;

    let december = spending::renew(state, at("2026-12-01T00:05:00Z")).await.unwrap();
    assert_eq!(december.iter().map(|r| (r.month, r.granted)).collect::<Vec<_>>(), [(202612, 100)], "only the member has an allowance");
    assert_eq!(credits(&app.url, &member_token).await, (100, 0));
    assert!(spending::renew(state, at("2026-12-15T09:00:00Z")).await.unwrap().is_empty(), "a second run in the month grants nothing");
    assert_eq!(credits(&app.url, &member_token).await, (100, 0));

    // nothing spent: 100 left, of which only 30 carry over: 130 after January's renewal
    let january = spending::renew(state, at("2027-01-01T00:00:00Z")).await.unwrap();
    assert_eq!(january.iter().map(|r| r.granted).collect::<Vec<_>>(), [30]);
    assert_eq!(credits(&app.url, &member_token).await, (130, 0));
    // a server that was off on the 1st catches up once, later in the month
    assert!(spending::renew(state, at("2027-01-20T00:00:00Z")).await.unwrap().is_empty());
    let february = spending::renew(state, at("2027-02-03T10:00:00Z")).await.unwrap();
    assert_eq!(february.iter().map(|r| r.granted).collect::<Vec<_>>(), [0], "already at the ceiling of 130: nothing added, none removed");
    assert_eq!(credits(&app.url, &member_token).await, (130, 0));

    let ledger = api_get(&app.url, "/api/v1/credits/ledger", Some(&member_token)).await.json();
    let notes: Vec<&str> = ledger["entries"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).collect();
    assert_eq!(notes, ["monthly allowance 2027-01", "monthly allowance 2026-12"], "{ledger}");
    let audit = api_get(&app.url, "/api/v1/admin/audit?action=credits.allowance_granted", Some(&token)).await.json();
    assert_eq!(audit["events"].as_array().map(Vec::len), Some(3), "{audit}");

    // the person sees this month's figures
    let standing = api_get(&app.url, "/api/v1/me/allowance", Some(&member_token)).await.json();
    assert_eq!(standing["allowance"]["monthly"], 100, "{standing}");
    assert_eq!(standing["allowance"]["left"], 130, "{standing}");
    assert_eq!(standing["zone"], "UTC");
    assert!(standing["allowance"]["renews_at"].as_str().unwrap().ends_with("-01T00:00:00Z"), "{standing}");
}

#[tokio::test]
async fn a_submit_over_the_daily_limit_is_refused_with_the_limit_and_when_it_resets() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 50).await;
    let saved = put_spending(&app, &token, spending_with(|s| s["daily_limit"]["admin"] = json!(2))).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    for _ in 0..2 {
        let created = generate(&app.url, &token, image()).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let refused = generate(&app.url, &token, image()).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let body = refused.json();
    assert_eq!(body["code"], "credits.daily_limit", "{body}");
    assert_eq!(body["details"]["limit"], 2, "{body}");
    let resets = Timestamp::parse_rfc3339(body["details"]["resets_at"].as_str().unwrap()).unwrap();
    assert!(body["details"]["resets_at"].as_str().unwrap().ends_with("T00:00:00Z"), "midnight UTC: {body}");
    assert!(resets > Timestamp::now() && resets.millis() - Timestamp::now().millis() <= 86_400_000, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("daily limit of 2 credits") && message.contains("resets at"), "{message}");
    assert_eq!(credits(&app.url, &token).await.0 + credits(&app.url, &token).await.1, 50, "nothing was held for the refusal");

    let standing = api_get(&app.url, "/api/v1/me/allowance", Some(&token)).await.json();
    assert_eq!((standing["daily"]["limit"].as_u64(), standing["daily"]["spent"].as_u64()), (Some(2), Some(2)), "{standing}");
}

#[tokio::test]
async fn a_per_model_limit_counts_only_that_model() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 50).await;
    let saved = put_spending(&app, &token, spending_with(|s| s["model_daily_limit"] = json!({"demo-video": 4}))).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let video = json!({"model": "demo-video", "prompt": "waves", "params": {"duration": 2}});
    assert_eq!(generate(&app.url, &token, video.clone()).await.status, 201, "4 credits: exactly the limit");
    let refused = generate(&app.url, &token, video).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["code"], "credits.model_daily_limit");
    assert_eq!(refused.json()["details"]["model"], "demo-video");
    assert_eq!(generate(&app.url, &token, image()).await.status, 201, "other models are not limited");
    let standing = api_get(&app.url, "/api/v1/me/allowance", Some(&token)).await.json();
    assert_eq!(standing["models"][0]["model"], "demo-video", "{standing}");
    assert_eq!(standing["models"][0]["spent"], 4, "{standing}");
}

#[tokio::test]
async fn two_submits_at_once_cannot_both_pass_a_limit() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 50).await;
    let saved = put_spending(&app, &token, spending_with(|s| s["daily_limit"]["admin"] = json!(1))).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    for round in 0..3 {
        let (a, b) = tokio::join!(generate(&app.url, &token, image()), generate(&app.url, &token, image()));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        let expected = if round == 0 { [201, 422] } else { [422, 422] };
        assert_eq!(statuses, expected, "round {round}: {} / {}", a.body, b.body);
    }
}

#[tokio::test]
async fn settings_are_for_admins_and_bad_ones_are_refused() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, _) = member_with_credits(&app, &admin, &token, "nia@example.com", 0).await;
    assert_eq!(api_get(&app.url, "/api/v1/admin/spending", Some(&member_token)).await.status, 403);
    assert_eq!(put_spending(&app, &member_token, spending_with(|_| {})).await.status, 403);
    let zone = put_spending(&app, &token, spending_with(|s| s["zone"] = json!("Mars/Olympus"))).await;
    assert_eq!((zone.status, zone.json()["code"].as_str()), (422, Some("invalid_input")), "{}", zone.body);
    let nobody = put_spending(&app, &token, spending_with(|s| s["approvers"] = json!(["01J00000000000000000000000"]))).await;
    assert_eq!(nobody.status, 422, "{}", nobody.body);
    let huge = put_spending(&app, &token, spending_with(|s| s["daily_limit"]["member"] = json!(5_000_000_000u64))).await;
    assert_eq!(huge.status, 422, "{}", huge.body);
    let fine = put_spending(&app, &token, spending_with(|s| s["zone"] = json!("Asia/Tokyo"))).await;
    assert_eq!(fine.status, 200, "{}", fine.body);
    assert_eq!(api_get(&app.url, "/api/v1/admin/spending", Some(&token)).await.json()["zone"], "Asia/Tokyo");
    let audit = api_get(&app.url, "/api/v1/admin/audit?action=spending.settings_changed", Some(&token)).await.json();
    assert_eq!(audit["events"].as_array().map(Vec::len), Some(1), "{audit}");
}

#[tokio::test]
async fn the_account_page_shows_this_months_allowance_and_todays_spend() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 1).await;
    let settings = spending_with(|s| {
        s["allowance"]["admin"] = json!({"monthly": 1000, "rollover_cap": 0});
        s["daily_limit"]["admin"] = json!(500);
    });
    assert_eq!(put_spending(&app, &token, settings).await.status, 200);
    spending::renew(&app.running.state, Timestamp::now()).await.unwrap();
    assert_eq!(generate(&app.url, &token, image()).await.status, 201);

    let page = admin.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let line = page.text_of("#allowance-line");
    assert!(line.contains("999 of 1,000 left") && line.contains("renews on"), "{line}");
    assert!(page.text_of("#daily-line").contains("1 of 500 credits spent"), "{}", page.text_of("#daily-line"));
    let studio = admin.get("/generate").await.text_of("#generate-allowance");
    assert!(
        studio.contains("999 of 1,000 left") && studio.contains("1 of 500 credits spent"),
        "the studio says it beside the balance: {studio}"
    );

    use crate::support::webdriver::{self, Browser as Chromium};
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        return;
    }
    let b = Chromium::start().await;
    assert!(b.sign_in_as_admin(&app.url).await, "signed in");
    b.set_window(390, 844).await;
    b.go(&format!("{}/account", app.url)).await;
    let shown = b
        .wait_for(
            "var l=document.getElementById('allowance-line'); return !!l && l.textContent.includes('of 1,000 left') && l.getBoundingClientRect().right <= window.innerWidth",
            10,
        )
        .await;
    if !shown {
        b.screenshot("account-allowance").await;
    }
    b.quit().await;
    assert!(shown, "the allowance line shows, within a phone's width");
}

#[tokio::test]
async fn admins_set_the_rules_on_their_page_with_people_by_email_and_models_by_id() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (member, _member_token, member_id) = member_with_credits(&app, &admin, &token, "lee@example.com", 0).await;
    assert_eq!(member.get("/admin/spending").await.status, 403);
    let page = admin.get("/admin/spending").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = admin.csrf_token().await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("zone", "Europe/Berlin"),
        ("allowance_member", "1,000"),
        ("rollover_member", "250"),
        ("daily_member", "400"),
        ("approval_member", "150"),
        ("expiry_hours", "48"),
        ("approvers", "LEE@example.com"),
        ("person_allowances", "lee@example.com = 3000 / 0"),
        ("model_limits", "demo-video = 300"),
        ("model_approvals", "demo-video = 100"),
    ];
    let saved = admin.post_form("/admin/spending", &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let s = api_get(&app.url, "/api/v1/admin/spending", Some(&token)).await.json();
    assert_eq!(s["zone"], "Europe/Berlin");
    assert_eq!(s["allowance"]["member"], json!({"monthly": 1000, "rollover_cap": 250}));
    assert_eq!(s["person_allowance"][&member_id], json!({"monthly": 3000, "rollover_cap": 0}), "{s}");
    assert_eq!(s["approvers"], json!([member_id]));
    assert_eq!((s["daily_limit"]["member"].as_u64(), s["approval_above"]["member"].as_u64()), (Some(400), Some(150)));
    assert_eq!(s["model_daily_limit"]["demo-video"], 300);
    assert_eq!(s["approval_expiry_hours"], 48);
    // the page shows them back, people by e-mail
    let shown = admin.get("/admin/spending").await;
    assert_eq!(shown.attr_of("#allowance_member", "value").as_deref(), Some("1000"));
    assert!(shown.text_of("#person_allowances").contains("lee@example.com = 3000 / 0"), "{}", shown.body);
    // a line that names nobody is refused, and nothing changes
    let bad = admin.post_form("/admin/spending", &[("csrf_token", csrf.as_str()), ("approvers", "ghost@example.com")]).await;
    assert_eq!(bad.status, 303);
    assert_eq!(api_get(&app.url, "/api/v1/admin/spending", Some(&token)).await.json()["zone"], "Europe/Berlin");
    // the named approver sees the link to the queue on their account page
    assert_eq!(member.get("/account").await.count("#approvals-link"), 1);
}

#[tokio::test]
async fn the_command_line_shows_the_rules_and_renews_once_a_month() {
    use crate::support::process::run;
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, _) = member_with_credits(&app, &admin, &token, "cli@example.com", 0).await;
    let saved = put_spending(&app, &token, spending_with(|s| s["allowance"]["member"] = json!({"monthly": 70, "rollover_cap": 0}))).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let d = app.data_dir();
    let d = d.to_str().unwrap();
    let (code, out, err) = run(&["credits", "spending", "--data-dir", d], None).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["allowance"]["member"]["monthly"], 70, "{out}");
    let (code, out, err) = run(&["credits", "renew", "--at", "2027-03-01T00:00:00Z", "--data-dir", d], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("1 people renewed") && out.contains("70 credits"), "{out}");
    let (_, again, _) = run(&["credits", "renew", "--at", "2027-03-09T00:00:00Z", "--data-dir", d], None).await;
    assert!(again.starts_with("0 people renewed"), "{again}");
    assert_eq!(credits(&app.url, &member_token).await, (70, 0));
}
