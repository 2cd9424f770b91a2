//! The studio in English, Japanese and Simplified Chinese: the browser's `Accept-Language`
//! picks the language unless the person chose one on their Account page.

use std::io::Read;
use std::time::Duration;

use reelvault::domain::preferences::{Lang, Preferences};
use reelvault::domain::user::Email;
use reelvault::store;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, Page, TestApp, api_get, api_post, app_with_credits};

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
    assert_eq!(page.text_of(".flash"), "言語とタイムゾーンを保存しました。");
    assert!(page.text_of("header.top nav").contains("ライブラリ"));
    assert!(page.attr_of("#language-choice option[value=ja]", "selected").is_some());

    let refused = b.post_form("/account/language", &[("language", "tlh")]).await;
    assert_eq!(refused.status, 422, "an unknown language is refused: {}", refused.body);

    assert_eq!(b.post_form("/account/language", &[("language", "browser")]).await.status, 303);
    let (_, page) = b.visit("/account").await;
    assert_eq!(html_lang(&page), "en", "following the browser again");
    assert_eq!(page.text_of(".flash"), "Your language and time zone are saved.");

    assert_eq!(b.post_form("/account/language", &[("language", "zh-CN")]).await.status, 303);
    let app = app.restart().await;
    let b = Browser::speaking(&app.url, "en");
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let page = b.get("/account").await;
    assert_eq!(html_lang(&page), "zh-CN", "the choice survives a restart");
    assert!(page.text_of("header.top nav").contains("媒体库"));
}

#[tokio::test]
async fn the_sign_in_and_home_pages_speak_japanese_and_simplified_chinese() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    for (accept, lang, sign_in, library, hello) in
        [("ja,en;q=0.5", "ja", "ログイン", "ライブラリ", "こんにちは"), ("zh-Hans-CN,zh;q=0.9", "zh-CN", "登录", "媒体库", "你好")]
    {
        let b = Browser::speaking(&app.url, accept);
        let login = b.get("/login").await;
        assert_eq!(login.status, 200);
        assert_eq!(html_lang(&login), lang, "{accept}");
        assert_eq!(login.text_of("h1"), sign_in, "{accept}");
        assert_eq!(login.text_of("label[for=password]"), if lang == "ja" { "パスワード" } else { "密码" });
        let wrong = b.sign_in(ADMIN_EMAIL, "not the password").await;
        assert!(!wrong.text_of("#login-error").is_empty() && !wrong.text_of("#login-error").contains("not correct"), "{}", wrong.body);
        assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
        let (_, home) = b.visit("/").await;
        assert_eq!(html_lang(&home), lang, "{accept}");
        assert!(home.text_of("header.top nav").contains(library), "{accept}: {}", home.text_of("header.top nav"));
        assert!(home.text_of("h1").starts_with(hello), "{}", home.text_of("h1"));
        let privacy = b.get("/privacy").await;
        assert_eq!(html_lang(&privacy), lang);
    }
    let english = app.browser().get("/login").await;
    assert_eq!((html_lang(&english).as_str(), english.text_of("h1").as_str()), ("en", "Sign in"), "no Accept-Language: English");
}

#[tokio::test]
async fn a_huge_or_odd_accept_language_falls_back_to_english() {
    let app = TestApp::start().await;
    let odd = "q=1;;,,*;q=0.5,zh-Hant-TW,".repeat(400);
    for header in [odd.as_str(), "🙂", "ja;q=nope", "x-klingon"] {
        let page = Browser::speaking(&app.url, header).get("/login").await;
        assert_eq!(page.status, 200, "{header:.40}");
        assert_eq!(html_lang(&page), "en", "{header:.40}");
    }
}

