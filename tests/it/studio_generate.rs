//! The New generation page as a studio: submitted by its script it answers a result card that
//! follows the generation live (or the error to show next to the form), one prompt goes to
//! several models at once (compare, each charged as its own generation, all or nothing), and
//! in chromium: Ctrl+Enter, the finished image on the same page, two models side by side, and
//! references pasted or dropped with previews.

use crate::check;
use std::time::Duration;

use crate::support::webdriver::{self, Browser};
use crate::support::{Page, TestApp, app_with_credits, credits, wait_terminal};

/// The header the page's script sends with its posts.
const FROM_SCRIPT: (&str, &str) = ("HX-Request", "true");

/// A compare form: each of `models` once, and the prompt.
fn compare_form(models: &[&str], prompt: &str) -> reqwest::multipart::Form {
    models.iter().fold(reqwest::multipart::Form::new(), |f, m| f.text("model", m.to_string())).text("prompt", prompt.to_string())
}

/// Posts `form` to `action` as the page's script does.
async fn post_from_script(app: &TestApp, admin: &crate::support::Browser, action: &str, form: reqwest::multipart::Form) -> Page {
    admin.post_multipart(action, form, &[("origin", app.url.as_str()), FROM_SCRIPT]).await
}

/// The generation ids of the result cards in `page`, in order.
fn card_ids(page: &Page) -> Vec<String> {
    (1..=page.count("article.result-card"))
        .filter_map(|n| page.attr_of(&format!("article.result-card:nth-of-type({n})"), "data-generation"))
        .collect()
}

#[tokio::test]
async fn comparing_two_models_makes_two_generations_each_charged_as_its_own() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let form = admin.get("/generate").await;
    let action = form.attr_of("#generate-form", "data-compare-action").expect("the form knows where compare goes");
    assert!(form.count("#compare-models input[name=model][value='demo-video']") == 1, "the compare list offers the models");

    let answer = post_from_script(&app, &admin, &action, compare_form(&["demo-image", "demo-video"], "a lighthouse at dusk")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let ids = card_ids(&answer);
    assert_eq!(ids.len(), 2, "one result card per model: {}", answer.body);
    for id in &ids {
        assert_eq!(
            answer.attr_of(&format!("#result-{id} [sse-connect]"), "sse-connect"),
            Some(format!("/generations/{id}/events")),
            "each card follows its generation live"
        );
    }
    let mut charged = 0;
    let mut models = Vec::new();
    for id in &ids {
        let g = wait_terminal(&app.url, &token, id).await;
        assert_eq!(g["state"], "succeeded", "{g}");
        assert_eq!(g["prompt"], "a lighthouse at dusk");
        assert!(g["cost"].as_i64().unwrap() > 0, "charged: {g}");
        charged += g["cost"].as_i64().unwrap();
        models.push(g["model"].as_str().unwrap().to_string());
    }
    assert_eq!(models, ["demo-image", "demo-video"], "in the order picked");
    assert_eq!(credits(&app.url, &token).await, (100 - charged, 0), "each generation took its own price");

    // a plain form post (no script) lands in the library
    let plain = admin.post_multipart(&action, compare_form(&["demo-image"], "a second lighthouse"), &[("origin", app.url.as_str())]).await;
    assert_eq!(plain.status, 303);
    assert_eq!(plain.location(), Some("/library"));
    app.stop().await;
}

#[tokio::test]
async fn a_compare_that_breaks_a_rule_is_refused_whole_and_holds_nothing() {
    // the demo image costs 1 and the demo video 6: each alone fits in 6 credits, both do not
    let (app, admin, token) = app_with_credits(Duration::ZERO, 6).await;
    let action = admin.get("/generate").await.attr_of("#generate-form", "data-compare-action").unwrap();
    let nothing_held = async || assert_eq!(credits(&app.url, &token).await, (6, 0), "nothing held");

    let five = ["demo-image", "demo-video", "model-three", "model-four", "model-five"];
    let refused = post_from_script(&app, &admin, &action, compare_form(&five, "too many at once")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.text_of("p.error").contains("at most 4"), "{}", refused.body);
    nothing_held().await;

    let too_dear = post_from_script(&app, &admin, &action, compare_form(&["demo-image", "demo-video"], "a fox")).await;
    assert_eq!(too_dear.status, 402, "{}", too_dear.body);
    assert!(too_dear.text_of("p.error").contains("Not enough credits: this costs 7"), "{}", too_dear.body);
    nothing_held().await;

    let unknown = post_from_script(&app, &admin, &action, compare_form(&["demo-image", "no-such-model"], "a fox")).await;
    assert!((400..500).contains(&unknown.status), "{}", unknown.body);
    assert!(unknown.text_of("p.error").contains("no-such-model"), "{}", unknown.body);
    nothing_held().await;

    for (models, prompt) in [(&["demo-image"][..], "  "), (&[][..], "a fox")] {
        let refused = post_from_script(&app, &admin, &action, compare_form(models, prompt)).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
    }
    nothing_held().await;
    app.stop().await;
}

