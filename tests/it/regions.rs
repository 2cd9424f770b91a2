//! Connections to providers with region-bound keys: `region` picks the documented host, an
//! unknown one is refused with the choices, it is kept across a restart, and a key refused by
//! such a provider says that region may be why.

use fake_upstream::Reply;
use serde_json::json;

use crate::support::TestApp;
use crate::support::api::{api_get, api_post};
use crate::support::provider_rig::provider;

async fn listed(app: &TestApp, token: &str, name: &str) -> serde_json::Value {
    let list = api_get(&app.url, "/api/v1/admin/connections", Some(token)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()["connections"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap_or_else(|| panic!("{name} listed"))
}

#[tokio::test]
async fn an_admin_picks_a_region_and_an_unknown_one_is_refused_with_the_choices() {
    let app = TestApp::start().await;
    let (admin, token) = crate::support::admin_with_credits(&app, 1).await;
    let add = |body: serde_json::Value| {
        let (url, token) = (app.url.clone(), token.clone());
        async move { api_post(&url, "/api/v1/admin/connections", &token, body).await }
    };
    let added = add(json!({"name": "flux-eu", "kind": "bfl", "region": "EU", "api_key": "bfl-key-123456"})).await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(listed(&app, &token, "flux-eu").await["region"], "eu");

    let unknown = add(json!({"name": "flux-mars", "kind": "bfl", "region": "mars", "api_key": "bfl-key-123456"})).await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(unknown.body.contains("global, eu, us"), "{}", unknown.body);
    let no_regions = add(json!({"name": "oa", "kind": "openai_images", "region": "eu", "api_key": "sk-123456789"})).await;
    assert_eq!(no_regions.status, 422, "{}", no_regions.body);
    assert!(no_regions.body.contains("takes no region"), "{}", no_regions.body);

    let form = admin.get("/admin/connections").await;
    assert!(form.count("input[name=region]") == 1 && form.body.contains("region eu"), "the page shows and takes regions");
    let app = app.restart().await;
    assert_eq!(listed(&app, &token, "flux-eu").await["region"], "eu", "kept across a restart");
    app.stop().await;
}

#[tokio::test]
async fn a_config_connection_with_an_unknown_region_stops_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "data_dir = {:?}\n[[connection]]\nname = \"ark\"\nkind = \"byteplus\"\nregion = \"moon\"\napi_key = \"ark-key-123456\"\n",
        dir.path().join("data")
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reelvault")).args(["check", "--config"]).arg(&path).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("ark") && said.contains("ap-southeast, eu-west, cn-beijing"), "{said}");
}

#[tokio::test]
async fn a_refused_key_of_a_regional_provider_says_the_region_may_be_why() {
    let rig = provider("dashscope", "dashscope")
        .key("sk-other-region")
        .serve(|_| Reply::json(401, json!({"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r"})))
        .await;
    let done = rig.run(json!({"model": "wan-2.7-t2v", "prompt": "a lantern"})).await;
    assert_eq!(done["state"], "failed", "{done}");
    rig.assert_released().await;
    let reason = rig.reason(&done).await;
    assert!(reason.contains("region"), "{reason}");
    rig.stop().await;
}
