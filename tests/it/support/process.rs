//! Runs the real `reelvault` binary as a process: its output, its signals, its exit.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_reelvault");

/// A `reelvault serve` child with its combined output collected line by line.
pub struct Served {
    pub child: Child,
    pub output: Arc<Mutex<Vec<String>>>,
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            into.lock().expect("lock").push(line);
        }
    });
}

impl Served {
    /// Starts `reelvault serve --data-dir DIR --listen 127.0.0.1:0` plus `args`.
    pub fn start(data_dir: &Path, args: &[&str]) -> Served {
        Self::start_with_env(data_dir, args, &[])
    }

    /// [`Self::start`] with extra environment variables.
    pub fn start_with_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
        let mut command = Command::new(BIN);
        // never talk to a service manager the test run itself may be under
        command.env_remove("NOTIFY_SOCKET").env_remove("WATCHDOG_USEC").env_remove("WATCHDOG_PID").envs(env.iter().copied());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env_remove("RUST_LOG")
            .env("REELVAULT_WORKERS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn reelvault");
        let output = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take().expect("stdout"), output.clone());
        collect(child.stderr.take().expect("stderr"), output.clone());
        Served { child, output }
    }

    /// Waits (at most 30 s) for an output line containing `needle`.
    pub fn wait_for_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(line) = self.output.lock().expect("lock").iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no line with {needle:?} in:\n{}", self.all_output());
    }

    pub fn all_output(&self) -> String {
        self.output.lock().expect("lock").join("\n")
    }

    /// The base URL, read from the "reelvault is serving" line.
    pub fn url(&self) -> String {
        let line = self.wait_for_line("reelvault is serving");
        let addr = line.split("address=").nth(1).and_then(|s| s.split_whitespace().next()).expect("address in the serving line");
        format!("http://{addr}")
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args(["-s", name, &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    /// Waits (at most 30 s) for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                std::thread::sleep(Duration::from_millis(50)); // let the output threads drain
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("reelvault did not exit; output:\n{}", self.all_output());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a management command to completion: (exit code, stdout, stderr). Async, so an
/// in-process app on the same runtime keeps answering its admin socket meanwhile.
pub async fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn reelvault");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).await.expect("write stdin");
        drop(pipe);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.expect("command finished").expect("wait");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Adds an admin through the command line, grants them `credits` and returns a new API token
/// of theirs; `place` are the arguments every command gets (`--data-dir D`, `--config C`).
pub async fn cli_admin_token(email: &str, password: &str, credits: i64, place: &[&str]) -> String {
    let amount = credits.to_string();
    let (code, _, err) =
        run(&[&["user", "add", "--email", email, "--role", "admin", "--password-stdin"], place].concat(), Some(password)).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[&["credits", "grant", "--email", email, "--amount", &amount], place].concat(), None).await;
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&[&["token", "create", "--email", email], place].concat(), None).await;
    out.lines().next().expect("a token").trim().to_string()
}
