//! CSRF refusals and the security headers of every response.

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

#[tokio::test]
async fn cross_site_form_posts_are_refused_with_403() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let token = admin.csrf_token().await;
    let fields = [("csrf_token", token.as_str()), ("name", "Hacked")];

    let cross_site =
        admin.post_raw("/account/profile", &fields, &[("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")]).await;
    assert_eq!(cross_site.status, 403);
    assert!(cross_site.body.contains("Cross-site requests are refused"));
    assert!(cross_site.header("content-type").unwrap().starts_with("text/html"));

    let foreign_origin = admin.post_raw("/account/profile", &fields, &[("origin", "https://evil.example")]).await;
    assert_eq!(foreign_origin.status, 403);

    let no_token = admin.post_raw("/account/profile", &[("name", "Hacked")], &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.body.contains("Reload the page"));

    let wrong_token = admin.post_raw("/account/profile", &[("csrf_token", "AAAA"), ("name", "Hacked")], &[]).await;
    assert_eq!(wrong_token.status, 403);

    // a token from another visitor's cookie does not work here
    let other = app.browser();
    let other_token = other.csrf_token().await;
    let stolen = admin.post_raw("/account/profile", &[("csrf_token", other_token.as_str()), ("name", "Hacked")], &[]).await;
    assert_eq!(stolen.status, 403);

    let (_, account) = admin.visit("/account").await;
    assert!(!account.body.contains("Hacked"), "nothing changed");
    let ok = admin.post_form("/account/profile", &[("name", "Ada Lovelace")]).await;
    assert_eq!(ok.status, 303);
    assert!(admin.visit("/account").await.1.body.contains("Ada Lovelace"));

    // login CSRF: a cross-site sign-in form is refused too
    let login = app
        .browser()
        .post_raw("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)], &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(login.status, 403);
    app.stop().await;
}

#[tokio::test]
async fn api_calls_with_a_session_need_the_csrf_header_but_bearer_calls_do_not() {
    let (app, admin) = TestApp::with_admin().await;
    let token = admin.csrf_token().await;
    // a state-changing API call with the session cookie and no header is refused
    let url = format!("{}/api/v1/account", app.url);
    let r = admin.client.patch(&url).json(&serde_json::json!({"name": "Ada"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "csrf.token");
    let r = admin.client.patch(&url).header("x-csrf-token", &token).json(&serde_json::json!({"name": "Ada"})).send().await.unwrap();
    assert_eq!(r.status(), 200, "with the header, the call is made");
    // a method no route takes is 405 before CSRF is considered, header or not
    for csrf_header in [None, Some(token.as_str())] {
        let mut request = admin.client.post(format!("{}/api/v1/me", app.url));
        if let Some(t) = csrf_header {
            request = request.header("x-csrf-token", t);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers().get("allow").unwrap(), "GET, HEAD");
    }
    // a script with an API token carries no ambient credential: no token needed, no cookie set
    let secret = admin.post_form("/account/tokens", &[("name", "script"), ("expires", "30")]).await.text_of("#new-token");
    let script = reqwest::Client::new();
    let r = script.patch(&url).bearer_auth(&secret).json(&serde_json::json!({"name": "Ada L."})).send().await.unwrap();
    assert_eq!(r.status(), 200, "a bearer call needs no CSRF token");
    let r = script.get(format!("{}/api/v1/me", app.url)).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_none(), "no CSRF cookie for a script: {:?}", r.headers().get("set-cookie"));
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (app, admin) = TestApp::with_admin().await;
    for path in ["/login", "/account", "/assets/css/app.css", "/no/such/page", "/api/v1/me", "/healthz"] {
        let page = admin.get(path).await;
        let csp = page.header("content-security-policy").unwrap_or_else(|| panic!("CSP on {path}"));
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert!(page.header("x-request-id").is_some(), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn pages_have_no_inline_scripts() {
    let (app, admin) = TestApp::with_admin().await;
    let anonymous = app.browser();
    for (who, path) in [
        (&admin, "/"),
        (&admin, "/account"),
        (&admin, "/account/sessions"),
        (&admin, "/account/tokens"),
        (&admin, "/admin/users"),
        (&admin, "/admin/audit"),
        (&anonymous, "/login"),
        (&anonymous, "/no/such/page"),
    ] {
        let page = who.get(path).await;
        assert!(page.status == 200 || page.status == 404, "{path}");
        let html = scraper::Html::parse_document(&page.body);
        let scripts = scraper::Selector::parse("script").unwrap();
        for s in html.select(&scripts) {
            assert!(s.value().attr("src").is_some(), "{path} has an inline script");
            assert!(s.text().collect::<String>().trim().is_empty(), "{path} has inline script text");
        }
        assert!(!page.body.contains(" onclick=") && !page.body.contains(" style="), "{path} has inline handlers or styles");
    }
    app.stop().await;
}
