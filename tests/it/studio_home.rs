//! The studio's first run and every page's frame: free demo models, the admin's "getting
//! started" list ticking itself off, the top bar (search, credits, menus) on one line, error
//! pages that keep it, and the home page's prompt box, running jobs and latest outputs.

use std::time::Duration;

use crate::support::webdriver::{self, Browser as Chromium};
use crate::support::{TestApp, eventually};

/// A new instance as shipped: no model priced for the tests, the demo answering in 50 ms.
async fn fresh() -> TestApp {
    TestApp::start_with(|c| {
        c.model.clear();
        c.connection[0].delay = Duration::from_millis(50);
    })
    .await
}

#[tokio::test]
async fn on_a_new_instance_the_first_admin_makes_a_free_demo_video_and_the_getting_started_list_ticks_it_off() {
    let app = fresh().await;
    let admin = app.setup_admin().await;
    let home = admin.get("/").await;
    assert_eq!(home.text_of("#top-credits"), "0 credits", "no credits granted yet");
    assert_eq!(home.count("#getting-started li"), 4, "{}", home.body);
    assert_eq!(home.count("#getting-started li.done"), 0);
    let demo = home.attr_of("#step-demo a", "href").expect("a link to make a demo");
    assert!(demo.contains("model=demo-video"), "{demo}");
    assert!(home.body.contains("free"), "the picker says the demo is free");

    // the prompt box submits from the home page, with no credits at all
    let token = home
        .attr_of("#prompt-box input[name=csrf_token]", "value")
        .or_else(|| home.attr_of("#prompt-box", "action").and_then(|a| a.split("csrf_token=").nth(1).map(str::to_string)));
    let action = home.attr_of("#prompt-box", "action").expect("the prompt box posts");
    assert!(token.is_some());
    let form = reqwest::multipart::Form::new().text("prompt", "a lighthouse at dusk").text("model", "demo-video");
    let created = admin.post_multipart(&action, form, &[("origin", app.url.as_str()), ("sec-fetch-site", "same-origin")]).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = created.location().expect("to the new generation").to_string();
    eventually("the demo video", async || admin.get(&page).await.text_of(".status .state") == "succeeded").await;
    assert!(admin.get(&page).await.count("video") >= 1);

    let home = admin.get("/").await;
    assert_eq!(home.count("#step-demo.done"), 1, "the demo step ticked itself off: {}", home.body);
    assert_eq!(home.count("#latest .tiles li"), 1, "the video is among the latest outputs");
    assert_eq!(home.text_of("#top-credits"), "0 credits", "the demo cost nothing");

    // inviting someone and granting them credits tick off two more
    let invited = admin.post_form("/admin/invitations", &[("email", "bo@example.com"), ("role", "member")]).await;
    assert!(invited.status < 400, "{}", invited.body);
    assert_eq!(admin.get("/").await.count("#step-team.done"), 1);
    let _bo = app.invite_member(&admin, "cy@example.com", "cy password 12345").await;
    let users = admin.get("/admin/users").await;
    // the credits form in the teammate's row
    let row = users.body.split("<tr>").find(|row| row.contains("cy@example.com")).expect("the teammate's row");
    let grant = row
        .split("action=\"")
        .map(|s| s.split('"').next().unwrap_or(""))
        .find(|a| a.ends_with("/credits"))
        .expect("a credits form")
        .to_string();
    assert_eq!(admin.post_form(&grant, &[("amount", "25")]).await.status, 303);
    assert_eq!(admin.get("/").await.count("#step-credits.done"), 1, "{}", admin.get("/").await.body);
    // connecting a provider finishes the list: it goes away for good
    let added =
        admin.post_form("/admin/connections", &[("name", "openai"), ("kind", "openai_images"), ("api_key", "sk-first-run-0000")]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(admin.get("/").await.count("#getting-started"), 0, "every step done");
    assert_eq!(admin.post_form("/admin/connections/openai/delete", &[]).await.status, 303);
    assert_eq!(admin.get("/").await.count("#getting-started"), 0, "a set-up studio is not asked again");
    app.stop().await;
}

#[tokio::test]
async fn the_top_bar_has_search_credits_an_account_menu_and_for_admins_an_admin_menu() {
    let app = fresh().await;
    let admin = app.setup_admin().await;
    let home = admin.get("/").await;
    assert_eq!(home.count("header form[role=search] input[name=q]"), 1);
    assert_eq!(home.attr_of("header form[role=search]", "action").as_deref(), Some("/library"));
    assert_eq!(home.count("#admin-menu a[href='/admin/users']"), 1);
    assert_eq!(home.count("#account-menu button"), 1, "sign out is in the account menu");
    // a search from the bar opens the library's results
    let found = admin.get("/library?q=lighthouse").await;
    assert_eq!(found.status, 200);
    let connections = admin.get("/admin/connections").await;
    assert!(connections.count("#key-pages a[href^='https://']") >= 10, "where each provider issues keys");
    app.stop().await;
}

#[tokio::test]
async fn error_pages_keep_the_top_bar_for_signed_in_people_only() {
    let app = fresh().await;
    let admin = app.setup_admin().await;
    let missing = admin.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.count("header form[role=search]"), 1, "{}", missing.body);
    assert_eq!(missing.count("#account-menu"), 1);
    let stranger = app.browser();
    let missing = stranger.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.count("header form[role=search]"), 0, "nobody signed in: no navigation");
    app.stop().await;
}

