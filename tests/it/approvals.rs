//! Approvals over the API: a job priced above its requester's threshold waits with its
//! credits held, the queue shows it to approvers only, approving runs it on the demo provider
//! and settles its credits, declining and expiry release them, a member cannot answer their
//! own request, and a restart keeps the job waiting.

use std::time::Duration;

use reelvault::domain::time::Timestamp;
use reelvault::services::studio::approvals;
use serde_json::json;

use crate::allowances::{member_with_credits, put_spending, spending_with};
use crate::support::{api_get, api_post, app_with_credits, credits, generate, wait_terminal};

fn image() -> serde_json::Value {
    json!({"model": "demo-image", "prompt": "a lantern festival"})
}

/// Members' jobs costing more than 0 wait for an approver.
fn members_need_approval() -> serde_json::Value {
    spending_with(|s| s["approval_above"]["member"] = json!(0))
}

#[tokio::test]
async fn an_approved_job_runs_and_its_credits_are_settled() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, member_id) = member_with_credits(&app, &admin, &token, "ria@example.com", 5).await;
    assert_eq!(put_spending(&app, &token, members_need_approval()).await.status, 200);

    let asked = generate(&app.url, &member_token, image()).await;
    assert_eq!(asked.status, 201, "{}", asked.body);
    let g = asked.json();
    assert_eq!(g["state"], "awaiting_approval", "{g}");
    let id = g["id"].as_str().unwrap().to_string();
    assert_eq!(credits(&app.url, &member_token).await, (4, 1), "its credits are held while it waits");

    // approvers see it in the queue; the requester is not one
    let queue = api_get(&app.url, "/api/v1/approvals", Some(&token)).await.json();
    let waiting = &queue["data"][0];
    assert_eq!(waiting["generation"]["id"], id.as_str(), "{queue}");
    assert_eq!(waiting["generation"]["prompt"], "a lantern festival");
    assert_eq!(waiting["generation"]["cost"], 1);
    assert_eq!(waiting["requester"]["id"], member_id.as_str());
    assert_eq!(waiting["approval"]["threshold"], 0);
    assert_eq!(api_get(&app.url, "/api/v1/approvals", Some(&member_token)).await.status, 403);
    let own = api_post(&app.url, &format!("/api/v1/approvals/{id}/approve"), &member_token, json!({})).await;
    assert_eq!((own.status, own.json()["code"].as_str()), (403, Some("approval.not_approver")), "{}", own.body);

    let approved = api_post(&app.url, &format!("/api/v1/approvals/{id}/approve"), &token, json!({"note": "go ahead"})).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.json()["approval"]["verdict"], "approved");
    let done = wait_terminal(&app.url, &member_token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["approval"]["note"], "go ahead", "{done}");
    assert_eq!(credits(&app.url, &member_token).await, (4, 0), "settled");
    let again = api_post(&app.url, &format!("/api/v1/approvals/{id}/decline"), &token, json!({})).await;
    assert_eq!(again.status, 409, "answered once: {}", again.body);

    let audit = api_get(&app.url, "/api/v1/admin/audit", Some(&token)).await.json();
    let actions: Vec<&str> = audit["events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"approval.asked") && actions.contains(&"approval.approved"), "{actions:?}");
}

