//! Single sign-on against a real OpenID provider on loopback (oidc-provider under node):
//! invitations, just-in-time accounts, domains, unverified e-mails, replayed states, key
//! rotation, spoiled ID tokens, role claims, SSO only with a break-glass admin, and the
//! provider's sign-out. Skipped, with a note, where node or the package is missing.

use crate::support::oidc_provider::OidcProvider;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, Page, TestApp};

/// What a sign-in at the provider ended with: the callback's URL and its answer.
struct Signed {
    callback: String,
    page: Page,
}

/// Follows a sign-in from `/auth/oidc/corp` through the provider back to the callback.
async fn sso(browser: &Browser) -> Signed {
    let mut url = url::Url::parse(&format!("{}/auth/oidc/corp", browser.base)).expect("url");
    for _ in 0..10 {
        let page = Browser::read(browser.client.get(url.clone()).send().await.expect("GET")).await;
        if url.path() == "/auth/oidc/corp/callback" || !(300..400).contains(&page.status) {
            return Signed { callback: url.to_string(), page };
        }
        url = url.join(page.location().expect("a redirect has a Location")).expect("location");
    }
    panic!("the sign-in went round in circles");
}

/// An app with the provider as `corp`, edited by `edit`, registered with the provider.
async fn app_with(provider: &OidcProvider, edit: impl FnOnce(&mut reelvault::config::OidcConfig)) -> TestApp {
    let mut config = provider.config();
    edit(&mut config);
    let app = TestApp::start_with(move |c| c.oidc.push(config)).await;
    provider.register(&app.url).await;
    app
}

fn signed_in(signed: &Signed) -> bool {
    signed.page.status == 303 && signed.page.set_cookies().iter().any(|c| c.starts_with("rv_session=") && !c.starts_with("rv_session=;"))
}

async fn audit_text(admin: &Browser) -> String {
    admin.get("/admin/audit").await.body
}

#[tokio::test]
async fn an_invited_person_signs_in_and_signing_out_reaches_the_provider() {
    let Some(provider) = OidcProvider::start() else { return };
    let app = app_with(&provider, |_| {}).await;
    let admin = app.setup_admin().await;
    let login = app.browser().get("/login").await;
    assert!(login.text_of(".sso-button").contains("Corp ID"), "{}", login.body);
    let invited = admin.post_form("/admin/invitations", &[("email", "ivy@invited.test"), ("role", "member")]).await;
    assert_eq!(invited.status, 200, "{}", invited.body);

    provider.next_account("ivy-sub", "ivy@invited.test", true, &[]).await;
    let ivy = app.browser();
    let signed = sso(&ivy).await;
    assert!(signed_in(&signed), "{} {}", signed.page.status, signed.page.body);
    let account = ivy.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("ivy@invited.test"));
    assert!(audit_text(&admin).await.contains("single sign-on with corp"));
    let sso_page = admin.get("/admin/sso").await;
    assert_eq!(sso_page.count("[data-discovery=ok]"), 1, "{}", sso_page.body);
    assert_eq!(sso_page.text_of(".redirect-uri"), format!("{}/auth/oidc/corp/callback", app.url));
    assert_eq!(app.browser().get("/privacy").await.count("#privacy-sso"), 1, "the notice says what single sign-on keeps");

    // the invitation is used up: the identity is remembered and signs in again
    let again = app.browser();
    assert!(signed_in(&sso(&again).await));

    // the person's data export names the identity their account is linked to
    assert_eq!(ivy.post_form("/account/export", &[]).await.status, 303);
    let mut link = None;
    for _ in 0..300 {
        link = ivy.get("/account").await.attr_of("#export-download", "href");
        if link.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let link = link.expect("the export is ready");
    let zip = ivy.client.get(format!("{}{link}", app.url)).send().await.expect("export").bytes().await.expect("bytes");
    let profile: serde_json::Value = serde_json::from_slice(&crate::languages::zip_entry(&zip, "profile.json")).expect("profile.json");
    assert_eq!(profile["single_sign_on"][0]["subject"], "ivy-sub", "{profile}");
    assert_eq!(profile["single_sign_on"][0]["issuer"], provider.issuer.as_str(), "{profile}");

    // signing out ends the session here and goes on to the provider's end-session endpoint
    let out = ivy.post_form("/logout", &[]).await;
    assert_eq!(out.status, 303);
    let to = out.location().expect("location").to_string();
    assert!(to.starts_with(&format!("{}/session/end?", provider.issuer)), "{to}");
    assert!(to.contains("id_token_hint=") && to.contains("post_logout_redirect_uri="), "{to}");
    assert_eq!(ivy.get("/account").await.status, 303, "the local session is over");
    let end = Browser::read(ivy.client.get(&to).send().await.expect("end session")).await;
    assert_eq!(end.status, 200, "the provider accepts the hint and the redirect: {}", end.body);
    assert_eq!(provider.end_session_hits().await, 1);
}