#[tokio::test]
async fn the_form_posted_by_its_script_answers_a_result_card_and_errors_as_a_line() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 20).await;
    let form = admin.get("/generate?model=demo-image").await;
    let action = form.attr_of("#generate-form", "action").unwrap();
    let single = |prompt: &str| reqwest::multipart::Form::new().text("model", "demo-image").text("prompt", prompt.to_string());

    let card = post_from_script(&app, &admin, &action, single("a copper kettle")).await;
    assert_eq!(card.status, 200, "{}", card.body);
    let ids = card_ids(&card);
    assert_eq!(ids.len(), 1, "{}", card.body);
    assert_eq!(card.text_of(".result-prompt"), "a copper kettle");
    assert!(card.text_of(".result-card .state").trim().len() > 2, "the card shows the state");
    assert_eq!(card.attr_of(".result-open", "href"), Some(format!("/generations/{}", ids[0])));
    assert_eq!(wait_terminal(&app.url, &token, &ids[0]).await["state"], "succeeded");

    let refused = post_from_script(&app, &admin, &action, single("")).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.starts_with("<p class=\"error\""), "a line to show next to the form: {}", refused.body);
    assert!(refused.text_of("p.error").to_lowercase().contains("prompt"), "{}", refused.body);

    // without the script, the form works as a plain form: to the generation's page
    let plain = admin.post_multipart(&action, single("a silver kettle"), &[("origin", app.url.as_str())]).await;
    assert_eq!(plain.status, 303);
    assert!(plain.location().unwrap().starts_with("/generations/"));
    app.stop().await;
}

/// Defines `window.__png(name)`: a small PNG file drawn on a canvas.
const PNG_FILE_SCRIPT: &str = "var c=document.createElement('canvas'); c.width=32; c.height=24; var g=c.getContext('2d'); g.fillStyle='#3a7'; g.fillRect(0,0,32,24);\
    var bin=atob(c.toDataURL('image/png').split(',')[1]); var bytes=new Uint8Array(bin.length); for (var i=0;i<bin.length;i++){bytes[i]=bin.charCodeAt(i);}\
    window.__png=function(name){return new File([bytes], name, {type:'image/png'});};";

/// Result cards on the page whose status says succeeded.
const SUCCEEDED_CARDS: &str = "Array.from(document.querySelectorAll('#result-grid .result-card .badge.state')).filter(function(s){return s.textContent.trim()=='succeeded'}).length";

