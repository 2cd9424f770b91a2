//! The OpenAI Videos API (`/v1/videos`) as a scripted [`FakeUpstream`]: each test sets how
//! creates, retrieves and downloads answer, and reads back what the fake received.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fake_upstream::{FakeUpstream, Reply, Request};

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
    /// [`playable_mp4`] with a (silent) sound track.
    WithSound,
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

/// The script's state: the behaviour, the videos made, and how far each has been polled.
#[derive(Default)]
struct Script {
    behaviour: Behaviour,
    submissions: Vec<Submission>,
    polls_of: HashMap<String, usize>,
    released: HashSet<String>,
    downloads: usize,
}

/// A running fake.
pub struct FakeOpenAi {
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: url::Url,
    upstream: FakeUpstream,
    script: Arc<Mutex<Script>>,
}

fn lock(script: &Mutex<Script>) -> MutexGuard<'_, Script> {
    script.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeOpenAi {
    pub async fn start(behaviour: Behaviour) -> FakeOpenAi {
        let script = Arc::new(Mutex::new(Script { behaviour, ..Script::default() }));
        let answering = script.clone();
        let upstream = FakeUpstream::start(move |request| answer(&answering, request)).await;
        FakeOpenAi { base_url: upstream.at("v1"), upstream, script }
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        lock(&self.script).behaviour = behaviour;
    }

    /// Lets a [`Step::Held`] video complete.
    pub fn release(&self, video: &str) {
        lock(&self.script).released.insert(video.to_string());
    }

    pub fn hits(&self) -> Vec<Hit> {
        hits(&self.upstream.requests())
    }

    pub fn count(&self, route: Route) -> usize {
        self.hits().iter().filter(|h| h.route == route).count()
    }

    pub fn submissions(&self) -> Vec<Submission> {
        lock(&self.script).submissions.clone()
    }

    /// Waits (at most `limit`) until `done` holds for the hits so far.
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&[Hit]) -> bool) -> bool {
        self.upstream.wait_until(limit, |requests| done(&hits(requests))).await
    }

    pub async fn stop(self) {
        self.upstream.stop().await;
    }
}

impl super::provider_rig::Fake for FakeOpenAi {
    fn root(&self) -> url::Url {
        self.upstream.url.clone()
    }

    async fn stop(self) {
        FakeOpenAi::stop(self).await;
    }
}

/// Whether the request carries `Authorization: Bearer KEY`.
fn authorized(request: &Request) -> bool {
    request.header("authorization") == Some(format!("Bearer {KEY}").as_str())
}

/// The route and video id of a request to the Videos API (`None` for anything else).
fn route_of(request: &Request) -> Option<(Route, String)> {
    let rest = request.path.strip_prefix("/v1/videos")?;
    let (id, content) = match rest.strip_prefix('/') {
        None if rest.is_empty() => ("", false),
        None => return None,
        Some(tail) => match tail.split_once('/') {
            None => (tail, false),
            Some((id, "content")) => (id, true),
            Some(_) => return None,
        },
    };
    let route = match (request.method.as_str(), id.is_empty(), content) {
        ("POST", true, _) => Route::Create,
        ("GET", true, _) => Route::List,
        ("GET", false, false) => Route::Retrieve,
        ("DELETE", false, false) => Route::Delete,
        ("GET", false, true) => match request.query_param("variant").as_deref() {
            None | Some("video") => Route::Content,
            Some("thumbnail") => Route::Thumbnail,
            Some(_) => return None,
        },
        _ => return None,
    };
    Some((route, id.to_string()))
}

/// The requests as hits; an authorised create names the video it made (`video_0001`, …).
fn hits(requests: &[Request]) -> Vec<Hit> {
    let mut created = 0;
    let mut out = Vec::new();
    for request in requests {
        let Some((route, mut video)) = route_of(request) else { continue };
        let authorized = authorized(request);
        if route == Route::Create && authorized {
            created += 1;
            video = video_id(created);
        }
        out.push(Hit { route, video, at: request.at, authorized });
    }
    out
}

fn video_id(n: usize) -> String {
    format!("video_{n:04}")
}

