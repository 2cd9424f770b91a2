//! The privacy notice at `/privacy`: public, generated from the settings in force (retention
//! periods, enabled providers with their data-use facts, contact), and dated by the last
//! change of those settings, which is audited.

use std::time::Duration;

use crate::support::{Browser, Page, TestApp};

/// The notice's "last updated" instant, as its machine-readable attribute.
fn last_updated(page: &Page) -> time::OffsetDateTime {
    let text = page.attr_of("#last-updated", "datetime").expect("a last-updated time");
    time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"))
}

async fn notice(app: &TestApp) -> Page {
    let page = app.browser().get("/privacy").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

/// Timestamps are milliseconds: a few of them make the next change's time differ.
async fn let_the_clock_move() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

#[tokio::test]
async fn the_notice_is_public_and_states_the_settings_in_force() {
    let app = TestApp::start_with(|c| {
        c.retention.uploads = Duration::from_secs(14 * 86_400);
        c.retention.outputs = Duration::ZERO;
        c.contact = Some("privacy@example.com".into());
    })
    .await;
    let page = notice(&app).await;
    assert_eq!(page.text_of("#keep-uploads"), "14 days, then deleted");
    assert_eq!(page.text_of("#keep-outputs"), "kept until you delete them");
    assert!(page.text_of("#keep-failed").starts_with("30 days"));
    assert!(page.text_of("#keep-audit").starts_with("365 days"));
    assert!(page.text_of("#keep-client_addresses").starts_with("30 days, then shortened"));
    assert_eq!(page.text_of("#contact-address"), "privacy@example.com");
    assert_eq!(page.attr_of("#contact-address", "href").as_deref(), Some("mailto:privacy@example.com"));
    let demo = page.text_of("#provider-demo");
    assert!(demo.contains("connection demo"), "{demo}");
    assert!(page.text_of("#demo-receives").starts_with("Nothing."), "the offline demo provider receives nothing");
    assert!(page.text_of("#demo-training").starts_with("No."), "{}", page.text_of("#demo-training"));
    for section in ["#stored", "#rights", "#retention-periods"] {
        assert_eq!(page.count(section), 1, "{section}");
    }
    assert!(page.text_of("#rights").contains("Export"));

    let (admin, home) = {
        let admin = app.setup_admin().await;
        let home = admin.get("/").await;
        (admin, home)
    };
    assert_eq!(home.attr_of("footer a", "href").as_deref(), Some("/privacy"), "every page links to the notice");
    assert!(admin.get("/privacy").await.body.contains("Sign out"), "signed-in readers keep their navigation");
    app.stop().await;
}

#[tokio::test]
async fn without_a_contact_the_notice_says_to_ask_the_admin() {
    let app = TestApp::start().await;
    let page = notice(&app).await;
    assert!(page.text_of("#contact-admin").contains("ask the instance's admin"));
    assert_eq!(page.count("#contact-address"), 0);
    app.stop().await;
}

#[tokio::test]
async fn last_updated_moves_only_when_the_settings_change() {
    let app = TestApp::start().await;
    let first = last_updated(&notice(&app).await);
    assert!(notice(&app).await.text_of("#keep-outputs").starts_with("180 days"));

    let app = app.restart().await;
    assert_eq!(last_updated(&notice(&app).await), first, "a restart without a change keeps the date");

    let_the_clock_move().await;
    let app = app.restart_with(|c| c.retention.outputs = Duration::from_secs(90 * 86_400)).await;
    let page = notice(&app).await;
    assert_eq!(page.text_of("#keep-outputs"), "90 days, then deleted, unless you chose to keep the item");
    let second = last_updated(&page);
    assert!(second > first, "{second} after {first}");

    let app = app.restart().await;
    assert_eq!(last_updated(&notice(&app).await), second);

    let_the_clock_move().await;
    let app = app.restart_with(|c| c.contact = Some("dpo@example.com".into())).await;
    let third = last_updated(&notice(&app).await);
    assert!(third > second);

    let admin = app.setup_admin().await;
    let log = admin.get("/admin/audit?action=settings.changed").await;
    assert_eq!(log.count("tbody tr"), 3, "the first record and two changes: {}", log.body);
    assert!(log.body.contains("retention.outputs: 180 days → 90 days"), "{}", log.body);
    assert!(log.body.contains("contact set to dpo@example.com"));
    app.stop().await;
}

async fn add_connection(admin: &Browser, name: &str) {
    let added =
        admin.post_form("/admin/connections", &[("name", name), ("kind", "openai_images"), ("api_key", "sk-test-privacy-0000")]).await;
    assert_eq!(added.status, 303, "{}", added.body);
}

#[tokio::test]
async fn adding_and_removing_a_connection_changes_the_providers_and_the_date() {
    let app = TestApp::start().await;
    let admin = app.setup_admin().await;
    let before = notice(&app).await;
    assert_eq!(before.count("article.provider"), 1, "only the demo provider");
    let first = last_updated(&before);

    let_the_clock_move().await;
    add_connection(&admin, "team-images").await;
    let after = notice(&app).await;
    assert_eq!(after.count("article.provider"), 2);
    let entry = after.text_of("#provider-team-images");
    assert!(entry.starts_with("OpenAI"), "{entry}");
    assert!(after.text_of("#team-images-receives").contains("the prompt"), "what the provider receives");
    assert_eq!(after.attr_of("#team-images-privacy", "href").as_deref(), Some("https://openai.com/enterprise-privacy/"));
    assert!(after.text_of("#team-images-training").starts_with("No."));
    let added = last_updated(&after);
    assert!(added > first, "{added} after {first}");

    let log = admin.get("/admin/audit?action=settings.changed").await;
    assert!(log.body.contains("provider added: team-images (openai_images)"), "{}", log.body);
    assert!(log.body.contains(crate::support::ADMIN_EMAIL), "the admin who added it is the actor");

    let_the_clock_move().await;
    let removed = admin.post_form("/admin/connections/team-images/delete", &[]).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    let page = notice(&app).await;
    assert_eq!(page.count("#provider-team-images"), 0);
    assert!(last_updated(&page) > added);
    let app = app.restart().await;
    assert_eq!(last_updated(&notice(&app).await), last_updated(&page), "the stored connections are part of the fingerprint");
    app.stop().await;
}
