//! Admin user management in the web UI: invitations, roles, disabling, password resets.

use crate::support::{ADMIN_EMAIL, Browser, Page, TestApp};

fn action_for(page: &Page, email: &str, suffix: &str) -> String {
    page.row_action(email, &format!("form[action$='{suffix}']"))
}

#[tokio::test]
async fn an_invitation_creates_a_member_who_can_sign_in_and_the_link_works_once() {
    let (app, admin) = TestApp::with_admin().await;
    let page = admin.post_form("/admin/invitations", &[("email", "Bob@Example.com"), ("role", "member")]).await;
    assert_eq!(page.status, 200);
    let link = page.text_of("#issued-link");
    assert!(link.starts_with(&format!("{}/invite/", app.url)), "{link}");
    let path = link.strip_prefix(&app.url).unwrap().to_string();

    let bob = app.browser();
    let form = bob.get(&path).await;
    assert!(form.body.contains("bob@example.com"));
    let done = bob.post_form(&path, &[("name", "Bob"), ("password", "bob password 12"), ("confirm", "bob password 12")]).await;
    assert_eq!(done.status, 303);
    let (_, home) = bob.visit("/").await;
    assert!(home.body.contains("Hello, Bob"));
    assert!(!home.body.contains("/admin/users"), "members see no admin navigation");
    assert_eq!(app.browser().get(&path).await.status, 404, "used up");
    assert_eq!(app.browser().sign_in("bob@example.com", "bob password 12").await.status, 303);

    let again = admin.post_form("/admin/invitations", &[("email", "bob@example.com"), ("role", "member")]).await;
    assert_eq!(again.status, 409, "an existing account cannot be invited");
    let bad = admin.post_form("/admin/invitations", &[("email", "carol@example.com"), ("role", "overlord")]).await;
    assert_eq!(bad.status, 422);
    app.stop().await;
}

#[tokio::test]
async fn invitations_expire() {
    let app = TestApp::start_with(|c| c.accounts.invitation_expiry = std::time::Duration::from_millis(300)).await;
    let admin = app.setup_admin().await;
    let page = admin.post_form("/admin/invitations", &[("email", "late@example.com"), ("role", "member")]).await;
    let path = page.text_of("#issued-link").strip_prefix(&app.url).unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let b = app.browser();
    assert_eq!(b.get(&path).await.status, 404);
    let late = b.post_form(&path, &[("password", "late password 1"), ("confirm", "late password 1")]).await;
    assert_eq!(late.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn roles_change_disabled_users_are_signed_out_and_the_last_admin_stays() {
    let (app, admin) = TestApp::with_admin().await;
    let carol: Browser = app.invite_member(&admin, "carol@example.com", "carol password 1").await;
    assert_eq!(carol.get("/admin/users").await.status, 403);

    let users = admin.get("/admin/users").await;
    let role = action_for(&users, "carol@example.com", "/role");
    assert_eq!(admin.post_form(&role, &[("role", "admin")]).await.status, 303);
    assert_eq!(carol.get("/admin/users").await.status, 200, "carol is an admin now");
    assert_eq!(admin.post_form(&role, &[("role", "member")]).await.status, 303);

    let status = action_for(&users, "carol@example.com", "/status");
    assert_eq!(admin.post_form(&status, &[("disabled", "true")]).await.status, 303);
    assert_eq!(carol.get("/account").await.status, 303, "disabled: signed out");
    let refused = app.browser().sign_in("carol@example.com", "carol password 1").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("disabled"));
    assert_eq!(admin.post_form(&status, &[("disabled", "false")]).await.status, 303);
    assert_eq!(app.browser().sign_in("carol@example.com", "carol password 1").await.status, 303);

    let mine = action_for(&users, ADMIN_EMAIL, "/role");
    let last = admin.post_form(&mine, &[("role", "member")]).await;
    assert_eq!(last.status, 409);
    assert!(last.body.contains("last enabled admin"));
    let my_status = action_for(&users, ADMIN_EMAIL, "/status");
    assert_eq!(admin.post_form(&my_status, &[("disabled", "true")]).await.status, 409);
    assert_eq!(admin.get("/admin/users").await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn an_admin_reset_link_sets_a_new_password_and_ends_old_sessions() {
    let (app, admin) = TestApp::with_admin().await;
    let dave = app.invite_member(&admin, "dave@example.com", "dave password 1").await;
    let users = admin.get("/admin/users").await;
    let reset = action_for(&users, "dave@example.com", "/reset");
    let page = admin.post_form(&reset, &[]).await;
    assert_eq!(page.status, 200);
    let path = page.text_of("#issued-link").strip_prefix(&app.url).unwrap().to_string();
    assert!(path.starts_with("/reset/"));
    let b = app.browser();
    assert_eq!(b.get(&path).await.status, 200);
    let done = b.post_form(&path, &[("password", "dave new password"), ("confirm", "dave new password")]).await;
    assert_eq!(done.status, 303);
    assert_eq!(dave.get("/account").await.status, 303, "old sessions end");
    assert_eq!(app.browser().sign_in("dave@example.com", "dave password 1").await.status, 401);
    assert_eq!(app.browser().sign_in("dave@example.com", "dave new password").await.status, 303);
    assert_eq!(app.browser().get(&path).await.status, 404, "used up");
    app.stop().await;
}
