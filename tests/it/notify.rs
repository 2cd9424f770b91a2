//! E-mail and chat notifications against real receivers on 127.0.0.1: an SMTP server
//! (aiosmtpd, STARTTLS and AUTH required) and an HTTP receiver for chat webhooks.
//! Invitations and password resets by e-mail with working links, the long-job e-mail only
//! when asked for, retries then giving up on a server that is down, a chat post when a job
//! fails, an approval asked by e-mail and in the chat and its answer told to the requester in
//! their language, and a plain-text server off this machine refused at start.

use std::time::Duration;

use fake_upstream::{FakeUpstream, Reply};
use reelvault::config::{ChatEvent, ChatFormat, ChatWebhookConfig, Config, Overrides, SmtpSecurity};

use crate::support::smtp_server::SmtpServer;
use crate::support::{ADMIN_EMAIL, Browser, TestApp, admin_with_credits, api_post, eventually, generate, wait_terminal};

const MEMBER: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "member password 1";

fn with_smtp(smtp: &SmtpServer) -> impl FnOnce(&mut Config) + '_ {
    move |c: &mut Config| {
        c.smtp = Some(smtp.config());
        c.connection[0].delay = Duration::from_millis(200);
    }
}

/// The path of an absolute link to this app.
fn path_of<'a>(app: &TestApp, link: &'a str) -> &'a str {
    link.strip_prefix(app.url.as_str()).unwrap_or_else(|| panic!("{link} is not a link to {}", app.url))
}

