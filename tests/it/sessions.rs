//! The sessions page, sign-out everywhere, timeouts and cookie flags.

use std::time::Duration;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

#[tokio::test]
async fn sessions_are_listed_and_can_be_ended_one_by_one_or_everywhere() {
    let app = TestApp::start().await;
    let a = app.setup_admin().await;
    let b = app.browser();
    let c = app.browser();
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    assert_eq!(c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);

    let page = a.get("/account/sessions").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.count("tbody tr"), 3);
    assert_eq!(page.count("tr.current"), 1);
    assert!(page.body.contains("reelvault-tests/1.0"), "the user agent is shown");
    assert!(page.body.contains("127.0.0.1"), "the address is shown");

    // end the first session that is not this one
    let html = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse("tbody tr:not(.current) form").unwrap();
    let action = html.select(&sel).next().unwrap().value().attr("action").unwrap().to_string();
    assert_eq!(a.post_form(&action, &[]).await.status, 303);
    let still = [b.get("/account").await.status, c.get("/account").await.status];
    assert_eq!(still.iter().filter(|s| **s == 303).count(), 1, "exactly one other session ended: {still:?}");

    let all = a.post_form("/account/sessions/revoke-all", &[]).await;
    assert_eq!(all.status, 303);
    for browser in [&a, &b, &c] {
        assert_eq!(browser.get("/account").await.status, 303);
    }
    app.stop().await;
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = TestApp::start_with(|c| c.sessions.idle = Duration::from_millis(700)).await;
    let a = app.setup_admin().await;
    assert_eq!(a.get("/account").await.status, 200);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(a.get("/account").await.status, 303);
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_at_the_absolute_timeout_however_active() {
    let app = TestApp::start_with(|c| c.sessions.absolute = Duration::from_millis(900)).await;
    let a = app.setup_admin().await;
    for _ in 0..3 {
        assert_eq!(a.get("/account").await.status, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(a.get("/account").await.status, 303);
    app.stop().await;
}

#[tokio::test]
async fn over_https_cookies_are_secure_with_the_host_prefix_and_hsts_is_sent() {
    let app = TestApp::start_with(|c| c.public_url = Some("https://studio.example.com".parse().unwrap())).await;
    // the browser talks plain http to the test server, as a TLS-terminating proxy would
    let b = app.browser();
    let login = b.get("/login").await;
    assert!(login.header("strict-transport-security").is_some_and(|v| v.contains("max-age=")));
    let csrf = login.set_cookies().into_iter().find(|c| c.contains("rv_csrf")).unwrap();
    assert!(csrf.starts_with("__Host-rv_csrf=") && csrf.contains("Secure") && csrf.contains("Path=/"), "{csrf}");
    let page = b.get(&app.setup_path()).await;
    let token = page.attr_of("input[name=csrf_token]", "value").unwrap();
    let cookie = csrf.split(';').next().unwrap().to_string();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let done = client
        .post(format!("{}{}", app.url, app.setup_path()))
        .header("cookie", cookie)
        .header("origin", "https://studio.example.com")
        .form(&[("csrf_token", token.as_str()), ("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("confirm", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let session =
        done.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).find(|c| c.contains("rv_session")).unwrap();
    assert!(
        session.starts_with("__Host-rv_session=")
            && session.contains("Secure")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Lax"),
        "{session}"
    );
    app.stop().await;
}

#[tokio::test]
async fn plain_http_sends_no_hsts() {
    let app = TestApp::start().await;
    assert!(app.browser().get("/login").await.header("strict-transport-security").is_none());
    app.stop().await;
}
