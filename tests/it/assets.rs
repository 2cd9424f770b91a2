//! Embedded assets: ETag, 304 on revalidation, immutable caching for versioned URLs.

use crate::support::TestApp;

#[tokio::test]
async fn assets_are_versioned_cached_and_revalidated() {
    let app = TestApp::start().await;
    let b = app.browser();
    let login = b.get("/login").await;
    let css_url = login.attr_of("link[rel=stylesheet]", "href").unwrap();
    assert!(css_url.starts_with("/assets/css/app.css?v="), "{css_url}");
    let htmx = login.attr_of("script[src*=htmx]", "src").unwrap();
    assert!(htmx.starts_with("/assets/js/htmx.min.js?v="), "htmx is vendored: {htmx}");

    let css = b.get(&css_url).await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let etag = css.header("etag").unwrap().to_string();

    let unversioned = b.get("/assets/css/app.css").await;
    assert_eq!(unversioned.header("cache-control"), Some("no-cache"));
    assert_eq!(unversioned.header("etag"), Some(etag.as_str()));
    let stale = b.get("/assets/css/app.css?v=000000000000").await;
    assert_eq!(stale.header("cache-control"), Some("no-cache"), "an old version is not cached forever");

    let revalidated = b.client.get(format!("{}/assets/css/app.css", app.url)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(revalidated.status(), 304);
    assert!(revalidated.text().await.unwrap().is_empty());
    let changed = b.client.get(format!("{}/assets/css/app.css", app.url)).header("if-none-match", "\"other\"").send().await.unwrap();
    assert_eq!(changed.status(), 200);

    let js = b.get(&htmx).await;
    assert!(js.header("content-type").unwrap().contains("javascript"));
    assert_eq!(b.get("/assets/nope.css").await.status, 404);
    assert_eq!(b.get("/assets/../Cargo.toml").await.status, 404);
    app.stop().await;
}
