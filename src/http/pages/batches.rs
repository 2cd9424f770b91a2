//! The batches pages: the list with the upload form, and one batch: its dry run (every row's
//! price or reason, the total), the start form (budget, parallel), then its progress per row,
//! polled by htmx while rows run, with Stop, Resume and a link to its board.

use std::collections::BTreeMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;

use super::cast::form_refusal;
use super::layout::Layout;
use crate::domain::batch::{Batch, BatchState, RowState, StopReason};
use crate::domain::ids::BatchId;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, redirect, redirect_with, render};
use crate::services::ServiceError;
use crate::services::studio::batches::{self, Limits};
use crate::services::studio::boards;

/// One row as the table shows it.
pub struct RowLine {
    pub number: u32,
    pub model: String,
    pub prompt: String,
    pub price: u64,
    /// The wire name, for styling and tests.
    pub state: &'static str,
    pub state_label: String,
    pub error: Option<String>,
    pub generation: Option<String>,
}

/// A batch as the pages show it.
pub struct BatchCard {
    pub id: BatchId,
    pub name: String,
    pub board: String,
    pub state: &'static str,
    pub state_label: String,
    pub stop_reason: Option<String>,
    pub budget: Option<u64>,
    pub parallel: u8,
    pub total: u64,
    pub committed: u64,
    pub valid: usize,
    pub invalid: usize,
    pub done: usize,
    pub rows: Vec<RowLine>,
    pub is_draft: bool,
    pub can_stop: bool,
    pub can_resume: bool,
    pub can_delete: bool,
    /// Rows are running: the progress polls.
    pub live: bool,
}

impl BatchCard {
    fn new(layout: &Layout, b: &Batch) -> BatchCard {
        let state_label = layout.t(match b.state {
            BatchState::Draft => "batch-state-draft",
            BatchState::Running => "batch-state-running",
            BatchState::Stopped => "batch-state-stopped",
            BatchState::Finished => "batch-state-finished",
        });
        let stop_reason = b.stop_reason.map(|r| {
            layout.t(match r {
                StopReason::Asked => "batch-stopped-asked",
                StopReason::Budget => "batch-stopped-budget",
                StopReason::Credits => "batch-stopped-credits",
                StopReason::Board => "batch-stopped-board",
            })
        });
        let rows = b
            .rows
            .iter()
            .map(|r| RowLine {
                number: r.number,
                model: r.request.as_ref().map(|q| q.model.clone()).unwrap_or_default(),
                prompt: r.request.as_ref().map(|q| q.prompt.clone()).unwrap_or_default(),
                price: r.price,
                state: r.state.as_str(),
                state_label: layout.t(&format!("batch-row-{}", r.state.as_str())),
                error: r.error.clone(),
                generation: r.generation.map(|g| layout.urls.generation(g)),
            })
            .collect();
        BatchCard {
            id: b.id,
            name: b.name.clone(),
            board: layout.urls.board(b.board),
            state: b.state.as_str(),
            state_label,
            stop_reason,
            budget: b.budget,
            parallel: b.parallel,
            total: b.total(),
            committed: b.committed(),
            valid: b.rows.len() - b.count(RowState::Invalid),
            invalid: b.count(RowState::Invalid),
            done: b.count(RowState::Succeeded) + b.count(RowState::Failed),
            rows,
            is_draft: b.state == BatchState::Draft,
            can_stop: b.state == BatchState::Running,
            can_resume: b.state == BatchState::Stopped,
            can_delete: b.state != BatchState::Running && b.in_flight() == 0,
            live: b.state == BatchState::Running || b.in_flight() > 0,
        }
    }
}

#[derive(Template)]
#[template(path = "batches/index.html")]
struct ListPage {
    layout: Layout,
    batches: Vec<BatchCard>,
    /// The boards the person edits: (id, name).
    boards: Vec<(String, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "batches/show.html")]
struct ShowPage {
    layout: Layout,
    batch: BatchCard,
}

#[derive(Template)]
#[template(path = "batches/progress_panel.html")]
struct ProgressPanel {
    layout: Layout,
    batch: BatchCard,
}

async fn list_page(req: &HttpRequest, who: &SignedIn, error: Option<String>, status: StatusCode) -> PageResult {
    let state = state(req)?;
    let layout = Layout::new(req, Some(&who.user));
    let batches = batches::list(&state, &who.user).await?.iter().map(|b| BatchCard::new(&layout, b)).collect();
    let page = ListPage { batches, boards: boards::editable(&state, &who.user).await?, error, layout };
    render(req, status, &page)
}

