//! The audit log: what is recorded, with whom, from where, and the admin page's filters.

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

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