#[tokio::test]
async fn an_invitation_is_emailed_with_a_link_that_creates_the_account() {
    let Some(smtp) = SmtpServer::start() else { return };
    let app = TestApp::start_with(with_smtp(&smtp)).await;
    let admin = app.setup_admin().await;
    let page = admin.post_form("/admin/invitations", &[("email", "New.Person@Example.com"), ("role", "member")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text_of(".emailed").contains("new.person@example.com"), "the admin is told where it went: {}", page.text_of(".emailed"));

    let mail = smtp.wait_for("new.person@example.com", 1).await.remove(0);
    assert!(mail.tls && mail.authenticated, "sent after STARTTLS and AUTH: {mail:?}");
    assert_eq!(mail.subject, "You are invited to the studio");
    let link = mail.link_to(&app.url).unwrap_or_else(|| panic!("no link in {}", mail.text));
    assert_eq!(link, page.text_of("#issued-link"), "the same link the admin sees");
    let path = path_of(&app, &link);
    let b = app.browser();
    assert_eq!(b.get(path).await.status, 200);
    let done = b.post_form(path, &[("name", "New Person"), ("password", MEMBER_PASSWORD), ("confirm", MEMBER_PASSWORD)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.browser().sign_in("new.person@example.com", MEMBER_PASSWORD).await.status, 303);

    // the API says where it went too
    let token = admin.post_form("/account/tokens", &[("name", "t"), ("expires", "30")]).await.text_of("#new-token");
    let created =
        api_post(&app.url, "/api/v1/admin/users", &token, serde_json::json!({"email": "api@example.com", "role": "member"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["emailed_to"], "api@example.com");
    smtp.wait_for("api@example.com", 1).await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_an_emailed_link_and_unknown_addresses_get_the_same_answer() {
    let Some(smtp) = SmtpServer::start() else { return };
    let app = TestApp::start_with(with_smtp(&smtp)).await;
    let admin = app.setup_admin().await;
    app.invite_member(&admin, MEMBER, MEMBER_PASSWORD).await;
    smtp.wait_for(MEMBER, 1).await;

    let visitor = app.browser();
    let login = visitor.get("/login").await;
    assert_eq!(login.attr_of("#forgot-link", "href").as_deref(), Some("/forgot-password"));
    assert_eq!(visitor.get("/forgot-password").await.status, 200);
    let known = visitor.post_form("/forgot-password", &[("email", MEMBER)]).await;
    let unknown = visitor.post_form("/forgot-password", &[("email", "nobody@example.com")]).await;
    assert_eq!((known.status, unknown.status), (200, 200));
    assert_eq!(known.text_of("#forgot-sent"), unknown.text_of("#forgot-sent"), "no hint whether the address has an account");

    let mails = smtp.wait_for(MEMBER, 2).await;
    let reset = mails.iter().find(|m| m.subject == "Set a new password").expect("a reset e-mail");
    let path = path_of(&app, &reset.link_to(&app.url).expect("a link")).to_string();
    assert!(path.starts_with("/reset/"), "{path}");
    let b = app.browser();
    let done = b.post_form(&path, &[("password", "a brand new password"), ("confirm", "a brand new password")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.browser().sign_in(MEMBER, "a brand new password").await.status, 303);
    assert!(smtp.messages().iter().all(|m| !m.to.contains(&"nobody@example.com".to_string())), "nothing goes to an unknown address");

    // the requests are limited per address
    let mut last = 200;
    for _ in 0..4 {
        last = visitor.post_form("/forgot-password", &[("email", "limited@example.com")]).await.status;
    }
    assert_eq!(last, 429, "a burst of requests for one address is refused");
}

/// Invites the member, gives them credits and returns their browser and API token.
async fn member_with_credits(app: &TestApp, admin: &Browser) -> (Browser, String) {
    let member = app.invite_member(admin, MEMBER, MEMBER_PASSWORD).await;
    let users = admin.get("/admin/users").await;
    let action = users.row_action(MEMBER, "form[action$='/credits']");
    assert_eq!(admin.post_form(&action, &[("amount", "10")]).await.status, 303);
    let token = member.post_form("/account/tokens", &[("name", "t"), ("expires", "30")]).await.text_of("#new-token");
    (member, token)
}

#[tokio::test]
async fn a_long_job_is_emailed_to_whoever_asked_and_to_nobody_else() {
    let Some(smtp) = SmtpServer::start() else { return };
    let app = TestApp::start_with(with_smtp(&smtp)).await;
    let (admin, admin_token) = admin_with_credits(&app, 10).await;
    let (_member, member_token) = member_with_credits(&app, &admin).await;
    let account = admin.get("/account").await;
    assert_eq!(account.count("#notify-long-job[checked]"), 0, "off by default");
    let saved = admin.post_form("/account/notifications", &[("long_job", "on"), ("minutes", "0")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(admin.get("/account").await.count("#notify-long-job[checked]"), 1);
    let refused = admin.post_form("/account/notifications", &[("long_job", "on"), ("minutes", "many")]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);

    // the member (setting off) and the admin (on, from 0 minutes) each run a job
    let theirs = generate(&app.url, &member_token, serde_json::json!({"model": "demo-image", "prompt": "a quiet lake"})).await.json();
    wait_terminal(&app.url, &member_token, theirs["id"].as_str().unwrap()).await;
    let mine = generate(&app.url, &admin_token, serde_json::json!({"model": "demo-image", "prompt": "a red kite"})).await.json();
    let id = mine["id"].as_str().unwrap();
    assert_eq!(wait_terminal(&app.url, &admin_token, id).await["state"], "succeeded");

    let mail = smtp.wait_for(ADMIN_EMAIL, 1).await.remove(0);
    assert_eq!(mail.subject, "Your job on Demo image is ready", "{mail:?}");
    assert!(mail.text.contains("> a red kite"), "{}", mail.text);
    assert!(mail.link_to(&app.url).is_some_and(|l| l.ends_with(id)), "{}", mail.text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let to_member: Vec<_> =
        smtp.messages().into_iter().filter(|m| m.to.contains(&MEMBER.to_string()) && m.subject.contains("job")).collect();
    assert!(to_member.is_empty(), "the member did not ask: {to_member:?}");
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_then_given_up_without_failing_the_request() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = TestApp::start_with(move |c| {
        c.smtp = Some(reelvault::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "studio@example.com".into(),
            ca_file: None,
            timeout: Duration::from_secs(2),
            retry_base: Duration::from_millis(50),
            max_attempts: 2,
        });
        c.metrics.allow = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let admin = app.setup_admin().await;
    let page = admin.post_form("/admin/invitations", &[("email", "x@example.com"), ("role", "member")]).await;
    assert_eq!(page.status, 200, "the invitation is made whatever the mail server does: {}", page.body);
    assert!(!page.text_of("#issued-link").is_empty(), "and its link is shown to pass on");
    let metrics = || async { reqwest::get(format!("{}/metrics", app.url)).await.unwrap().text().await.unwrap() };
    eventually("the e-mail is given up", async || {
        metrics().await.contains("reelvault_notifications_total{channel=\"email\",outcome=\"failed\"} 1")
    })
    .await;
    assert!(!metrics().await.contains("outcome=\"sent\""));
    let settings = admin.get("/admin/notifications").await;
    assert!(settings.text_of("#notify-email").contains(&format!("127.0.0.1:{port}")), "{}", settings.text_of("#notify-email"));
    assert_eq!(settings.count("#notify-waiting table"), 0, "nothing waits once it is given up");
}

#[tokio::test]
async fn a_failed_job_is_posted_to_the_team_chat_in_the_slack_format() {
    let chat = FakeUpstream::start(|_| Reply::status(200)).await;
    let refusing = FakeUpstream::start(|_| {
        Reply::json(401, serde_json::json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}))
    })
    .await;
    let (chat_url, refusing_url) = (chat.at("/hooks/team"), refusing.at("/v1"));
    let app = TestApp::start_with(move |c| {
        c.chat_webhook = vec![ChatWebhookConfig {
            name: "team".into(),
            url: chat_url,
            format: ChatFormat::Slack,
            events: vec![ChatEvent::JobFailed],
            allow_private_network: true,
        }];
        let mut videos = c.connection[0].clone();
        videos.name = "videos".into();
        videos.kind = "openai_videos".into();
        videos.base_url = Some(refusing_url);
        videos.api_key = Some(reelvault::config::Secret::new("sk-wrong"));
        videos.allow_private_network = true;
        videos.max_retries = 0;
        c.connection.push(videos);
    })
    .await;
    let (admin, token) = admin_with_credits(&app, 100).await;
    let settings = admin.get("/admin/notifications").await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    assert_eq!(settings.count("tr[data-chat='team']"), 1, "the admins see the chat webhook");
    assert!(!settings.body.contains("/hooks/team"), "but not its URL's path, which often holds a token");
    let ok = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "fine"})).await.json();
    wait_terminal(&app.url, &token, ok["id"].as_str().unwrap()).await;
    let failed = generate(&app.url, &token, serde_json::json!({"model": "sora-2", "prompt": "refused", "params": {"duration": 4}})).await;
    assert_eq!(failed.status, 201, "{}", failed.body);
    let id = failed.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_terminal(&app.url, &token, &id).await["state"], "failed");

    assert!(chat.wait_until(Duration::from_secs(20), |r| !r.is_empty()).await, "the chat webhook was called");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posts = chat.requests();
    assert_eq!(posts.len(), 1, "only the failure is posted");
    assert_eq!(posts[0].route(), "POST /hooks/team");
    let body = posts[0].json();
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["text"], "{body}");
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("failed") && text.ends_with(&id), "{text}");
}

#[test]
fn plain_smtp_to_another_machine_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "[smtp]\nhost = \"mail.example.com\"\nsecurity = \"none\"\nfrom = \"studio@example.com\"\n").unwrap();
    let overrides = Overrides { config: Some(file), listen: None, data_dir: Some(dir.path().join("data")) };
    let err = Config::load_from(&overrides, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("smtp.security = \"none\""), "{err}");
}

