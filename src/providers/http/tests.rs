//! Tests of the outbound client against raw HTTP servers on 127.0.0.1:0.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// A loopback server that answers every connection with `respond(n)` (n = connection count)
/// after reading the request head, then closes. Counts accepted connections and keeps each
/// request as received (head and whatever body arrived with it), lower-cased.
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(respond: impl Fn(usize, SocketAddr) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (counter, log) = (hits.clone(), received.clone());
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let (respond, log) = (respond.clone(), log.clone());
                tokio::spawn(async move {
                    let head = read_head(&mut sock).await;
                    log.lock().expect("log").push(String::from_utf8_lossy(&head).to_ascii_lowercase());
                    let _ = sock.write_all(&respond(n, addr)).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Server { addr, hits, received }
    }

    /// Every request so far, head and body as far as read, lower-cased.
    fn received(&self) -> Vec<String> {
        self.received.lock().expect("log").clone()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn url(&self, host: &str, path: &str) -> Url {
        Url::parse(&format!("http://{host}:{}{path}", self.addr.port())).expect("url")
    }
}

/// Reads a request head and the body its Content-Length announces.
async fn read_head(sock: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            let body: usize = text.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            if head.len() >= end + 4 + body {
                return head;
            }
        }
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return head,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

fn redirect_with(status: u16, location: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
}

fn ok(body: &[u8], content_length: bool) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nConnection: close\r\n".to_vec();
    if content_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn redirect_to(location: &str) -> Vec<u8> {
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
}

fn policy(allow_private_network: bool) -> OutboundPolicy {
    OutboundPolicy { allow_private_network, timeout: Duration::from_secs(5), connect_timeout: Duration::from_secs(2) }
}

fn client(allow_private_network: bool) -> OutboundClient {
    OutboundClient::new(policy(allow_private_network)).expect("client")
}

fn parse(s: &str) -> Url {
    Url::parse(s).expect("test url")
}

#[tokio::test]
async fn loopback_literals_are_refused_before_connecting() {
    let server = Server::start(|_, _| ok(b"hello", true)).await;
    let c = client(false);
    let port = server.addr.port();
    for raw in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::ffff:7f00:1]:{port}/"),
        format!("https://127.0.0.1:{port}/"),
    ] {
        let url = parse(&raw);
        let err = c.get(&url).expect_err(&raw);
        assert!(matches!(err, OutboundError::Forbidden { .. }), "{raw}: {err}");
        assert!(c.post(&url).is_err(), "{raw}");
        assert!(err.to_string().contains("set allow_private_network"), "{err}");
    }
    // The same server is reachable once the connection allows private networks.
    let allowed = client(true);
    let resp = allowed.get(&server.url("127.0.0.1", "/")).expect("allowed").send().await.expect("send");
    assert_eq!(read_capped(resp, 1024).await.expect("body"), "hello");
    assert_eq!(server.hits(), 1, "only the allowed request reached the server");
}

#[test]
fn private_and_special_literals_are_refused() {
    let c = client(false);
    for raw in [
        "http://10.0.0.1/",
        "http://172.16.3.4/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:a00:1::1]/",
        "http://192.0.2.1/",
        "http://[2001:db8::1]/",
    ] {
        let err = c.check_url(&parse(raw)).expect_err(raw);
        assert!(matches!(err, OutboundError::Forbidden { .. }), "{raw}: {err}");
    }
    for raw in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
        "http://0/",
        "http://255.255.255.255/",
        "http://224.0.0.1/",
        "http://[::]/",
        "http://[ff02::1]/",
    ] {
        for allow in [false, true] {
            let err = client(allow).check_url(&parse(raw)).expect_err(raw);
            assert!(matches!(err, OutboundError::Blocked { .. }), "{raw}: {err}");
        }
    }
    // Other link-local addresses are private, not blocked.
    assert!(client(true).check_url(&parse("http://169.254.1.1/")).is_ok());
    assert!(c.check_url(&parse("https://api.openai.com/v1/images")).is_ok());
    assert!(c.check_url(&parse("https://8.8.8.8/")).is_ok());
    assert!(c.check_url(&parse("https://[2606:4700::1111]/")).is_ok());
}

#[test]
fn only_http_and_https_schemes() {
    let c = client(true);
    for raw in ["ftp://example.com/", "file:///etc/passwd", "gopher://example.com/", "data:text/plain,hi"] {
        let err = c.check_url(&parse(raw)).expect_err(raw);
        assert!(matches!(err, OutboundError::Scheme { .. }), "{raw}: {err}");
    }
}

#[test]
fn redirect_hops_are_checked() {
    let public = parse("https://cdn.example.com/out.mp4");
    assert!(check_redirect(&public, 0, false).is_ok());
    assert!(check_redirect(&public, MAX_REDIRECTS - 1, false).is_ok());
    assert!(matches!(check_redirect(&public, MAX_REDIRECTS, false), Err(OutboundError::Http(_))));
    for raw in ["http://127.0.0.1/", "http://[::1]:8080/", "http://10.1.1.1/x", "http://2130706433/"] {
        let err = check_redirect(&parse(raw), 1, false).expect_err(raw);
        assert!(matches!(err, OutboundError::Forbidden { .. }), "{raw}: {err}");
    }
    let meta = parse("http://169.254.169.254/latest/meta-data/");
    assert!(matches!(check_redirect(&meta, 1, true), Err(OutboundError::Blocked { .. })));
    assert!(matches!(check_redirect(&parse("file:///etc/passwd"), 1, true), Err(OutboundError::Scheme { .. })));
}

