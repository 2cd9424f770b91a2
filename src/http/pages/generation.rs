//! A generation's page with live status (server-sent events), its player or viewer, and
//! cancel; `/generations` now leads to the library.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use bytes::Bytes;
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;

use super::layout::Layout;
use crate::domain::asset::Asset;
use crate::domain::generation::Generation;
use crate::domain::ids::GenerationId;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::csrf::CsrfToken;
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, error_text, ok, redirect_with};
use crate::i18n::Tr;
use crate::services::limits::places::Place;
use crate::services::state::AppState;
use crate::services::studio::lineage::{self, Lineage, Offered};
use crate::services::{studio::generations, studio::media};
use crate::urls::{Route, Urls};

/// An output as the page shows it.
pub struct OutputCard {
    pub url: String,
    pub download: String,
    pub is_video: bool,
    pub is_audio: bool,
    /// What to call a file offered only as a download (SVG, unknown types): never put in an
    /// `<img>`, since it is never served inline.
    pub download_only: Option<&'static str>,
    /// A video with a sound track, or an audio file.
    pub has_sound: bool,
    pub content_type: String,
    pub size: String,
}

fn cards(state: &AppState, outputs: &[Asset]) -> Vec<OutputCard> {
    outputs
        .iter()
        .map(|a| {
            let url = media::signed_path(state, a);
            OutputCard {
                download: format!("{url}&download=1"),
                url,
                is_video: a.is_video(),
                is_audio: a.is_audio(),
                download_only: a.download_only(),
                has_sound: a.has_sound,
                content_type: a.content_type.clone(),
                size: bytesize::ByteSize::b(a.bytes).display().iec().to_string(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "generations/status.html")]
struct StatusCard<'a> {
    urls: Urls,
    tr: Tr,
    g: &'a Generation,
    outputs: Vec<OutputCard>,
    csrf: String,
    alt: String,
}

#[derive(Template)]
#[template(path = "generations/show.html")]
struct ShowPage<'a> {
    layout: Layout,
    /// The page's translator, for the status card this page includes.
    tr: Tr,
    /// The route table, for the status card this page includes.
    urls: Urls,
    g: &'a Generation,
    outputs: Vec<OutputCard>,
    csrf: String,
    alt: String,
    model_label: String,
    demo: bool,
    duration: String,
    /// The viewer owns it (a teammate sees a shared one read-only).
    is_owner: bool,
    /// (role label, signed URL, shown as `image`, `video` or `audio`) of each reference.
    references: Vec<(String, String, &'static str)>,
    /// Whole days until retention deletes it, for its owner.
    expires_in_days: Option<i64>,
    /// The viewer is an admin (may put it on legal hold).
    is_admin: bool,
    /// Where it came from and what was made from it.
    lineage: Lineage,
    /// The models the owner may use on its output (Extend, Edit, Enhance).
    operations: Vec<Offered>,
    /// Its approval request, when its price needed one.
    approval: Option<crate::domain::approval::Approval>,
    /// The boards the viewer edits, for "add to board": (id, name).
    boards: Vec<(String, String)>,
}

/// (role label, signed link, shown as) of each of a generation's references that still exists.
pub(super) async fn reference_cards(
    state: &crate::services::state::AppState,
    tr: &Tr,
    g: &Generation,
) -> Result<Vec<(String, String, &'static str)>, crate::services::ServiceError> {
    let uploads = media::assets(state, g.references.iter().map(|r| r.upload).collect()).await?;
    Ok(g.references
        .iter()
        .filter_map(|r| {
            uploads.iter().find(|a| a.id == r.upload).map(|a| (tr.reference_role(r.role), media::signed_path(state, a), a.shown_as()))
        })
        .collect())
}

/// The alternative text of a generation's image outputs: its prompt's start.
pub fn alt_text(g: &Generation) -> String {
    format!("Generated from: {}", g.prompt.chars().take(200).collect::<String>())
}

pub async fn show(req: HttpRequest, who: SignedIn, id: web::Path<GenerationId>) -> PageResult {
    let state = state(&req)?;
    let g = generations::visible(&state, &who.user, id.into_inner()).await?;
    let outputs = media::assets(&state, g.outputs.clone()).await?;
    let model = crate::services::studio::models::spec(&state, &g.model);
    let tr = lang::tr(&req);
    let duration = match (g.submitted_at.or(Some(g.created_at)), g.finished_at) {
        (Some(a), Some(b)) => tr.duration_ms(b.millis() - a.millis()),
        _ => String::new(),
    };
    let references = reference_cards(&state, &tr, &g).await?;
    let layout = Layout::new(&req, Some(&who.user));
    let lineage = lineage::lineage(&state, &who.user, &g).await?;
    let operations = lineage::operations_on(&state, &who.user, &g).await?;
    let page = ShowPage {
        tr,
        lineage,
        operations,
        urls: state.urls().clone(),
        expires_in_days: crate::services::privacy::retention::days_left(&state, &who.user, &g, crate::domain::time::Timestamp::now()),
        is_admin: who.user.role == crate::domain::user::Role::Admin,
        boards: crate::services::studio::boards::editable(&state, &who.user).await?,
        approval: crate::services::studio::approvals::of_generation(&state, g.id).await?,
        references,
        is_owner: g.owner == who.user.id,
        csrf: layout.csrf.clone(),
        layout,
        outputs: cards(&state, &outputs),
        alt: alt_text(&g),
        model_label: model.as_ref().map_or(g.model.clone(), |m| m.label.to_string()),
        demo: model.as_ref().is_some_and(|m| m.demo),
        duration,
        g: &g,
    };
    ok(&req, &page)
}

/// `GET /generations`: the library took over the list.
pub async fn list() -> HttpResponse {
    crate::http::responses::redirect(Route::Library.pattern())
}

pub async fn cancel(req: HttpRequest, who: SignedIn, id: web::Path<GenerationId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let path = state.urls().generation(id);
    match generations::cancel(&state, &who.user, id).await {
        Ok(_) => Ok(redirect_with(&path, FlashKind::Success, &lang::tr(&req).t("flash-cancelling"))),
        Err(e @ (crate::services::ServiceError::Conflict(_) | crate::services::ServiceError::AlreadyFinished)) => {
            Ok(redirect_with(&path, FlashKind::Error, &error_text(&lang::tr(&req), &AppError::from(e))))
        }
        Err(e) => Err(e.into()),
    }
}

/// One server-sent event; multi-line data is split into `data:` lines.
fn sse(event: &str, data: &str) -> Bytes {
    let mut out = format!("event: {event}\n");
    for line in data.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

async fn status_event(state: &AppState, g: &Generation, csrf: &str, tr: Tr) -> Bytes {
    let outputs = media::assets(state, g.outputs.clone()).await.unwrap_or_default();
    let card = StatusCard { urls: state.urls().clone(), tr, g, outputs: cards(state, &outputs), csrf: csrf.to_string(), alt: alt_text(g) };
    let html = card.render().unwrap_or_default();
    sse("status", &html)
}

/// 429 for a person who already holds as many live streams as `limits.event_streams_per_person`.
fn too_many_streams(state: &AppState) -> AppError {
    let message = format!(
        "You already have {} live status updates open; close some generation pages, or reload this one later.",
        state.event_streams.per_person()
    );
    AppError { retry_after: Some(Duration::from_secs(15)), ..AppError::new(StatusCode::TOO_MANY_REQUESTS, "events.too_many", message) }
}

/// `GET /generations/{id}/events`: the status card now and at every change, then `done`.
pub async fn events(req: HttpRequest, who: SignedIn, id: web::Path<GenerationId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let first = generations::visible(&state, &who.user, id).await?;
    let slot = state.event_streams.claim(who.user.id).map_err(|_| too_many_streams(&state))?;
    let receiver = crate::services::studio::generations::events(&state);
    let csrf = req.extensions().get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
    let user = who.user.clone();
    let tr = lang::tr(&req);
    struct Live {
        state: AppState,
        receiver: tokio::sync::broadcast::Receiver<crate::services::studio::generations::GenEvent>,
        pending: Option<Generation>,
        /// The generation as last sent, while it runs (someone is watching it).
        watched: Option<Generation>,
        finished: bool,
        /// Held while the stream lives: dropped with it when the client goes away.
        _slot: Place,
    }
    let live = Live { state, receiver, pending: Some(first), watched: None, finished: false, _slot: slot };
    let body = stream::unfold(live, move |mut live| {
        let csrf = csrf.clone();
        let user = user.clone();
        async move {
            if live.finished {
                return None;
            }
            if let Some(g) = live.pending.take() {
                let mut chunk = status_event(&live.state, &g, &csrf, tr).await.to_vec();
                if g.state.is_terminal() {
                    chunk.extend_from_slice(&sse("done", "done"));
                    live.finished = true;
                }
                generations::freshen(&live.state, &g);
                live.watched = Some(g);
                return Some((Ok::<_, actix_web::Error>(Bytes::from(chunk)), live));
            }
            // while the page is open, the job is polled about once a second (as a reader
            // would), with a keep-alive comment every 15 s
            let mut quiet = Duration::ZERO;
            loop {
                match tokio::time::timeout(Duration::from_secs(1), live.receiver.recv()).await {
                    Err(_) if quiet < Duration::from_secs(14) => {
                        quiet += Duration::from_secs(1);
                        if let Some(g) = &live.watched {
                            generations::freshen(&live.state, g);
                        }
                    }
                    Err(_) => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), live)),
                    Ok(Ok(event)) if event.id == id => break,
                    Ok(Ok(_)) => continue,
                    Ok(Err(RecvError::Lagged(_))) => break,
                    Ok(Err(RecvError::Closed)) => return None,
                }
            }
            live.pending = generations::visible(&live.state, &user, id).await.ok();
            live.pending.as_ref()?;
            Some((Ok(Bytes::new()), live))
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
