//! Abuse of sign-in: a flood of refused sign-ins with huge claimed emails (the store grows by a
//! small, bounded amount and the audit log keeps one summary row), a concurrent burst of wrong
//! passwords against one account (at most its limit checked), and a burst from one address
//! (it holds only a few places in the password-hashing queue; another person still signs in).

use futures_util::future::join_all;

use super::bystander::{BYSTANDER_EMAIL, BYSTANDER_PASSWORD, Bystander, within};
use crate::support::{ADMIN_EMAIL, Browser, Page, TestApp};

/// The address the abuser signs in from, as a trusted proxy on loopback reports it.
const ABUSER: &str = "203.0.113.7";

/// An app behind a local proxy, its admin, a bystander who uses it meanwhile, and the
/// abuser's browser with its CSRF token.
struct Scene {
    app: TestApp,
    admin: Browser,
    bystander: Bystander,
    abuser: Browser,
    token: String,
}

/// An app that believes `X-Forwarded-For` from loopback (as behind a local reverse proxy), so
/// the abuser and the bystander have different client addresses.
async fn behind_a_proxy(edit: impl FnOnce(&mut reelvault::config::Config)) -> Scene {
    let app = TestApp::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        edit(c);
    })
    .await;
    let admin = app.setup_admin().await;
    let bystander = Bystander::join(&app, &admin).await;
    let abuser = app.browser();
    let token = abuser.csrf_token().await;
    Scene { app, admin, bystander, abuser, token }
}

/// One sign-in attempt from `address`, with the browser's CSRF token (fetched beforehand).
async fn sign_in_from(browser: &Browser, token: &str, address: &str, email: &str, password: &str) -> Page {
    let fields = [("csrf_token", token), ("email", email), ("password", password)];
    let headers = [("origin", browser.base.as_str()), ("sec-fetch-site", "same-origin"), ("x-forwarded-for", address)];
    browser.post_raw("/login", &fields, &headers).await
}

/// A claimed email of about 60 KiB (just under the form limit), different for each `n`.
fn huge_email(n: usize) -> String {
    format!("{n}-{}@example.com", "x".repeat(60 * 1024))
}

fn store_size(app: &TestApp) -> u64 {
    std::fs::metadata(app.data_dir().join("reelvault.redb")).expect("the store file").len()
}

#[tokio::test]
async fn a_flood_of_huge_emails_while_throttled_grows_the_store_by_a_small_bounded_amount() {
    let Scene { app, admin, bystander, abuser, token } = behind_a_proxy(|c| c.limits.login_failures_per_address = 5).await;
    let before = store_size(&app);

    for n in 0..5 {
        let failed = sign_in_from(&abuser, &token, ABUSER, &huge_email(n), "not a password").await;
        assert_eq!(failed.status, 401, "attempt {n} is checked and fails");
    }
    const FLOOD: usize = 400;
    for n in 5..5 + FLOOD {
        let refused = sign_in_from(&abuser, &token, ABUSER, &huge_email(n), "not a password").await;
        assert_eq!(refused.status, 429, "attempt {n} is refused while the address is throttled");
    }
    let grown = store_size(&app).saturating_sub(before);
    // before, every refusal was a row holding the whole 60 KiB claim: 400 of them, 24 MiB
    assert!(grown <= 1024 * 1024, "the store grew by {grown} bytes during the flood");

    // the summary is brought up to date at most once a second; one more refusal after that
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(sign_in_from(&abuser, &token, ABUSER, &huge_email(0), "x").await.status, 429);
    let log = admin.get("/admin/audit?action=auth.sign_in_throttled").await;
    assert_eq!(log.count("tbody tr"), 1, "one summary row for the throttled address: {}", log.body);
    assert!(log.body.contains(&format!("sign-in refused {} times while throttled", FLOOD + 1)), "{}", log.body);
    assert!(log.body.contains(ABUSER));
    let failures = admin.get("/admin/audit?action=auth.sign_in_failed").await;
    assert_eq!(failures.count("tbody tr"), 5);
    assert!(!failures.body.contains(&"x".repeat(255)), "claimed emails are kept to 254 characters");
    assert!(failures.body.len() < 64 * 1024, "{} bytes", failures.body.len());

    bystander.still_served(&app, "a flood of huge-email sign-ins").await;
    app.stop().await;
}

#[tokio::test]
async fn a_concurrent_burst_of_wrong_passwords_gets_at_most_the_account_limit_checked() {
    const LIMIT: u32 = 5;
    let Scene { app, bystander, abuser, token, .. } = behind_a_proxy(|c| c.limits.login_failures_per_account = LIMIT).await;
    let before = app.running.state.passwords.verifications();

    // each attempt from its own address, so only the account's limit applies
    let addresses: Vec<String> = (0..40).map(|i| format!("198.51.100.{}", i + 1)).collect();
    let burst = addresses.iter().map(|a| sign_in_from(&abuser, &token, a, ADMIN_EMAIL, "not the password"));
    let answers = within("a burst of wrong passwords", "burst", join_all(burst)).await;

    let checked = answers.iter().filter(|p| p.status == 401).count();
    let refused = answers.iter().filter(|p| p.status == 429).count();
    assert_eq!(checked + refused, answers.len(), "{:?}", answers.iter().map(|p| p.status).collect::<Vec<_>>());
    assert!(checked <= LIMIT as usize, "{checked} wrong passwords were checked, over the limit of {LIMIT}");
    let hashed = app.running.state.passwords.verifications() - before;
    assert!(hashed <= u64::from(LIMIT), "{hashed} Argon2 verifications for a limit of {LIMIT}");

    bystander.still_served(&app, "a burst of wrong passwords against one account").await;
    app.stop().await;
}

#[tokio::test]
async fn a_burst_from_one_address_holds_only_a_few_hashing_places_and_another_person_signs_in() {
    let Scene { app, bystander, abuser, token, .. } = behind_a_proxy(|c| c.limits.login_failures_per_address = 10_000).await;
    let before = app.running.state.passwords.verifications();

    const BURST: usize = 120;
    let emails: Vec<String> = (0..BURST).map(|n| format!("guess{n}@example.com")).collect();
    let burst = join_all(emails.iter().map(|e| sign_in_from(&abuser, &token, ABUSER, e, "not a password")));
    let meanwhile = async {
        let fresh = app.browser();
        within("a burst from one address", "sign-in", fresh.sign_in(BYSTANDER_EMAIL, BYSTANDER_PASSWORD)).await
    };
    let (answers, bystander_sign_in) = tokio::join!(within("a burst from one address", "burst", burst), meanwhile);
    assert_eq!(bystander_sign_in.status, 303, "the bystander signs in during the burst: {}", bystander_sign_in.body);

    let busy: Vec<&Page> = answers.iter().filter(|p| p.status == 429).collect();
    assert!(answers.iter().all(|p| p.status == 401 || p.status == 429), "only wrong-password or busy answers");
    assert!(!busy.is_empty(), "a burst from one address is refused beyond its share of the queue");
    assert!(busy.iter().all(|p| p.header("retry-after").is_some()), "busy answers say when to retry");
    assert!(busy[0].text_of("#login-error").contains("Too many sign-ins from your address at once"), "{}", busy[0].body);
    let checked = answers.iter().filter(|p| p.status == 401).count() as u64;
    let hashed = app.running.state.passwords.verifications() - before;
    assert_eq!(hashed, checked + 1, "the refused ones cost no hash (the one more is the bystander's)");

    bystander.still_served(&app, "a burst of sign-ins from one address").await;
    app.stop().await;
}
