//! Tests of FLUX 3 Video against a strict loopback fake of `/v1/flux-3-video`: each mode's
//! fields only (422 on any other), 5 jobs in flight at most (429), and samples that expire.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_upstream::{FakeUpstream, Reply, Request};
use serde_json::{Value, json};

use super::*;
use crate::domain::catalog::{MediaKind, Operation, ParamValue, ReferenceRole};
use crate::providers::kit::testing::{self, connection, drain, reference};
use crate::providers::{ReferenceFile, SourceJob};

const KEY: &str = "bfl-video-key";
const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42 fake flux video";
/// How long the fake serves a sample after its task is ready.
const TTL: Duration = Duration::from_millis(400);

/// Fields every generating mode may carry, besides its own.
const COMMON: &[&str] = &["aspect_ratio", "resolution", "duration", "generate_audio", "version", "draft", "batch"];

/// The fields a mode must have, and the fields it may have besides [`COMMON`].
fn fields_of(mode: &str) -> Option<(&'static [&'static str], bool)> {
    match mode {
        "t2v" => Some((&["prompt"], true)),
        "i2v" => Some((&["prompt", "keyframes"], true)),
        "v2v" => Some((&["prompt", "start_video"], true)),
        "draft_enhance" => Some((&["draft_cache"], false)),
        _ => None,
    }
}

/// Why a body breaks the schema, as BFL's FastAPI answers it (`None`: it is valid).
fn schema_error(body: &Value) -> Option<String> {
    let map = body.as_object()?;
    let mode = map.get("mode").and_then(Value::as_str).unwrap_or_default();
    let Some((required, common)) = fields_of(mode) else { return Some(format!("mode: unknown mode {mode:?}")) };
    if let Some(missing) = required.iter().find(|f| !map.contains_key(**f)) {
        return Some(format!("{missing}: Field required"));
    }
    let allowed = |f: &str| f == "mode" || required.contains(&f) || (common && COMMON.contains(&f));
    if let Some(extra) = map.keys().find(|f| !allowed(f)) {
        return Some(format!("{extra}: Extra inputs are not permitted"));
    }
    let text = |f: &str| map.get(f).is_none_or(Value::is_string);
    let flag = |f: &str| map.get(f).is_none_or(Value::is_boolean);
    if !["prompt", "start_video", "draft_cache", "aspect_ratio"].iter().all(|f| text(f)) || !flag("generate_audio") || !flag("draft") {
        return Some("Input should be a valid string or boolean".into());
    }
    if map.get("keyframes").is_some_and(|k| !k.as_array().is_some_and(|a| (1..=10).contains(&a.len()) && a.iter().all(Value::is_string))) {
        return Some("keyframes: a list of 1 to 10 images".into());
    }
    if map.get("resolution").is_some_and(|r| r != "hd" && r != "fhd") {
        return Some("resolution: Input should be 'hd' or 'fhd'".into());
    }
    if map.get("duration").is_some_and(|d| !d.as_i64().is_some_and(|s| (5..=20).contains(&s))) {
        return Some("duration: Input should be less than or equal to 20".into());
    }
    None
}

/// One task of the fake: polled once as Pending, then Ready (when its sample starts to expire).
#[derive(Default)]
struct Task {
    polls: u32,
    ready_at: Option<Instant>,
    draft: bool,
}

/// A strict fake of FLUX 3 Video; its tasks by id.
struct VideoFake {
    fake: FakeUpstream,
    tasks: Arc<Mutex<BTreeMap<String, Task>>>,
}

impl VideoFake {
    async fn start() -> VideoFake {
        let tasks: Arc<Mutex<BTreeMap<String, Task>>> = Arc::default();
        let state = tasks.clone();
        let fake = FakeUpstream::start(move |r: &Request| answer(&mut state.lock().unwrap(), r)).await;
        VideoFake { fake, tasks }
    }

    fn adapter(&self) -> Bfl {
        Bfl::new(&connection(&self.fake, "bfl", KEY)).unwrap()
    }

    /// The body of the `n`th (0-based) submit.
    fn sent(&self, n: usize) -> Value {
        self.fake.requests_to("POST /v1/flux-3-video")[n].json()
    }

    /// Forgets a task, as BFL does when it expires.
    fn expire(&self, id: &str) {
        self.tasks.lock().unwrap().remove(id);
    }
}