#[tokio::test]
async fn redirect_to_metadata_is_refused_end_to_end() {
    let server = Server::start(|_, _| redirect_to("http://169.254.169.254/latest/meta-data/")).await;
    let err = client(true).get(&server.url("127.0.0.1", "/out")).expect("allowed").send().await.expect_err("redirect must be refused");
    assert!(matches!(err, OutboundError::Blocked { ref host } if host == "169.254.169.254"), "{err}");
}

#[tokio::test]
async fn redirects_are_followed_at_most_five_times() {
    let server = Server::start(|n, addr| if n <= 3 { redirect_to(&format!("http://{addr}/hop{n}")) } else { ok(b"done", true) }).await;
    let c = client(true);
    let resp = c.get(&server.url("127.0.0.1", "/")).expect("ok").send().await.expect("send");
    assert_eq!(read_capped(resp, 64).await.expect("body"), "done");

    let endless = Server::start(|n, addr| redirect_to(&format!("http://{addr}/loop{n}"))).await;
    let err = c.get(&endless.url("127.0.0.1", "/")).expect("ok").send().await.expect_err("endless redirects");
    assert!(matches!(err, OutboundError::Http(ref m) if m.contains("redirects")), "{err}");
    assert_eq!(endless.hits(), MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn host_names_resolving_to_loopback_are_refused() {
    let server = Server::start(|_, _| ok(b"secret", true)).await;
    let url = server.url("localhost", "/");
    let c = client(false);
    assert!(c.check_url(&url).is_ok(), "names are checked after resolution");
    let err = c.get(&url).expect("builder").send().await.expect_err("localhost must be refused");
    assert!(matches!(err, OutboundError::Forbidden { ref host } if host == "localhost"), "{err}");
    assert_eq!(server.hits(), 0, "no connection was made");
    let direct = GuardedResolver::new(false).resolve_allowed("localhost").await;
    assert!(matches!(direct, Err(OutboundError::Forbidden { .. })));
    let allowed = GuardedResolver::new(true).resolve_allowed("localhost").await.expect("allowed");
    assert!(allowed.iter().all(|a| a.ip().is_loopback()));

    let resp = client(true).get(&url).expect("ok").send().await.expect("send");
    assert_eq!(read_capped(resp, 64).await.expect("body"), "secret");
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let big = vec![b'x'; 10_000];
    for content_length in [true, false] {
        let body = big.clone();
        let server = Server::start(move |_, _| ok(&body, content_length)).await;
        let c = client(true);
        let url = server.url("127.0.0.1", "/");
        let send = || async { c.get(&url).expect("ok").send().await.expect("send") };

        let err = read_capped(send().await, 9_999).await.expect_err("over cap");
        assert!(matches!(err, OutboundError::TooLarge { cap: 9_999 }), "{err}");
        assert_eq!(read_capped(send().await, 10_000).await.expect("at cap").len(), 10_000);

        let mut stream = std::pin::pin!(capped_stream(send().await, 4_000));
        let mut got = 0usize;
        let mut error = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => got += chunk.len(),
                Err(e) => error = Some(e),
            }
        }
        assert!(got <= 4_000, "{got} bytes passed the cap");
        assert!(matches!(error, Some(OutboundError::TooLarge { cap: 4_000 })), "{error:?}");

        let whole: Vec<_> = capped_stream(send().await, 10_000).collect().await;
        let total: usize = whole.iter().map(|c| c.as_ref().expect("chunk").len()).sum();
        assert_eq!(total, 10_000);
    }
}

#[tokio::test]
async fn a_silent_server_hits_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // accept and never answer
        }
    });
    let c = OutboundClient::new(OutboundPolicy { timeout: Duration::from_millis(300), ..policy(true) }).expect("client");
    let url = parse(&format!("http://{addr}/"));
    let outcome =
        tokio::time::timeout(Duration::from_secs(5), c.get(&url).expect("ok").send()).await.expect("the client's own timeout fires first");
    let err = outcome.expect_err("timeout");
    assert!(matches!(err, OutboundError::Timeout), "{err}");

    // A server that sends headers and then stalls times out while the body is read.
    let stalled = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let stalled_addr = stalled.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut sock, _)) = stalled.accept().await {
            read_head(&mut sock).await;
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial").await;
            held.push(sock);
        }
    });
    let resp = c.get(&parse(&format!("http://{stalled_addr}/"))).expect("ok").send().await.expect("headers arrive");
    let outcome = tokio::time::timeout(Duration::from_secs(5), read_capped(resp, 1_000)).await;
    let err = outcome.expect("bounded").expect_err("body timeout");
    assert!(matches!(err, OutboundError::Timeout), "{err}");
}