/// `/batches`: the person's batches and the upload form.
pub async fn list(req: HttpRequest, who: SignedIn) -> PageResult {
    list_page(&req, &who, None, StatusCode::OK).await
}

/// Refusals the person can fix on the form.
fn on_form(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Invalid(_) | ServiceError::InvalidMessage(_) | ServiceError::TooLarge(_) | ServiceError::NotEditor)
}

/// The upload form (multipart, its CSRF token in the query): the dry run's page, or the
/// form again with the reason.
pub async fn create(req: HttpRequest, who: SignedIn, payload: Multipart) -> PageResult {
    let state = state(&req)?;
    let new = crate::http::api::batches::read_form(payload).await?;
    match batches::create(&state, &who.ctx(), &who.user, new).await {
        Ok(batch) => Ok(redirect(&state.urls().batch(batch.id))),
        Err(e) if on_form(&e) => {
            let (text, status) = form_refusal(&req, e);
            list_page(&req, &who, Some(text), status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `/batches/{id}`: the dry run, then the progress.
pub async fn show(req: HttpRequest, who: SignedIn, id: web::Path<BatchId>) -> PageResult {
    let state = state(&req)?;
    let batch = batches::get(&state, &who.user, id.into_inner()).await?;
    let layout = Layout::new(&req, Some(&who.user));
    let batch = BatchCard::new(&layout, &batch);
    render(&req, StatusCode::OK, &ShowPage { layout, batch })
}

/// The progress panel alone, which the page polls while rows run.
pub async fn progress(req: HttpRequest, who: SignedIn, id: web::Path<BatchId>) -> PageResult {
    let state = state(&req)?;
    let batch = batches::get(&state, &who.user, id.into_inner()).await?;
    let layout = Layout::new(&req, Some(&who.user));
    let batch = BatchCard::new(&layout, &batch);
    render(&req, StatusCode::OK, &ProgressPanel { layout, batch })
}

/// The budget and parallel fields of the start and resume forms (both filled with the batch's
/// own; an empty budget is no cap, an empty parallel unchanged).
fn limits(fields: &BTreeMap<String, String>) -> Result<Limits, ServiceError> {
    let budget = match fields.get("budget").map(|b| b.trim()).unwrap_or_default() {
        "" => Some(None),
        text => {
            Some(Some(text.parse().map_err(|_| ServiceError::InvalidMessage("the budget is a whole number of credits, 0 or more".into()))?))
        }
    };
    let parallel = match fields.get("parallel").map(|p| p.trim()).unwrap_or_default() {
        "" => None,
        text => Some(text.parse().map_err(|_| ServiceError::InvalidMessage("parallel is a whole number from 1 to 8".into()))?),
    };
    Ok(Limits { budget, parallel })
}

/// Back to the batch, with `outcome` as a flash message.
fn back(req: &HttpRequest, id: BatchId, outcome: Result<&str, ServiceError>) -> PageResult {
    let state = state(req)?;
    let location = state.urls().batch(id);
    Ok(match outcome {
        Ok(key) => redirect_with(&location, FlashKind::Success, &crate::http::lang::tr(req).t(key)),
        Err(e @ (ServiceError::NotFound(_) | ServiceError::Store(_) | ServiceError::Internal(_))) => return Err(e.into()),
        Err(e) => redirect_with(&location, FlashKind::Error, &form_refusal(req, e).0),
    })
}

pub async fn start(req: HttpRequest, who: SignedIn, id: web::Path<BatchId>, form: web::Form<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let outcome = match limits(&form) {
        Ok(limits) => batches::start(&state, &who.ctx(), &who.user, id, limits).await.map(|_| "flash-batch-started"),
        Err(e) => Err(e),
    };
    back(&req, id, outcome)
}

pub async fn stop(req: HttpRequest, who: SignedIn, id: web::Path<BatchId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let outcome = batches::stop(&state, &who.ctx(), &who.user, id).await.map(|_| "flash-batch-stopped");
    back(&req, id, outcome)
}

pub async fn resume(req: HttpRequest, who: SignedIn, id: web::Path<BatchId>, form: web::Form<BTreeMap<String, String>>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    let outcome = match limits(&form) {
        Ok(limits) => batches::resume(&state, &who.ctx(), &who.user, id, limits).await.map(|_| "flash-batch-resumed"),
        Err(e) => Err(e),
    };
    back(&req, id, outcome)
}

pub async fn delete(req: HttpRequest, who: SignedIn, id: web::Path<BatchId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    match batches::delete(&state, &who.user, id).await {
        Ok(()) => Ok(redirect_with(state.urls().batches(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-batch-deleted"))),
        Err(e) => back(&req, id, Err(e)),
    }
}