/// The entries of a ZIP, by name.
pub(crate) fn zip_entry(zip: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a ZIP");
    let mut file = archive.by_name(name).expect("the entry");
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

#[tokio::test]
async fn the_language_is_part_of_the_data_export_and_goes_with_the_account() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 10).await;
    assert_eq!(admin.post_form("/account/language", &[("language", "ja"), ("time_zone", "Asia/Tokyo")]).await.status, 303);
    api_post(&app.url, "/api/v1/account/export", &token, serde_json::json!({})).await;
    let mut url = None;
    for _ in 0..600 {
        let status = api_get(&app.url, "/api/v1/account/export", Some(&token)).await.json();
        if status["state"] == "ready" {
            url = status["url"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = url.expect("the export is ready");
    let zip = reqwest::Client::builder().no_proxy().build().unwrap().get(&url).send().await.unwrap().bytes().await.unwrap();
    let profile: serde_json::Value = serde_json::from_slice(&zip_entry(&zip, "profile.json")).unwrap();
    assert_eq!(profile["preferences"]["language"], "ja", "{profile}");
    assert_eq!(profile["preferences"]["time_zone"], "Asia/Tokyo", "{profile}");

    let member = app.invite_member(&admin, "mei@example.com", "mei password 1").await;
    assert_eq!(member.post_form("/account/language", &[("language", "zh-CN")]).await.status, 303);
    let email = Email::parse("mei@example.com").unwrap();
    let state = app.running.state.clone();
    let id = state.store.read(move |tx| store::users::find_by_email(tx, &email)).await.unwrap().expect("the member").id;
    let stored = move || {
        let state = state.clone();
        async move { state.store.read(move |tx| store::preferences::get(tx, id)).await.unwrap() }
    };
    assert_eq!(stored().await.language, Some(Lang::ZhCn));
    assert_eq!(member.post_form("/account/delete", &[("password", "mei password 1")]).await.status, 303);
    for _ in 0..300 {
        if stored().await == Preferences::default() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the deleted account's preferences are still stored");
}

/// The hour and zone of the account page's "member since" time, as the server wrote it.
fn member_since(page: &Page) -> String {
    page.text_of("main dl time")
}

#[tokio::test]
async fn dates_follow_the_browsers_time_zone_unless_the_person_picks_one() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let b = Browser::speaking(&app.url, "en");
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let page = b.get("/account").await;
    assert!(member_since(&page).ends_with(" UTC"), "no zone reported yet: UTC, {}", member_since(&page));
    let utc_hour: u32 = member_since(&page)[11..13].parse().unwrap();

    // the page script reports the browser's zone in a cookie
    b.set_cookie("tz=Asia%2FTokyo");
    let page = b.get("/account").await;
    let shown = member_since(&page);
    assert!(shown.ends_with(" JST"), "{shown}");
    assert_eq!(shown[11..13].parse::<u32>().unwrap(), (utc_hour + 9) % 24, "{shown}");
    assert!(page.text_of("#time-zone-help").contains("Asia/Tokyo"), "{}", page.text_of("#time-zone-help"));
    assert_eq!(page.attr_of("html", "data-time-zone"), None, "following the browser: the script keeps the browser's zone");

    // a zone the person picks wins over the browser's, and the page script is told
    let saved = b.post_form("/account/language", &[("language", "browser"), ("time_zone", "Europe/Paris")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = b.get("/account").await;
    assert!(member_since(&page).ends_with(" CET") || member_since(&page).ends_with(" CEST"), "{}", member_since(&page));
    assert_eq!(page.attr_of("#time-zone", "value").as_deref(), Some("Europe/Paris"));
    assert_eq!(page.attr_of("html", "data-time-zone").as_deref(), Some("Europe/Paris"));

    // a name that is no zone is refused and changes nothing; a bad cookie is ignored
    for bad in ["Mars/Olympus", "../../etc/passwd", &"x".repeat(5000)] {
        let refused = b.post_form("/account/language", &[("language", "browser"), ("time_zone", bad)]).await;
        assert_eq!(refused.status, 422, "{bad}");
    }
    assert_eq!(b.get("/account").await.attr_of("#time-zone", "value").as_deref(), Some("Europe/Paris"));
    assert_eq!(b.post_form("/account/language", &[("language", "browser"), ("time_zone", "")]).await.status, 303);
    b.set_cookie("tz=Nowhere%2FAtAll");
    let page = b.get("/account").await;
    assert!(member_since(&page).ends_with(" UTC"), "an unknown zone from the browser is UTC: {}", member_since(&page));
}

#[tokio::test]
async fn the_generate_form_names_parameters_roles_and_prices_in_the_pages_language() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let b = Browser::speaking(&app.url, "ja");
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let form = b.get("/generate?model=demo-video").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.text_of("label[for='param-duration']"), "長さ（秒）");
    assert!(form.text_of("label[for='ref-first_frame']").starts_with("開始フレーム"), "{}", form.text_of("label[for='ref-first_frame']"));
    assert_eq!(form.text_of("#param-audio option[value=off]"), "オフ", "the choice's words; its value stays");
    let picker = form.text_of("#model-pick option[value='demo-video']");
    // the tests price the demo models (they are free out of the box)
    assert!(picker.contains("動画1秒あたり 2 クレジット") && picker.contains("（デモ）") && picker.contains("音声は選択可"), "{picker}");
    let models = b.get("/models/demo-video").await;
    assert_eq!(models.text_of("#price"), "動画1秒あたり 2 クレジット");
    assert_eq!(models.text_of("#status"), "一般提供");
    let privacy = b.get("/privacy").await;
    for key in ["uploads", "outputs", "audit"] {
        let kept = privacy.text_of(&format!("#keep-{key}"));
        assert!(!kept.is_empty() && !kept.chars().any(|c| c.is_ascii_alphabetic()), "the retention period in Japanese: {kept}");
    }
}
