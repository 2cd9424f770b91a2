//! Abuse at the HTTP edge: cross-site page forms that carry an `Authorization` header (as
//! browsers add on their own behind an authenticating proxy), probing every route with methods
//! it does not take and paths that do not exist, with and without cookies, and reading
//! `/metrics` through a same-host reverse proxy. Each is refused without changing anything or
//! showing anything, and the bystander is still served.

use std::time::Duration;

use reqwest::Method;

use super::bystander::Bystander;
use crate::support::generate;
use crate::support::{Browser, Page, TestApp, api_get};
use crate::support::{admin_with_credits, wait_terminal};

/// What a hostile page's form submission looks like to the server.
const CROSS_SITE: [(&str, &str); 2] = [("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")];

/// A client with no cookies at all.
fn cookieless() -> reqwest::Client {
    reelvault::providers::http::install_crypto_provider();
    reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn send(client: &reqwest::Client, method: Method, url: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = client.request(method, url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    Browser::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn cross_site_page_forms_with_any_authorization_header_are_refused_and_change_nothing() {
    let (app, admin) = TestApp::with_admin().await;
    let bystander = Bystander::join(&app, &admin).await;
    let admin_token = admin.post_form("/account/tokens", &[("name", "admin script"), ("expires", "30")]).await.text_of("#new-token");
    let bearer = format!("Bearer {admin_token}");
    let schemes = [
        "Basic YWRtaW5AZXhhbXBsZS5jb206c2VjcmV0",
        "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==",
        "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==",
        bearer.as_str(),
    ];
    // a form on a hostile page cannot know the token; the attacker sends what it can
    let forms: [(&str, &[(&str, &str)]); 5] = [
        ("/account/profile", &[("name", "Hacked")]),
        ("/account/tokens", &[("name", "planted token"), ("expires", "30")]),
        ("/admin/invitations", &[("email", "planted@evil.example"), ("role", "admin")]),
        ("/account/sessions/revoke-all", &[]),
        ("/logout", &[]),
    ];
    for scheme in schemes {
        for (path, fields) in forms {
            let mut headers = CROSS_SITE.to_vec();
            headers.push(("authorization", scheme));
            let refused = admin.post_raw(path, fields, &headers).await;
            assert_eq!(refused.status, 403, "POST {path} with `{scheme}`: {}", refused.body);
            assert!(refused.body.contains("Cross-site requests are refused"), "POST {path}: {}", refused.body);
            // only the origin header: a browser that sends no Fetch Metadata
            let origin_only = admin.post_raw(path, fields, &[("origin", "https://evil.example"), ("authorization", scheme)]).await;
            assert_eq!(origin_only.status, 403, "POST {path} with `{scheme}` and a foreign Origin: {}", origin_only.body);
        }
        // the session cookie is ambient under /api/v1 too: only a bearer token exempts a call there
        if !scheme.starts_with("Bearer ") {
            let r = admin
                .client
                .patch(format!("{}/api/v1/account", app.url))
                .header("authorization", scheme)
                .header("origin", "https://evil.example")
                .json(&serde_json::json!({"name": "Hacked"}))
                .send()
                .await
                .unwrap();
            let page = Browser::read(r).await;
            assert_eq!(page.status, 403, "PATCH /api/v1/account with `{scheme}`: {}", page.body);
            assert_eq!(page.json()["code"], "csrf.cross_site");
        }
    }

    // nothing changed: same name, no planted token or invitation, still signed in
    let account = admin.get("/account").await;
    assert_eq!(account.status, 200, "the admin is still signed in");
    assert!(!account.body.contains("Hacked"));
    assert!(!admin.get("/account/tokens").await.body.contains("planted token"));
    assert!(!admin.get("/admin/users").await.body.contains("planted@evil.example"));
    // a script's bearer call to the API is still exempt
    let me = api_get(&app.url, "/api/v1/me", Some(&admin_token)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    bystander.still_served(&app, "cross-site page forms with Authorization headers").await;
    app.stop().await;
}

/// A method `allowed` does not list, to probe a path with.
fn other_method(allowed: &[&str]) -> Method {
    [Method::PUT, Method::PATCH, Method::DELETE, Method::POST].into_iter().find(|m| !allowed.contains(&m.as_str())).unwrap()
}

/// The name of one of the methods routes take.
fn name_of(method: &str) -> &'static str {
    ["GET", "POST", "PUT", "PATCH", "DELETE"].into_iter().find(|name| *name == method).unwrap()
}

/// The methods an `Allow` header lists.
fn allow_of(page: &Page) -> Vec<String> {
    page.header("allow").unwrap_or_default().split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect()
}

/// GET and HEAD of `url` with the same credentials: the same status and headers, no body.
/// `fixed` bodies (files, probes) must also announce the same length.
async fn head_matches_get(client: &reqwest::Client, url: &str, headers: &[(&str, &str)], fixed: bool) -> Page {
    let get = send(client, Method::GET, url, headers).await;
    let head = send(client, Method::HEAD, url, headers).await;
    assert_eq!(head.status, get.status, "HEAD {url} answers like GET");
    assert!(head.body.is_empty(), "HEAD {url} has no body");
    let mut names = vec!["content-type", "cache-control", "etag", "location", "content-security-policy"];
    if fixed {
        names.push("content-length");
    }
    for name in names {
        assert_eq!(head.header(name), get.header(name), "HEAD {url}: {name}");
    }
    get
}

#[tokio::test]
async fn every_route_answers_head_like_get_other_methods_with_405_and_allow_and_unknown_paths_with_404() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::ZERO).await;
    let (admin, token) = admin_with_credits(&app, 10).await;
    let bystander = Bystander::join(&app, &admin).await;
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "kite"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let done = wait_terminal(&app.url, &token, &id).await;
    let media = done["outputs"][0]["url"].as_str().unwrap().to_string();
    let media_path = media.strip_prefix(&app.url).unwrap_or(&media).to_string();
    let auth = format!("Bearer {token}");
    let bearer = [("authorization", auth.as_str())];

    // pages, probes, assets and media with the admin's browser session; the APIs with a token
    let generation = format!("/generations/{id}");
    let pages: Vec<(&str, &[&str])> = vec![
        ("/", &["GET"]),
        ("/login", &["GET", "POST"]),
        ("/privacy", &["GET"]),
        ("/account", &["GET"]),
        ("/account/tokens", &["GET", "POST"]),
        ("/account/export", &["GET", "POST"]),
        ("/admin/users", &["GET"]),
        ("/admin/audit.csv", &["GET"]),
        ("/models", &["GET"]),
        ("/generate", &["GET", "POST"]),
        ("/library", &["GET"]),
        (generation.as_str(), &["GET"]),
        ("/api/docs", &["GET"]),
        ("/assets/css/app.css", &["GET"]),
        (media_path.as_str(), &["GET"]),
        ("/healthz", &["GET"]),
        ("/readyz", &["GET"]),
        ("/metrics", &["GET"]),
        ("/logout", &["POST"]),
    ];
    let session_routes = pages.iter().map(|(p, m)| (p.to_string(), m.to_vec(), false));
    let v1_routes =
        [("/v1/videos", vec!["GET", "POST"]), ("/v1/images/generations", vec!["POST"])].into_iter().map(|(p, m)| (p.to_string(), m, true));
    // every operation of the JSON API, from its own table
    let mut api: Vec<(String, Vec<&str>, bool)> = Vec::new();
    for (method, path) in reelvault::http::api::routes() {
        let path = path.replace("{id}", &id).replace("{name}", "demo").replace("{user}", "nobody");
        match api.iter_mut().find(|(p, _, _)| *p == path) {
            Some((_, methods, _)) => methods.push(name_of(method.as_str())),
            None => api.push((path, vec![name_of(method.as_str())], true)),
        }
    }
    let routes: Vec<(String, Vec<&str>, bool)> = session_routes.chain(v1_routes).chain(api).collect();

    for (path, methods, scripted) in &routes {
        let url = format!("{}{path}", app.url);
        let (client, headers): (&reqwest::Client, &[(&str, &str)]) =
            if *scripted { (&admin.client, &bearer[..]) } else { (&admin.client, &[][..]) };
        if methods.contains(&"GET") {
            let fixed = ["/assets/", "/media/", "/healthz"].iter().any(|p| path.starts_with(p));
            let get = head_matches_get(client, &url, headers, fixed).await;
            assert!(get.status < 500 && get.status != 405, "GET {path}: {}", get.status);
        }
        // a method the path does not take: 405 with Allow, for a signed-in caller and for
        // a request with no cookie at all (CSRF is not what answers)
        let wrong = other_method(methods);
        let mut expected: Vec<String> = Vec::new();
        for m in methods {
            expected.push(m.to_string());
            if *m == "GET" {
                expected.push("HEAD".into());
            }
        }
        for (who, client, headers) in [("signed in", client, headers), ("cookieless", &cookieless(), &[][..])] {
            let refused = send(client, wrong.clone(), &url, headers).await;
            assert_eq!(refused.status, 405, "{wrong} {path} ({who}): {}", refused.body);
            let mut allow = allow_of(&refused);
            allow.sort();
            let mut want = expected.clone();
            want.sort();
            assert_eq!(allow, want, "{wrong} {path} ({who}): Allow");
        }
    }

    // HEAD of a live stream answers at once, with the stream's headers
    let events = format!("{}/generations/{id}/events", app.url);
    let head = tokio::time::timeout(Duration::from_secs(15), send(&admin.client, Method::HEAD, &events, &[])).await;
    let head = head.expect("HEAD of the live events does not wait for the stream");
    assert_eq!(head.status, 200);
    assert!(head.header("content-type").unwrap_or_default().starts_with("text/event-stream"), "{:?}", head.header("content-type"));

    // unknown paths are 404 whatever the method, with or without a cookie
    for path in ["/no/such/page", "/api/v1/no-such-thing", "/v1/no-such-thing", "/account/nope", "/healthz/deeper"] {
        let url = format!("{}{path}", app.url);
        for method in [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let cookieless = send(&cookieless(), method.clone(), &url, &[]).await;
            assert_eq!(cookieless.status, 404, "{method} {path} without a cookie: {}", cookieless.body);
            let signed_in = send(&admin.client, method.clone(), &url, &[]).await;
            assert_eq!(signed_in.status, 404, "{method} {path} signed in: {}", signed_in.body);
        }
    }

    // CSRF still guards every real unsafe route: a session without the token is refused
    let no_token = admin.post_raw("/account/profile", &[("name", "Hacked")], &[]).await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let r = admin.client.patch(format!("{}/api/v1/account", app.url)).json(&serde_json::json!({"name": "Hacked"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(!admin.get("/account").await.body.contains("Hacked"));
    bystander.still_served(&app, "every route probed with every method").await;
    app.stop().await;
}

#[tokio::test]
async fn metrics_through_a_same_host_proxy_are_refused_to_all_but_admins() {
    // the default: no address is listed, so being on this machine proves nothing
    let (app, admin) = TestApp::with_admin().await;
    let bystander = Bystander::join(&app, &admin).await;
    let admin_token = admin.post_form("/account/tokens", &[("name", "prometheus"), ("expires", "30")]).await.text_of("#new-token");
    let url = format!("{}/metrics", app.url);
    let client = cookieless();
    let member_auth = format!("Bearer {}", bystander.token);
    // what a same-host proxy relays: loopback, with or without saying it relays
    let relayed: [&[(&str, &str)]; 4] =
        [&[], &[("x-forwarded-for", "203.0.113.7")], &[("forwarded", "for=203.0.113.7")], &[("x-real-ip", "203.0.113.7")]];
    for headers in relayed {
        let anonymous = send(&client, Method::GET, &url, headers).await;
        assert_eq!(anonymous.status, 401, "{headers:?}: {}", anonymous.body);
        assert!(!anonymous.body.contains("reelvault_"), "no metrics in the refusal");
        let head = send(&client, Method::HEAD, &url, headers).await;
        assert_eq!(head.status, 401, "HEAD {headers:?}");
        let mut with_member = headers.to_vec();
        with_member.push(("authorization", member_auth.as_str()));
        let member = send(&client, Method::GET, &url, &with_member).await;
        assert_eq!(member.status, 403, "{headers:?}: {}", member.body);
        assert!(!member.body.contains("reelvault_"));
        let mut session = bystander.browser.client.get(&url);
        for (k, v) in headers {
            session = session.header(*k, *v);
        }
        let member_session = Browser::read(session.send().await.unwrap()).await;
        assert_eq!(member_session.status, 403, "a member's session {headers:?}");
        assert!(!member_session.body.contains("reelvault_"));
    }
    // an admin gets in, by token or session
    let scraped = api_get(&app.url, "/metrics", Some(&admin_token)).await;
    assert_eq!(scraped.status, 200);
    assert!(scraped.body.contains("reelvault_build_info"));
    assert_eq!(admin.get("/metrics").await.status, 200);
    bystander.still_served(&app, "metrics read through a same-host proxy").await;
    app.stop().await;
}
