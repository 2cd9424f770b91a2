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

#[tokio::test]
async fn a_person_picks_a_language_on_the_account_page_and_it_outlives_a_restart() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let b = Browser::speaking(&app.url, "en-GB,en;q=0.9");
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let account = b.get("/account").await;
    let offered: Vec<String> = account.attr_all("#language-choice option", "value");
    assert_eq!(offered, ["browser", "en", "ja", "zh-CN"]);
    assert_eq!(account.text_of("#language-choice option[value=ja]"), "日本語");
    assert_eq!(account.text_of("#language-choice option[value=zh-CN]"), "简体中文");

    let saved = b.post_form("/account/language", &[("language", "ja")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (_, page) = b.visit("/account").await;
    assert_eq!(html_lang(&page), "ja", "the choice wins over the browser's en");
    assert_eq!(page.text_of(".flash"), "言語を保存しました。");
    assert!(page.text_of("header.top nav").contains("ライブラリ"));
    assert!(page.attr_of("#language-choice option[value=ja]", "selected").is_some());

    let refused = b.post_form("/account/language", &[("language", "tlh")]).await;
    assert_eq!(refused.status, 422, "an unknown language is refused: {}", refused.body);

    assert_eq!(b.post_form("/account/language", &[("language", "browser")]).await.status, 303);
    let (_, page) = b.visit("/account").await;
    assert_eq!(html_lang(&page), "en", "following the browser again");
    assert_eq!(page.text_of(".flash"), "The language is saved.");

    assert_eq!(b.post_form("/account/language", &[("language", "zh-CN")]).await.status, 303);
    let app = app.restart().await;
    let b = Browser::speaking(&app.url, "en");
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let page = b.get("/account").await;
    assert_eq!(html_lang(&page), "zh-CN", "the choice survives a restart");
    assert!(page.text_of("header.top nav").contains("媒体库"));
}