#[tokio::test]
async fn errors_never_show_urls_or_headers() {
    // A closed port: the connection is refused and reqwest reports an error.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let url = parse(&format!("http://{addr}/v1/files?key=SECRET-KEY"));
    let err = client(true).get(&url).expect("ok").header("x-api-key", "SECRET-HEADER").send().await.expect_err("refused");
    assert!(matches!(err, OutboundError::Http(_)), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("SECRET"), "{text}");
}

/// Run by [`environment_proxies_are_ignored`] in a child process with HTTP_PROXY set.
#[tokio::test]
#[ignore = "run as a child process by environment_proxies_are_ignored"]
async fn env_proxy_child() {
    assert!(std::env::var("HTTP_PROXY").is_ok(), "the parent sets HTTP_PROXY");
    let server = Server::start(|_, _| ok(b"direct", true)).await;
    let url = server.url("127.0.0.1", "/");
    // A client that honours the environment goes to the dead proxy and fails …
    install_crypto_provider();
    let plain = reqwest::Client::builder().build().expect("plain client");
    assert!(plain.get(url.clone()).send().await.is_err(), "the proxy is in effect");
    assert_eq!(server.hits(), 0);
    // … while the outbound client connects directly.
    let resp = client(true).get(&url).expect("ok").send().await.expect("direct");
    assert_eq!(read_capped(resp, 64).await.expect("body"), "direct");
    assert_eq!(server.hits(), 1);
}

#[test]
fn environment_proxies_are_ignored() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(exe)
        .args(["--exact", "providers::http::tests::env_proxy_child", "--ignored", "--test-threads=1"])
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("ALL_PROXY", &proxy)
        .env("all_proxy", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("1 passed"), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_key_never_follows_a_redirect_to_another_origin() {
    // another port on the same address is another origin
    let elsewhere = Server::start(|_, _| ok(b"landed", true)).await;
    let c = client(true);
    for status in [301, 302, 303, 307, 308] {
        let target = elsewhere.url("127.0.0.1", &format!("/after-{status}"));
        let api = Server::start(move |_, _| redirect_with(status, target.as_str())).await;
        let home = api.url("127.0.0.1", "/");
        let keys = [
            Credential::header("x-key", "secret-x-key", &home).expect("key"),
            Credential::header("x-goog-api-key", "secret-goog", &home).expect("key"),
            Credential::bearer("secret-bearer", &home).expect("key"),
            Credential::with_scheme("Key", "secret-fal", &home).expect("key"),
        ];
        for key in &keys {
            for post in [false, true] {
                let url = api.url("127.0.0.1", "/start");
                let request = if post { c.post(&url).expect("ok").json(&serde_json::json!({"a": 1})) } else { c.get(&url).expect("ok") };
                let resp = request
                    .credential(Some(key))
                    .header("cookie", "session=secret-cookie")
                    .header("x-api-key", "secret-custom")
                    .send()
                    .await
                    .expect("send");
                assert_eq!(read_capped(resp, 64).await.expect("body"), "landed", "{status}");
            }
        }
        assert!(api.received().iter().all(|r| r.contains("secret-")), "the API itself got the key: {:?}", api.received());
    }
    let landed = elsewhere.received();
    assert_eq!(landed.len(), 5 * 4 * 2);
    for request in &landed {
        assert!(!request.contains("secret"), "a secret crossed origins: {request}");
    }
    // 307/308 repeat the POST and its body; 301/302/303 go on as a GET without it
    assert!(landed.iter().any(|r| r.starts_with("post /after-307") && r.contains("{\"a\":1}")), "{landed:?}");
    assert!(landed.iter().any(|r| r.starts_with("post /after-308")));
    assert!(landed.iter().filter(|r| r.starts_with("get /after-303")).all(|r| !r.contains("content-length") && !r.contains("{\"a\"")));
}

#[tokio::test]
async fn a_key_goes_along_on_redirects_within_its_origin() {
    let server = Server::start(|n, addr| if n == 1 { redirect_with(302, &format!("http://{addr}/next")) } else { ok(b"here", true) }).await;
    let home = server.url("127.0.0.1", "/");
    let key = Credential::header("x-key", "secret-x-key", &home).expect("key");
    let c = client(true);
    let resp = c.get(&server.url("127.0.0.1", "/first")).expect("ok").credential(Some(&key)).send().await.expect("send");
    assert_eq!(read_capped(resp, 64).await.expect("body"), "here");
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert!(received[1].starts_with("get /next") && received[1].contains("x-key: secret-x-key"), "{received:?}");
}

#[tokio::test]
async fn a_client_without_redirects_hands_them_back() {
    let elsewhere = Server::start(|_, _| ok(b"landed", true)).await;
    let target = elsewhere.url("127.0.0.1", "/x");
    let api = Server::start(move |_, _| redirect_to(target.as_str())).await;
    let c = OutboundClient::without_redirects(policy(true)).expect("client");
    let resp = c.get(&api.url("127.0.0.1", "/")).expect("ok").send().await.expect("send");
    assert_eq!(resp.status(), 302);
    assert_eq!(elsewhere.hits(), 0);
}
