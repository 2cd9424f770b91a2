//! A fake OpenAI Videos API (`/v1/videos`) on 127.0.0.1:0: scriptable per test, and it records what it received.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_multipart::Multipart;
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use futures_util::StreamExt;

/// The API key the fake accepts.
pub const KEY: &str = "sk-fake-openai-key";
/// The poll hint every Video object carries (`openai-poll-after-ms`).
pub const POLL_AFTER_MS: u64 = 100;

/// One scripted answer to a create or a retrieve.
#[derive(Debug, Clone)]
pub enum Step {
    Queued,
    InProgress(u8),
    Completed,
    /// A Video with `status: failed` and this `error.code`.
    Failed(&'static str),
    /// An HTTP error with the OpenAI error body, and `Retry-After` seconds when given.
    Error {
        status: u16,
        code: &'static str,
        retry_after: Option<u64>,
    },
    /// A 200 whose body is not JSON.
    Malformed,
    /// Reads the request and never answers.
    Hang,
    /// `in_progress` until [`FakeOpenAi::release`], then `completed`.
    Held,
}

/// How `GET /v1/videos/{id}/content` answers.
#[derive(Debug, Clone)]
pub enum Content {
    /// The bytes of [`mp4`], with their length (not decodable: ffmpeg takes no frame of it).
    Mp4,
    /// A playable H.264 MP4 ([`playable_mp4`]), so ffmpeg can take a frame.
    Playable,
    NotFound,
    /// Declares this Content-Length, sends the MP4 head, then stalls.
    Declared(u64),
    /// This many bytes, chunked, with no Content-Length.
    Chunked(u64),
    /// A 503 on the first download, the MP4 afterwards.
    UnavailableOnce,
}

/// How `GET /v1/videos/{id}/content?variant=thumbnail` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thumbnail {
    /// [`red_webp`]: a 1280×720 WebP of pure red.
    Red,
    NotFound,
    /// A 200 `image/webp` whose bytes are not an image.
    Garbage,
}

/// What the fake does; change it mid-test with [`FakeOpenAi::set_behaviour`].
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub submit: Step,
    /// The answers to a video's successive retrieves; the last one repeats.
    pub polls: Vec<Step>,
    pub content: Content,
    pub thumbnail: Thumbnail,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            submit: Step::Queued,
            polls: vec![Step::InProgress(50), Step::Completed],
            content: Content::Mp4,
            thumbnail: Thumbnail::Red,
        }
    }
}