#[tokio::test]
async fn allowed_domains_get_accounts_just_in_time_and_others_are_refused() {
    let Some(provider) = OidcProvider::start() else { return };
    let app = app_with(&provider, |c| c.allowed_domains = vec!["allowed.test".into()]).await;
    let admin = app.setup_admin().await;

    provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
    let jo = app.browser();
    assert!(signed_in(&sso(&jo).await));
    assert_eq!(jo.get("/admin/users").await.status, 403, "a member");

    provider.next_account("eve-sub", "eve@other.test", true, &[]).await;
    let eve = sso(&app.browser()).await;
    assert_eq!(eve.page.status, 403, "{}", eve.page.body);
    assert_eq!(eve.page.attr_of("#sso-error", "data-reason").as_deref(), Some("sso-error-not-invited"));
    assert!(eve.page.body.contains("href=\"/login\""), "a way back to sign in");

    provider.next_account("una-sub", "una@allowed.test", false, &[]).await;
    let una = sso(&app.browser()).await;
    assert_eq!(una.page.status, 403);
    assert_eq!(una.page.attr_of("#sso-error", "data-reason").as_deref(), Some("sso-error-unverified"));
    let audit = audit_text(&admin).await;
    assert!(audit.contains("eve@other.test") && audit.contains("una@allowed.test"), "refusals are audited");

    // a disabled account stays out
    let users = admin.get("/admin/users").await;
    let disable = users.row_action("jo@allowed.test", "form[action$='/status']");
    assert_eq!(admin.post_form(&disable, &[("disabled", "true")]).await.status, 303);
    provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
    let disabled = sso(&app.browser()).await;
    assert_eq!(disabled.page.status, 403);
    assert_eq!(disabled.page.attr_of("#sso-error", "data-reason").as_deref(), Some("sso-error-disabled"));
}

#[tokio::test]
async fn a_group_claim_sets_the_role_at_each_sign_in() {
    let Some(provider) = OidcProvider::start() else { return };
    let app = app_with(&provider, |c| {
        c.allowed_domains = vec!["allowed.test".into()];
        c.role_claim = Some("groups".into());
        c.admin_values = vec!["studio-admins".into()];
    })
    .await;
    let _admin = app.setup_admin().await;
    provider.next_account("boss-sub", "boss@allowed.test", true, &["staff", "studio-admins"]).await;
    let boss = app.browser();
    assert!(signed_in(&sso(&boss).await));
    assert_eq!(boss.get("/admin/users").await.status, 200, "promoted by the claim");

    provider.next_account("boss-sub", "boss@allowed.test", true, &["staff"]).await;
    let later = app.browser();
    assert!(signed_in(&sso(&later).await));
    assert_eq!(later.get("/admin/users").await.status, 403, "demoted when the claim no longer says so");
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    let Some(provider) = OidcProvider::start() else { return };
    let app = app_with(&provider, |c| c.allowed_domains = vec!["allowed.test".into()]).await;
    provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
    let jo = app.browser();
    let signed = sso(&jo).await;
    assert!(signed_in(&signed));
    let replay = Browser::read(jo.client.get(&signed.callback).send().await.expect("replay")).await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(replay.attr_of("#sso-error", "data-reason").as_deref(), Some("sso-error-state"));

    // a callback from another browser than the one that started the sign-in is refused too
    provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
    let started = app.browser();
    let first = Browser::read(started.client.get(format!("{}/auth/oidc/corp", app.url)).send().await.expect("start")).await;
    assert_eq!(first.status, 303);
    let stranger = app.browser();
    let state = url::Url::parse(first.location().expect("location"))
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.to_string())
        .expect("state");
    let foreign = stranger.get(&format!("/auth/oidc/corp/callback?state={state}&code=x")).await;
    assert_eq!(foreign.status, 400);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_again() {
    let Some(provider) = OidcProvider::start() else { return };
    let app = app_with(&provider, |c| c.allowed_domains = vec!["allowed.test".into()]).await;
    provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
    assert!(signed_in(&sso(&app.browser()).await), "signed with the first key");
    provider.rotate_key().await;
    provider.register(&app.url).await;
    provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
    let after = sso(&app.browser()).await;
    assert!(signed_in(&after), "signed with the new key: {} {}", after.page.status, after.page.body);
}

