//! A real SMTP server on loopback: `tests/smtp/server.py` (Python's aiosmtpd, installed by
//! `.ci/run` under `target/aiosmtpd`) with STARTTLS required, a certificate from a private CA made
//! here with the openssl tool, and AUTH required. Received messages are read back as files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use reelvault::config::{Secret, SmtpConfig, SmtpSecurity};

pub const SMTP_USER: &str = "studio";
pub const SMTP_PASSWORD: &str = "smtp secret 42";

/// The running server; stopped when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// One message the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub subject: String,
    /// The text/plain part, decoded.
    pub text: String,
    /// Whether it came over TLS after AUTH.
    pub tls: bool,
    pub authenticated: bool,
}

impl Received {
    /// The first line of the text that is a link to `base`.
    pub fn link_to(&self, base: &str) -> Option<String> {
        self.text.lines().map(str::trim).find(|l| l.starts_with(base)).map(str::to_string)
    }
}

fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/aiosmtpd/bin/python")
}

impl SmtpServer {
    /// Starts the server, or `None` (saying why) when python with aiosmtpd or openssl is missing.
    pub fn start() -> Option<SmtpServer> {
        let ready = Command::new(python()).args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !ready {
            eprintln!("SKIPPED: aiosmtpd is not installed under target/aiosmtpd (.ci/run installs it)");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        if !make_certificates(dir.path()) {
            eprintln!("SKIPPED: the openssl tool could not make the test certificates");
            return None;
        }
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).expect("inbox");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let mut child = Command::new(python())
            .arg(script)
            .args([&cert, &key, &inbox])
            .args([SMTP_USER, SMTP_PASSWORD])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python starts");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("server stdout"));
        stdout.read_line(&mut line).expect("server output");
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"));
        Some(SmtpServer { child, port, dir })
    }

    /// The `[smtp]` settings for this server: STARTTLS to localhost, trusting its certificate
    /// through `ca_file`, signing in, quick retries.
    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "localhost".into(),
            port: self.port,
            security: SmtpSecurity::Starttls,
            username: Some(SMTP_USER.into()),
            password: Some(Secret::new(SMTP_PASSWORD)),
            from: "Studio <studio@example.com>".into(),
            ca_file: Some(self.dir.path().join("ca.pem")),
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_millis(100),
            max_attempts: 3,
        }
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        let inbox = self.dir.path().join("inbox");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&inbox)
            .expect("inbox")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names.iter().map(|meta| read_message(meta)).collect()
    }

    /// The messages sent to `address`, waiting (at most 30 s) until there are at least `count`.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Received> {
        for _ in 0..300 {
            let found: Vec<Received> = self.messages().into_iter().filter(|m| m.to.iter().any(|t| t == address)).collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{count} e-mail(s) to {address} did not arrive within 30 s; received: {:?}", self.messages());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private CA (`ca.pem`) and the server's certificate for localhost signed by it
/// (`cert.pem`, `key.pem`), made with the openssl tool in `dir`.
fn make_certificates(dir: &Path) -> bool {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let extensions = dir.join("server.ext");
    std::fs::write(&extensions, "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        .expect("extensions file");
    let steps: [Vec<&str>; 3] = [
        [&["req", "-x509"][..], &ec, &["-days", "1", "-subj", "/CN=reelvault test CA", "-keyout", "ca.key", "-out", "ca.pem"]].concat(),
        [&["req"][..], &ec, &["-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "server.csr"]].concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "cert.pem",
        ],
    ];
    steps.iter().all(|args| {
        Command::new("openssl").args(args).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    })
}

fn read_message(meta_path: &Path) -> Received {
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(meta_path).expect("meta")).expect("meta json");
    let raw = String::from_utf8_lossy(&std::fs::read(meta_path.with_extension("eml")).expect("message")).replace("\r\n", "\n");
    let subject = header(&raw, "subject").unwrap_or_default();
    Received {
        to: meta["rcpt_tos"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect(),
        subject,
        text: plain_part(&raw),
        tls: meta["tls"].as_bool().unwrap_or(false),
        authenticated: meta["auth"].as_bool().unwrap_or(false),
    }
}

/// A header's value (unfolded) from the message's top headers.
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\n\n").next().unwrap_or("");
    let mut value: Option<String> = None;
    for line in head.lines() {
        if let Some(v) = value.as_mut()
            && line.starts_with([' ', '\t'])
        {
            v.push_str(line.trim_start());
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

/// The decoded text/plain part of a multipart or single-part message.
fn plain_part(raw: &str) -> String {
    for part in raw.split("\n--") {
        let Some((head, body)) = part.split_once("\n\n") else { continue };
        let head = head.to_ascii_lowercase();
        if !head.contains("content-type: text/plain") {
            continue;
        }
        let body = body.split("\n--").next().unwrap_or("");
        return if head.contains("content-transfer-encoding: base64") {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).expect("base64 body")).expect("utf-8 body")
        } else if head.contains("content-transfer-encoding: quoted-printable") {
            quoted_printable(body)
        } else {
            body.to_string()
        };
    }
    panic!("no text/plain part in:\n{raw}");
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
