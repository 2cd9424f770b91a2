//! The model catalog and the admins' model policy: `/models` and `/models/{id}` with the
//! data-use facts (and a config `[[data_use]]` correction), roles and per-person overrides
//! enforced on every path (pages, API list, submit), price overrides shown and charged, bad
//! policy input refused, audit entries, and the policy kept across a restart.

use reelvault::domain::catalog::data_use::{DataUseOverride, TrainingUse};

use crate::support::generate;
use crate::support::{Browser, Page, TestApp, api_get};
use crate::support::{admin_with_credits, credits};

/// A member invited by `admin`, granted `amount` credits, with an API token.
async fn member_with_credits(app: &TestApp, admin: &Browser, email: &str, amount: i64) -> (Browser, String) {
    let member = app.invite_member(admin, email, "member password 1").await;
    let action = admin.get("/admin/users").await.row_action(email, "form[action$='/credits']");
    assert_eq!(admin.post_form(&action, &[("amount", &amount.to_string())]).await.status, 303);
    let token = member.post_form("/account/tokens", &[("name", "t"), ("expires", "30")]).await.text_of("#new-token");
    (member, token)
}

/// The model `id` in `GET /api/v1/models` as the token's owner sees it.
async fn api_model(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    let list = api_get(&app.url, "/api/v1/models", Some(token)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()["models"].as_array().expect("models").iter().find(|m| m["id"] == id).cloned().unwrap_or_else(|| panic!("{id} listed"))
}

async fn submit(app: &TestApp, token: &str, model: &str) -> Page {
    generate(&app.url, token, serde_json::json!({"model": model, "prompt": "a quiet harbour", "params": {"duration": 2}})).await
}

/// Saves the policy row of `model` as an admin.
async fn save_row(admin: &Browser, model: &str, admins: bool, members: bool, credits: &str) -> Page {
    let mut fields = vec![("credits", credits)];
    if admins {
        fields.push(("enabled_for_admins", "on"));
    }
    if members {
        fields.push(("enabled_for_members", "on"));
    }
    admin.post_form(&format!("/admin/models/{model}"), &fields).await
}

fn offered(page: &Page, model: &str) -> bool {
    page.count(&format!("#model-pick option[value='{model}']")) == 1
}

#[tokio::test]
async fn turning_a_model_off_for_members_applies_everywhere_and_an_override_reopens_it_for_one() {
    let app = TestApp::start_with(|c| c.connection[0].delay = std::time::Duration::ZERO).await;
    let (admin, admin_token) = admin_with_credits(&app, 100).await;
    let (ann, ann_token) = member_with_credits(&app, &admin, "ann@example.com", 50).await;
    let (bob, bob_token) = member_with_credits(&app, &admin, "bob@example.com", 50).await;
    assert!(offered(&ann.get("/generate").await, "demo-video"), "on by default");

    assert_eq!(save_row(&admin, "demo-video", true, false, "").await.status, 303);
    let policy = admin.get("/admin/models").await;
    assert!(policy.body.contains("demo-video saved."), "the flash confirms");
    assert_eq!(policy.attr_of("tr[data-model='demo-video'] input[name=enabled_for_members]", "checked"), None);
    assert!(policy.attr_of("tr[data-model='demo-video'] input[name=enabled_for_admins]", "checked").is_some());

    // the catalog page says so, with the reason
    let models = ann.get("/models").await;
    let access = models.text_of("li[data-model='demo-video'] .access");
    assert!(access.contains("not available") && access.contains("off for members"), "{access}");
    assert!(models.text_of("li[data-model='demo-image'] .access").contains("available"));
    // the New generation page does not offer it, and says why when asked for it
    assert!(!offered(&ann.get("/generate").await, "demo-video"));
    assert!(offered(&ann.get("/generate").await, "demo-image"));
    let asked = ann.get("/generate?model=demo-video").await;
    assert!(asked.text_of("[role=alert]").contains("not available to you"), "{}", asked.text_of("[role=alert]"));
    assert_eq!(asked.attr_of("input[name=model]", "value").as_deref(), Some("demo-image"));
    // the API refuses it with the reason, and lists it as unavailable
    let refused = submit(&app, &ann_token, "demo-video").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["code"], "generation.model_disabled");
    assert!(refused.json()["message"].as_str().unwrap().contains("off for members"), "{}", refused.body);
    let listed = api_model(&app, &ann_token, "demo-video").await;
    assert_eq!(listed["available"], false, "{listed}");
    assert!(listed["unavailable_reason"].as_str().unwrap().contains("members"), "{listed}");
    assert_eq!(credits(&app.url, &ann_token).await, (50, 0), "nothing was held");
    // admins keep it
    assert_eq!(api_model(&app, &admin_token, "demo-video").await["available"], true);
    assert_eq!(submit(&app, &admin_token, "demo-video").await.status, 201);

    // an allow override for Ann only
    let added = admin.post_form("/admin/models/demo-video/overrides", &[("email", "ann@example.com"), ("access", "allow")]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(api_model(&app, &ann_token, "demo-video").await["available"], true);
    assert!(offered(&ann.get("/generate").await, "demo-video"));
    assert_eq!(submit(&app, &ann_token, "demo-video").await.status, 201);
    assert_eq!(submit(&app, &bob_token, "demo-video").await.status, 403, "only Ann");
    assert!(!offered(&bob.get("/generate").await, "demo-video"));

    // a deny override beats the admin role
    let denied = admin.post_form("/admin/models/demo-image/overrides", &[("email", "admin@example.com"), ("access", "deny")]).await;
    assert_eq!(denied.status, 303);
    let refused = generate(&app.url, &admin_token, serde_json::json!({"model": "demo-image", "prompt": "x"})).await;
    assert_eq!(refused.status, 403);
    assert!(refused.json()["message"].as_str().unwrap().contains("off for your account"), "{}", refused.body);

    // removing Ann's override closes it again
    let page = admin.get("/admin/models").await;
    let remove = page.attr_of("tr[data-model='demo-video'] form.override[data-email='ann@example.com']", "action").expect("remove form");
    assert_eq!(admin.post_form(&remove, &[]).await.status, 303);
    assert_eq!(submit(&app, &ann_token, "demo-video").await.status, 403);

    let (actions, details) = audited(&admin).await;
    for action in ["model.roles_changed", "model.override_set", "model.override_removed"] {
        assert!(actions.iter().any(|a| a == action), "{action} is audited: {actions:?}");
    }
    assert!(details.iter().any(|d| d == "admins: on, members: off"), "the audit says what changed: {details:?}");
    assert!(details.iter().any(|d| d == "ann@example.com: allow"), "{details:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_price_change_is_shown_and_charged_and_the_policy_survives_a_restart() {
    let app = TestApp::start_with(|c| c.connection[0].delay = std::time::Duration::ZERO).await;
    let (admin, _admin_token) = admin_with_credits(&app, 10).await;
    let (member, token) = member_with_credits(&app, &admin, "ann@example.com", 100).await;
    assert_eq!(api_model(&app, &token, "demo-video").await["price"], serde_json::json!({"type": "per_second", "credits": 2}));

    assert_eq!(save_row(&admin, "demo-video", true, true, " 5 ").await.status, 303);
    assert_eq!(api_model(&app, &token, "demo-video").await["price"], serde_json::json!({"type": "per_second", "credits": 5}));
    let models = member.get("/models").await;
    assert_eq!(models.text_of("li[data-model='demo-video'] .price"), "5 credits per second of video");
    assert_eq!(member.get("/models/demo-video").await.text_of("#price"), "5 credits per second of video");
    let form = member.get("/generate?model=demo-video&duration=2").await;
    assert_eq!(form.text_of("#price"), "10 credits", "the form prices 2 s at 5 credits");
    assert_eq!(member.get("/generate/price?model=demo-video&param_duration=5").await.body, "25 credits");

    let created = submit(&app, &token, "demo-video").await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["cost"], 10, "held at the effective price");
    assert_eq!(credits(&app.url, &token).await.0, 90);

    let (actions, details) = audited(&admin).await;
    assert!(actions.iter().any(|a| a == "model.price_changed"), "{actions:?}");
    assert!(details.iter().any(|d| d == "5 credits per second of video (was 2 credits per second of video)"), "{details:?}");

    assert_eq!(save_row(&admin, "demo-image", true, false, "").await.status, 303);
    let app = app.restart().await;
    assert_eq!(api_model(&app, &token, "demo-video").await["price"]["credits"], 5, "the price survives a restart");
    assert_eq!(api_model(&app, &token, "demo-image").await["available"], false, "so does the role switch");
    let admin = Browser::new(&app.url);
    admin.sign_in(crate::support::ADMIN_EMAIL, crate::support::ADMIN_PASSWORD).await;
    assert_eq!(admin.get("/admin/models").await.attr_of("#credits-demo-video", "value").as_deref(), Some("5"));

    // an empty price restores the catalog's
    assert_eq!(save_row(&admin, "demo-video", true, true, "").await.status, 303);
    assert_eq!(api_model(&app, &token, "demo-video").await["price"]["credits"], 2);
    app.stop().await;
}

#[tokio::test]
async fn bad_policy_input_is_refused_with_the_reason_and_changes_nothing() {
    let app = TestApp::start().await;
    let (admin, token) = admin_with_credits(&app, 10).await;
    let (member, _) = member_with_credits(&app, &admin, "ann@example.com", 10).await;

    for (credits, message) in
        [("-3", "cannot be negative"), ("1000001", "at most 100000"), ("cheap", "whole number"), ("2.5", "whole number")]
    {
        let page = save_row(&admin, "demo-video", true, false, credits).await;
        assert_eq!(page.status, 422, "{credits}: {}", page.status);
        assert!(page.text_of("[role=alert]").contains(message), "{credits}: {}", page.text_of("[role=alert]"));
    }
    let overrides: [(&[(&str, &str)], &str); 3] = [
        (&[("email", "nobody@example.com"), ("access", "allow")], "no account with the email nobody@example.com"),
        (&[("email", "not an email"), ("access", "allow")], "valid email"),
        (&[("email", "ann@example.com"), ("access", "maybe")], "\"allow\" or \"deny\""),
    ];
    for (fields, message) in overrides {
        let page = admin.post_form("/admin/models/demo-video/overrides", fields).await;
        assert_eq!(page.status, 422, "{fields:?}");
        assert!(page.text_of("[role=alert]").contains(message), "{fields:?}: {}", page.text_of("[role=alert]"));
    }
    assert_eq!(save_row(&admin, "no-such-model", true, true, "").await.status, 404);
    assert_eq!(admin.post_form("/admin/models/demo-video/overrides/not-an-id/delete", &[]).await.status, 404);
    assert_eq!(admin.post_form("/admin/models/demo-video/overrides/01ARZ3NDEKTSV4RRFFQ69G5FAV/delete", &[]).await.status, 404);
    assert_eq!(save_row(&member, "demo-video", false, false, "0").await.status, 403, "members cannot change the policy");
    assert_eq!(member.get("/admin/models").await.status, 403);

    let video = api_model(&app, &token, "demo-video").await;
    assert_eq!((video["available"].clone(), video["price"]["credits"].clone()), (true.into(), 2.into()), "nothing changed: {video}");
    assert!(!audited(&admin).await.0.iter().any(|a| a.starts_with("model.")), "nothing was audited");
    app.stop().await;
}

#[tokio::test]
async fn model_pages_show_capabilities_and_the_providers_data_use_with_config_corrections() {
    let app = TestApp::start_with(|c| {
        c.data_use.push(DataUseOverride {
            kind: "gemini".into(),
            trains_on_inputs: Some(TrainingUse::No),
            training_note: Some("Our Gemini key belongs to a billed project.".into()),
            ..DataUseOverride::default()
        })
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 10).await;
    let (member, _) = member_with_credits(&app, &admin, "ann@example.com", 10).await;
    let nav = member.get("/").await;
    assert_eq!(nav.count("nav a[href='/models']"), 1, "Models is in the main menu");
    assert_eq!(nav.count("nav a[href='/admin/models']"), 0, "the policy page is for admins");
    assert_eq!(admin.get("/").await.count("nav a[href='/admin/models']"), 1);

    let all = member.get("/models").await;
    let shipped = reelvault::domain::catalog::Catalog::shipped().models().len();
    assert_eq!(all.count("li.model-card[data-model]"), shipped, "every catalog model is listed");
    let images = member.get("/models?kind=image").await;
    assert!(images.count("li.model-card[data-model]") > 5);
    assert!(scraper_texts(&images, ".model-card .badge.kind").iter().all(|k| k == "image"));
    assert_eq!(member.get("/models?kind=sound").await.status, 400);
    assert_eq!(member.get("/models/no-such-model").await.status, 404);
    assert_eq!(Browser::new(&app.url).get("/models").await.status, 303, "signed-in only");

    let demo = member.get("/models/demo-video").await;
    assert_eq!(demo.attr_of("#new-generation", "href").as_deref(), Some("/generate?model=demo-video"));
    assert!(demo.text_of(".params").contains("2, 3, 5 (default 3)"), "allowed values are listed");
    assert!(demo.text_of("#receives").contains("Nothing"));
    let (_, form) = member.visit("/generate?model=demo-video").await;
    assert_eq!(form.attr_of("input[name=model]", "value").as_deref(), Some("demo-video"));

    let veo = member.get("/models/veo-3.1").await;
    assert_eq!(veo.attr_of("#terms", "href").as_deref(), Some("https://ai.google.dev/gemini-api/terms"));
    assert_eq!(veo.attr_of("#privacy", "href").as_deref(), Some("https://policies.google.com/privacy"));
    let training = veo.text_of("#training");
    assert!(training.starts_with("No.") && training.contains("billed project"), "the config's correction: {training}");
    assert!(veo.body.contains("admins have added to or corrected"));
    let receives = veo.text_of("#receives");
    assert!(receives.contains("negative prompt") && receives.contains("reference images"), "{receives}");
    assert!(veo.text_of("#retention").contains("55 days"));
    assert!(veo.text_of("#availability").contains("No gemini connection"), "not available without a connection");
    assert_eq!(veo.count("#new-generation"), 0);

    let sora = member.get("/models/sora-2").await;
    assert!(sora.text_of("#training").starts_with("No."), "{}", sora.text_of("#training"));
    assert!(!sora.text_of("#receives").contains("negative prompt"), "sora-2 takes none, so none is sent");
    assert!(sora.text_of("#retention").contains("30 days"));
    assert!(member.get("/models/runway-gen4.5").await.text_of("#training").starts_with("Yes."));
    assert!(member.get("/models/kling-v2.1").await.text_of("#training").starts_with("Unknown."));
    assert!(member.get("/models/fal-flux-pro-1.1-ultra").await.text_of("#no-store").contains("X-Fal-Store-IO: 0"));
    let midjourney = member.get("/models/midjourney").await;
    assert!(midjourney.text_of("#availability").contains("terms of service forbid automated access"));

    assert_eq!(api_model(&app, &token, "veo-3.1").await["provider_may_train"], "no");
    assert_eq!(api_model(&app, &token, "runway-gen4.5").await["provider_may_train"], "yes");
    assert_eq!(app.running.state.data_use.may_train_on_inputs("gemini"), TrainingUse::No);
    app.stop().await;
}

/// The actions and details of the audit log's events, newest first.
async fn audited(admin: &Browser) -> (Vec<String>, Vec<String>) {
    let page = admin.get("/admin/audit").await;
    (scraper_texts(&page, "table.audit tbody td code"), scraper_texts(&page, "table.audit tbody td:nth-child(7)"))
}

/// The trimmed texts of every element matching `selector`.
fn scraper_texts(page: &Page, selector: &str) -> Vec<String> {
    let html = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse(selector).expect("selector");
    html.select(&sel).map(|e| e.text().collect::<String>().trim().to_string()).collect()
}
