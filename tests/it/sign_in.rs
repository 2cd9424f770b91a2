//! Signing in and out, password checks, throttling.

use crate::support::process::run;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, api_get};

#[tokio::test]
async fn sign_in_sets_a_new_http_only_session_and_sign_out_ends_it() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let b = app.browser();
    let (at, _) = b.visit("/account").await;
    assert!(at.starts_with("/login?next="), "anonymous visitors are sent to sign in: {at}");

    let first = b.sign_in("  Admin@Example.COM ", ADMIN_PASSWORD).await;
    assert_eq!(first.status, 303);
    let cookie = first.set_cookies().into_iter().find(|c| c.starts_with("rv_session=")).expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http on localhost: {cookie}");

    let second = b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie2 = second.set_cookies().into_iter().find(|c| c.starts_with("rv_session=")).expect("session cookie");
    assert_ne!(cookie, cookie2, "every sign-in issues a new token");

    // the replaced session no longer works
    let old_value = cookie.split(';').next().unwrap().to_string();
    let stale = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = stale.get(format!("{}/account", app.url)).header("cookie", old_value).send().await.unwrap();
    assert_eq!(r.status(), 303);

    let (_, account) = b.visit("/account").await;
    assert_eq!(account.status, 200);
    let out = b.post_form("/logout", &[]).await;
    assert_eq!(out.status, 303);
    let (at, _) = b.visit("/account").await;
    assert!(at.starts_with("/login"));
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_accounts_get_the_same_answer_and_the_same_work() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    let b = app.browser();
    let before = app.running.state.passwords.verifications();
    let wrong = b.sign_in(ADMIN_EMAIL, "wrong password!").await;
    let after_wrong = app.running.state.passwords.verifications();
    let unknown = b.sign_in("nobody@example.com", "wrong password!").await;
    let after_unknown = app.running.state.passwords.verifications();
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.text_of("#login-error"), unknown.text_of("#login-error"));
    assert_eq!(after_wrong - before, 1, "a wrong password costs one Argon2 verification");
    assert_eq!(after_unknown - after_wrong, 1, "an unknown account costs one Argon2 verification too");
    let malformed = b.sign_in("not an email", "whatever").await;
    assert_eq!(malformed.status, 401);
    assert_eq!(app.running.state.passwords.verifications() - after_unknown, 1);
    app.stop().await;
}

#[tokio::test]
async fn an_account_is_throttled_after_100_failures_in_an_hour() {
    let app = TestApp::start().await;
    app.setup_admin().await;
    for i in 0..100 {
        // a fresh client each time: the limit is per account, not per browser
        let b = app.browser();
        let page = b.sign_in(ADMIN_EMAIL, "not the password").await;
        assert_eq!(page.status, 401, "attempt {i}");
    }
    let b = app.browser();
    let refused = b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(refused.status, 429, "even the right password waits out the hour");
    assert!(refused.text_of("#login-error").contains("Too many failed sign-in attempts"));
    let wait: u64 = refused.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(wait > 3000 && wait <= 3600, "{wait}");
    // other accounts are not locked out by it
    let other = app.browser().sign_in("someone@example.com", "x").await;
    assert_eq!(other.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_client_address_is_throttled_across_accounts() {
    let app = TestApp::start_with(|c| c.limits.login_failures_per_address = 3).await;
    app.setup_admin().await;
    let b = app.browser();
    for n in 0..3 {
        assert_eq!(b.sign_in(&format!("user{n}@example.com"), "nope").await.status, 401);
    }
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 429);
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions() {
    let app = TestApp::start().await;
    let here = app.setup_admin().await;
    let elsewhere = app.browser();
    assert_eq!(elsewhere.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    here.get("/account").await;
    let wrong = here
        .post_form("/account/password", &[("current", "not it at all"), ("password", "a new password 1"), ("confirm", "a new password 1")])
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("current password is not correct"));
    let changed = here
        .post_form("/account/password", &[("current", ADMIN_PASSWORD), ("password", "a new password 1"), ("confirm", "a new password 1")])
        .await;
    assert_eq!(changed.status, 303);
    assert_eq!(here.get("/account").await.status, 200, "this session stays");
    assert_eq!(elsewhere.get("/account").await.status, 303, "the other is signed out");
    assert_eq!(app.browser().sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 401);
    assert_eq!(app.browser().sign_in(ADMIN_EMAIL, "a new password 1").await.status, 303);
    app.stop().await;
}

#[tokio::test]
async fn next_targets_off_this_site_fall_back_to_the_home_page() {
    let (app, _admin) = TestApp::with_admin().await;
    let off_site = [
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "/library\\..\\evil",
        "https://evil.example/",
        "evil.example",
        "/\u{0}/evil.example",
        "/\u{a0}/evil.example",
    ];
    for next in off_site {
        let b = app.browser();
        let done = b.post_form("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", next)]).await;
        assert_eq!(done.status, 303);
        assert_eq!(done.location(), Some("/"), "next {next:?} after signing in");
        // already signed in, the sign-in page sends the person on to `next` too
        let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
        let again = b.get(&format!("/login?{query}")).await;
        assert_eq!(again.status, 303);
        assert_eq!(again.location(), Some("/"), "next {next:?} when already signed in");
    }
    let b = app.browser();
    let done = b.post_form("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", "/library?q=a%20b")]).await;
    assert_eq!(done.location(), Some("/library?q=a%20b"), "a path on this site is kept");
    let (at, _) = app.browser().visit("/account/tokens").await;
    assert_eq!(at, "/login?next=%2Faccount%2Ftokens", "signed-out visitors are sent back where they were going");
    app.stop().await;
}

