//! Signing in and out, password checks, throttling.

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

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