#[tokio::test]
async fn spoiled_id_tokens_are_refused() {
    let Some(provider) = OidcProvider::start() else { return };
    let app = app_with(&provider, |c| c.allowed_domains = vec!["allowed.test".into()]).await;
    for (mode, words) in [("aud", "audience"), ("exp", "expired"), ("sig", "signature")] {
        provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
        provider.tamper_next(mode).await;
        let signed = sso(&app.browser()).await;
        assert_eq!(signed.page.status, 401, "{mode}: {}", signed.page.body);
        assert_eq!(signed.page.attr_of("#sso-error", "data-reason").as_deref(), Some("sso-error-token"), "{mode}");
        assert!(signed.page.text_of("#sso-error-detail").contains(words), "{mode}: {}", signed.page.body);
    }
    provider.next_account("jo-sub", "jo@allowed.test", true, &[]).await;
    assert!(signed_in(&sso(&app.browser()).await), "an honest token still works");
}

#[tokio::test]
async fn sso_only_keeps_passwords_for_break_glass_admins() {
    let Some(provider) = OidcProvider::start() else { return };
    let config = provider.config();
    let app = TestApp::start_with(move |c| {
        c.oidc.push(config);
        c.auth.sso_only = true;
        c.auth.password_admins = vec![ADMIN_EMAIL.into()];
    })
    .await;
    provider.register(&app.url).await;
    let admin = app.setup_admin().await;
    let _member = app.invite_member(&admin, "mo@example.com", "another good password").await;
    let login = app.browser().get("/login").await;
    assert_eq!(login.count("details.password-sign-in #password-form"), 1, "the password form is folded away");
    let refused = app.browser().sign_in("mo@example.com", "another good password").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.text_of("#login-error").contains("single sign-on"));
    let glass = app.browser().sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(glass.status, 303, "the break-glass admin: {}", glass.body);
}

#[tokio::test]
async fn sso_failures_say_what_happened_and_never_500() {
    // a provider that is down (nothing listens on the port), no node needed
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let issuer = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let app = TestApp::start_with(move |c| {
        c.oidc.push(reelvault::config::OidcConfig {
            name: "corp".into(),
            issuer,
            client_id: "reelvault".into(),
            client_secret: reelvault::config::Secret::new("x"),
            scopes: vec!["openid".into()],
            label: "Corp ID".into(),
            allowed_domains: Vec::new(),
            role_claim: None,
            admin_values: Vec::new(),
            allow_private_network: true,
        })
    })
    .await;
    let b = app.browser();
    let down = b.get("/auth/oidc/corp").await;
    assert_eq!(down.status, 502, "{}", down.body);
    assert_eq!(down.attr_of("#sso-error", "data-reason").as_deref(), Some("sso-error-unavailable"));
    assert_eq!(b.get("/auth/oidc/nobody").await.status, 404);
    let no_state = b.get("/auth/oidc/corp/callback").await;
    assert_eq!(no_state.status, 400);
    let unknown = b.get("/auth/oidc/corp/callback?state=forged&code=abc").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("href=\"/login\""));
    let admin = app.setup_admin().await;
    let page = admin.get("/admin/sso").await;
    assert_eq!(page.status, 200);
    assert!(page.text_of(".redirect-uri").ends_with("/auth/oidc/corp/callback"), "{}", page.body);
    assert_eq!(page.count("[data-discovery=failed]"), 1);
}

#[tokio::test]
async fn a_denied_sign_in_comes_back_as_a_clear_refusal() {
    let Some(provider) = OidcProvider::start() else { return };
    let app = app_with(&provider, |_| {}).await;
    let b = app.browser();
    let first = Browser::read(b.client.get(format!("{}/auth/oidc/corp", app.url)).send().await.expect("start")).await;
    let location = url::Url::parse(first.location().expect("location")).expect("url");
    assert!(location.query_pairs().any(|(k, v)| k == "code_challenge_method" && v == "S256"));
    assert!(location.query_pairs().any(|(k, _)| k == "nonce"));
    let state = location.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.to_string()).expect("state");
    let denied = b.get(&format!("/auth/oidc/corp/callback?state={state}&error=access_denied")).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.attr_of("#sso-error", "data-reason").as_deref(), Some("sso-error-denied"));
}