fn answer(tasks: &mut BTreeMap<String, Task>, r: &Request) -> Reply {
    let origin = format!("http://{}", r.header("host").unwrap());
    let keyed = r.header("x-key") == Some(KEY);
    match r.route().as_str() {
        "POST /v1/flux-3-video" if keyed => {
            let body = r.json();
            if let Some(msg) = schema_error(&body) {
                return Reply::json(422, json!({"detail": [{"loc": ["body"], "msg": msg, "type": "value_error"}]}));
            }
            if tasks.values().filter(|t| t.ready_at.is_none()).count() >= 5 {
                return Reply::json(429, json!({"detail": "You have reached the maximum of 5 active tasks"}));
            }
            let id = format!("g{}", tasks.len() + 1);
            tasks.insert(id.clone(), Task { draft: body["draft"] == true, ..Task::default() });
            // another cluster's absolute URL: the adapter must poll it as given
            Reply::json(200, json!({"id": id, "polling_url": format!("{origin}/eu2/v1/get_result?id={id}"), "cost": 50}))
        }
        "GET /eu2/v1/get_result" if keyed => {
            let id = r.query_param("id").unwrap_or_default();
            let Some(task) = tasks.get_mut(&id) else { return Reply::json(200, json!({"id": id, "status": "Task not found"})) };
            task.polls += 1;
            if task.polls == 1 {
                return Reply::json(200, json!({"id": id, "status": "Pending", "progress": 0.5}));
            }
            task.ready_at.get_or_insert_with(Instant::now);
            let mut result = json!({"sample": format!("{origin}/results/{id}.mp4?se=2h&sig=s"), "duration": 6});
            if task.draft {
                result["draft_cache"] = format!("cache-{id}").into();
            }
            Reply::json(200, json!({"id": id, "status": "Ready", "result": result, "cost": 60}))
        }
        route if route.starts_with("GET /results/") && !keyed => {
            let id = r.path.trim_start_matches("/results/").trim_end_matches(".mp4");
            match tasks.get(id).and_then(|t| t.ready_at) {
                Some(at) if at.elapsed() < TTL => Reply::bytes(200, "video/mp4", MP4),
                _ => Reply::text(404, "<Error><Code>BlobNotFound</Code></Error>"),
            }
        }
        _ => Reply::json(401, json!({"detail": "Not authenticated"})),
    }
}

fn video_job(params: &[(&str, &str)], references: Vec<ReferenceFile>) -> ProviderJob {
    let params: Vec<(&str, ParamValue)> = params
        .iter()
        .map(|(k, v)| (*k, v.parse::<i64>().map(ParamValue::Int).unwrap_or_else(|_| ParamValue::Text(v.to_string()))))
        .collect();
    testing::job(MediaKind::Video, "flux-3-video").prompt("a fox in the snow").params(&params).references(references).build()
}

const PARAMS: &[(&str, &str)] = &[("aspect_ratio", "16:9"), ("resolution", "fhd"), ("duration", "6"), ("audio", "off"), ("draft", "off")];

/// Polls `handle` until it settles (bounded).
async fn settle(provider: &Bfl, handle: &UpstreamHandle) -> UpstreamStatus {
    for _ in 0..5 {
        let status = provider.poll(handle).await.unwrap();
        if !matches!(status, UpstreamStatus::Pending { .. }) {
            return status;
        }
    }
    panic!("still pending")
}

fn source_video() -> ReferenceFile {
    ReferenceFile {
        role: ReferenceRole::SourceVideo,
        content_type: "video/mp4".into(),
        bytes: bytes::Bytes::from_static(b"MP4"),
        tag: None,
    }
}

#[tokio::test]
async fn text_to_video_polls_the_returned_url_and_fetches_the_sample_keyless_before_it_expires() {
    let bfl = VideoFake::start().await;
    let provider = bfl.adapter();
    let mut job = video_job(PARAMS, Vec::new());
    job.callback_url = Some(url::Url::parse("https://studio.example/hooks/bfl/s").unwrap());
    let submitted = provider.submit(&job).await.unwrap();
    assert_eq!(
        bfl.sent(0),
        json!({"mode": "t2v", "prompt": "a fox in the snow", "aspect_ratio": "16:9", "resolution": "fhd", "duration": 6, "generate_audio": false}),
        "no webhook fields: the strict schema would refuse them"
    );
    assert!(submitted.handle.data["polling_url"].ends_with("/eu2/v1/get_result?id=g1"), "kept as given");

    let UpstreamStatus::Succeeded { outputs, usage } = settle(&provider, &submitted.handle).await else { panic!() };
    assert_eq!(outputs[0].content_type.as_deref(), Some("video/mp4"));
    assert_eq!(usage.and_then(|u| u.cost_cents), Some(60.0), "the settled cost is reported");
    assert_eq!(drain(provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await.unwrap()).await.unwrap(), MP4);
    let polls = bfl.fake.requests_to("GET /eu2/v1/get_result");
    assert!(polls.len() == 2 && polls.iter().all(|p| p.header("x-key") == Some(KEY)));
    assert_eq!(bfl.fake.requests_to("GET /results/")[0].header("x-key"), None, "the sample is fetched without the key");

    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let Err(ProviderError::NotFound(gone)) = provider.fetch(&submitted.handle, &outputs[0], 1 << 20).await else { panic!() };
    assert!(gone.contains("2 hours"), "{gone}");
    bfl.fake.stop().await;
}