#[tokio::test]
async fn an_approval_is_asked_by_email_and_in_the_team_chat_and_the_answer_reaches_the_requester_in_their_language() {
    let Some(smtp) = SmtpServer::start() else { return };
    let chat = FakeUpstream::start(|_| Reply::status(200)).await;
    let chat_url = chat.at("/hooks/approvals");
    let app = TestApp::start_with(|c| {
        with_smtp(&smtp)(c);
        c.chat_webhook = vec![ChatWebhookConfig {
            name: "approvals".into(),
            url: chat_url,
            format: ChatFormat::Json,
            events: vec![ChatEvent::ApprovalAsked, ChatEvent::ApprovalAnswered],
            allow_private_network: true,
        }];
    })
    .await;
    let (admin, admin_token) = admin_with_credits(&app, 10).await;
    let (member, member_token) = member_with_credits(&app, &admin).await;
    assert_eq!(member.post_form("/account/language", &[("language", "ja"), ("time_zone", "Asia/Tokyo")]).await.status, 303);
    let members_need_approval = crate::allowances::spending_with(|s| s["approval_above"]["member"] = serde_json::json!(0));
    assert_eq!(crate::allowances::put_spending(&app, &admin_token, members_need_approval).await.status, 200);

    // a member's job above the threshold waits: the admins are asked by e-mail, the team in its chat
    let job = generate(&app.url, &member_token, serde_json::json!({"model": "demo-image", "prompt": "a paper crane"})).await.json();
    assert_eq!(job["state"], "awaiting_approval", "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let asked = smtp.wait_for(ADMIN_EMAIL, 1).await.into_iter().find(|m| m.subject.contains("approval")).expect("the approver is asked");
    assert!(asked.subject.contains("Member asks for your approval: Demo image, 1 credits"), "{}", asked.subject);
    assert!(asked.text.contains("> a paper crane") && asked.link_to(&app.url).is_some_and(|l| l.ends_with(&id)), "{}", asked.text);
    assert!(chat.wait_until(Duration::from_secs(20), |r| !r.is_empty()).await, "the team's chat is asked too");
    let post = chat.requests()[0].json();
    assert_eq!((post["event"].as_str(), post["generation"].as_str()), (Some("approval_asked"), Some(id.as_str())), "{post}");

    // the admin declines with a note: the requester reads it in Japanese, and the chat hears the answer
    let declined =
        api_post(&app.url, &format!("/api/v1/approvals/{id}/decline"), &admin_token, serde_json::json!({"note": "too dear"})).await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    let answered = smtp.wait_for(MEMBER, 2).await.into_iter().find(|m| m.text.contains("too dear")).expect("the requester is told");
    assert!(answered.text.contains("承認されませんでした"), "in the member's language: {}", answered.text);
    assert!(answered.text.contains("承認者のメモ：too dear"), "{}", answered.text);
    assert!(chat.wait_until(Duration::from_secs(20), |r| r.len() >= 2).await, "the answer is posted");
    assert_eq!(chat.requests()[1].json()["event"], "approval_answered");
    assert_eq!(wait_terminal(&app.url, &member_token, &id).await["state"], "failed", "declined: its hold is released");
}
