//! Connection-level abuse: request heads and bodies trickled a byte a second, thousands of
//! idle keep-alive connections, a burst of live-status subscribers that vanish, concurrent
//! data exports, and one member hammering every expensive endpoint at once. Each case frees
//! what it held (connections closed, stream slots given back) and the bystander stays served.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::bystander::{Bystander, within};
use crate::support::generate;
use crate::support::{Browser, Page, TestApp, api_get};
use crate::support::{api_post, wait_terminal};

const ABUSER_EMAIL: &str = "abuser@example.com";
const ABUSER_PASSWORD: &str = "abuser password 1";

/// A member with credits and an API token, and the bystander.
async fn abuser_and_bystander(app: &TestApp) -> (Browser, String, Bystander) {
    let admin = app.setup_admin().await;
    let abuser = app.invite_member(&admin, ABUSER_EMAIL, ABUSER_PASSWORD).await;
    let users = admin.get("/admin/users").await;
    let grant = users.row_action(ABUSER_EMAIL, "form[action$='/credits']");
    assert_eq!(admin.post_form(&grant, &[("amount", "100000")]).await.status, 303);
    let token = abuser.post_form("/account/tokens", &[("name", "abuse"), ("expires", "30")]).await.text_of("#new-token");
    let bystander = Bystander::join(app, &admin).await;
    (abuser, token, bystander)
}

/// What the server did with a trickling connection.
#[derive(Debug)]
struct Trickled {
    /// The status line of the server's answer, if it sent one.
    answer: Option<String>,
    /// Whether the server closed the connection within the bound.
    closed: bool,
}

/// Connects to `url`'s host, sends `head` at once, then `slowly` one byte a second; stops when
/// the server closes the connection or after `limit`.
async fn trickle(url: String, head: String, slowly: String, limit: Duration) -> Trickled {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.split();
    let deadline = Instant::now() + limit;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let slowly = slowly.into_bytes();
    let mut sent = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let closed = 'talk: {
        if writer.write_all(head.as_bytes()).await.is_err() {
            break 'talk true;
        }
        loop {
            tokio::select! {
                read = reader.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break 'talk true,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                },
                _ = tick.tick(), if sent < slowly.len() => {
                    if writer.write_all(&slowly[sent..=sent]).await.is_err() {
                        // the server hung up; collect what it said before
                        let _ = tokio::time::timeout(Duration::from_secs(1), reader.read_to_end(&mut received)).await;
                        break 'talk true;
                    }
                    sent += 1;
                }
                _ = tokio::time::sleep_until(deadline) => break 'talk false,
            }
        }
    };
    let answer = String::from_utf8_lossy(&received).lines().next().filter(|l| l.starts_with("HTTP/")).map(str::to_string);
    Trickled { answer, closed }
}

fn host_of(app: &TestApp) -> &str {
    app.url.trim_start_matches("http://")
}

