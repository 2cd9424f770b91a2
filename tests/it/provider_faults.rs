//! The OpenAI Videos adapter and the engine against a fake upstream that misbehaves on cue:
//! every fault ends in the right state and reason, with the credits released.

use std::time::Duration;

use reelvault::config::{ConnectionConfig, Secret};

use crate::support::api_get;
use crate::support::fake_openai::{Behaviour, Content, FakeOpenAi, Hit, KEY, Route, Step, mp4};
use crate::support::provider_rig::{ProviderRig, image_bytes, provider};
use crate::uploads::upload_id;

/// What a 4-second sora-2 job costs (10 credits a second).
const PRICE: i64 = 40;

/// The app with an `openai-videos` connection to a fake (a one-second timeout, one retry),
/// changed by `edit`, and a user with credits.
async fn rig(behaviour: Behaviour, edit: impl FnOnce(&mut ConnectionConfig)) -> ProviderRig<FakeOpenAi> {
    provider("openai", "openai_videos").key(KEY).under("v1").connection(edit).start(FakeOpenAi::start(behaviour).await).await
}

/// A 4-second sora-2 request.
fn sora(prompt: &str) -> serde_json::Value {
    serde_json::json!({"model": "sora-2", "prompt": prompt, "params": {"duration": 4}})
}

fn of(hits: &[Hit], route: Route) -> Vec<&Hit> {
    hits.iter().filter(|h| h.route == route).collect()
}

#[tokio::test]
async fn a_video_is_submitted_polled_taken_into_custody_and_deleted_upstream() {
    let rig = rig(Behaviour::default(), |_| {}).await;
    let done = rig.stores(sora("a red kite over the dunes"), PRICE, &[&mp4()]).await;
    assert_eq!(done["outputs"][0]["content_type"], "video/mp4");

    assert!(rig.fake.wait_until(Duration::from_secs(5), |h| !of(h, Route::Delete).is_empty()).await, "deleted upstream");
    let hits = rig.fake.hits();
    let content = hits.iter().position(|h| h.route == Route::Content).expect("downloaded");
    let delete = hits.iter().position(|h| h.route == Route::Delete).expect("deleted");
    assert!(content < delete, "the upstream copy is deleted after custody: {hits:?}");
    let thumbnail = hits.iter().position(|h| h.route == Route::Thumbnail).expect("the provider's thumbnail was fetched");
    assert!(content < thumbnail && thumbnail < delete, "the thumbnail is fetched during custody: {hits:?}");
    assert!(hits.iter().all(|h| h.authorized), "every request carried the Bearer key");
    let submitted = &rig.fake.submissions()[0];
    assert_eq!(submitted.fields["prompt"], "a red kite over the dunes");
    assert_eq!(submitted.fields["model"], "sora-2");
    assert_eq!(submitted.fields["seconds"], "4");
    assert_eq!(submitted.fields["size"], "1280x720");
    assert!(submitted.input_reference.is_none());
    rig.stop().await;
}

#[tokio::test]
async fn a_first_frame_upload_is_sent_as_input_reference() {
    let rig = rig(Behaviour::default(), |_| {}).await;
    let png = image_bytes(image::ImageFormat::Png, 64, 36, 128);
    let upload = upload_id(&rig.app.url, &rig.token, png, "frame.png").await;

    let mut body = sora("the kite takes off");
    body["references"] = serde_json::json!([{"role": "first_frame", "upload": upload}]);
    let done = rig.run(body).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let (content_type, bytes) = rig.fake.submissions()[0].input_reference.clone().expect("an input_reference part");
    assert_eq!(content_type, "image/png");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "the part is a PNG");
    let sent = image::load_from_memory(&bytes).expect("a readable image");
    assert_eq!((sent.width(), sent.height()), (64, 36));
    rig.stop().await;
}

#[tokio::test]
async fn server_errors_on_every_poll_fail_as_transient_after_the_retries() {
    let rig = rig(Behaviour::polls([Step::Error { status: 503, code: "server_error", retry_after: None }]), |_| {}).await;
    rig.fails_with(sora("x"), "provider.transient").await;
    assert_eq!(rig.fake.count(Route::Retrieve), 2, "one try and max_retries = 1 retry");
    rig.stop().await;
}