#[tokio::test]
async fn emails_longer_than_254_characters_are_refused_wherever_one_is_taken() {
    let (app, admin) = TestApp::with_admin().await;
    let too_long = format!("{}@example.com", "a".repeat(243));
    assert_eq!(too_long.len(), 255);

    let signing_in = app.browser().sign_in(&too_long, ADMIN_PASSWORD).await;
    assert_eq!(signing_in.status, 401, "no account has such an email");
    let invited = admin.post_form("/admin/invitations", &[("email", &too_long), ("role", "member")]).await;
    assert_eq!(invited.status, 422);
    assert!(invited.body.contains("Enter a valid email address"), "{}", invited.body);
    let profile = admin.post_form("/account/profile", &[("name", "Ada"), ("email", &too_long), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(profile.status, 422, "{}", profile.body);
    assert_eq!(admin.get("/account").await.status, 200);
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let (code, _, err) = run(&["user", "add", "--email", &too_long, "--password-stdin", "--data-dir", d], Some(ADMIN_PASSWORD)).await;
    assert_eq!(code, 1);
    assert!(err.contains("enter a valid email address"), "{err}");

    let fresh = TestApp::start().await;
    let b = fresh.browser();
    b.get(&fresh.setup_path()).await;
    let setup = b
        .post_form(&fresh.setup_path(), &[("email", &too_long), ("name", "A"), ("password", ADMIN_PASSWORD), ("confirm", ADMIN_PASSWORD)])
        .await;
    assert_eq!(setup.status, 422);
    fresh.stop().await;

    let log = admin.get("/admin/audit?action=auth.sign_in_failed").await;
    assert!(log.body.contains(&format!("anonymous ({}…)", &too_long[..251])), "the claim is kept to 254 characters");
    app.stop().await;
}

#[tokio::test]
async fn a_password_reset_signs_out_everywhere_and_revokes_api_tokens() {
    let (app, admin) = TestApp::with_admin().await;
    let dave = app.invite_member(&admin, "dave@example.com", "dave password 1").await;
    let created = dave.post_form("/account/tokens", &[("name", "dave script"), ("expires", "30")]).await;
    let token = created.text_of("#new-token");
    let laptop = app.browser();
    assert_eq!(laptop.sign_in("dave@example.com", "dave password 1").await.status, 303);
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&token)).await.status, 200);

    // an admin's reset link and one from `reelvault user reset-password` end the same way
    let users = admin.get("/admin/users").await;
    let issue = users.row_action("dave@example.com", "form[action$='/reset']");
    let issued = admin.post_form(&issue, &[]).await;
    let path = issued.text_of("#issued-link").strip_prefix(&app.url).unwrap().to_string();
    let b = app.browser();
    b.get(&path).await;
    let done = b.post_form(&path, &[("password", "dave new password"), ("confirm", "dave new password")]).await;
    assert_eq!(done.status, 303);
    let (_, login) = b.visit(done.location().unwrap()).await;
    assert!(
        login.body.contains("You were signed out everywhere and your API tokens were revoked"),
        "the page after the reset says so: {}",
        login.body
    );
    assert_eq!(dave.get("/account").await.status, 303, "the session from before the reset ends");
    assert_eq!(laptop.get("/account").await.status, 303, "every session ends");
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&token)).await.status, 401, "the token from before stops working");

    let again = app.browser();
    assert_eq!(again.sign_in("dave@example.com", "dave new password").await.status, 303);
    let listing = again.get("/account/tokens").await;
    assert!(listing.body.contains("dave script") && listing.body.to_lowercase().contains("revoked"), "{}", listing.body);
    let second = again.post_form("/account/tokens", &[("name", "after"), ("expires", "30")]).await.text_of("#new-token");
    let data = app.data_dir();
    let (code, out, _) = run(&["user", "reset-password", "--email", "dave@example.com", "--data-dir", data.to_str().unwrap()], None).await;
    assert_eq!(code, 0);
    let link = out.lines().find(|l| l.contains("/reset/")).unwrap().trim().to_string();
    let path = link.strip_prefix(&app.url).unwrap().to_string();
    let c = app.browser();
    c.get(&path).await;
    let done = c.post_form(&path, &[("password", "dave third password"), ("confirm", "dave third password")]).await;
    assert_eq!(done.status, 303);
    assert_eq!(again.get("/account").await.status, 303);
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(&second)).await.status, 401);
    let log = admin.get("/admin/audit?action=token.revoked").await;
    assert!(log.body.contains("1 token"), "{}", log.body);
    app.stop().await;
}