/// Answers one request as the script says.
fn answer(script: &Mutex<Script>, request: &Request) -> Reply {
    let Some((route, video)) = route_of(request) else {
        return if request.path.starts_with("/v1/videos/") && request.query_param("variant").is_some() {
            error(400, "invalid_value", "Unknown variant.")
        } else {
            Reply::status(404)
        };
    };
    let mut script = lock(script);
    if route == Route::Content {
        script.downloads += 1;
    }
    if !authorized(request) {
        return error(401, "invalid_api_key", "Incorrect API key provided.");
    }
    match route {
        Route::Create => {
            let submission = submission(request, video_id(script.submissions.len() + 1));
            let reply = video_reply(script.behaviour.submit.clone(), &submission.video, &submission.fields, false);
            script.submissions.push(submission);
            reply
        }
        Route::Retrieve => {
            let Some(fields) = script.submissions.iter().find(|s| s.video == video).map(|s| s.fields.clone()) else {
                return error(404, "not_found", "No such video.");
            };
            let n = script.polls_of.entry(video.clone()).or_default();
            *n += 1;
            let n = *n;
            let polls = &script.behaviour.polls;
            let step = polls.get(n - 1).or(polls.last()).cloned().unwrap_or(Step::Completed);
            video_reply(step, &video, &fields, script.released.contains(&video))
        }
        Route::Content => content(&script),
        Route::Thumbnail => match script.behaviour.thumbnail {
            Thumbnail::Red => Reply::bytes(200, "image/webp", red_webp()),
            Thumbnail::NotFound => error(404, "not_found", "Files are not accessible."),
            Thumbnail::Garbage => Reply::bytes(200, "image/webp", &b"RIFF not really a webp"[..]),
        },
        Route::List => {
            Reply::json(200, serde_json::json!({"object": "list", "data": [], "first_id": null, "last_id": null, "has_more": false}))
        }
        Route::Delete => Reply::json(200, serde_json::json!({"id": video, "object": "video.deleted", "deleted": true})),
    }
}

/// What a create carried: its text fields and its `input_reference` part.
fn submission(request: &Request, video: String) -> Submission {
    let mut fields = BTreeMap::new();
    let mut input_reference = None;
    for part in request.multipart() {
        if part.name == "input_reference" {
            input_reference = Some((part.content_type.clone().unwrap_or_default(), part.data.to_vec()));
        } else {
            fields.insert(part.name.clone(), part.text());
        }
    }
    Submission { video, fields, input_reference }
}

/// How a download answers under the script's [`Content`].
fn content(script: &Script) -> Reply {
    let head = mp4()[..4096].to_vec();
    match script.behaviour.content {
        Content::Mp4 => Reply::bytes(200, "video/mp4", mp4()),
        Content::Playable => Reply::bytes(200, "video/mp4", playable_mp4()),
        Content::WithSound => Reply::bytes(
            200,
            "video/mp4",
            reelvault::providers::demo_media::render_mp4_with_sound("a blue lagoon", 3, 320, 180, 2, 12).expect("render"),
        ),
        Content::NotFound => error(404, "not_found", "Files are not accessible."),
        Content::UnavailableOnce if script.downloads <= 1 => error(503, "server_error", "Try again."),
        Content::UnavailableOnce => Reply::bytes(200, "video/mp4", mp4()),
        Content::Declared(len) => Reply::stall("video/mp4", len, head),
        Content::Chunked(total) => {
            let chunks = total.div_ceil(head.len() as u64);
            Reply::chunked("video/mp4", head, chunks)
        }
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

/// An OpenAI error body.
fn error(status: u16, code: &str, message: &str) -> Reply {
    let kind = if status >= 500 { "server_error" } else { "invalid_request_error" };
    Reply::json(status, serde_json::json!({"error": {"message": message, "type": kind, "param": null, "code": code}}))
}

/// Answers `step` for `video` (`fields` as the create gave them).
fn video_reply(step: Step, video: &str, fields: &BTreeMap<String, String>, released: bool) -> Reply {
    let (status, progress, failure) = match step {
        Step::Queued => ("queued", 0, None),
        Step::InProgress(p) => ("in_progress", p, None),
        Step::Completed => ("completed", 100, None),
        Step::Held if released => ("completed", 100, None),
        Step::Held => ("in_progress", 50, None),
        Step::Failed(code) => ("failed", 0, Some(serde_json::json!({"code": code, "message": "The job failed upstream."}))),
        Step::Error { status, code, retry_after } => {
            let reply = error(status, code, "Scripted error.");
            return match retry_after {
                Some(seconds) => reply.header("retry-after", seconds),
                None => reply,
            };
        }
        Step::Malformed => return Reply::bytes(200, "application/json", &b"{\"id\": \"video_"[..]),
        Step::Hang => return Reply::hang(),
    };
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    Reply::json(
        200,
        serde_json::json!({
            "id": video, "object": "video", "model": field("model"), "status": status, "progress": progress,
            "created_at": 1_790_000_000, "completed_at": null, "expires_at": null,
            "seconds": field("seconds"), "size": field("size"), "prompt": field("prompt"),
            "remixed_from_video_id": null, "error": failure,
        }),
    )
    .header("openai-poll-after-ms", POLL_AFTER_MS)
    .header("x-request-id", "req_fake")
}
