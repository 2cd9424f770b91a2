//! The audit log: what is recorded, with whom, from where, the admin page's filters, and
//! its CSV export.

use std::time::Duration;

use crate::support::generate;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Page, TestApp};
use crate::support::{app_with_credits, wait_terminal};

#[tokio::test]
async fn sign_ins_failures_invitations_roles_and_tokens_are_audited_with_client_details() {
    let (app, admin) = TestApp::with_admin().await;
    assert_eq!(app.browser().sign_in(ADMIN_EMAIL, "wrong password").await.status, 401);
    assert_eq!(app.browser().sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let member = app.invite_member(&admin, "eve@example.com", "eve password 12").await;
    let users = admin.get("/admin/users").await;
    let action = users.row_action("eve@example.com", "form[action$='/role']");
    admin.post_form(&action, &[("role", "admin")]).await;
    let created = member.post_form("/account/tokens", &[("name", "eve's script"), ("expires", "30")]).await;
    let secret = created.text_of("#new-token");

    let log = admin.get("/admin/audit").await;
    assert_eq!(log.status, 200);
    for action in [
        "setup.completed",
        "auth.sign_in",
        "auth.sign_in_failed",
        "invitation.created",
        "invitation.accepted",
        "user.created",
        "user.role_changed",
        "token.created",
    ] {
        assert!(log.body.contains(&format!("<code>{action}</code>")), "{action} missing");
    }
    assert!(log.body.contains("127.0.0.1"), "client address recorded");
    assert!(log.body.contains("reelvault-tests/1.0"), "user agent recorded");
    assert!(log.body.contains("from member to admin"), "role change detail");
    assert!(!log.body.contains(&secret), "no token secret in the log");

    let failures = admin.get("/admin/audit?action=auth.sign_in_failed").await;
    assert_eq!(failures.count("tbody tr"), 1);
    assert!(failures.body.contains("anonymous (admin@example.com)"));
    let eve = admin.get("/admin/audit?who=eve%40example").await;
    assert!(eve.count("tbody tr") >= 3);
    assert!(!eve.body.contains("<code>auth.sign_in_failed</code>"));
    let today = time::OffsetDateTime::now_utc().date();
    let future = admin.get(&format!("/admin/audit?from={}", today.next_day().unwrap())).await;
    assert!(future.body.contains("No events match"));
    let upto_today = admin.get(&format!("/admin/audit?to={today}")).await;
    assert!(upto_today.count("tbody tr") >= 8);
    app.stop().await;
}

#[tokio::test]
async fn revocations_and_sign_outs_are_audited() {
    let (app, admin) = TestApp::with_admin().await;
    let created = admin.post_form("/account/tokens", &[("name", "temp"), ("expires", "never")]).await;
    assert_eq!(created.status, 200);
    let listing = admin.get("/account/tokens").await;
    let action = listing.attr_of("form[action$='/revoke']", "action").unwrap();
    admin.post_form(&action, &[]).await;
    let other = app.browser();
    other.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    other.post_form("/logout", &[]).await;
    let log = admin.get("/admin/audit").await;
    assert!(log.body.contains("<code>token.revoked</code>"));
    assert!(log.body.contains("<code>auth.sign_out</code>"));
    app.stop().await;
}

/// Parses RFC 4180 CSV (quoted cells with doubled quotes and line breaks, CRLF rows).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(!quoted && cell.is_empty() && row.is_empty(), "the CSV ends with a complete row");
    rows
}

const HEADER: [&str; 7] = ["time", "actor", "action", "target", "client_address", "user_agent", "detail"];

fn csv_rows(page: &Page) -> Vec<Vec<String>> {
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), Some("text/csv; charset=utf-8"));
    let disposition = page.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment; filename=\"reelvault-audit-") && disposition.ends_with(".csv\""), "{disposition}");
    let rows = parse_csv(&page.body);
    assert_eq!(rows.first().map(|r| r.as_slice()), Some(HEADER.map(String::from).as_slice()), "a header row first");
    for row in &rows[1..] {
        assert_eq!(row.len(), HEADER.len(), "{row:?}");
        time::OffsetDateTime::parse(&row[0], &time::format_description::well_known::Rfc3339).expect("RFC 3339 times");
        assert!(row[0].ends_with('Z'), "UTC: {}", row[0]);
    }
    rows
}

