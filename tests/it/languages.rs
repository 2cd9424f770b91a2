//! The studio in English, Japanese and Simplified Chinese: the browser's `Accept-Language`
//! picks the language unless the person chose one on their Account page.

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, Page, TestApp};

/// The `lang` attribute of the page's `<html>`.
fn html_lang(page: &Page) -> String {
    page.attr_of("html", "lang").unwrap_or_default()
}

#[tokio::test]
async fn a_missing_page_speaks_the_browsers_language() {
    let (app, _admin) = TestApp::with_admin().await;
    for (accept, lang, heading, home) in [
        ("ja-JP,ja;q=0.9,en;q=0.5", "ja", "ページが見つかりません", "ホームへ戻る"),
        ("zh-CN,zh;q=0.9", "zh-CN", "页面不存在", "返回首页"),
        ("zh-TW", "en", "Not found", "Go to the start page"),
        ("", "en", "Not found", "Go to the start page"),
    ] {
        let b = Browser::speaking(&app.url, accept);
        let page = b.get("/no/such/page").await;
        assert_eq!(page.status, 404, "{accept}");
        assert_eq!(html_lang(&page), lang, "{accept}");
        assert_eq!(page.text_of("h1"), heading, "{accept}");
        assert_eq!(page.text_of("main a"), home, "{accept}");
    }
}

#[tokio::test]
async fn a_signed_in_persons_top_bar_follows_the_browser() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let b = Browser::speaking(&app.url, "ja");
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let page = b.get("/no/such/page").await;
    assert_eq!(html_lang(&page), "ja");
    assert!(page.text_of("header.top nav").contains("ライブラリ"), "{}", page.body);
    assert!(page.text_of("#top-credits").ends_with("クレジット"), "{}", page.text_of("#top-credits"));
}