#[tokio::test]
async fn in_chromium_the_top_bar_is_one_line_at_1280_px_and_pages_fit_390_px() {
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the browser test: chromium and chromium-driver are not installed");
        return;
    }
    let app = fresh().await;
    let _admin = app.setup_admin().await;
    let b = Chromium::start().await;
    assert!(b.sign_in_as_admin(&app.url).await, "signed in");
    assert!(b.wait_for("return !!document.getElementById('prompt-box')", 10).await, "the prompt box on the home page");
    // the prompt box submits from the home page: the result arrives there, live
    b.js("var p=document.getElementById('home-prompt'); p.value='a lighthouse at dusk'; document.getElementById('home-model').value='demo-image'; p.focus(); p.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', ctrlKey: true, bubbles: true}));").await;
    let arrived = b
        .wait_for("var c=document.querySelector('#home-results .result-card'); return !!c && !!c.querySelector('img.player') && location.pathname==='/'", 30)
        .await;
    if !arrived {
        b.screenshot("home-result").await;
    }
    assert!(arrived, "the finished image shows on the home page");
    // a refusal shows next to the box, which keeps the prompt
    b.js("var s=document.getElementById('home-model'); var o=document.createElement('option'); o.value='no-such-model'; o.text='gone'; s.add(o); s.value='no-such-model'; document.querySelector('#prompt-box button[type=submit]').click();").await;
    let refused = b.wait_for("var e=document.querySelector('#home-error .error'); return !!e && e.textContent.length > 0", 10).await;
    assert!(refused, "the refusal is shown by the box");
    assert_eq!(b.js("return document.getElementById('home-prompt').value").await, serde_json::json!("a lighthouse at dusk"));
    assert_eq!(b.js("return document.querySelectorAll('#home-results .result-card').length").await, serde_json::json!(1));
    // every item of the bar on one row
    let rows = b.js("var mid=null, rows=0; document.querySelectorAll('header.top > *').forEach(function(e){ var r=e.getBoundingClientRect(); if (r.height===0) return; var m=r.top+r.height/2; if (mid===null || Math.abs(m-mid)>8) { rows++; mid=m; } }); return rows;").await;
    if rows != serde_json::json!(1) {
        b.screenshot("top-bar-1280").await;
    }
    assert_eq!(rows, serde_json::json!(1), "the top bar fits one line at 1280 px");
    // the admin menu opens by keyboard and closes with Escape
    b.js("var s=document.querySelector('#admin-menu summary'); s.focus(); s.click();").await;
    assert!(b.wait_for("return document.getElementById('admin-menu').open", 5).await);
    b.js("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}));").await;
    assert!(b.wait_for("return !document.getElementById('admin-menu').open", 5).await);
    // the header search opens the library with the query
    b.js("var i=document.getElementById('top-search'); i.value='lighthouse'; i.form.submit();").await;
    assert!(b.wait_for("return location.pathname=='/library' && location.search.includes('q=lighthouse')", 10).await);
    // phone width: nothing wider than the screen
    b.set_window(390, 844).await;
    for path in ["/", "/library", "/models", "/generate", "/account"] {
        b.go(&format!("{}{path}", app.url)).await;
        assert!(b.wait_for("return document.readyState=='complete'", 10).await);
        let wide = b.js("return document.documentElement.scrollWidth").await.as_i64().unwrap_or(9999);
        if wide > 400 {
            b.screenshot(&format!("phone{}", path.replace('/', "-"))).await;
        }
        assert!(wide <= 400, "{path} fits a phone: {wide} px wide");
    }
    b.quit().await;
    app.stop().await;
}