#[tokio::test]
async fn a_rate_limited_poll_is_retried_after_retry_after() {
    let limited = Step::Error { status: 429, code: "rate_limit_exceeded", retry_after: Some(1) };
    let rig = rig(Behaviour::polls([limited, Step::Completed]), |_| {}).await;
    rig.succeeds(sora("x"), PRICE).await;
    let hits = rig.fake.hits();
    let polls = of(&hits, Route::Retrieve);
    let waited = polls[1].at - polls[0].at;
    // a lower bound only: the engine must wait at least Retry-After (1 s)
    assert!(waited >= Duration::from_millis(900), "the retry came {waited:?} after the 429");
    rig.stop().await;
}

#[tokio::test]
async fn rate_limiting_that_never_ends_fails_as_rate_limited() {
    let limited = Step::Error { status: 429, code: "rate_limit_exceeded", retry_after: Some(1) };
    let rig = rig(Behaviour::polls([limited]), |_| {}).await;
    rig.fails_with(sora("x"), "provider.rate_limited").await;
    assert_eq!(rig.fake.count(Route::Retrieve), 2);
    rig.stop().await;
}

#[tokio::test]
async fn malformed_json_on_poll_fails_as_transient_after_the_retries() {
    let rig = rig(Behaviour::polls([Step::Malformed]), |_| {}).await;
    rig.fails_with(sora("x"), "provider.transient").await;
    assert_eq!(rig.fake.count(Route::Retrieve), 2);
    rig.stop().await;
}

#[tokio::test]
async fn a_submit_that_never_answers_fails_as_timeout() {
    let rig = rig(Behaviour { submit: Step::Hang, ..Behaviour::default() }, |_| {}).await;
    rig.fails_with(sora("x"), "provider.timeout").await;
    assert_eq!(rig.fake.count(Route::Create), 1, "a submit that may have arrived is not repeated (no second job upstream)");
    rig.stop().await;
}

#[tokio::test]
async fn an_output_url_that_404s_fails_custody() {
    // The job completed upstream; only taking custody failed. custody::take reports every
    // download failure (the adapter's provider.not_found included) as custody_failed: the
    // person sees that the output could not be stored, not that the job was unknown.
    let rig = rig(Behaviour { content: Content::NotFound, ..Behaviour::default() }, |_| {}).await;
    let done = rig.fails_with(sora("x"), "custody_failed").await;
    assert!(done["outputs"].as_array().is_none_or(Vec::is_empty), "{done}");
    assert_eq!(rig.fake.count(Route::Content), 1);
    rig.stop().await;
}

#[tokio::test]
async fn a_temporary_error_on_the_download_is_retried() {
    let rig = rig(Behaviour { content: Content::UnavailableOnce, ..Behaviour::default() }, |_| {}).await;
    let done = rig.run(sora("x")).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(rig.fake.count(Route::Content), 2, "one 503, then the download");
    rig.stop().await;
}

/// Encrypted files under `DATA/media/*/` and leftovers in `DATA/media/tmp/`.
fn vault_files(rig: &ProviderRig<FakeOpenAi>) -> (usize, usize) {
    let media = rig.app.data_dir().join("media");
    let files = |dir: &std::path::Path| std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect::<Vec<_>>();
    let stored = files(&media).iter().flat_map(|dir| files(dir)).filter(|f| f.extension().is_some_and(|e| e == "age")).count();
    (stored, files(&media.join("tmp")).len())
}

#[tokio::test]
async fn an_output_over_the_size_cap_fails_custody_and_leaves_no_file() {
    let cap = 1024 * 1024;
    let declared = Behaviour { content: Content::Declared(2 * 1024 * 1024 * 1024), ..Behaviour::default() };
    let rig = rig(declared, |c| c.max_output_bytes = Some(cap)).await;
    // Content-Length says 2 GiB: refused before any byte is stored
    let declared = rig.fails_with(sora("declared"), "custody_failed").await;
    // no Content-Length: cut off once more than the cap has streamed in
    rig.fake.set_behaviour(Behaviour { content: Content::Chunked(4 * cap), ..Behaviour::default() });
    let streamed = rig.fails_with(sora("streamed"), "custody_failed").await;
    for done in [declared, streamed] {
        assert!(done["reason"]["message"].as_str().unwrap().contains("larger than the 1048576-byte limit"), "{done}");
    }
    assert_eq!(rig.fake.count(Route::Content), 2);
    assert_eq!(vault_files(&rig), (0, 0), "nothing left in the vault");
    rig.stop().await;
}

