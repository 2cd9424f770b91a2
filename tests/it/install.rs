//! `packaging/install.sh` in a throwaway root (`--root`): the files, modes, owners, account
//! and config a real install makes; an upgrade that keeps everything; uninstall and purge.
//! Then the installed binary serves with the master key handed over as a systemd credential.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use crate::support::process::{BIN, Served};
use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, api_get};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/install.sh");
const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/reelvault.service");

fn install(root: &Path, args: &[&str]) -> String {
    let out: Output = Command::new("bash")
        .arg(SCRIPT)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run install.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "install.sh {args:?} failed:\n{text}");
    text
}

/// (mode & 0o7777, uid, gid)
fn stat(path: &Path) -> (u32, u32, u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.permissions().mode() & 0o7777, m.uid(), m.gid())
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

#[tokio::test]
async fn install_sh_sets_up_a_root_upgrades_in_place_and_uninstalls() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let out = install(&root, &["--binary", BIN, "--public-url", "https://studio.example.com/"]);
    assert!(out.contains("https://studio.example.com/setup/"), "the setup link is printed:\n{out}");
    assert!(out.contains("keep a copy apart from your backups"), "{out}");

    // the account, from packaging/sysusers.conf
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let entry = passwd.lines().find(|l| l.starts_with("reelvault:")).unwrap_or_else(|| panic!("no account in {passwd}"));
    let fields: Vec<&str> = entry.split(':').collect();
    assert_eq!((fields[5], fields[6]), ("/var/lib/reelvault", "/usr/sbin/nologin"), "{entry}");
    let (uid, gid): (u32, u32) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
    assert!(uid > 0 && uid < 1000, "a system account: {entry}");
    assert!(std::fs::read_to_string(root.join("etc/group")).unwrap().lines().any(|l| l.starts_with(&format!("reelvault:x:{gid}:"))));

    // files, modes and owners
    let owners = is_root();
    let expect = |path: &str, mode: u32, owner: (u32, u32)| {
        let (m, u, g) = stat(&root.join(path));
        assert_eq!(m, mode, "{path}: mode {m:o}");
        if owners {
            assert_eq!((u, g), owner, "{path}: owner");
        }
    };
    expect("usr/bin/reelvault", 0o755, (0, 0));
    expect("usr/lib/systemd/system/reelvault.service", 0o644, (0, 0));
    expect("usr/lib/sysusers.d/reelvault.conf", 0o644, (0, 0));
    expect("etc/reelvault", 0o750, (0, gid));
    expect("etc/reelvault/config.toml", 0o640, (0, gid));
    expect("etc/reelvault/master.key", 0o600, (0, 0));
    expect("var/lib/reelvault", 0o700, (uid, gid));
    expect("var/backups/reelvault", 0o700, (uid, gid));
    if owners {
        assert_eq!(stat(&root.join("var/lib/reelvault/reelvault.redb")).1, uid, "the store belongs to the service");
    }
    assert_eq!(std::fs::read(root.join("usr/bin/reelvault")).unwrap(), std::fs::read(BIN).unwrap());
    assert_eq!(
        std::fs::read_to_string(root.join("usr/lib/systemd/system/reelvault.service")).unwrap(),
        std::fs::read_to_string(UNIT).unwrap()
    );
    let key = std::fs::read_to_string(root.join("etc/reelvault/master.key")).unwrap();
    assert!(key.lines().any(|l| l.starts_with("AGE-SECRET-KEY-1")), "an age identity");

    // the config: documented defaults plus what the admin said
    let config_path = root.join("etc/reelvault/config.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    assert!(config.contains("\npublic_url = \"https://studio.example.com\"\n"), "{config}");
    assert!(config.contains("\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n"), "behind a local TLS proxy: {config}");
    assert!(config.contains("data_dir = \"/var/lib/reelvault\"") && config.contains("listen = \"127.0.0.1:8080\""), "{config}");
    let checked = Command::new(BIN).args(["check", "--config"]).arg(&config_path).args(["--data-dir", "/nonexistent"]).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    let effective = String::from_utf8_lossy(&checked.stdout);
    assert!(effective.contains("master_key_file = \"/etc/reelvault/master.key\""), "{effective}");

    // the installed binary, as the unit runs it: the key arrives as a credential
    let data = root.join("var/lib/reelvault");
    let d = data.to_str().unwrap();
    let c = config_path.to_str().unwrap();
    let key_file = root.join("etc/reelvault/master.key");
    let added = Command::new(root.join("usr/bin/reelvault"))
        .args(["user", "add", "--email", ADMIN_EMAIL, "--role", "admin", "--password-stdin", "--config", c, "--data-dir", d])
        .env("REELVAULT_MASTER_KEY_FILE", &key_file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(ADMIN_PASSWORD.as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(added.success());
    let credentials = dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::copy(&key_file, credentials.join("master-key")).unwrap();
    let mut served = Served::start_with_env(&data, &["--config", c], &[("CREDENTIALS_DIRECTORY", credentials.to_str().unwrap())]);
    let url = served.url();
    assert_eq!(api_get(&url, "/readyz", None).await.status, 200);
    assert_eq!(Browser::new(&url).sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    served.signal("TERM");
    assert_eq!(served.wait_exit(), Some(0));
    assert!(!served.all_output().contains("Created the master key"), "the credential was used: {}", served.all_output());

    // running it again upgrades in place: config, key and data are kept
    let before: Vec<Vec<u8>> =
        ["etc/reelvault/config.toml", "etc/reelvault/master.key"].iter().map(|p| std::fs::read(root.join(p)).unwrap()).collect();
    let out = install(&root, &["--binary", BIN]);
    assert!(out.contains("kept") && !out.contains("created the master key"), "{out}");
    let after: Vec<Vec<u8>> =
        ["etc/reelvault/config.toml", "etc/reelvault/master.key"].iter().map(|p| std::fs::read(root.join(p)).unwrap()).collect();
    assert_eq!(before, after);
    let listed = Command::new(BIN)
        .args(["user", "list", "--config", c, "--data-dir", d])
        .env("REELVAULT_MASTER_KEY_FILE", &key_file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains(ADMIN_EMAIL), "the data is kept");

    // uninstall keeps data, config and key; purge removes them but not the backups
    let out = install(&root, &["--uninstall"]);
    assert!(out.contains("kept the data"), "{out}");
    assert!(!root.join("usr/bin/reelvault").exists() && !root.join("usr/lib/systemd/system/reelvault.service").exists());
    assert!(data.join("reelvault.redb").exists() && key_file.exists() && config_path.exists());
    install(&root, &["--uninstall", "--purge"]);
    assert!(!data.exists() && !root.join("etc/reelvault").exists());
    assert!(root.join("var/backups/reelvault").exists());
}

#[test]
fn install_sh_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| Command::new("bash").arg(SCRIPT).arg("--root").arg(dir.path()).args(args).output().unwrap();
    let out = run(&["--purge"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--purge goes with --uninstall"));
    let out = run(&["--binary", BIN, "--public-url", "studio.example.com"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with http"));
}