#[tokio::test]
async fn keyframes_and_continuation_send_only_their_modes_fields() {
    let bfl = VideoFake::start().await;
    let provider = bfl.adapter();
    // uploaded last frame first: the keyframes still open with the first frame
    let frames = testing::first_and_last_frames().into_iter().rev().collect();
    provider.submit(&video_job(PARAMS, frames)).await.unwrap();
    let sent = bfl.sent(0);
    assert_eq!((sent["mode"].as_str(), sent["keyframes"].clone()), (Some("i2v"), json!(["Zmlyc3Q=", "bGFzdA=="])));

    let waypoints = vec![
        reference(ReferenceRole::Reference, b"a"),
        reference(ReferenceRole::Reference, b"b"),
        reference(ReferenceRole::Reference, b"c"),
    ];
    provider.submit(&video_job(&[("duration", "10")], waypoints)).await.unwrap();
    assert_eq!(bfl.sent(1), json!({"mode": "i2v", "prompt": "a fox in the snow", "keyframes": ["YQ==", "Yg==", "Yw=="], "duration": 10}));

    let mut extend = video_job(&[("resolution", "fhd"), ("audio", "on"), ("draft", "on")], vec![source_video()]);
    extend.operation = Some(Operation::Extend);
    provider.submit(&extend).await.unwrap();
    assert_eq!(
        bfl.sent(2),
        json!({"mode": "v2v", "prompt": "a fox in the snow", "start_video": "TVA0", "generate_audio": true, "draft": true}),
        "a draft renders at HD and names no resolution"
    );

    let last_only = video_job(&[], vec![reference(ReferenceRole::LastFrame, b"z")]);
    assert!(matches!(provider.submit(&last_only).await, Err(ProviderError::InvalidInput(_))));
    let eleven = video_job(&[], (0..11).map(|_| reference(ReferenceRole::Reference, b"r")).collect());
    assert!(matches!(provider.submit(&eleven).await, Err(ProviderError::InvalidInput(_))));
    let mut nothing_to_extend = video_job(&[], Vec::new());
    nothing_to_extend.operation = Some(Operation::Extend);
    assert!(matches!(provider.submit(&nothing_to_extend).await, Err(ProviderError::InvalidInput(_))));
    assert_eq!(bfl.fake.requests_to("POST").len(), 3, "refused jobs send nothing");
    bfl.fake.stop().await;
}

#[tokio::test]
async fn a_field_the_schema_refuses_is_invalid_input_with_bfls_words() {
    let bfl = VideoFake::start().await;
    let err = bfl.adapter().submit(&video_job(&[("duration", "25")], Vec::new())).await.unwrap_err();
    assert_eq!(err, ProviderError::InvalidInput("duration: Input should be less than or equal to 20".into()));
    // and the fake is as strict as BFL: any field out of its mode is refused
    assert!(schema_error(&json!({"mode": "t2v", "prompt": "p", "webhook_url": "https://x"})).is_some());
    assert!(schema_error(&json!({"mode": "draft_enhance", "draft_cache": "c", "prompt": "p"})).is_some());
    assert!(schema_error(&json!({"mode": "i2v", "prompt": "p"})).is_some());
    bfl.fake.stop().await;
}

#[tokio::test]
async fn a_sixth_job_in_flight_is_rate_limited_until_one_finishes() {
    let bfl = VideoFake::start().await;
    let provider = bfl.adapter();
    let job = video_job(&[], Vec::new());
    let mut handles = Vec::new();
    for _ in 0..5 {
        handles.push(provider.submit(&job).await.unwrap().handle);
    }
    let Err(ProviderError::RateLimited { message, .. }) = provider.submit(&job).await else { panic!() };
    assert!(message.contains("at most 5 video generations") && message.contains("maximum of 5 active tasks"), "{message}");
    assert!(matches!(settle(&provider, &handles[0]).await, UpstreamStatus::Succeeded { .. }));
    provider.submit(&job).await.unwrap();
    bfl.fake.stop().await;
}

