//! Search over real HTTP: words, stemming, exact phrases, highlights, every filter, facet
//! counts, cursor pages, who sees what, and bad parameters. Results appear within about a
//! second (the indexer's commit interval): every wait here is a bounded loop.

use std::collections::BTreeSet;
use std::time::Duration;

use reelvault::domain::catalog::MediaKind;
use reelvault::domain::generation::{GenState, Generation};
use reelvault::domain::ids::{GenerationId, UserId};
use reelvault::domain::time::Timestamp;
use serde_json::Value;

use crate::support::generate;
use crate::support::{Browser, TestApp, api_get};
use crate::support::{app_with_credits, wait_terminal};

/// `GET /api/v1/generations?{query}` as the token's owner; must answer 200.
pub async fn search(base: &str, token: &str, query: &str) -> Value {
    let page = api_get(base, &format!("/api/v1/generations?{query}"), Some(token)).await;
    assert_eq!(page.status, 200, "{query}: {}", page.body);
    page.json()
}

/// Searches until `total` is `n` (at most 15 s), then returns that answer.
pub async fn wait_total(base: &str, token: &str, query: &str, n: u64) -> Value {
    let mut last = Value::Null;
    // quickly at first, then twice a second: a token's requests per minute are limited
    let mut pause = Duration::from_millis(25);
    for _ in 0..150 {
        let page = api_get(base, &format!("/api/v1/generations?{query}"), Some(token)).await;
        if page.status == 200 {
            last = page.json();
            if last["total"] == n {
                return last;
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
    panic!("{query}: expected total {n}, last answer {last}");
}

/// The prompts of a result page, in order.
pub fn prompts(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i["prompt"].as_str().unwrap().to_string()).collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// The caller's user id.
pub async fn me(base: &str, token: &str) -> UserId {
    api_get(base, "/api/v1/me", Some(token)).await.json()["id"].as_str().unwrap().parse().unwrap()
}

/// A finished generation of `owner`, to write straight into the store.
pub fn generation(owner: UserId, prompt: &str, created_at: i64) -> Generation {
    Generation {
        id: GenerationId::generate(),
        owner,
        model: "demo-image".into(),
        kind: MediaKind::Image,
        connection: "demo".into(),
        prompt: prompt.into(),
        negative_prompt: None,
        params: Default::default(),
        references: Vec::new(),
        state: GenState::Succeeded,
        reason: None,
        progress: None,
        cost: 1,
        created_at: Timestamp(created_at),
        updated_at: Timestamp(created_at),
        submitted_at: None,
        finished_at: None,
        deadline_at: Timestamp(created_at),
        upstream: None,
        pending_outputs: Vec::new(),
        outputs: Vec::new(),
        cancel_requested: false,
        kept: false,
        shared: false,
        legal_hold: false,
        upstream_deleted_at: None,
        deleted_at: None,
        made_with: None,
        reported: None,
        source: None,
    }
}

/// Writes generations the way the services do (with their outbox rows) and wakes the indexer.
pub async fn put(app: &TestApp, generations: Vec<Generation>) {
    let store = app.running.state.store.clone();
    store
        .write(move |tx| {
            for g in &generations {
                reelvault::store::generations::put(tx, g)?;
            }
            Ok::<_, reelvault::store::StoreError>(())
        })
        .await
        .unwrap();
    store.outbox_written();
}

/// A member with an API token.
async fn member(app: &TestApp, admin: &Browser, email: &str) -> String {
    let b = app.invite_member(admin, email, "member password 12").await;
    b.post_form("/account/tokens", &[("name", "tests"), ("expires", "30")]).await.text_of("#new-token")
}

#[tokio::test]
async fn prompts_are_found_by_word_any_inflection_and_exact_phrase_with_highlights() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 100).await;
    for prompt in ["A red fox runs through <deep> snow", "Foxes running in the forest", "a red barn at noon", "the fox & the red hen"] {
        let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": prompt})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        wait_terminal(&app.url, &token, created.json()["id"].as_str().unwrap()).await;
    }
    wait_total(&app.url, &token, "", 4).await;
    let all = search(&app.url, &token, "").await;
    assert_eq!(all["items"][0]["state"], "succeeded", "the same JSON as GET /api/v1/generations/{{id}}");
    assert!(all["items"][0]["outputs"][0]["url"].as_str().unwrap().contains("sig="));
    assert_eq!(prompts(&all)[0], "the fox & the red hen", "newest first");

    let fox = search(&app.url, &token, "q=fox").await;
    assert_eq!(fox["total"], 3, "fox, foxes: {fox}");
    let running = search(&app.url, &token, "q=running").await;
    let found: BTreeSet<String> = prompts(&running).into_iter().collect();
    assert!(found.contains("A red fox runs through <deep> snow"), "running finds runs: {running}");
    assert_eq!(running["total"], 2);
    let phrase = search(&app.url, &token, "q=%22red+fox%22").await;
    assert_eq!(prompts(&phrase), ["A red fox runs through <deep> snow"], "the exact phrase only");
    let reversed = search(&app.url, &token, "q=%22fox+red%22").await;
    assert_eq!(reversed["total"], 0, "a phrase keeps its word order");
    let both = search(&app.url, &token, "q=red+fox").await;
    assert_eq!(both["total"], 2, "every word must match, in any order: {both}");

    let highlight = phrase["items"][0]["highlight"].as_str().unwrap();
    assert_eq!(highlight, "A <mark>red</mark> <mark>fox</mark> runs through &lt;deep&gt; snow");
    let h = search(&app.url, &token, "q=run").await;
    let marks: Vec<&str> = h["items"].as_array().unwrap().iter().map(|i| i["highlight"].as_str().unwrap()).collect();
    assert!(
        marks.contains(&"<mark>Foxes</mark> <mark>running</mark> in the forest")
            || marks.contains(&"Foxes <mark>running</mark> in the forest")
    );
    let listing = search(&app.url, &token, "q=").await;
    assert!(listing["items"].as_array().unwrap().iter().any(|i| i["highlight"] == "the fox &amp; the red hen"), "escaped, nothing marked");
    app.stop().await;
}

#[tokio::test]
async fn every_filter_narrows_the_results_and_facets_count_the_whole_result_set() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let owner = me(&app.url, &token).await;
    let day = 86_400_000;
    let jan1 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    let mut all = Vec::new();
    for n in 0..12i64 {
        let mut g = generation(owner, &format!("lantern number {n}"), jan1 + n * day);
        if n % 3 == 0 {
            (g.model, g.kind, g.connection) = ("sora-2".into(), MediaKind::Video, "videos".into());
        }
        g.state = if n % 4 == 0 { GenState::Failed } else { GenState::Succeeded };
        g.kept = n % 2 == 0;
        all.push(g);
    }
    put(&app, all).await;
    let page = wait_total(&app.url, &token, "q=lantern", 12).await;
    let f = &page["facets"];
    assert_eq!(f["model"], serde_json::json!({"demo-image": 8, "sora-2": 4}));
    assert_eq!(f["provider"], serde_json::json!({"demo": 8, "openai_videos": 4}));
    assert_eq!(f["kind"], serde_json::json!({"image": 8, "video": 4}));
    assert_eq!(f["state"], serde_json::json!({"failed": 3, "succeeded": 9}));
    assert_eq!(f["user"], serde_json::json!({owner.to_string(): 12}), "admins get the user facet");

    for (query, expected) in [
        ("model=sora-2", 4),
        ("model=sora-2&model=demo-image", 12),
        ("provider=openai_videos", 4),
        ("kind=video", 4),
        ("kind=image", 8),
        ("state=failed", 3),
        ("state=failed,succeeded", 12),
        ("kept=true", 6),
        ("kept=false", 6),
        ("from=2026-01-03", 10),
        ("to=2026-01-03", 3),
        ("from=2026-01-02&to=2026-01-04T00:00:00Z", 3),
        ("kind=video&state=failed", 1),
        ("model=no-such-model", 0),
    ] {
        let page = search(&app.url, &token, &format!("q=lantern&{query}")).await;
        assert_eq!(page["total"], expected, "{query}: {page}");
        let counted: u64 = page["facets"]["kind"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(counted, expected, "{query}: facets count the filtered set");
    }
    let video_failed = search(&app.url, &token, "kind=video&state=failed").await;
    assert_eq!(prompts(&video_failed), ["lantern number 0"]);
    assert_eq!(video_failed["facets"]["state"], serde_json::json!({"failed": 1}));
    app.stop().await;
}

#[tokio::test]
async fn cursor_pages_cover_every_item_once_in_date_order_both_ways() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let owner = me(&app.url, &token).await;
    // 130 items, several created in the same millisecond: the id breaks ties
    put(&app, (0..130).map(|n| generation(owner, &format!("page item {n}"), 1_700_000_000_000 + n / 4)).collect()).await;
    wait_total(&app.url, &token, "", 130).await;
    for sort in ["newest", "oldest"] {
        let mut seen: Vec<(i64, String)> = Vec::new();
        let mut query = format!("sort={sort}");
        let mut pages = 0;
        loop {
            let page = search(&app.url, &token, &query).await;
            assert_eq!(page["total"], 130);
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 50, "the default limit is 50");
            // created_at is 1_700_000_000_000 + n / 4 for "page item n"
            seen.extend(items.iter().map(|i| {
                let n: i64 = i["prompt"].as_str().unwrap().trim_start_matches("page item ").parse().unwrap();
                (n / 4, i["id"].as_str().unwrap().to_string())
            }));
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(cursor) => query = format!("sort={sort}&cursor={cursor}"),
                None => break,
            }
            assert!(pages < 10, "pagination ends");
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 130, "no gaps");
        let mut sorted = seen.clone();
        sorted.sort();
        if sort == "newest" {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "{sort}: strictly ordered, so no duplicates");
    }
    let small = search(&app.url, &token, "limit=100").await;
    assert_eq!(small["items"].as_array().unwrap().len(), 100);
    let cursor = small["next_cursor"].as_str().unwrap().to_string();
    let rest = search(&app.url, &token, &format!("limit=100&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 30);
    assert!(rest["next_cursor"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn members_see_their_own_and_shared_items_and_admins_filter_by_user_within_that() {
    let (app, admin, admin_token) = app_with_credits(Duration::ZERO, 10).await;
    let member_token = member(&app, &admin, "mia@example.com").await;
    let (admin_id, mia) = (me(&app.url, &admin_token).await, me(&app.url, &member_token).await);
    let mut shared = generation(mia, "mia shared comet", 1_000);
    shared.shared = true;
    let mut admin_shared = generation(admin_id, "admin shared comet", 2_000);
    admin_shared.shared = true;
    put(&app, vec![generation(mia, "mia private comet", 3_000), shared, generation(admin_id, "admin private comet", 4_000), admin_shared])
        .await;
    let mine = wait_total(&app.url, &member_token, "q=comet", 3).await;
    assert_eq!(prompts(&mine), ["mia private comet", "admin shared comet", "mia shared comet"]);
    assert!(mine["facets"].get("user").is_none(), "the user facet is for admins");
    let theirs = wait_total(&app.url, &admin_token, "q=comet", 3).await;
    assert_eq!(
        prompts(&theirs),
        ["admin private comet", "admin shared comet", "mia shared comet"],
        "admins do not see members' unshared items (DESIGN.md security model)"
    );
    assert_eq!(theirs["facets"]["user"], serde_json::json!({admin_id.to_string(): 2, mia.to_string(): 1}));
    let by_mia = search(&app.url, &admin_token, &format!("q=comet&user={mia}")).await;
    assert_eq!(prompts(&by_mia), ["mia shared comet"]);
    let by_email = search(&app.url, &admin_token, "q=comet&user=mia@example.com").await;
    assert_eq!(prompts(&by_email), ["mia shared comet"]);
    let unknown = api_get(&app.url, "/api/v1/generations?user=nobody@example.com", Some(&admin_token)).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let refused = api_get(&app.url, &format!("/api/v1/generations?user={admin_id}"), Some(&member_token)).await;
    assert_eq!(refused.status, 403, "only admins filter by user");
    assert_eq!(refused.json()["code"], "auth.admin_only");

    // unsharing and deleting take items out of other people's results
    let store = app.running.state.store.clone();
    let mut all: Vec<Generation> = store.read(move |tx| reelvault::store::generations::list_for_owner(tx, mia, None, 10)).await.unwrap();
    for g in &mut all {
        if g.prompt == "mia shared comet" {
            g.shared = false;
        } else {
            g.deleted_at = Some(Timestamp::now());
        }
    }
    put(&app, all).await;
    wait_total(&app.url, &admin_token, "q=comet", 2).await;
    let left = wait_total(&app.url, &member_token, "q=comet", 2).await;
    assert_eq!(prompts(&left), ["admin shared comet", "mia shared comet"], "the deleted one is gone for its owner too");
    app.stop().await;
}

#[tokio::test]
async fn bad_parameters_get_a_clear_400_naming_the_parameter() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    wait_total(&app.url, &token, "", 0).await;
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=500", "limit"),
        ("limit=-1", "limit"),
        ("kind=sculpture", "kind"),
        ("state=finished", "state"),
        ("from=last+week", "from"),
        ("to=2026-13-45", "to"),
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("sort=random", "sort"),
        ("kept=perhaps", "kept"),
        ("cursor=garbage!", "cursor"),
        ("q=a&q=b", "q"),
        ("page=2", "page"),
    ] {
        let page = api_get(&app.url, &format!("/api/v1/generations?{query}"), Some(&token)).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        let body = page.json();
        assert_eq!(body["code"], "invalid_parameter", "{query}");
        assert_eq!(body["details"]["parameter"], parameter, "{query}");
        assert!(body["message"].as_str().unwrap().len() > 10, "{query}");
    }
    let long = api_get(&app.url, &format!("/api/v1/generations?q={}", "word+".repeat(200)), Some(&token)).await;
    assert_eq!(long.status, 400);
    let newest = search(&app.url, &token, "").await;
    assert!(newest["next_cursor"].is_null());
    let newest_cursor =
        reelvault::search::Cursor { order: reelvault::search::Order::NewestFirst, created_at: 0, id: GenerationId::from_key(0) }.encode();
    let other_order = api_get(&app.url, &format!("/api/v1/generations?sort=oldest&cursor={newest_cursor}"), Some(&token)).await;
    assert_eq!(other_order.status, 400, "{}", other_order.body);
    for junk in ["q=%FF%FE", "q=%00", "q=%22", "q=%22%22", "q=***", "model=%00"] {
        let page = api_get(&app.url, &format!("/api/v1/generations?{junk}"), Some(&token)).await;
        assert!(page.status == 200 || page.status == 400, "{junk}: {}", page.status);
    }
    let anonymous = api_get(&app.url, "/api/v1/generations", None).await;
    assert_eq!(anonymous.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_new_generation_is_found_within_a_second_or_so_of_its_change() {
    let (app, _admin, token) = app_with_credits(Duration::ZERO, 10).await;
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "quick heron"})).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    let page = wait_total(&app.url, &token, "q=heron", 1).await;
    assert_eq!(ids(&page), std::slice::from_ref(&id));
    wait_terminal(&app.url, &token, &id).await;
    wait_total(&app.url, &token, "q=heron&state=succeeded", 1).await;
    app.stop().await;
}
