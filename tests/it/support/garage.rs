//! A real single-node Garage (S3-compatible object store) for tests: written config in a temp
//! dir, free loopback ports, a layout, a bucket and a read/write key; killed on drop. Tests
//! skip (with a printed reason) when no Garage binary is found.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::s3_client::S3Client;

/// The Garage release the tests and `.ci/run` use.
pub const GARAGE_VERSION: &str = "2.5.0";
/// How long a node may take to answer after it is started.
const START_WITHIN: Duration = Duration::from_secs(30);

/// A running Garage node with one bucket and one key allowed to read and write it.
pub struct Garage {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    s3: S3Client,
    binary: PathBuf,
    config: PathBuf,
    s3_port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// The Garage binary: `REELVAULT_TEST_GARAGE`, else `target/garage/bin/garage` in the
/// repository, else `garage` on PATH.
pub fn garage_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REELVAULT_TEST_GARAGE") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let cached = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/garage/bin/garage");
    if cached.is_file() {
        return Some(cached);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|dir| dir.join("garage")).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind loopback").local_addr().expect("address").port()
}

/// `len` lowercase hex characters, different each call.
fn random_hex(len: usize) -> String {
    let mut out = String::new();
    let mut counter = 0u64;
    while out.len() < len {
        let seed = format!("{:?}{}{counter}", Instant::now(), std::process::id());
        out.push_str(&hex::encode(Sha256::digest(format!("{seed}{:?}", std::time::SystemTime::now()).as_bytes())));
        counter += 1;
    }
    out.truncate(len);
    out
}