impl Behaviour {
    /// The default behaviour with these retrieve answers.
    pub fn polls(polls: impl Into<Vec<Step>>) -> Behaviour {
        Behaviour { polls: polls.into(), ..Behaviour::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Create,
    Retrieve,
    Content,
    /// `GET /v1/videos/{id}/content?variant=thumbnail`
    Thumbnail,
    Delete,
    List,
}

/// One request the fake received (authorised or not).
#[derive(Debug, Clone)]
pub struct Hit {
    pub route: Route,
    /// The video id in the path, or the one a create made ("" when refused).
    pub video: String,
    pub at: Instant,
    pub authorized: bool,
}

/// What one create carried.
#[derive(Debug, Clone)]
pub struct Submission {
    pub video: String,
    pub fields: BTreeMap<String, String>,
    /// The `input_reference` file part: its content type and bytes.
    pub input_reference: Option<(String, Vec<u8>)>,
}

#[derive(Default)]
struct Recorded {
    hits: Vec<Hit>,
    submissions: Vec<Submission>,
    polls_of: HashMap<String, usize>,
    released: HashSet<String>,
}

struct Shared {
    behaviour: Mutex<Behaviour>,
    recorded: Mutex<Recorded>,
}

impl Shared {
    fn recorded(&self) -> MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn behaviour(&self) -> Behaviour {
        self.behaviour.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Recorded {
    fn hit(&mut self, route: Route, video: &str, authorized: bool) {
        self.hits.push(Hit { route, video: video.to_string(), at: Instant::now(), authorized });
    }
}

/// Whether the request carries `Authorization: Bearer KEY`.
fn authorized(req: &HttpRequest) -> bool {
    req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(format!("Bearer {KEY}").as_str())
}

/// Records a hit on `video`; `false` (answer 401) when the request is not authorised.
fn check(req: &HttpRequest, shared: &Shared, route: Route, video: &str) -> bool {
    let ok = authorized(req);
    shared.recorded().hit(route, video, ok);
    ok
}

/// A running fake.
pub struct FakeOpenAi {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: url::Url,
    shared: web::Data<Shared>,
    handle: ServerHandle,
}

impl FakeOpenAi {
    pub async fn start(behaviour: Behaviour) -> FakeOpenAi {
        let shared = web::Data::new(Shared { behaviour: Mutex::new(behaviour), recorded: Mutex::default() });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake");
        let port = listener.local_addr().expect("address").port();
        let data = shared.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/v1/videos", web::post().to(create))
                .route("/v1/videos", web::get().to(list))
                .route("/v1/videos/{id}", web::get().to(retrieve))
                .route("/v1/videos/{id}", web::delete().to(delete))
                .route("/v1/videos/{id}/content", web::get().to(content))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let base_url = url::Url::parse(&format!("http://127.0.0.1:{port}/v1")).expect("base URL");
        FakeOpenAi { base_url, shared, handle }
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap_or_else(|p| p.into_inner()) = behaviour;
    }

    /// Lets a [`Step::Held`] video complete.
    pub fn release(&self, video: &str) {
        self.shared.recorded().released.insert(video.to_string());
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.recorded().hits.clone()
    }

    pub fn count(&self, route: Route) -> usize {
        self.shared.recorded().hits.iter().filter(|h| h.route == route).count()
    }

    pub fn submissions(&self) -> Vec<Submission> {
        self.shared.recorded().submissions.clone()
    }

    /// Waits (at most `limit`) until `done` holds for the hits so far.
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&[Hit]) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if done(&self.shared.recorded().hits) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        done(&self.shared.recorded().hits)
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// A 1280×720 lossless WebP of pure red (made once).
pub fn red_webp() -> Vec<u8> {
    static WEBP: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    WEBP.get_or_init(|| {
        let red = image::RgbaImage::from_pixel(1280, 720, image::Rgba([255, 0, 0, 255]));
        let mut out = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .encode(red.as_raw(), 1280, 720, image::ExtendedColorType::Rgba8)
            .expect("encode WebP");
        out
    })
    .clone()
}

/// A playable 2-second 320×180 H.264 MP4 (the demo renderer's; made once).
pub fn playable_mp4() -> Vec<u8> {
    static MP4: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MP4.get_or_init(|| reelvault::providers::demo_media::render_mp4("a blue lagoon", 3, 320, 180, 2, 12).expect("render")).clone()
}

/// MP4-ish bytes: an `ftyp` box, then an `mdat` box of patterned filler.
pub fn mp4() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&24u32.to_be_bytes());
    out.extend_from_slice(b"ftypisom\0\0\x02\0isommp42");
    let filler: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    out.extend_from_slice(&(8 + filler.len() as u32).to_be_bytes());
    out.extend_from_slice(b"mdat");
    out.extend_from_slice(&filler);
    out
}

fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status).expect("status");
    let kind = if status.is_server_error() { "server_error" } else { "invalid_request_error" };
    HttpResponse::build(status).json(serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}}))
}

fn unauthorized() -> HttpResponse {
    error(401, "invalid_api_key", "Incorrect API key provided.")
}

/// Answers `step` for `video` (`fields` as the create gave them).
async fn answer(step: Step, video: &str, fields: &BTreeMap<String, String>, released: bool) -> HttpResponse {
    let (status, progress, failure) = match step {
        Step::Queued => ("queued", 0, None),
        Step::InProgress(p) => ("in_progress", p, None),
        Step::Completed => ("completed", 100, None),
        Step::Held if released => ("completed", 100, None),
        Step::Held => ("in_progress", 50, None),
        Step::Failed(code) => ("failed", 0, Some(serde_json::json!({"code": code, "message": "The job failed upstream."}))),
        Step::Error { status, code, retry_after } => {
            let mut response = error(status, code, "Scripted error.");
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from_str(&seconds.to_string()).expect("header"),
                );
            }
            return response;
        }
        Step::Malformed => return HttpResponse::Ok().content_type("application/json").body("{\"id\": \"video_"),
        Step::Hang => std::future::pending().await,
    };
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    HttpResponse::Ok().insert_header(("openai-poll-after-ms", POLL_AFTER_MS.to_string())).insert_header(("x-request-id", "req_fake")).json(
        serde_json::json!({
            "id": video, "object": "video", "model": field("model"), "status": status, "progress": progress,
            "created_at": 1_790_000_000, "completed_at": null, "expires_at": null,
            "seconds": field("seconds"), "size": field("size"), "prompt": field("prompt"),
            "remixed_from_video_id": null, "error": failure,
        }),
    )
}