#[tokio::test]
async fn a_job_that_never_completes_is_stopped_by_the_deadline_and_cancelled_upstream() {
    let rig = rig(Behaviour::polls([Step::Held]), |c| c.deadline = Some(Duration::from_secs(2))).await;
    rig.fails_with(sora("x"), "timeout").await;
    let video = rig.fake.submissions()[0].video.clone();
    assert!(of(&rig.fake.hits(), Route::Delete).iter().any(|h| h.video == video), "cancelled upstream (DELETE)");
    rig.stop().await;
}

#[tokio::test]
async fn a_refused_key_fails_as_auth_without_retrying() {
    let rig = rig(Behaviour::default(), |c| c.api_key = Some(Secret::new("sk-wrong"))).await;
    rig.fails_with(sora("x"), "provider.auth").await;
    let hits = rig.fake.hits();
    assert_eq!(of(&hits, Route::Create).len(), 1, "no retries: {hits:?}");
    assert!(!hits[0].authorized);
    rig.stop().await;
}

#[tokio::test]
async fn an_upstream_out_of_credit_fails_without_retrying() {
    let quota = Step::Error { status: 429, code: "insufficient_quota", retry_after: None };
    let rig = rig(Behaviour { submit: quota, ..Behaviour::default() }, |_| {}).await;
    rig.fails_with(sora("x"), "provider.insufficient_credit").await;
    assert_eq!(rig.fake.count(Route::Create), 1);
    rig.stop().await;
}

#[tokio::test]
async fn a_moderation_failure_is_a_content_policy_reason() {
    let rig = rig(Behaviour::polls([Step::InProgress(10), Step::Failed("moderation_blocked")]), |_| {}).await;
    rig.fails_with(sora("x"), "provider.content_policy").await;
    rig.stop().await;
}

#[tokio::test]
async fn a_connection_runs_at_most_max_concurrent_jobs_in_submission_order() {
    let rig = rig(Behaviour::polls([Step::Held]), |c| c.max_concurrent = 1).await;
    let prompts = ["first", "second", "third"];
    let mut ids = Vec::new();
    for prompt in prompts {
        ids.push(rig.submit(sora(prompt)).await);
    }
    for (n, id) in ids.iter().enumerate() {
        let reached = rig.fake.wait_until(Duration::from_secs(5), |h| of(h, Route::Create).len() > n).await;
        assert!(reached, "job {n} reached the fake");
        // time for a wrongly started job to show up too
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(rig.fake.count(Route::Create), n + 1, "one job at a time");
        let submitted = rig.fake.submissions()[n].clone();
        assert_eq!(submitted.fields["prompt"], prompts[n], "in submission order");
        for waiting in &ids[n + 1..] {
            let g = api_get(&rig.app.url, &format!("/api/v1/generations/{waiting}"), Some(&rig.token)).await.json();
            assert_eq!(g["state"], "queued", "{g}");
        }
        rig.fake.release(&submitted.video);
        let done = rig.finished(id).await;
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    // each job's upstream copy was deleted before the next job was created
    assert!(rig.fake.wait_until(Duration::from_secs(5), |h| of(h, Route::Delete).len() == 3).await);
    let hits = rig.fake.hits();
    for (i, create) in hits.iter().enumerate().filter(|(_, h)| h.route == Route::Create) {
        let open =
            of(&hits[..i], Route::Create).iter().filter(|c| !of(&hits[..i], Route::Delete).iter().any(|d| d.video == c.video)).count();
        assert_eq!(open, 0, "{} was created while another job was in flight", create.video);
    }
    rig.assert_settled(3 * PRICE).await;
    rig.stop().await;
}

#[tokio::test]
async fn progress_reported_upstream_reaches_the_user_while_the_job_runs() {
    let rig = rig(Behaviour::polls([Step::InProgress(20), Step::Held]), |_| {}).await;
    let id = rig.submit(sora("a slow sunrise")).await;
    let path = format!("/api/v1/generations/{id}");
    let mut seen = None;
    for _ in 0..100 {
        let g = api_get(&rig.app.url, &path, Some(&rig.token)).await.json();
        if g["state"] == "running" && g["progress"] == 50 {
            seen = Some(g);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let running = seen.expect("the provider's 50 % shows within ten seconds");
    assert_eq!(running["outputs"].as_array().map(Vec::len), Some(0), "{running}");
    let video = rig.fake.submissions()[0].video.clone();
    rig.fake.release(&video);
    let done = rig.finished(&id).await;
    assert_eq!((done["state"].clone(), done["progress"].clone()), ("succeeded".into(), 100.into()), "{done}");
    rig.stop().await;
}
