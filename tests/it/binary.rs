//! The real binary as a process: first-run output, restarts, SIGTERM, and logs free of secrets.

use std::time::Duration;

use crate::support::process::Served;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, api_get};

#[tokio::test]
async fn first_start_creates_a_private_master_key_and_prints_a_setup_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut served = Served::start(&data, &[]);
    let line = served.wait_for_line("/setup/");
    let url = served.url();
    let link = line.trim();
    assert!(link.starts_with(&format!("{url}/setup/")), "{link}");
    served.wait_for_line("Created the master key");
    let key = dir.path().join("data.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!data.join("data.key").exists(), "the key is kept apart from the data directory");

    let b = Browser::new(&url);
    let path = link.strip_prefix(&url).unwrap();
    assert_eq!(b.get(path).await.status, 200);
    let done = b.post_form(path, &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("confirm", ADMIN_PASSWORD)]).await;
    assert_eq!(done.status, 303);
    served.signal("TERM");
    assert_eq!(served.wait_exit(), Some(0));

    let key_before = std::fs::read(&key).unwrap();
    let mut again = Served::start(&data, &[]);
    let url = again.url();
    assert!(!again.all_output().contains("/setup/"), "no setup link once an admin exists");
    assert!(!again.all_output().contains("Created the master key"));
    assert_eq!(std::fs::read(&key).unwrap(), key_before, "the master key is kept");
    assert_eq!(Browser::new(&url).sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    assert_eq!(Browser::new(&url).get(path).await.status, 404);
    again.signal("TERM");
    assert_eq!(again.wait_exit(), Some(0));
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_closes_the_store_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut served = Served::start(&data, &[]);
    let url = served.url();
    served.wait_for_line("/setup/");
    // twelve sign-ins at once: those the password queue takes are in flight when TERM
    // arrives, the rest are refused at once (one address may queue only a few)
    let mut in_flight = Vec::new();
    for i in 0..12 {
        let url = url.clone();
        in_flight.push(tokio::spawn(async move {
            let b = Browser::new(&url);
            b.csrf_token().await;
            b.sign_in(&format!("user{i}@example.com"), "not a real password").await.status
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    served.signal("TERM");
    let mut answered = 0;
    for task in in_flight {
        match task.await.unwrap() {
            401 => answered += 1,
            status => assert_eq!(status, 429, "in-flight requests get their answer"),
        }
    }
    assert!(answered >= 2, "the queued sign-ins were answered, not dropped");
    assert_eq!(served.wait_exit(), Some(0));
    assert!(served.all_output().contains("store closed cleanly"), "{}", served.all_output());

    let mut again = Served::start(&data, &[]);
    again.url();
    assert!(!again.all_output().contains("not closed cleanly"), "{}", again.all_output());
    again.signal("TERM");
    assert_eq!(again.wait_exit(), Some(0));
}

#[tokio::test]
async fn logs_never_contain_passwords_sessions_tokens_or_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut served = Served::start(&data, &["--config", "/dev/null"]);
    let url = served.url();
    let setup = served.wait_for_line("/setup/");
    let path = setup.trim().strip_prefix(&url).unwrap().to_string();
    let b = Browser::new(&url);
    b.get(&path).await;
    b.post_form(&path, &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("confirm", ADMIN_PASSWORD)]).await;
    let wrong = Browser::new(&url);
    wrong.sign_in(ADMIN_EMAIL, "a wrong password typed").await;
    let signed = Browser::new(&url);
    let page = signed.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let session = page.set_cookies().into_iter().find(|c| c.starts_with("rv_session=")).unwrap();
    let session = session.split(';').next().unwrap().trim_start_matches("rv_session=").to_string();
    let token = signed.post_form("/account/tokens", &[("name", "logs"), ("expires", "30")]).await.text_of("#new-token");
    assert_eq!(api_get(&url, "/api/v1/me", Some(&token)).await.status, 200);
    let csrf = signed.csrf_token().await;
    served.signal("TERM");
    served.wait_exit();

    let key = std::fs::read_to_string(dir.path().join("data.key")).unwrap();
    let master = key.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap().to_string();
    let setup_secret = path.trim_start_matches("/setup/").to_string();
    // the setup link is printed once on purpose; everything after it must be clean
    let output = served.all_output();
    let after_setup: String = output.lines().filter(|l| !l.contains("/setup/")).collect::<Vec<_>>().join("\n");
    for (what, secret) in [
        ("password", ADMIN_PASSWORD),
        ("wrong password", "a wrong password typed"),
        ("session", session.as_str()),
        ("api token", token.as_str()),
        ("csrf token", csrf.as_str()),
        ("master key", master.as_str()),
        ("setup secret", setup_secret.as_str()),
    ] {
        assert!(!after_setup.contains(secret), "the {what} appears in the logs:\n{after_setup}");
    }
    assert!(output.contains("request"), "requests are logged: {output}");
}
