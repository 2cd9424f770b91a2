//! Behind a TLS-terminating reverse proxy: absolute URLs come from `public_url` (https), and
//! client addresses from `X-Forwarded-For` only when the peer is a trusted proxy.

use std::time::Duration;

use reelvault::domain::audit::AuditAction;
use reelvault::services::privacy::audit::{self, AuditFilter};

use crate::support::generate;
use crate::support::process::{cli_admin_token, run};
use crate::support::wait_terminal;
use crate::support::{ADMIN_EMAIL, Browser, TestApp};

/// A failed sign-in as a browser behind the proxy sends it: the proxy's headers, the
/// instance's https origin, and the `__Host-` CSRF cookie by hand (the test talks plain http).
async fn failed_sign_in(app: &TestApp, forwarded_for: &str) -> u16 {
    let page = Browser::new(&app.url).get("/login").await;
    let token = page.attr_of("input[name=csrf_token]", "value").unwrap();
    let cookie = page.set_cookies().into_iter().find(|c| c.starts_with("__Host-rv_csrf=")).expect("a __Host- cookie over https");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap();
    client
        .post(format!("{}/login", app.url))
        .header("cookie", cookie.split(';').next().unwrap())
        .header("origin", "https://studio.example.com")
        .header("x-forwarded-for", forwarded_for)
        .form(&[("csrf_token", token.as_str()), ("email", ADMIN_EMAIL), ("password", "not the password")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn failed_sign_in_addresses(app: &TestApp) -> Vec<Option<String>> {
    let filter = AuditFilter { action: Some(AuditAction::SignInFailed), ..AuditFilter::default() };
    let (events, _) = audit::list(&app.running.state, filter, 10).await.unwrap();
    events.into_iter().map(|e| e.client.address).collect()
}

#[tokio::test]
async fn behind_a_proxy_links_are_https_and_client_addresses_come_from_trusted_proxies_only() {
    let app = TestApp::start_with(|c| {
        c.public_url = Some("https://studio.example.com".parse().unwrap());
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.connection[0].delay = Duration::ZERO;
    })
    .await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let token = cli_admin_token(ADMIN_EMAIL, "admin password 12", 5, &["--data-dir", d]).await;

    // absolute URLs: signed media links and reset links name the public https origin
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a kite"})).await;
    let done = wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await;
    let media = done["outputs"][0]["url"].as_str().unwrap();
    assert!(media.starts_with("https://studio.example.com/media/"), "{media}");
    let local = media.replacen("https://studio.example.com", &app.url, 1);
    assert_eq!(reqwest::get(&local).await.unwrap().status(), 200, "the proxy forwards it to a working link");
    let (_, out, _) = run(&["user", "reset-password", "--email", ADMIN_EMAIL, "--data-dir", d], None).await;
    assert!(out.contains("https://studio.example.com/reset/"), "{out}");

    // the loopback peer is a trusted proxy: the nearest untrusted hop is the client
    assert_eq!(failed_sign_in(&app, "6.6.6.6, 203.0.113.9").await, 401);
    assert_eq!(failed_sign_in_addresses(&app).await, [Some("203.0.113.9".to_string())]);
    app.stop().await;

    // without trusted_proxies, a client cannot choose its own address
    let app = TestApp::start_with(|c| c.public_url = Some("https://studio.example.com".parse().unwrap())).await;
    assert_eq!(failed_sign_in(&app, "203.0.113.9").await, 401);
    assert_eq!(failed_sign_in_addresses(&app).await, [Some("127.0.0.1".to_string())]);
    app.stop().await;
}
