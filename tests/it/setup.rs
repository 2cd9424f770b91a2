//! First run: the setup link creates the admin once; restarts keep everything.

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

#[tokio::test]
async fn setup_link_creates_the_admin_once_and_data_survives_a_restart() {
    let app = TestApp::start().await;
    let setup = app.setup_path();
    let visitor = app.browser();
    let form = visitor.get(&setup).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Create the first admin account"));

    let admin = app.setup_admin().await;
    let (_, home) = admin.visit("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Ada Admin"), "signed in after setup");

    let again = app.browser().get(&setup).await;
    assert_eq!(again.status, 404, "the setup link stops working once used");
    assert!(again.body.contains("invalid, expired or already used"));

    let app = app.restart().await;
    assert!(app.running.setup_secret.is_none(), "no new setup link once an admin exists");
    let b = app.browser();
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    let (_, account) = b.visit("/account").await;
    assert!(account.body.contains(ADMIN_EMAIL));
    assert_eq!(app.browser().get(&setup).await.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_setup_secret_is_refused_and_the_form_validates() {
    let app = TestApp::start().await;
    let b = app.browser();
    assert_eq!(b.get("/setup/not-the-secret").await.status, 404);
    let forged = b
        .post_form(
            "/setup/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &[("email", "x@example.com"), ("password", "long enough pw"), ("confirm", "long enough pw")],
        )
        .await;
    assert_eq!(forged.status, 404);

    let setup = app.setup_path();
    let short = b.post_form(&setup, &[("email", ADMIN_EMAIL), ("password", "short"), ("confirm", "short")]).await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("at least 10 characters"));
    let bad_email = b.post_form(&setup, &[("email", "nope"), ("password", ADMIN_PASSWORD), ("confirm", ADMIN_PASSWORD)]).await;
    assert_eq!(bad_email.status, 422);
    let differ = b.post_form(&setup, &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("confirm", "something else!")]).await;
    assert_eq!(differ.status, 422);
    assert!(differ.body.contains("differ"));
    // none of the refusals used the link up
    assert_eq!(b.get(&setup).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::start().await;
    let b = app.browser();
    let health = b.get("/healthz").await;
    assert_eq!(health.status, 200);
    let ready = b.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
    app.stop().await;
}