#[tokio::test]
async fn request_heads_sent_a_byte_a_second_are_cut_off_before_and_after_a_first_request() {
    let app = TestApp::start().await;
    let (_abuser, _token, bystander) = abuser_and_bystander(&app).await;
    let host = host_of(&app).to_string();
    let slow_head = format!("GET /login HTTP/1.1\r\nHost: {host}\r\nX-Padding: {}\r\n\r\n", "a".repeat(200));
    let first_then_slow = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let slowloris = (0..200).map(|i| {
        // half start trickling at once, half after one quick request on the same connection
        let head = if i % 2 == 0 { String::new() } else { first_then_slow.clone() };
        trickle(app.url.clone(), head, slow_head.clone(), Duration::from_secs(40))
    });
    let abuse = tokio::spawn(join_all(slowloris.collect::<Vec<_>>()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    bystander.still_served(&app, "200 request heads trickled a byte a second").await;
    let outcomes = abuse.await.expect("trickling connections");
    let held = outcomes.iter().filter(|o| !o.closed).count();
    assert_eq!(held, 0, "connections still held after 40 s of a slow request head: {:?}", outcomes.iter().find(|o| !o.closed));
    bystander.still_served(&app, "after the slow request heads").await;
}

#[tokio::test]
async fn request_bodies_sent_a_byte_a_second_are_refused_with_408_and_their_connections_closed() {
    let app = TestApp::start_with(|c| {
        c.limits.request_body_timeout = Duration::from_secs(3);
        // every slow submit must reach its body, not stop at the token's limits
        c.api.requests_per_minute = 100_000;
        c.api.concurrent_jobs = 1_000;
    })
    .await;
    let (_abuser, token, bystander) = abuser_and_bystander(&app).await;
    let host = host_of(&app).to_string();
    let sign_in_page = app.browser().get("/login").await;
    let csrf_cookie = sign_in_page.set_cookies().into_iter().find(|c| c.starts_with("rv_csrf=")).expect("rv_csrf cookie");
    let csrf_cookie = csrf_cookie.split(';').next().expect("cookie pair").to_string();
    let json_submit = format!(
        "POST /api/v1/generations HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    // a page form: its CSRF token is read from the body before anything else happens
    let page_form = format!(
        "POST /library/bulk HTTP/1.1\r\nHost: {host}\r\nOrigin: {}\r\nCookie: {csrf_cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
        app.url
    );
    let slowly = "x".repeat(1000);
    let bodies = (0..200).map(|i| {
        let head = if i % 2 == 0 { json_submit.clone() } else { page_form.clone() };
        trickle(app.url.clone(), head, slowly.clone(), Duration::from_secs(30))
    });
    let abuse = tokio::spawn(join_all(bodies.collect::<Vec<_>>()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    bystander.still_served(&app, "200 request bodies trickled a byte a second").await;
    let outcomes = abuse.await.expect("trickling connections");
    for outcome in &outcomes {
        assert!(outcome.closed, "a slow body kept its connection: {outcome:?}");
        let answer = outcome.answer.as_deref().unwrap_or("");
        assert!(answer.starts_with("HTTP/1.1 408"), "a slow body was answered {answer:?}, not 408");
    }
    bystander.still_served(&app, "after the slow request bodies").await;

    // a body that arrives at a normal pace is unaffected
    let quick = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a kite"})).await;
    assert_eq!(quick.status, 201, "{}", quick.body);
}

/// Lifts this process's open-file limit to its hard limit; returns it.
fn raise_open_files() -> u64 {
    reelvault::http::server_limits::raise_open_file_limit()
}

#[tokio::test]
async fn thousands_of_idle_keep_alive_connections_are_let_go() {
    let open_files = raise_open_files();
    // each connection costs two descriptors here: the client's and the server's
    let connections = 2000.min(open_files.saturating_sub(1024) / 2) as usize;
    assert!(connections >= 500, "the open-file limit ({open_files}) is too low for this test; raise `ulimit -Hn`");
    let app = TestApp::start().await;
    let (_abuser, _token, bystander) = abuser_and_bystander(&app).await;
    let host = host_of(&app).to_string();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let addr = host.clone();
    // opened a hundred at a time, as a client behind a connection pool would
    let mut opened = Vec::new();
    for batch in (0..connections).collect::<Vec<_>>().chunks(100) {
        opened.extend(
            join_all(batch.iter().map(|&i| {
                let (addr, request) = (addr.clone(), request.clone());
                async move {
                    let mut stream = TcpStream::connect(addr).await.ok()?;
                    // half make one request and keep the connection, half never say a word
                    if i % 2 == 0 {
                        stream.write_all(request.as_bytes()).await.ok()?;
                        let mut buf = [0u8; 1024];
                        let n = stream.read(&mut buf).await.ok()?;
                        (n > 0).then_some(())?;
                    }
                    Some(stream)
                }
            }))
            .await,
        );
    }
    let mut idle: Vec<TcpStream> = opened.into_iter().flatten().collect();
    assert!(idle.len() * 10 >= connections * 9, "only {} of {connections} connections opened", idle.len());
    bystander.still_served(&app, &format!("{} idle keep-alive connections", idle.len())).await;

    // the server closes every idle connection by itself
    let closed = within("idle connections", "closing of idle connections", async {
        let mut closed = 0;
        for stream in &mut idle {
            // returns only once the server has closed the connection (end of stream or reset)
            let _ = stream.read_to_end(&mut Vec::new()).await;
            closed += 1;
        }
        closed
    })
    .await;
    assert_eq!(closed, idle.len());
    bystander.still_served(&app, "after the idle connections").await;
}

/// Opens a live status stream of generation `id` with `browser`'s session; the response is
/// kept open (the caller drops it to go away abruptly).
async fn open_events(browser: &Browser, id: &str) -> reqwest::Response {
    let url = format!("{}/generations/{id}/events", browser.base);
    browser.client.get(url).send().await.expect("events request")
}

#[tokio::test]
async fn a_burst_of_live_status_subscribers_is_bounded_per_person_and_frees_its_slots_when_they_go() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::from_secs(600)).await;
    let (abuser, token, bystander) = abuser_and_bystander(&app).await;
    let submitted = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": "a slow kite"})).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    let id = submitted.json()["id"].as_str().expect("id").to_string();
    let per_person = app.running.state.config.limits.event_streams_per_person as usize;

    for round in 0..3 {
        let burst = join_all((0..per_person * 4).map(|_| open_events(&abuser, &id))).await;
        let open = burst.iter().filter(|r| r.status() == 200).count();
        let refused = burst.iter().filter(|r| r.status() == 429).count();
        assert_eq!((open, refused), (per_person, per_person * 3), "round {round}: streams open and refused");
        assert!(burst.iter().all(|r| r.status() == 200 || r.headers().contains_key("retry-after")));
        bystander.still_served(&app, "a burst of live status subscribers").await;
        // every subscriber goes away at once, without reading
        drop(burst);
        // the slots come back: a fresh page can follow the generation again
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if app.running.state.event_streams.held_by(user_id(&app, &token).await) == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: the slots of vanished subscribers were not freed within 60 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let again = open_events(&abuser, &id).await;
    assert_eq!(again.status(), 200);
    bystander.still_served(&app, "after the subscribers left").await;
}

async fn user_id(app: &TestApp, token: &str) -> reelvault::domain::ids::UserId {
    let me = api_get(&app.url, "/api/v1/me", Some(token)).await.json();
    me["id"].as_str().expect("id").parse().expect("a user id")
}

const EXPORT: &str = "/api/v1/account/export";

#[tokio::test]
async fn concurrent_data_exports_by_one_person_start_one_export() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::ZERO).await;
    let (abuser, token, bystander) = abuser_and_bystander(&app).await;
    for prompt in ["a harbour", "a lantern"] {
        let g = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": prompt})).await;
        wait_terminal(&app.url, &token, g.json()["id"].as_str().expect("id")).await;
    }
    let through_api = (0..10).map(|_| async { api_post(&app.url, EXPORT, &token, serde_json::json!({})).await.status });
    let through_page = (0..10).map(|_| async { abuser.post_form("/account/export", &[]).await.status });
    let (api, page) = tokio::join!(join_all(through_api), join_all(through_page));
    assert!(page.iter().all(|s| *s == 303), "{page:?}");
    let started = api.iter().filter(|s| **s == 202).count();
    assert!(api.iter().all(|s| *s == 200 || *s == 202), "{api:?}");
    assert!(started <= 1, "{started} exports started at once by one person");
    bystander.still_served(&app, "twenty concurrent data exports").await;

    let ready = within("concurrent exports", "the export", async {
        loop {
            let status = api_get(&app.url, EXPORT, Some(&token)).await.json();
            if ["ready", "failed"].contains(&status["state"].as_str().unwrap_or("")) {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(ready["state"], "ready", "{ready}");
    let url = ready["url"].as_str().expect("download url").to_string();
    let downloads = join_all((0..8).map(|_| async {
        let response = reqwest::Client::builder().no_proxy().build().expect("client").get(&url).send().await.expect("download");
        (response.status().as_u16(), response.bytes().await.map(|b| b.len()).unwrap_or(0))
    }));
    let downloads = within("concurrent export downloads", "the downloads", downloads).await;
    let size = ready["bytes"].as_u64().expect("bytes") as usize;
    assert!(downloads.iter().all(|(status, len)| *status == 200 && *len == size), "{downloads:?}");
    bystander.still_served(&app, "after the concurrent exports").await;
}

/// A small JPEG to upload.
fn small_jpeg() -> Vec<u8> {
    crate::uploads::jpeg_with_gps()
}

/// `POST /library/bulk` zip of `ids`, read to its end; returns the status.
async fn zip_of(browser: &Browser, ids: &[String]) -> u16 {
    let token = browser.csrf_token().await;
    let mut fields = vec![("csrf_token", token.as_str()), ("action", "zip")];
    fields.extend(ids.iter().map(|id| ("id", id.as_str())));
    let request = browser
        .client
        .post(format!("{}/library/bulk", browser.base))
        .form(&fields)
        .header("origin", browser.base.as_str())
        .header("sec-fetch-site", "same-origin");
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            status
        }
        Err(_) => 0,
    }
}

#[tokio::test]
async fn a_member_hammering_every_expensive_endpoint_at_once_gets_no_server_error_and_others_are_served() {
    let app = TestApp::start_with(|c| c.connection[0].delay = Duration::ZERO).await;
    let (abuser, token, bystander) = abuser_and_bystander(&app).await;
    let mut ids = Vec::new();
    for prompt in ["a lighthouse at dusk", "a lighthouse in fog", "a kite over dunes"] {
        let g = generate(&app.url, &token, serde_json::json!({"model": "demo-image", "prompt": prompt})).await;
        let id = g.json()["id"].as_str().expect("id").to_string();
        wait_terminal(&app.url, &token, &id).await;
        ids.push(id);
    }
    let until = Instant::now() + Duration::from_secs(5);
    let hammer = |what: &'static str| {
        let (abuser, token, ids, url) = (&abuser, token.clone(), ids.clone(), app.url.clone());
        async move {
            let mut statuses = Vec::new();
            for _ in 0..500 {
                if Instant::now() >= until {
                    break;
                }
                let status = match what {
                    "search" => api_get(&url, "/api/v1/generations?q=lighthouse", Some(&token)).await.status,
                    "library" => abuser.get("/library?q=lighthouse").await.status,
                    "submit" => {
                        let body = serde_json::json!({"model": "demo-image", "prompt": "another lighthouse"});
                        generate(&url, &token, body).await.status
                    }
                    "zip" => zip_of(abuser, &ids).await,
                    "export" => api_post(&url, EXPORT, &token, serde_json::json!({})).await.status,
                    _ => crate::uploads::upload(&url, &token, small_jpeg(), "hammer.jpg").await.status,
                };
                statuses.push((what, status));
            }
            statuses
        }
    };
    let kinds = ["search", "library", "submit", "zip", "export", "upload"];
    let hammering = join_all(kinds.iter().flat_map(|&k| [hammer(k), hammer(k)]));
    let during = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        bystander.still_served(&app, "a member hammering every expensive endpoint").await;
    };
    let (answers, ()) = tokio::join!(within("hammering", "the hammering member's own requests", hammering), during);
    let answers: Vec<(&str, u16)> = answers.into_iter().flatten().collect();
    let failed: Vec<&(&str, u16)> = answers.iter().filter(|(_, s)| *s == 0 || *s >= 500).collect();
    assert!(failed.is_empty(), "server errors or dropped requests while hammering: {failed:?}");
    for kind in kinds {
        assert!(answers.iter().any(|(k, s)| *k == kind && *s < 300), "no {kind} request succeeded while hammering");
    }
    bystander.still_served(&app, "after the hammering").await;
    // the hammering member's own token may be at its per-minute limit: a clear 429, nothing worse
    let me: Page = api_get(&app.url, "/api/v1/me", Some(&token)).await;
    assert!(me.status == 200 || (me.status == 429 && me.header("retry-after").is_some()), "{} {}", me.status, me.body);
}
