//! Presets and the cast in a real browser (Debian's chromium): a preset with a placeholder is
//! saved on the presets page and generated from on the generate page; a cast member is picked
//! on the generate page (and the picker says why a model that takes no references refuses it);
//! axe-core finds no serious or critical violation on the pages involved.

use std::time::Duration;

use serde_json::json;

use reelvault::services::studio::generations;

use crate::studio_pages::{axe_script, violations};
use crate::support::webdriver::{self, Browser as Chromium};
use crate::support::{api_get, api_post, app_with_credits};

#[tokio::test]
async fn a_preset_is_saved_and_generated_from_and_a_cast_member_is_picked_in_the_browser() {
    if !webdriver::available() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and chromium-driver (.ci/run does)");
        eprintln!("skipping: chromium and chromium-driver are not installed");
        return;
    }
    let Some(axe) = axe_script() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install axe-core (.ci/run does)");
        eprintln!("skipping: axe-core is not in target/axe-core (see .ci/run)");
        return;
    };
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 100).await;
    let base = app.url.clone();
    let (mira, images) = crate::cast::member(&base, &token, "Mira", &[(40, 30)]).await;
    let plain = json!({"id": "demo-plain", "like": "demo-image", "label": "Plain demo", "inputs": []});
    assert_eq!(api_post(&base, "/api/v1/admin/models", &token, plain).await.status, 201);
    let b = Chromium::start().await;
    assert!(b.sign_in_as_admin(&base).await, "signed in");
    let mut problems = Vec::new();

    // save a preset with a placeholder and a cast member on the presets page
    b.go(&format!("{base}/presets")).await;
    b.js("document.getElementById('preset-name').value = 'Animals'; \
          document.getElementById('preset-model').value = 'demo-image'; \
          document.getElementById('preset-template').value = 'A {animal} at dawn';")
        .await;
    b.click(&format!("#preset-form input[name='cast_{mira}']")).await;
    b.click("#preset-form button[type=submit]").await;
    assert!(b.wait_for("return !!document.querySelector('#presets tr[data-preset]')", 10).await, "the preset is listed");
    problems.extend(violations(&b, &axe).await.into_iter().map(|v| format!("presets: {v}")));

    // pick it on the generate page, fill its placeholder, generate
    b.go(&format!("{base}/generate")).await;
    b.click("#preset-use").await;
    assert!(b.wait_for("return !!document.getElementById('value-animal')", 10).await, "the placeholder is a field");
    problems.extend(violations(&b, &axe).await.into_iter().map(|v| format!("generate with a preset: {v}")));
    b.js("document.getElementById('value-animal').value = 'fox';").await;
    b.click("#preset-generate button[type=submit]").await;
    assert!(b.wait_for("return location.pathname.startsWith('/generations/')", 10).await, "on the new generation's page");
    let me: reelvault::domain::ids::UserId =
        api_get(&base, "/api/v1/me", Some(&token)).await.json()["id"].as_str().unwrap().parse().unwrap();
    let latest = || async { generations::list(&app.running.state, me, None, 1).await.unwrap().into_iter().next() };
    let made = latest().await.expect("a generation");
    assert_eq!(made.prompt, "A fox at dawn");
    assert_eq!(
        made.references.iter().map(|r| r.upload.to_string()).collect::<Vec<_>>(),
        vec![images[0].clone()],
        "the preset's cast member"
    );

    // pick the cast member on the generate page: its image is the reference
    b.go(&format!("{base}/generate?model=demo-image")).await;
    assert!(b.wait_for("return document.readyState === 'complete'", 10).await);
    b.click(&format!("input[name='cast_{mira}']")).await;
    b.js("document.getElementById('prompt').value = 'Mira waving';").await;
    b.click("#generate-submit").await;
    let waved = async {
        for _ in 0..100 {
            if let Some(g) = latest().await.filter(|g| g.prompt == "Mira waving") {
                return g;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the generation with the cast member was not made");
    }
    .await;
    let refs: Vec<(String, String)> = waved.references.iter().map(|r| (r.role.as_str().to_string(), r.upload.to_string())).collect();
    assert_eq!(refs, vec![("reference".to_string(), images[0].clone())]);

    // a model that takes no reference images: the picker is disabled and says why
    b.go(&format!("{base}/generate?model=demo-plain")).await;
    assert!(b.wait_for("return document.readyState === 'complete'", 10).await);
    let refused = b
        .js("var f = document.getElementById('cast-pick'); return [f.disabled, document.getElementById('cast-refused').textContent];")
        .await;
    assert_eq!(refused[0], true);
    assert!(refused[1].as_str().unwrap().contains("Plain demo takes no reference images"), "{refused}");
    problems.extend(violations(&b, &axe).await.into_iter().map(|v| format!("generate with the cast: {v}")));
    b.go(&format!("{base}/cast")).await;
    assert!(b.wait_for("return !!document.querySelector('#cast [data-cast]')", 10).await);
    problems.extend(violations(&b, &axe).await.into_iter().map(|v| format!("cast: {v}")));
    b.quit().await;
    assert!(problems.is_empty(), "serious or critical axe-core violations:\n{}", problems.join("\n"));
    app.stop().await;
}