#[tokio::test]
async fn generations_and_media_fetches_are_audited_once_per_fetch() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(50), 100).await;
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a red kite"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_string();
    let done = wait_terminal(&app.url, &token, &id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let log = admin.get("/admin/audit?action=generation.created").await;
    assert_eq!(log.count("tbody tr"), 1, "{}", log.body);
    let row = log.text_of("tbody tr");
    assert!(row.contains(ADMIN_EMAIL) && row.contains(&id) && row.contains("model demo-image"), "{row}");

    let output = &done["outputs"][0];
    let (url, asset) = (output["url"].as_str().unwrap(), output["id"].as_str().unwrap());
    let client = reqwest::Client::builder().no_proxy().user_agent("fetcher/2.0").build().unwrap();
    assert_eq!(client.get(url).send().await.unwrap().status(), 200);
    let fetch = |range: &'static str| client.get(url).header("range", range).send();
    assert_eq!(fetch("bytes=0-99").await.unwrap().status(), 206, "a player's first request");
    assert_eq!(fetch("bytes=100-199").await.unwrap().status(), 206, "a seek");
    assert_eq!(fetch("bytes=-10").await.unwrap().status(), 206, "a seek to the end");
    assert_eq!(client.get(format!("{url}&download=1")).send().await.unwrap().status(), 200);
    let forged = url.replace("sig=", "sig=0");
    assert_eq!(client.get(&forged).send().await.unwrap().status(), 403);

    let log = admin.get("/admin/audit?action=media.downloaded").await;
    assert_eq!(log.count("tbody tr"), 3, "the full fetch, the one from byte 0 and the download; not the seeks: {}", log.body);
    assert!(log.body.contains(asset), "the asset is the target");
    assert!(log.body.contains("fetcher/2.0"), "with the fetching client");
    assert!(log.body.contains(&format!("output of generation {id}")));
    assert!(log.body.contains("saved as a file") && log.body.contains("viewed"));
    let actors = admin.get(&format!("/admin/audit?action=media.downloaded&who={ADMIN_EMAIL}")).await;
    assert_eq!(actors.count("tbody tr"), 3, "the person the link was issued for is the actor");
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_exports_as_csv_with_the_page_filters() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(50), 100).await;
    let created = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "kite"})).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    let tricky_token = "say \"cheese\", please";
    admin.post_form("/account/tokens", &[("name", tricky_token), ("expires", "30")]).await;
    let tricky_email = "=sum(a1),\"x\"@example.com";
    let invited = admin.post_form("/admin/invitations", &[("email", tricky_email), ("role", "member")]).await;
    assert_eq!(invited.status, 200, "{}", invited.body);

    let all = csv_rows(&admin.get("/admin/audit.csv").await);
    let find = |action: &str| all.iter().find(|r| r[2] == action).unwrap_or_else(|| panic!("{action} in {all:?}")).clone();
    assert_eq!(find("invitation.created")[3], format!("'{tricky_email}"), "formula cells are defused, quotes survive");
    assert_eq!(find("token.created")[6], format!("token {tricky_token:?}"), "commas and quotes round-trip");
    let generation = find("generation.created");
    assert_eq!((generation[1].as_str(), generation[3].as_str()), (ADMIN_EMAIL, id.as_str()));
    assert!(generation[6].starts_with("model demo-image, "), "{generation:?}");
    assert_eq!(generation[4], "127.0.0.1");
    assert!(all.iter().any(|r| r[2] == "setup.completed"));
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let times: Vec<time::OffsetDateTime> = all[1..].iter().map(|r| time::OffsetDateTime::parse(&r[0], rfc3339).unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let filtered = csv_rows(&admin.get("/admin/audit.csv?action=generation.created").await);
    assert_eq!(filtered.len(), 2, "{filtered:?}");
    let nobody = csv_rows(&admin.get("/admin/audit.csv?who=nobody%40example.com").await);
    assert_eq!(nobody.len(), 1, "only the header");
    let today = time::OffsetDateTime::now_utc().date();
    let future = csv_rows(&admin.get(&format!("/admin/audit.csv?from={}", today.next_day().unwrap())).await);
    assert_eq!(future.len(), 1);

    let page = admin.get("/admin/audit?action=token.created&who=admin").await;
    let link = page.attr_of("#audit-csv", "href").expect("a CSV link");
    assert_eq!(link, "/admin/audit.csv?action=token.created&who=admin&from=&to=", "the link carries the filters");
    let linked = csv_rows(&admin.get(&link).await);
    assert!(linked.len() >= 3 && linked[1..].iter().all(|r| r[2] == "token.created"), "{linked:?}");

    assert_eq!(admin.get("/admin/audit.csv?action=no.such").await.status, 400);
    assert_eq!(admin.get("/admin/audit.csv?from=yesterday").await.status, 400);
    let member = app.invite_member(&admin, "mo@example.com", "mo password 1234").await;
    assert_eq!(member.get("/admin/audit.csv").await.status, 403, "admins only");
    let anonymous = app.browser().get("/admin/audit.csv").await;
    assert_eq!(anonymous.status, 303, "sign in first");
    app.stop().await;
}