#[tokio::test]
async fn a_draft_is_enhanced_with_the_cache_read_from_its_own_task() {
    let bfl = VideoFake::start().await;
    let provider = bfl.adapter();
    let draft = provider.submit(&video_job(&[("draft", "on")], Vec::new())).await.unwrap().handle;
    assert!(matches!(settle(&provider, &draft).await, UpstreamStatus::Succeeded { .. }));
    let plain = provider.submit(&video_job(&[], Vec::new())).await.unwrap().handle;
    assert!(matches!(settle(&provider, &plain).await, UpstreamStatus::Succeeded { .. }));

    let enhance = |source: Option<&UpstreamHandle>| {
        let mut job = video_job(&[], vec![source_video()]);
        job.operation = Some(Operation::Enhance);
        job.source = source.map(|h| SourceJob { upstream_model: "flux-3-video".into(), handle: h.clone() });
        job
    };
    let enhanced = provider.submit(&enhance(Some(&draft))).await.unwrap();
    assert_eq!(bfl.sent(2), json!({"mode": "draft_enhance", "draft_cache": "cache-g1"}), "only the draft's cache");
    assert!(matches!(settle(&provider, &enhanced.handle).await, UpstreamStatus::Succeeded { .. }));

    let Err(ProviderError::InvalidInput(why)) = provider.submit(&enhance(None)).await else { panic!() };
    assert!(why.contains("made through this connection"), "{why}");
    let Err(ProviderError::InvalidInput(why)) = provider.submit(&enhance(Some(&plain))).await else { panic!() };
    assert!(why.contains("not made as a draft"), "{why}");
    bfl.expire("g1");
    let Err(ProviderError::NotFound(why)) = provider.submit(&enhance(Some(&draft))).await else { panic!() };
    assert!(why.contains("expired") && why.contains("2 hours"), "{why}");
    assert_eq!(bfl.fake.requests_to("POST").len(), 3, "a failed enhance sends nothing");
    bfl.fake.stop().await;
}

#[tokio::test]
async fn video_statuses_map_to_outcomes_and_state_is_read_like_status() {
    let replies = [
        json!({"id": "v1", "state": "Ready", "result": {"sample": "https://delivery.example/v.mp4"}}),
        json!({"id": "v1", "status": "Content Moderated", "details": {"Moderation Reasons": ["Public Figure"]}}),
        json!({"id": "v1", "status": "Request Moderated"}),
        json!({"id": "v1", "status": "Task not found"}),
        json!({"id": "v1", "status": "Error"}),
    ];
    let words: BTreeSet<&str> = ["ok", "policy", "policy", "gone", "transient"].into();
    let mut seen = BTreeSet::new();
    for reply in replies {
        let fake = FakeUpstream::start(move |_| Reply::json(200, reply.clone())).await;
        let provider = Bfl::new(&connection(&fake, "bfl", KEY)).unwrap();
        let handle = UpstreamHandle {
            id: "v1".into(),
            data: [("polling_url".to_string(), fake.at("v1/get_result?id=v1").to_string()), (MEDIA.to_string(), "video".to_string())]
                .into(),
        };
        seen.insert(match provider.poll(&handle).await.unwrap() {
            UpstreamStatus::Succeeded { outputs, .. } if outputs[0].content_type.as_deref() == Some("video/mp4") => "ok",
            UpstreamStatus::Failed(ProviderError::ContentPolicy(m)) if m.contains("video") || m.contains("request") => "policy",
            UpstreamStatus::Failed(ProviderError::NotFound(m)) if m.contains("2 hours") => "gone",
            UpstreamStatus::Failed(ProviderError::Transient(_)) => "transient",
            other => panic!("{other:?}"),
        });
        fake.stop().await;
    }
    assert_eq!(seen, words);

    let fake = FakeUpstream::start(|_| Reply::json(503, json!({"detail": "No capacity, retry later"}))).await;
    let err = Bfl::new(&connection(&fake, "bfl", KEY)).unwrap().submit(&video_job(&[], Vec::new())).await.unwrap_err();
    assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
    fake.stop().await;
}
