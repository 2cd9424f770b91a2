//! The library's chips and day headings, the Models page's cards and filters over HTTP, and the
//! library's lightbox and Shift-click selection in a real browser.

use crate::check;
use std::time::Duration;

use serde_json::json;

use crate::library::make_image;
use crate::search::wait_total;
use crate::support::generate;
use crate::support::webdriver::{self, Browser as Chromium};
use crate::support::{Browser, Page, app_with_credits, client};

/// Makes one two-second demo video with `prompt` and waits for it; returns its id.
async fn make_video(app: &crate::support::TestApp, token: &str, prompt: &str) -> String {
    let body = json!({"model": "demo-video", "prompt": prompt, "params": {"duration": 2}});
    let created = generate(&app.url, token, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(crate::support::wait_terminal(&app.url, token, &id).await["state"], "succeeded");
    id
}

/// The values of `attr` on every element matching `selector`.
fn attrs(page: &Page, selector: &str, attr: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).filter_map(|e| e.value().attr(attr).map(str::to_string)).collect()
}

/// The trimmed texts of every element matching `selector`.
fn texts(page: &Page, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(&page.body);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).map(|e| e.text().collect::<String>().trim().to_string()).collect()
}

/// A link's query as pairs.
fn query_pairs(href: &str) -> Vec<(String, String)> {
    let query = href.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[tokio::test]
async fn studio_library_chips_show_each_filter_and_each_removes_only_its_own() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a red kite over green hills").await;
    wait_total(&app.url, &token, "q=kite", 1).await;
    assert_eq!(admin.get("/library").await.count("#chips"), 0, "no filter, no chips");

    let given = [
        ("q", "kite"),
        ("kind", "image"),
        ("model", "demo-image"),
        ("state", "succeeded"),
        ("sound", "false"),
        ("from", "2020-01-01"),
        ("to", "2100-12-31"),
        ("sort", "oldest"),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(given).finish();
    wait_total(&app.url, &token, &query, 1).await;
    let page = admin.get(&format!("/library?{query}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.count(&format!("#card-{id}")), 1, "the filters still find it");
    let labels = texts(&page, "#chips a.chip > span:first-child");
    assert_eq!(
        labels,
        [
            "Search: “kite”",
            "Kind: image",
            "Model: demo-image",
            "State: succeeded",
            "Sound: without sound",
            "From: 2020-01-01",
            "To: 2100-12-31"
        ]
    );
    let removes = attrs(&page, "#chips a.chip", "href");
    let filters: Vec<(String, String)> = given.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for (i, href) in removes.iter().enumerate() {
        let mut expected = filters.clone();
        expected.remove(i);
        assert_eq!(query_pairs(href), expected, "the chip {:?} removes only its own filter", labels[i]);
        let without = admin.get(href).await;
        assert_eq!(without.status, 200, "{href}");
        assert_eq!(without.count("#chips a.chip"), labels.len() - 1, "{href}");
        assert_eq!(without.count(&format!("#card-{id}")), 1, "{href}");
    }
    let clear = page.attr_of("#clear-filters", "href").expect("a link clearing every filter");
    assert_eq!(clear, "/library?sort=oldest", "keeps only the order");
    assert_eq!(admin.get(&clear).await.count("#chips"), 0);
    app.stop().await;
}

#[tokio::test]
async fn studio_library_groups_cards_under_day_headings_and_load_more_continues_the_day() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let older = make_image(&app, &token, "a paper boat").await;
    let newer = make_image(&app, &token, "a glass lantern").await;
    wait_total(&app.url, &token, "", 2).await;
    let today = time::OffsetDateTime::now_utc().date();
    let key = format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());

    let page = admin.get("/library").await;
    assert_eq!(texts(&page, "#cards .day-heading h2"), ["Today"]);
    assert_eq!(attrs(&page, "#cards li.tile", "data-day"), [key.clone(), key.clone()], "both made today (UTC)");
    assert!(page.body.find("day-heading").unwrap() < page.body.find(&format!("card-{newer}")).unwrap(), "the heading comes first");

    // the first page of one card; "Load more" brings the second without a second heading
    let first = admin.get("/library?limit=1").await;
    assert_eq!(texts(&first, "#cards .day-heading h2"), ["Today"]);
    let more = first.attr_of("#more a", "hx-get").expect("load more");
    let partial = Browser::read(admin.client.get(format!("{}{more}", app.url)).header("hx-request", "true").send().await.unwrap()).await;
    assert_eq!(partial.status, 200, "{}", partial.body);
    assert_eq!(attrs(&partial, "li.tile", "id"), [format!("card-{older}")]);
    assert_eq!(partial.count(".day-heading"), 0, "the same day goes on under the heading already shown");
    // followed without JS, the link is a page of its own, with its heading
    let next = admin.get(&more).await;
    assert_eq!(next.status, 200, "{}", next.body);
    assert_eq!(texts(&next, "#cards .day-heading h2"), ["Today"]);
    assert_eq!(attrs(&next, "li.tile", "id"), [format!("card-{older}")]);
    app.stop().await;
}

#[tokio::test]
async fn studio_generation_page_shows_the_output_first_and_the_prompt_with_a_copy_button() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_image(&app, &token, "a quiet harbour at dawn").await;
    let page = admin.get(&format!("/generations/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.attr_of("#copy-prompt", "data-copy").as_deref(), Some("prompt-text"));
    assert_eq!(page.text_of("#copy-prompt"), "Copy");
    assert_eq!(page.text_of("#prompt-text"), "a quiet harbour at dawn");
    let output = page.body.find("class=\"player\"").expect("the output");
    assert!(output < page.body.find("id=\"prompt-text\"").unwrap(), "the output comes before the prompt");
    assert_eq!(page.count("#reuse") + page.count("#variation") + page.count("#keep"), 3, "the actions stay");
    app.stop().await;
}

#[tokio::test]
async fn studio_library_hover_previews_are_not_recorded_but_opening_a_video_is() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let id = make_video(&app, &token, "a kite over the dunes").await;
    wait_total(&app.url, &token, "", 1).await;
    let grid = admin.get("/library").await;
    let card = format!("#card-{id} .thumb");
    let preview = grid.attr_of(&card, "data-preview").expect("a preview link on the video's card");
    let opened = grid.attr_of(&card, "data-media").expect("the video's own link");
    assert!(preview.contains("thumb=1") && !opened.contains("thumb=1"), "{preview} / {opened}");
    let fetch = |path: String| {
        let url = format!("{}{path}", app.url);
        async move { client().get(url).header("Range", "bytes=0-").send().await.unwrap().status().as_u16() }
    };
    assert_eq!(fetch(preview.clone()).await, 206);
    assert_eq!(fetch(preview).await, 206);
    let log = admin.get("/admin/audit?action=media.downloaded").await;
    assert_eq!(log.count("tbody tr td[colspan]"), 1, "hovering is not opening: no events: {}", log.body);
    assert_eq!(fetch(opened).await, 206);
    let log = admin.get("/admin/audit?action=media.downloaded").await;
    assert_eq!((log.count("tbody tr"), log.count("tbody tr td[colspan]")), (1, 0), "the lightbox's fetch is a view: {}", log.body);
    app.stop().await;
}

/// The models listed on `/models?{query}`, with `attr` of each card.
async fn listed(admin: &Browser, query: &str, attr: &str) -> Vec<(String, String)> {
    let page = admin.get(&format!("/models?{query}")).await;
    assert_eq!(page.status, 200, "{query}: {}", page.body);
    attrs(&page, "li.model-card", "data-model").into_iter().zip(attrs(&page, "li.model-card", attr)).collect()
}

#[tokio::test]
async fn studio_models_page_is_cards_filtered_by_kind_provider_sound_price_and_lifecycle() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let all = admin.get("/models").await;
    let shipped = reelvault::domain::catalog::Catalog::shipped().models().len();
    assert_eq!(all.count("li.model-card"), shipped);
    let card = "li.model-card[data-model='demo-video']";
    assert_eq!(all.attr_of(&format!("{card} h2 a"), "href").as_deref(), Some("/models/demo-video"));
    assert_eq!(all.text_of(&format!("{card} .badge.kind")), "video");
    assert!(!all.text_of(&format!("{card} .provider")).is_empty());
    assert!(all.text_of(&format!("{card} .price")).contains("credits"));
    assert!(all.text_of(&format!("{card} .takes")).contains("references"));
    assert!(!all.text_of(&format!("{card} .badge.lifecycle")).is_empty());

    let videos = listed(&admin, "kind=video", "data-kind").await;
    assert!(videos.iter().any(|(m, _)| m == "demo-video") && !videos.iter().any(|(m, _)| m == "demo-image"));
    assert!(videos.iter().all(|(_, kind)| kind == "video"), "{videos:?}");

    // a price range: every card's base rate within it, and fewer than all
    let ranged = listed(&admin, "min=2&max=4", "data-credits").await;
    assert!(!ranged.is_empty() && ranged.len() < shipped, "{ranged:?}");
    assert!(ranged.iter().all(|(_, c)| (2..=4).contains(&c.parse::<u64>().unwrap())), "{ranged:?}");
    let free = listed(&admin, "max=0", "data-credits").await;
    assert!(free.iter().all(|(_, c)| c == "0"), "{free:?}");

    // with sound: only models whose outputs can have sound
    let page = admin.get("/models?sound=true").await;
    assert!(page.count("li.model-card") > 0 && page.count("li.model-card") == page.count("li.model-card .badge.sound"));
    let demo = listed(&admin, "provider=demo", "data-kind").await;
    assert!(demo.iter().any(|(m, _)| m == "demo-video"), "{demo:?}");
    assert!(demo.iter().all(|(m, _)| m.starts_with("demo")), "only the demo provider's: {demo:?}");

    // lifecycle: retire demo-video, then it is listed under "retired" and no longer "current"
    let yesterday = time::OffsetDateTime::now_utc().date().previous_day().unwrap();
    let gone = json!({ "shutdown_on": yesterday.to_string(), "successor": "demo-image" });
    let put =
        client().put(format!("{}/api/v1/admin/models/demo-video/catalog", app.url)).bearer_auth(&token).json(&gone).send().await.unwrap();
    assert_eq!(put.status(), 200);
    let retired = listed(&admin, "lifecycle=retired", "data-lifecycle").await;
    assert!(retired.iter().any(|(m, _)| m == "demo-video"), "{retired:?}");
    assert!(retired.iter().all(|(_, l)| l == "retired"), "{retired:?}");
    let current = listed(&admin, "lifecycle=current", "data-lifecycle").await;
    assert!(!current.is_empty() && current.iter().all(|(m, l)| l == "current" && m != "demo-video"), "{current:?}");
    let page = admin.get("/models?lifecycle=retired&kind=video").await;
    assert_eq!(page.text_of(&format!("{card} .badge.lifecycle")), "Retired");
    assert_eq!(page.attr_of("#lifecycle option[selected]", "value").as_deref(), Some("retired"), "the form shows the filters in force");

    // bad filters are a clear 400 naming the field; nothing matching is an empty list, not an error
    for query in ["kind=sound", "min=cheap", "min=-1", "min=5&max=1", "lifecycle=dead", "sound=maybe"] {
        let page = admin.get(&format!("/models?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
    }
    let none = admin.get("/models?provider=nobody").await;
    assert_eq!((none.status, none.count("li.model-card"), none.count("#no-models")), (200, 0, 1));
    app.stop().await;
}

#[tokio::test]
async fn studio_library_lightbox_by_keyboard_and_shift_click_selects_a_range() {
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the browser test: chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)");
        return;
    }
    let (app, _admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    let video = make_video(&app, &token, "waves on a pier").await;
    for prompt in ["a red kite", "a blue boat", "a green lantern"] {
        make_image(&app, &token, prompt).await;
    }
    wait_total(&app.url, &token, "", 4).await;
    let b = Chromium::start().await;
    check!(b, "studio-library-signed-in", b.sign_in_as_admin(&app.url).await);
    b.go(&format!("{}/library", app.url)).await;
    check!(b, "cards", b.wait_for("return document.querySelectorAll('#cards .thumb[data-media]').length === 4", 10).await);

    // a click opens the first card large in a dialog
    b.click("#cards li.tile .thumb").await;
    let showing = |n: usize| {
        format!(
            "var d=document.getElementById('lightbox'), i=document.querySelector('#lightbox-media img'), t=document.querySelectorAll('#cards .thumb')[{n}];\
             return d.open && !!i && i.getAttribute('src')===t.getAttribute('data-media') && i.complete && i.naturalWidth>0 \
             && document.getElementById('lightbox-open').getAttribute('href')===t.getAttribute('href')"
        )
    };
    check!(b, "lightbox-open", b.wait_for(&showing(0), 10).await);
    check!(
        b,
        "lightbox-caption",
        b.wait_for("return document.getElementById('lightbox-caption').textContent.includes('green lantern')", 5).await
    );
    b.screenshot("studio-library-lightbox").await;
    b.press(Chromium::ARROW_RIGHT).await;
    check!(b, "lightbox-next", b.wait_for(&showing(1), 10).await);
    b.press(Chromium::ESCAPE).await;
    check!(b, "lightbox-closed", b.wait_for("return !document.getElementById('lightbox').open", 5).await);
    check!(
        b,
        "focus-back-on-a-card",
        b.wait_for("var a=document.activeElement; return !!a && !!a.closest('#cards li.tile') && a===document.querySelectorAll('#cards .thumb')[1]", 5)
            .await
    );

    // Shift-click selects the range from the last clicked card
    let ids = b.js("return Array.from(document.querySelectorAll('#cards li.tile')).map(function(t){return t.id})").await;
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    assert_eq!(ids.len(), 4, "{ids:?}");
    b.click(&format!("#{} input[name=id]", ids[0])).await;
    b.shift_click(&format!("#{} input[name=id]", ids[2])).await;
    let checked = "return Array.from(document.querySelectorAll('#cards input[name=id]')).map(function(c){return c.checked})";
    check!(
        b,
        "range-selected",
        b.wait_for(&format!("var c=(function(){{{checked}}})(); return c.length===4 && c[0] && c[1] && c[2] && !c[3]"), 5).await
    );

    // a video card fetches its video only when pointed at, then plays it muted in place
    let preview = format!("#card-{video} .thumb video.preview");
    check!(b, "no-video-before-hover", b.js(&format!("return document.querySelector('{preview}') === null")).await == json!(true));
    b.hover(&format!("#card-{video} .thumb")).await;
    check!(
        b,
        "hover-preview-plays",
        b.wait_for(&format!("var v=document.querySelector('{preview}'); return !!v && v.muted && !v.paused && v.currentTime>0"), 20).await
    );
    b.hover("h1").await;
    check!(b, "hover-preview-pauses", b.wait_for(&format!("return document.querySelector('{preview}').paused"), 5).await);

    // in the lightbox the video plays, and Space pauses it
    b.click(&format!("#card-{video} .thumb")).await;
    let playing = "var v=document.querySelector('#lightbox-media video'); return document.getElementById('lightbox').open && !!v && !v.paused && v.currentTime>0";
    check!(b, "lightbox-video-plays", b.wait_for(playing, 20).await);
    b.press(" ").await;
    check!(b, "space-pauses", b.wait_for("var v=document.querySelector('#lightbox-media video'); return !!v && v.paused", 5).await);
    b.press(Chromium::ESCAPE).await;
    check!(b, "video-lightbox-closed", b.wait_for("return !document.getElementById('lightbox').open", 5).await);

    // the generation page: the prompt's Copy button copies it
    b.go(&format!("{}/generations/{}", app.url, ids[0].trim_start_matches("card-"))).await;
    check!(b, "generation-page", b.wait_for("return !!document.getElementById('copy-prompt')", 10).await);
    b.click("#copy-prompt").await;
    check!(b, "copied", b.wait_for("return document.getElementById('copy-prompt').textContent.trim() === 'Copied'", 5).await);
    b.screenshot("studio-generation").await;
    b.screenshot("studio-library-selected").await;
    b.go(&format!("{}/library?kind=image&q=boat", app.url)).await;
    check!(b, "chips", b.wait_for("return document.querySelectorAll('#chips a.chip').length === 2", 10).await);
    b.screenshot("studio-library-chips").await;
    b.go(&format!("{}/models?kind=video", app.url)).await;
    check!(b, "model-cards", b.wait_for("return document.querySelectorAll('#model-cards li.model-card').length > 0", 10).await);
    b.screenshot("studio-models").await;

    // at phone width the lightbox fits the screen
    b.set_window(390, 844).await;
    b.go(&format!("{}/library", app.url)).await;
    check!(b, "phone-cards", b.wait_for("return document.querySelectorAll('#cards .thumb[data-media]').length === 4", 10).await);
    b.click("#cards .thumb[data-media]").await;
    check!(b, "phone-lightbox", b.wait_for("return document.getElementById('lightbox').open", 5).await);
    let fits = "var r=document.getElementById('lightbox').getBoundingClientRect(); return r.left>=0 && r.right<=window.innerWidth && document.documentElement.scrollWidth<=400";
    check!(b, "phone-lightbox-fits", b.wait_for(fits, 5).await);
    b.screenshot("studio-library-phone-lightbox").await;
    b.quit().await;
    app.stop().await;
}
