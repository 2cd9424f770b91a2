//! Connections added in the admin UI: keys sealed and shown only by their last four
//! characters, "Test connection", the models they enable (`GET /api/v1/models`), jobs run
//! through them, kept across restarts, removed; and the callback endpoint's secret.

use std::path::Path;

use crate::support::fake_openai::{Behaviour, FakeOpenAi, KEY};
use crate::support::generate;
use crate::support::{Browser, TestApp, api_get};
use crate::support::{admin_with_credits, wait_terminal};

/// The models list as the token's owner sees it, by id.
async fn model(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    let list = api_get(&app.url, "/api/v1/models", Some(token)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()["models"].as_array().expect("models").iter().find(|m| m["id"] == id).cloned().unwrap_or_else(|| panic!("{id} listed"))
}

async fn add(admin: &Browser, fields: &[(&str, &str)]) -> crate::support::Page {
    admin.post_form("/admin/connections", fields).await
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.extend(bytes);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn an_admin_connects_a_provider_whose_key_stays_sealed_and_runs_jobs_through_it() {
    let fake = FakeOpenAi::start(Behaviour::default()).await;
    let app = TestApp::start().await;
    let (admin, token) = admin_with_credits(&app, 100).await;

    let sora = model(&app, &token, "sora-2").await;
    assert_eq!(sora["available"], false, "{sora}");
    assert!(sora["unavailable_reason"].as_str().unwrap().contains("openai_videos"), "{sora}");
    let midjourney = model(&app, &token, "midjourney").await;
    assert_eq!(midjourney["available"], false);
    assert!(midjourney["unavailable_reason"].as_str().unwrap().contains("terms of service"), "{midjourney}");
    let demo = model(&app, &token, "demo-video").await;
    assert_eq!((demo["available"].clone(), demo["connection"].clone()), (true.into(), "demo".into()), "{demo}");
    assert_eq!(demo["kind"], "video");
    assert!(demo["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "duration"), "{demo}");

    let base = fake.base_url.to_string();
    let added = add(
        &admin,
        &[("name", "studio-openai"), ("kind", "openai_videos"), ("base_url", &base), ("api_key", KEY), ("allow_private_network", "on")],
    )
    .await;
    assert_eq!(added.status, 303, "{}", added.body);

    let page = admin.get("/admin/connections").await;
    assert!(page.body.contains("Connection studio-openai added."), "the flash confirms");
    let last_four = &KEY[KEY.len() - 4..];
    assert_eq!(page.text_of("tr[data-connection=studio-openai] td.key"), format!("••••{last_four}"));
    assert!(!page.body.contains(KEY), "the page never shows the key");
    assert!(!contains(&all_bytes(&app.data_dir()), KEY), "no file in the data directory holds the key in the clear");

    let tested = admin.post_form("/admin/connections/studio-openai/test", &[]).await;
    assert_eq!(tested.status, 303);
    assert!(admin.get("/admin/connections").await.body.contains("the provider accepted the key"));
    assert!(
        fake.hits().iter().any(|h| h.authorized && h.route == crate::support::fake_openai::Route::List),
        "the test called the API with the key"
    );

    let sora = model(&app, &token, "sora-2").await;
    assert_eq!((sora["available"].clone(), sora["connection"].clone()), (true.into(), "studio-openai".into()), "{sora}");
    let body = serde_json::json!({"model": "sora-2", "prompt": "a lighthouse at dusk", "params": {"duration": 4}});
    let created = generate(&app.url, &token, body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let done = wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["connection"], "studio-openai");

    // kept across a restart, and still sealed
    let app = app.restart().await;
    let admin = Browser::new(&app.url);
    admin.sign_in(crate::support::ADMIN_EMAIL, crate::support::ADMIN_PASSWORD).await;
    let sora = model(&app, &token, "sora-2").await;
    assert_eq!(sora["connection"], "studio-openai", "{sora}");
    let again = generate(&app.url, &token, body).await;
    let done = wait_terminal(&app.url, &token, again.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "the key opened again after the restart: {done}");

    let removed = admin.post_form("/admin/connections/studio-openai/delete", &[]).await;
    assert_eq!(removed.status, 303);
    assert_eq!(model(&app, &token, "sora-2").await["available"], false);
    assert_eq!(admin.get("/admin/connections").await.count("tr[data-connection=studio-openai]"), 0);
    let audit = admin.get("/admin/audit").await.body;
    for action in ["connection.added", "connection.tested", "connection.removed"] {
        assert!(audit.contains(action), "{action} is audited");
    }
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn a_wrong_key_fails_the_test_with_the_providers_reason() {
    let fake = FakeOpenAi::start(Behaviour::default()).await;
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let base = fake.base_url.to_string();
    let fields = [
        ("name", "wrong"),
        ("kind", "openai-videos"),
        ("base_url", base.as_str()),
        ("api_key", "sk-not-the-right-key"),
        ("allow_private_network", "on"),
    ];
    assert_eq!(add(&admin, &fields).await.status, 303);
    admin.post_form("/admin/connections/wrong/test", &[]).await;
    let page = admin.get("/admin/connections").await;
    assert!(page.body.contains("refused the API key"), "{}", page.text_of(".flash"));
    app.stop().await;
    fake.stop().await;
}

#[tokio::test]
async fn bad_connection_forms_are_refused_with_the_reason_and_store_nothing() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("name", "x"), ("kind", "telepathy"), ("api_key", "sk-0123456789")], "choose a provider kind"),
        (&[("name", "x"), ("kind", "runway"), ("base_url", "ftp://example.com"), ("api_key", "sk-0123456789")], "http or https"),
        (
            &[("name", "x"), ("kind", "runway"), ("base_url", "https://gw.example/v1?a=1"), ("api_key", "sk-0123456789")],
            "must not have a query",
        ),
        (&[("name", "x"), ("kind", "runway")], "API key"),
        (&[("name", "x"), ("kind", "kling"), ("access_key", "ak")], "secret key"),
        (&[("name", "demo"), ("kind", "runway"), ("api_key", "sk-0123456789")], "config.toml"),
        (&[("name", "x y"), ("kind", "runway"), ("api_key", "sk-0123456789")], "letters, digits"),
    ];
    for (fields, message) in cases {
        let page = add(&admin, fields).await;
        assert!((400..500).contains(&page.status), "{fields:?}: {}", page.status);
        let alert = page.text_of("[role=alert]").to_lowercase();
        assert!(alert.contains(&message.to_lowercase()), "{fields:?}: {alert}");
        assert!(!page.body.contains("sk-0123456789"), "a refused form does not echo the key");
    }
    let page = admin.get("/admin/connections").await;
    assert_eq!(page.count("tbody tr"), 1, "only the demo connection");
    app.stop().await;
}

#[tokio::test]
async fn callbacks_need_the_connections_secret() {
    let app = TestApp::start_with(|c| c.public_url = Some(url::Url::parse("https://studio.example.com").unwrap())).await;
    let state = &app.running.state;
    let secret = state.hook_secret("demo");
    assert_eq!(
        state.engine.callbacks().url("demo").map(|u| u.to_string()),
        Some(format!("https://studio.example.com/hooks/demo/{secret}")),
        "jobs tell providers where to call back"
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |path: String| client.post(format!("{}{path}", app.url)).body("{\"id\": \"x\"}").send();
    let wrong = post(format!("/hooks/demo/{}", "0".repeat(32))).await.unwrap();
    assert_eq!(wrong.status(), 404);
    let unknown = post(format!("/hooks/nobody/{secret}")).await.unwrap();
    assert_eq!(unknown.status(), 404, "a secret of one connection opens no other");
    let right = post(format!("/hooks/demo/{secret}")).await.unwrap();
    assert_eq!(right.status(), 200);
    assert_eq!(right.json::<serde_json::Value>().await.unwrap()["received"], true);
    app.stop().await;
}

#[tokio::test]
async fn a_minimax_callback_challenge_is_echoed() {
    let app = TestApp::start_with(|c| {
        c.public_url = Some(url::Url::parse("https://studio.example.com").unwrap());
        c.connection.push(reelvault::config::ConnectionConfig::new("hailuo", "minimax"));
    })
    .await;
    let secret = app.running.state.hook_secret("hailuo");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = client
        .post(format!("{}/hooks/hailuo/{secret}", app.url))
        .header("content-type", "application/json")
        .body(r#"{"challenge":"1a3cs1j-601a118y"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"challenge": "1a3cs1j-601a118y"}));
    app.stop().await;
}

#[tokio::test]
async fn a_gateway_base_url_reaches_the_provider_with_or_without_its_version() {
    let fake = fake_upstream::FakeUpstream::start(|r| match r.route().as_str() {
        "GET /gateway/runway/v1/organization" => fake_upstream::Reply::json(200, serde_json::json!({"creditBalance": 1200})),
        _ => fake_upstream::Reply::status(404),
    })
    .await;
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    for (name, under) in [("bare", "gateway/runway"), ("versioned", "gateway/runway/v1/")] {
        let base = fake.at(under).to_string();
        let fields = [
            ("name", name),
            ("kind", "runway"),
            ("base_url", base.as_str()),
            ("api_key", "key_0123456789"),
            ("allow_private_network", "on"),
        ];
        assert_eq!(add(&admin, &fields).await.status, 303, "{base}");
        admin.post_form(&format!("/admin/connections/{name}/test"), &[]).await;
        let page = admin.get("/admin/connections").await;
        assert!(page.body.contains("1200 credits"), "{base}: {}", page.text_of(".flash"));
    }
    assert_eq!(fake.requests_to("GET /gateway/runway/v1/organization").len(), 2);
    app.stop().await;
    fake.stop().await;
}
