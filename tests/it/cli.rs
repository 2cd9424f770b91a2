//! Management commands, against a stopped instance (direct) and a running one (socket).

use crate::support::process::run;
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, api_get, test_config};

#[tokio::test]
async fn commands_work_on_a_stopped_instance_and_the_results_serve_after_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let (code, out, err) = run(
        &["user", "add", "--email", "Root@Example.com", "--role", "admin", "--password-stdin", "--data-dir", d],
        Some("a long password 1\n"),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created root@example.com (admin)"), "{out}");
    let (code, _, err) =
        run(&["user", "add", "--email", "m@example.com", "--password-stdin", "--data-dir", d], Some("member password 1")).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["user", "list", "--data-dir", d], None).await;
    assert_eq!(code, 0);
    assert!(out.contains("root@example.com") && out.contains("m@example.com") && out.contains("member"), "{out}");
    let (code, out, err) =
        run(&["token", "create", "--email", "m@example.com", "--name", "ci", "--expires", "30d", "--data-dir", d], None).await;
    assert_eq!(code, 0, "{err}");
    let token = out.lines().next().unwrap().trim().to_string();
    assert!(token.starts_with("rv_"), "{out}");
    let (code, _, _) = run(&["user", "set-role", "--email", "m@example.com", "--role", "admin", "--data-dir", d], None).await;
    assert_eq!(code, 0);

    let mut config = test_config(dir.path());
    config.data_dir = data.clone();
    let app = TestApp::start_with(|c| *c = config).await;
    assert!(app.running.setup_secret.is_none(), "an admin made on the command line completes setup");
    let me = api_get(&app.url, "/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["role"], "admin");
    assert_eq!(app.browser().sign_in("root@example.com", "a long password 1").await.status, 303);
    app.stop().await;
}

#[tokio::test]
async fn commands_reach_a_running_instance_through_its_admin_socket() {
    let (app, admin) = TestApp::with_admin().await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let socket = data.join("admin.sock");
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let meta = std::fs::metadata(&socket).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let (code, out, err) = run(
        &["user", "add", "--email", "sam@example.com", "--role", "member", "--name", "Sam", "--password-stdin", "--data-dir", d],
        Some("sam password 12"),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sam@example.com"));
    let sam = app.browser();
    assert_eq!(sam.sign_in("sam@example.com", "sam password 12").await.status, 303);

    let (code, out, _) = run(&["user", "list", "--data-dir", d], None).await;
    assert_eq!(code, 0);
    assert!(out.contains(ADMIN_EMAIL) && out.contains("sam@example.com"));

    let (code, _, _) = run(&["user", "disable", "--email", "sam@example.com", "--data-dir", d], None).await;
    assert_eq!(code, 0);
    assert_eq!(sam.get("/account").await.status, 303, "disabled on the command line: signed out at once");

    let (code, out, _) = run(&["token", "create", "--email", ADMIN_EMAIL, "--data-dir", d], None).await;
    assert_eq!(code, 0);
    let token = out.lines().next().unwrap().trim();
    assert_eq!(api_get(&app.url, "/api/v1/me", Some(token)).await.json()["email"], ADMIN_EMAIL);

    let (code, out, _) = run(&["user", "reset-password", "--email", "sam@example.com", "--data-dir", d], None).await;
    assert_eq!(code, 0);
    let link = out.lines().find(|l| l.contains("/reset/")).unwrap().trim().to_string();
    assert!(link.starts_with(&app.url), "{link}");

    let log = admin.get("/admin/audit?who=command").await;
    assert!(log.body.contains("command line"), "CLI actions are audited as the command line");
    app.stop().await;
}

#[tokio::test]
async fn command_errors_are_clear_and_exit_non_zero() {
    let (app, _admin) = TestApp::with_admin().await;
    let data = app.data_dir();
    let d = data.to_str().unwrap();
    let (code, _, err) = run(&["user", "add", "--email", "x@example.com", "--password-stdin", "--data-dir", d], Some("short")).await;
    assert_eq!(code, 1);
    assert!(err.contains("at least 10 characters"), "{err}");
    let (code, _, err) = run(&["user", "add", "--email", ADMIN_EMAIL, "--password-stdin", "--data-dir", d], Some(ADMIN_PASSWORD)).await;
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run(&["user", "disable", "--email", "ghost@example.com", "--data-dir", d], None).await;
    assert_eq!(code, 1);
    assert!(err.contains("user not found"), "{err}");
    let (code, _, err) = run(&["user", "set-role", "--email", ADMIN_EMAIL, "--role", "king", "--data-dir", d], None).await;
    assert_eq!(code, 1);
    assert!(err.contains("role must be"), "{err}");
    let (code, _, err) = run(&["token", "create", "--email", ADMIN_EMAIL, "--expires", "soonish", "--data-dir", d], None).await;
    assert_eq!(code, 1);
    assert!(err.contains("--expires"), "{err}");
    let (code, _, _) = run(&["user", "add", "--email", "y@example.com", "--data-dir", d], None).await;
    assert_eq!(code, 2, "--password-stdin is required: passwords never go on the command line");
    app.stop().await;
}

#[tokio::test]
async fn check_validates_and_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("kling.secret");
    std::fs::write(&secret, "top-secret-kling-key\n").unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:9999\"\n[retention]\noutputs = \"90d\"\n[[connection]]\nname = \"kling-main\"\nkind = \"kling\"\naccess_key = \"ak\"\nsecret_key_file = \"{}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let (code, out, err) = run(&["check", "--config", c], None).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("listen = \"127.0.0.1:9999\""), "{out}");
    assert!(out.contains("outputs = \"90d\""), "{out}");
    assert!(out.contains("[redacted]") && !out.contains("top-secret-kling-key"), "{out}");
    let (code, out, _) = run(&["check", "--config", c, "--data-dir", "/tmp/elsewhere"], None).await;
    assert_eq!(code, 0);
    assert!(out.contains("data_dir = \"/tmp/elsewhere\""), "flags override the file: {out}");

    std::fs::write(&config, "listen = \"127.0.0.1:1\"\nretension = {}\n").unwrap();
    let (code, _, err) = run(&["check", "--config", c], None).await;
    assert_eq!(code, 2);
    assert!(err.contains("retension"), "the unknown key is named: {err}");
    let (code, _, err) = run(&["check", "--config", "/nonexistent/reelvault.toml"], None).await;
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/reelvault.toml"), "{err}");
}