#[tokio::test]
async fn declining_and_expiry_release_the_hold() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, _) = member_with_credits(&app, &admin, &token, "dex@example.com", 5).await;
    assert_eq!(put_spending(&app, &token, members_need_approval()).await.status, 200);

    let declined_id = generate(&app.url, &member_token, image()).await.json()["id"].as_str().unwrap().to_string();
    let declined =
        api_post(&app.url, &format!("/api/v1/approvals/{declined_id}/decline"), &token, json!({"note": "too pricey today"})).await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    let g = api_get(&app.url, &format!("/api/v1/generations/{declined_id}"), Some(&member_token)).await.json();
    assert_eq!(g["state"], "failed", "{g}");
    assert_eq!(g["reason"]["code"], "approval.declined");
    assert!(g["reason"]["message"].as_str().unwrap().contains("too pricey today"), "{g}");
    assert_eq!(g["approval"]["verdict"], "declined");
    assert_eq!(credits(&app.url, &member_token).await, (5, 0), "released");

    let expiring = generate(&app.url, &member_token, image()).await.json()["id"].as_str().unwrap().to_string();
    let state = &app.running.state;
    assert_eq!(approvals::expire(state, Timestamp::now().plus(Duration::from_secs(71 * 3600))).await.unwrap(), 0, "not yet due");
    assert_eq!(approvals::expire(state, Timestamp::now().plus(Duration::from_secs(73 * 3600))).await.unwrap(), 1);
    let g = api_get(&app.url, &format!("/api/v1/generations/{expiring}"), Some(&member_token)).await.json();
    assert_eq!((g["state"].as_str(), g["reason"]["code"].as_str()), (Some("failed"), Some("approval.expired")), "{g}");
    assert_eq!(g["approval"]["verdict"], "expired");
    assert_eq!(credits(&app.url, &member_token).await, (5, 0), "released");
    assert!(api_get(&app.url, "/api/v1/approvals", Some(&token)).await.json()["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_named_approver_answers_others_but_not_their_own_and_a_restart_keeps_the_job_waiting() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, member_id) = member_with_credits(&app, &admin, &token, "ava@example.com", 5).await;
    let settings = spending_with(|s| {
        s["approval_above"] = json!({"admin": 0, "member": 0});
        s["approvers"] = json!([member_id]);
    });
    assert_eq!(put_spending(&app, &token, settings).await.status, 200);

    let own = generate(&app.url, &member_token, image()).await.json()["id"].as_str().unwrap().to_string();
    let refused = api_post(&app.url, &format!("/api/v1/approvals/{own}/approve"), &member_token, json!({})).await;
    assert_eq!((refused.status, refused.json()["code"].as_str()), (403, Some("approval.own_request")), "{}", refused.body);
    let admins = generate(&app.url, &token, image()).await.json()["id"].as_str().unwrap().to_string();
    let queue = api_get(&app.url, "/api/v1/approvals", Some(&member_token)).await.json();
    assert_eq!(queue["data"].as_array().map(Vec::len), Some(2), "a named approver sees the queue: {queue}");

    let app = app.restart().await;
    for (id, who) in [(&own, &member_token), (&admins, &token)] {
        let g = api_get(&app.url, &format!("/api/v1/generations/{id}"), Some(who)).await.json();
        assert_eq!(g["state"], "awaiting_approval", "still waiting after a restart: {g}");
    }
    let approved = api_post(&app.url, &format!("/api/v1/approvals/{admins}/approve"), &member_token, json!({})).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(wait_terminal(&app.url, &token, &admins).await["state"], "succeeded");
    // an admin may answer their own, and the requester may cancel a waiting job
    let cancelled = api_post(&app.url, &format!("/api/v1/generations/{own}/cancel"), &member_token, json!({})).await;
    assert_eq!(cancelled.json()["state"], "cancelled", "{}", cancelled.body);
    assert_eq!(credits(&app.url, &member_token).await, (5, 0));
}

#[tokio::test]
async fn the_queue_page_shows_waiting_jobs_to_approvers_and_answers_them() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (member, member_token, _) = member_with_credits(&app, &admin, &token, "page@example.com", 5).await;
    assert_eq!(put_spending(&app, &token, members_need_approval()).await.status, 200);
    let id = generate(&app.url, &member_token, image()).await.json()["id"].as_str().unwrap().to_string();

    assert_eq!(member.get("/approvals").await.status, 403, "the requester is not an approver");
    let page = admin.get("/approvals").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text_of(&format!("#approval-{id} .prompt")).contains("a lantern festival"), "{}", page.body);
    assert!(page.text_of(&format!("#approval-{id} .requester")).contains("page@example.com"));
    let csrf = admin.csrf_token().await;
    let answered = admin
        .post_form(&format!("/approvals/{id}/answer"), &[("csrf_token", &csrf), ("verdict", "decline"), ("note", "not this week")])
        .await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    assert_eq!(admin.get("/approvals").await.count("#approvals-empty"), 1);
    let shown = member.get(&format!("/generations/{id}")).await;
    assert!(shown.text_of("#approval").contains("not this week"), "{}", shown.body);
}

#[tokio::test]
async fn in_chromium_an_approver_approves_with_a_note_from_the_queue() {
    use crate::support::webdriver::{self, Browser as Chromium};
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the browser test: chromium and chromium-driver are not installed");
        return;
    }
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, _) = member_with_credits(&app, &admin, &token, "chrome@example.com", 5).await;
    assert_eq!(put_spending(&app, &token, members_need_approval()).await.status, 200);
    let id = generate(&app.url, &member_token, image()).await.json()["id"].as_str().unwrap().to_string();

    let b = Chromium::start().await;
    assert!(b.sign_in_as_admin(&app.url).await, "signed in");
    b.go(&format!("{}/approvals", app.url)).await;
    assert!(b.wait_for(&format!("return !!document.getElementById('note-{id}')"), 10).await, "the request is in the queue");
    b.js(&format!(
        "document.getElementById('note-{id}').value='approved for the campaign'; document.querySelector('#approval-{id} button[value=approve]').click();"
    ))
    .await;
    let done =
        b.wait_for("var f=document.querySelector('.flash-ok'); return !!f && !!document.getElementById('approvals-empty')", 10).await;
    if !done {
        b.screenshot("approvals-approve").await;
    }
    b.quit().await;
    assert!(done, "the queue is empty after approving");
    let g = wait_terminal(&app.url, &member_token, &id).await;
    assert_eq!(g["state"], "succeeded", "{g}");
    assert_eq!(g["approval"]["note"], "approved for the campaign");
}

#[tokio::test]
async fn an_openai_image_call_above_the_threshold_is_answered_at_once_and_its_job_waits() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let (_member, member_token, _) = member_with_credits(&app, &admin, &token, "sync@example.com", 5).await;
    assert_eq!(put_spending(&app, &token, members_need_approval()).await.status, 200);
    let request = crate::support::client()
        .post(format!("{}/v1/images/generations", app.url))
        .bearer_auth(&member_token)
        .json(&json!({"model": "demo-image", "prompt": "a kite"}));
    let answered = crate::support::Browser::read(request.send().await.unwrap()).await;
    assert_eq!(answered.status, 403, "{}", answered.body);
    let error = &answered.json()["error"];
    assert_eq!(error["code"], "approval_required", "{error}");
    let queue = api_get(&app.url, "/api/v1/approvals", Some(&token)).await.json();
    assert_eq!(queue["data"][0]["generation"]["prompt"], "a kite", "the job waits in the queue: {queue}");
    assert_eq!(credits(&app.url, &member_token).await, (4, 1));
}