async fn create(req: HttpRequest, shared: web::Data<Shared>, mut form: Multipart) -> HttpResponse {
    let mut fields = BTreeMap::new();
    let mut input_reference = None;
    while let Some(Ok(mut part)) = form.next().await {
        let name = part.name().unwrap_or_default().to_string();
        let content_type = part.content_type().map(|m| m.to_string()).unwrap_or_default();
        let mut data = Vec::new();
        while let Some(Ok(chunk)) = part.next().await {
            data.extend_from_slice(&chunk);
        }
        if name == "input_reference" {
            input_reference = Some((content_type, data));
        } else {
            fields.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    if !authorized(&req) {
        shared.recorded().hit(Route::Create, "", false);
        return unauthorized();
    }
    let video = {
        let mut recorded = shared.recorded();
        let video = format!("video_{:04}", recorded.submissions.len() + 1);
        recorded.hit(Route::Create, &video, true);
        recorded.submissions.push(Submission { video: video.clone(), fields: fields.clone(), input_reference });
        video
    };
    answer(shared.behaviour().submit, &video, &fields, false).await
}

async fn retrieve(req: HttpRequest, shared: web::Data<Shared>, id: web::Path<String>) -> HttpResponse {
    if !check(&req, &shared, Route::Retrieve, &id) {
        return unauthorized();
    }
    let polls = shared.behaviour().polls;
    let (n, fields, released) = {
        let mut recorded = shared.recorded();
        let Some(fields) = recorded.submissions.iter().find(|s| s.video == *id).map(|s| s.fields.clone()) else {
            return error(404, "not_found", "No such video.");
        };
        let n = recorded.polls_of.entry(id.to_string()).or_default();
        *n += 1;
        let n = *n;
        (n, fields, recorded.released.contains(id.as_str()))
    };
    let step = polls.get(n - 1).or(polls.last()).cloned().unwrap_or(Step::Completed);
    answer(step, &id, &fields, released).await
}

async fn content(req: HttpRequest, shared: web::Data<Shared>, id: web::Path<String>) -> HttpResponse {
    let variant = url::form_urlencoded::parse(req.query_string().as_bytes()).find(|(k, _)| k == "variant").map(|(_, v)| v.into_owned());
    match variant.as_deref() {
        None | Some("video") => {}
        Some("thumbnail") => return thumbnail(&req, &shared, &id),
        Some(_) => return error(400, "invalid_value", "Unknown variant."),
    }
    if !check(&req, &shared, Route::Content, &id) {
        return unauthorized();
    }
    let head = Bytes::from(mp4()).slice(..4096);
    match shared.behaviour().content {
        Content::Mp4 => HttpResponse::Ok().content_type("video/mp4").body(mp4()),
        Content::Playable => HttpResponse::Ok().content_type("video/mp4").body(playable_mp4()),
        Content::NotFound => error(404, "not_found", "Files are not accessible."),
        Content::UnavailableOnce if shared.recorded().hits.iter().filter(|h| h.route == Route::Content).count() <= 1 => {
            error(503, "server_error", "Try again.")
        }
        Content::UnavailableOnce => HttpResponse::Ok().content_type("video/mp4").body(mp4()),
        Content::Declared(len) => HttpResponse::Ok()
            .content_type("video/mp4")
            .no_chunking(len)
            .streaming(futures_util::stream::iter([Ok::<_, std::io::Error>(head)]).chain(futures_util::stream::pending())),
        Content::Chunked(total) => {
            let chunks = total.div_ceil(head.len() as u64);
            let body = futures_util::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(head.clone())));
            HttpResponse::Ok().content_type("video/mp4").streaming(body)
        }
    }
}

fn thumbnail(req: &HttpRequest, shared: &Shared, id: &str) -> HttpResponse {
    if !check(req, shared, Route::Thumbnail, id) {
        return unauthorized();
    }
    match shared.behaviour().thumbnail {
        Thumbnail::Red => HttpResponse::Ok().content_type("image/webp").body(red_webp()),
        Thumbnail::NotFound => error(404, "not_found", "Files are not accessible."),
        Thumbnail::Garbage => HttpResponse::Ok().content_type("image/webp").body(&b"RIFF not really a webp"[..]),
    }
}

async fn list(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    if !check(&req, &shared, Route::List, "") {
        return unauthorized();
    }
    HttpResponse::Ok().json(serde_json::json!({"object": "list", "data": [], "first_id": null, "last_id": null, "has_more": false}))
}

async fn delete(req: HttpRequest, shared: web::Data<Shared>, id: web::Path<String>) -> HttpResponse {
    if !check(&req, &shared, Route::Delete, &id) {
        return unauthorized();
    }
    HttpResponse::Ok().json(serde_json::json!({"id": id.as_str(), "object": "video.deleted", "deleted": true}))
}