impl Garage {
    /// Starts a node, or returns None (printing why) when no Garage binary is found.
    pub fn start() -> Option<Garage> {
        let Some(binary) = garage_binary() else {
            eprintln!(
                "skipped: no Garage binary (set REELVAULT_TEST_GARAGE, or run `cargo install garage --version {GARAGE_VERSION} --locked --root target/garage`, as .ci/run does)"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let (rpc_port, s3_port, admin_port) = (free_port(), free_port(), free_port());
        let config = dir.path().join("garage.toml");
        let toml = format!(
            "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\nrpc_public_addr = \"127.0.0.1:{rpc_port}\"\nrpc_secret = \"{secret}\"\n\n\
             [s3_api]\ns3_region = \"garage\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\nroot_domain = \".s3.garage\"\n\n\
             [admin]\napi_bind_addr = \"127.0.0.1:{admin_port}\"\nadmin_token = \"{token}\"\n",
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
            secret = random_hex(64),
            token = random_hex(32),
        );
        std::fs::write(&config, toml).expect("write garage config");
        let endpoint = format!("http://127.0.0.1:{s3_port}");
        let s3 = S3Client::new(&endpoint, "garage", "reelvault", "", "");
        let mut garage = Garage {
            endpoint,
            region: "garage".into(),
            bucket: "reelvault".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            s3,
            binary,
            config,
            s3_port,
            child: None,
            dir,
        };
        garage.spawn();
        garage.set_up();
        Some(garage)
    }

    /// The node's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("garage.log")).unwrap_or_default()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("garage.log")).expect("garage log");
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn garage");
        self.child = Some(child);
        self.wait_answering();
    }

    /// Waits (bounded) until the node answers its CLI and accepts S3 connections.
    fn wait_answering(&self) {
        let deadline = Instant::now() + START_WITHIN;
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.s3_port)).is_ok() && self.cli(&["status"]).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Garage did not answer within {START_WITHIN:?}; log:\n{}", self.log());
    }

    /// Runs `garage -c CONFIG args…`: its stdout, or its output as the error.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "garage=warn")
            .output()
            .map_err(|e| format!("garage {args:?}: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!("garage {args:?}: {}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// [`Self::cli`], retried (bounded) while the new node settles; panics with the log.
    fn cli_retried(&self, args: &[&str]) -> String {
        let mut last = String::new();
        for _ in 0..50 {
            match self.cli(args) {
                Ok(out) => return out,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{last}\nGarage log:\n{}", self.log())
    }

    /// Layout (one zone, 1 GB), bucket, key with read and write on it.
    fn set_up(&mut self) {
        let node = self.cli_retried(&["node", "id", "-q"]);
        let node_id = node.trim().split('@').next().unwrap_or_default().to_string();
        self.cli_retried(&["layout", "assign", "-z", "dc1", "-c", "1G", &node_id]);
        self.cli_retried(&["layout", "apply", "--version", "1"]);
        self.cli_retried(&["bucket", "create", &self.bucket.clone()]);
        let (key_id, secret) = (format!("GK{}", random_hex(24)), random_hex(64));
        if self.cli(&["key", "import", "--yes", "-n", "reelvault", &key_id, &secret]).is_ok() {
            self.access_key_id = key_id;
            self.secret_access_key = secret;
        } else {
            let created = self.cli_retried(&["key", "create", "reelvault"]);
            let words: Vec<&str> = created.split(|c: char| !c.is_ascii_alphanumeric()).collect();
            self.access_key_id = words.iter().find(|w| w.len() == 26 && w.starts_with("GK")).expect("a key id in `key create`").to_string();
            self.secret_access_key = words
                .iter()
                .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
                .expect("a secret in `key create`")
                .to_string();
        }
        self.cli_retried(&["bucket", "allow", "--read", "--write", "--owner", &self.bucket.clone(), "--key", "reelvault"]);
        self.s3 = S3Client::new(&self.endpoint, &self.region, &self.bucket, &self.access_key_id, &self.secret_access_key);
    }

    /// A client for the bucket, as this node's key.
    pub fn s3(&self) -> &S3Client {
        &self.s3
    }

    /// The `[media]` section of a reelvault config that stores media in this bucket under
    /// `prefix` (e.g. "media/" or "").
    pub fn media_toml(&self, prefix: &str) -> String {
        format!(
            "[media]\nbackend = \"s3\"\nendpoint = \"{}\"\nregion = \"{}\"\nbucket = \"{}\"\nprefix = \"{prefix}\"\n\
             access_key_id = \"{}\"\nsecret_access_key = \"{}\"\npath_style = true\nallow_private_network = true\n",
            self.endpoint, self.region, self.bucket, self.access_key_id, self.secret_access_key
        )
    }

    /// The `[media]` settings of [`Self::media_toml`] as a config value (for an app started
    /// in this process).
    pub fn media_config(&self, prefix: &str) -> reelvault::config::MediaBackendConfig {
        reelvault::config::MediaBackendConfig::S3(reelvault::config::S3Config {
            endpoint: self.endpoint.parse().expect("endpoint URL"),
            region: self.region.clone(),
            bucket: self.bucket.clone(),
            prefix: prefix.to_string(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: reelvault::config::Secret::new(self.secret_access_key.clone()),
            path_style: true,
            allow_private_network: true,
            cache: reelvault::config::DEFAULT_MEDIA_CACHE,
        })
    }

    /// The object key of asset `id` under `prefix`, as the S3 backend names it.
    pub fn key_of(prefix: &str, id: &str) -> String {
        format!("{prefix}{}/{id}.age", id[id.len() - 2..].to_ascii_lowercase())
    }

    /// Writes a reelvault config file in `dir` holding [`Self::media_toml`] plus `extra`
    /// (other sections); returns its path.
    pub fn write_config(&self, dir: &Path, prefix: &str, extra: &str) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, format!("{extra}\n{}", self.media_toml(prefix))).expect("write reelvault config");
        path
    }

    /// Object keys under `prefix`.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        self.s3.list_keys(prefix).await
    }

    /// The bytes of object `key`, None when absent.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.s3.get(key).await
    }

    /// Multipart uploads in progress under `prefix`: (key, upload id).
    pub async fn multipart_uploads(&self, prefix: &str) -> Vec<(String, String)> {
        self.s3.multipart_uploads(prefix).await
    }

    /// Kills the node (the store becomes unreachable); its data stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped node again on the same ports and data, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}