#[tokio::test]
async fn ctrl_enter_shows_the_result_on_the_page_and_compare_puts_two_models_side_by_side() {
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping the browser test: chromium and chromium-driver are not installed");
        return;
    }
    let (app, _admin, _token) = app_with_credits(Duration::from_millis(500), 100).await;
    let b = Browser::start().await;
    check!(b, "studio-signed-in", b.sign_in_as_admin(&app.url).await);

    b.go(&format!("{}/generate?model=demo-image", app.url)).await;
    check!(b, "studio-form", b.wait_for("var s=document.getElementById('compare-switch'); return !!s && !s.hidden", 10).await);
    b.js("window.__samePage = true; var p=document.getElementById('prompt'); p.focus(); p.value='a paper boat on a pond';\
          p.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', ctrlKey: true, bubbles: true, cancelable: true}));")
        .await;
    check!(b, "studio-card", b.wait_for("return document.querySelectorAll('#result-grid .result-card').length == 1", 10).await);
    // the top bar follows the credits the submit held (100, less the image's price)
    check!(
        b,
        "studio-credits",
        b.wait_for("return document.getElementById('top-credits').textContent.trim() == '99 credits' && document.querySelector('#generate-form [data-credits]').textContent == '99'", 10).await
    );
    check!(
        b,
        "studio-image",
        b.wait_for(
            "var i=document.querySelector('#result-grid .result-card img.player'); return !!i && i.complete && i.naturalWidth > 0",
            30
        )
        .await
    );
    check!(b, "studio-same-page", b.js("return window.__samePage === true && location.pathname == '/generate'").await == true);
    check!(b, "studio-prompt-kept", b.js("return document.getElementById('prompt').value").await == "a paper boat on a pond");

    b.js("document.getElementById('compare-toggle').click();").await;
    check!(b, "studio-compare-open", b.wait_for("return !document.getElementById('compare-models').hidden", 5).await);
    b.js("document.querySelector('#compare-models input[value=\"demo-video\"]').click(); document.getElementById('generate-submit').click();")
        .await;
    check!(b, "studio-compare-cards", b.wait_for("return document.querySelectorAll('#result-grid .result-card').length == 3", 10).await);
    check!(b, "studio-compare-done", b.wait_for(&format!("return {SUCCEEDED_CARDS} == 3"), 60).await);
    check!(
        b,
        "studio-side-by-side",
        b.js("var c=document.querySelectorAll('#result-grid .result-card'); return c[0].getBoundingClientRect().top == c[1].getBoundingClientRect().top")
            .await
            == true
    );
    check!(b, "studio-video", b.js("return !!document.querySelector('#result-grid .result-card video.player')").await == true);
    check!(
        b,
        "studio-unique-ids",
        b.js("var ids=Array.from(document.querySelectorAll('[id]')).map(function(e){return e.id}); return ids.length == new Set(ids).size")
            .await
            == true
    );
    b.screenshot("studio-generate-compare").await;

    // switching the model redraws the form's fields, keeps the prompt and the results
    b.js("document.getElementById('compare-toggle').click(); var m=document.getElementById('model-pick'); m.value='demo-video';\
          m.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    check!(
        b,
        "studio-switched",
        b.wait_for(
            "return document.getElementById('single-model').value == 'demo-video' && !!document.getElementById('param-duration')",
            10
        )
        .await
    );
    check!(b, "studio-switch-keeps-prompt", b.js("return document.getElementById('prompt').value").await == "a paper boat on a pond");
    check!(b, "studio-switch-keeps-results", b.js("return document.querySelectorAll('#result-grid .result-card').length").await == 3);

    // references: a pasted image fills the first empty image role, a dropped one the zone
    // it lands on; each shows a preview that can be removed
    b.go(&format!("{}/generate?model=demo-video", app.url)).await;
    check!(b, "studio-refs", b.wait_for("var h=document.querySelector('.dropzone .drop-hint'); return !!h && !h.hidden", 10).await);
    b.js(PNG_FILE_SCRIPT).await;
    b.js("var t=new DataTransfer(); t.items.add(window.__png('pasted.png'));\
          document.getElementById('prompt').dispatchEvent(new ClipboardEvent('paste', {clipboardData: t, bubbles: true, cancelable: true}));")
        .await;
    check!(
        b,
        "studio-pasted",
        b.wait_for("return document.getElementById('ref-first_frame').files.length == 1 && !!document.querySelector('[data-role=first_frame] .previews img')", 5)
            .await
    );
    b.js("var t=new DataTransfer(); t.items.add(window.__png('dropped.png'));\
          document.querySelector('[data-role=last_frame]').dispatchEvent(new DragEvent('drop', {dataTransfer: t, bubbles: true, cancelable: true}));")
        .await;
    check!(
        b,
        "studio-dropped",
        b.wait_for("return document.getElementById('ref-last_frame').files[0].name == 'dropped.png' && !!document.querySelector('[data-role=last_frame] .previews img')", 5)
            .await
    );
    b.js("document.querySelector('[data-role=first_frame] .remove-reference').click();").await;
    check!(
        b,
        "studio-removed",
        b.wait_for("return document.getElementById('ref-first_frame').files.length == 0 && !document.querySelector('[data-role=first_frame] .previews img')", 5)
            .await
    );
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_recent_upload_is_offered_again_for_the_roles_that_take_it() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 50).await;
    let png = crate::support::provider_rig::image_bytes(image::ImageFormat::Png, 64, 48, 9);
    let frame = crate::uploads::upload_id(&app.url, &token, png, "frame.png").await;
    let made = crate::support::generate(
        &app.url,
        &token,
        serde_json::json!({ "model": "demo-video", "prompt": "a kite", "references": [{ "role": "first_frame", "upload": frame }] }),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);

    let form = admin.get("/generate?model=demo-video").await;
    let link = form.attr_of(&format!(".use-recent[href*='reuse_first_frame={frame}']"), "href").expect("offered as a first frame");
    assert_eq!(form.count(".recent-list li"), 1, "{}", form.body);
    assert_eq!(form.count(".use-recent"), 2, "as the first or the last frame");
    let picked = admin.get(&link.replace("&amp;", "&")).await;
    assert_eq!(picked.attr_of("input[name=reuse_first_frame]", "value"), Some(frame.clone()), "the form now sends it again");
    app.stop().await;
}

#[tokio::test]
async fn an_earlier_output_is_offered_and_taken_as_a_reference_but_nobody_elses() {
    let (app, admin, token) = app_with_credits(Duration::ZERO, 50).await;
    let first = crate::support::generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a red kite"})).await;
    let first = crate::support::wait_terminal(&app.url, &token, first.json()["id"].as_str().unwrap()).await;
    let output = first["outputs"][0]["id"].as_str().unwrap().to_string();

    let form = admin.get("/generate?model=demo-image").await;
    assert!(
        form.attr_of(&format!(".use-recent[href*='reuse_reference={output}']"), "href").is_some(),
        "the output is offered as a reference: {}",
        form.body
    );
    let body = serde_json::json!({"model": "demo-image", "prompt": "the same kite, at night", "references": [{"role": "reference", "upload": output}]});
    let made = crate::support::generate(&app.url, &token, body.clone()).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let done = crate::support::wait_terminal(&app.url, &token, made.json()["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    let other = app.invite_member(&admin, "bo@example.com", "bo password 1234").await;
    let theirs = other.post_form("/account/tokens", &[("name", "bo"), ("expires", "30")]).await.text_of("#new-token");
    let refused = crate::support::generate(&app.url, &theirs, body).await;
    assert_eq!(refused.status, 404, "another person's output is not found: {}", refused.body);
    app.stop().await;
}
