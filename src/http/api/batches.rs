//! `/api/v1/batches`: many generations from one CSV or JSON manifest (with a ZIP of reference
//! files): the dry run, start with a budget, stop, resume, progress per row, delete.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ErrorBody;
use crate::domain::batch::{Batch, BatchRow, RowState};
use crate::domain::ids::{BatchId, BoardId};
use crate::domain::time::Timestamp;
use crate::error::AppError;
use crate::http::auth::{ApiCaller, state};
use crate::http::multipart::{self, Expected, Fields, Part};
use crate::http::responses::ApiResult;
use crate::services::studio::batches::{self, Limits, NewBatch, zip_files};

/// One row of a batch.
#[derive(Serialize, ToSchema)]
pub struct BatchRowView {
    /// 1-based, as the manifest counts its data rows.
    number: u32,
    /// `invalid`, `pending`, `submitted`, `succeeded` or `failed`.
    #[schema(value_type = String)]
    state: &'static str,
    model: Option<String>,
    prompt: Option<String>,
    /// The dry run's price, in credits (0 for an invalid row).
    price: u64,
    /// Why the row is invalid, its submit was refused or its generation failed.
    error: Option<String>,
    generation_id: Option<String>,
    /// What its generation cost, once it ended.
    cost: Option<u64>,
}

impl BatchRowView {
    fn new(row: &BatchRow) -> BatchRowView {
        BatchRowView {
            number: row.number,
            state: row.state.as_str(),
            model: row.request.as_ref().map(|r| r.model.clone()),
            prompt: row.request.as_ref().map(|r| r.prompt.clone()),
            price: row.price,
            error: row.error.clone(),
            generation_id: row.generation.map(|g| g.to_string()),
            cost: row.cost,
        }
    }
}

/// How many rows are in each state.
#[derive(Serialize, ToSchema)]
pub struct RowCounts {
    invalid: usize,
    pending: usize,
    submitted: usize,
    succeeded: usize,
    failed: usize,
}

/// A batch; its rows only in the answers about one batch.
#[derive(Serialize, ToSchema)]
pub struct BatchView {
    id: String,
    name: String,
    /// The board its results land on.
    board_id: String,
    /// `draft`, `running`, `stopped` or `finished`.
    #[schema(value_type = String)]
    state: &'static str,
    /// Why it stopped: `asked`, `budget`, `credits` or `board`.
    #[schema(value_type = Option<String>)]
    stop_reason: Option<&'static str>,
    /// The most credits the submitted rows' prices may add up to; `null`: no cap.
    budget: Option<u64>,
    /// The most rows in flight at once.
    parallel: u8,
    /// The dry run's total: the prices of the valid rows.
    total: u64,
    /// The prices of the rows submitted so far.
    committed: u64,
    /// Rows submitted whose generation has not ended.
    in_flight: usize,
    counts: RowCounts,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<Vec<BatchRowView>>,
}

impl BatchView {
    /// The batch as the API shows it, with its rows when `rows`.
    pub fn new(b: &Batch, rows: bool) -> BatchView {
        BatchView {
            id: b.id.to_string(),
            name: b.name.clone(),
            board_id: b.board.to_string(),
            state: b.state.as_str(),
            stop_reason: b.stop_reason.map(|r| r.as_str()),
            budget: b.budget,
            parallel: b.parallel,
            total: b.total(),
            committed: b.committed(),
            in_flight: b.in_flight(),
            counts: RowCounts {
                invalid: b.count(RowState::Invalid),
                pending: b.count(RowState::Pending),
                submitted: b.count(RowState::Submitted),
                succeeded: b.count(RowState::Succeeded),
                failed: b.count(RowState::Failed),
            },
            created_at: b.created_at.rfc3339(),
            started_at: b.started_at.map(Timestamp::rfc3339),
            finished_at: b.finished_at.map(Timestamp::rfc3339),
            rows: rows.then(|| b.rows.iter().map(BatchRowView::new).collect()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BatchList {
    batches: Vec<BatchView>,
}

/// The body of `POST /api/v1/batches`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BatchForm {
    /// CSV (a header row; columns `model`, `prompt`, `negative_prompt`, `preset`, `references`,
    /// `param.<name>`, `value.<placeholder>`) or a JSON array of objects with the same fields
    /// (`params` and `values` objects). At most 500 rows and 1 MiB.
    #[schema(value_type = String, format = Binary)]
    manifest: Vec<u8>,
    /// A ZIP of the reference files rows name (at most 200 files, 64 MiB).
    #[schema(value_type = Option<String>, format = Binary)]
    references: Option<Vec<u8>>,
    name: String,
    /// A board the caller edits; else a new board named after the batch.
    board_id: Option<String>,
    /// A cap, in credits, on the prices of the rows submitted.
    budget: Option<u64>,
    /// Rows in flight at once, 1 to 8 (default 2).
    parallel: Option<u8>,
}

/// What a start or resume may change.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// A new cap, in credits; `null` removes the cap (absent: unchanged).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    budget: Option<Option<u64>>,
    /// Rows in flight at once, 1 to 8 (absent: unchanged).
    parallel: Option<u8>,
}

impl From<LimitsBody> for Limits {
    fn from(b: LimitsBody) -> Limits {
        Limits { budget: b.budget, parallel: b.parallel }
    }
}

/// A field that is present, `null` included (`Some(None)`); an absent one stays `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

const FORM: Expected =
    Expected { fields: Fields::Named(&["name", "board_id", "budget", "parallel"]), files: &["manifest", "references"], max_files: 2 };

/// Reads the upload form of a new batch; a malformed field is 422 naming it.
pub async fn read_form(payload: Multipart) -> Result<NewBatch, AppError> {
    let mut form = multipart::Reader::new(payload, FORM, zip_files::MAX_ZIP_BYTES);
    let mut new = NewBatch::default();
    let mut manifest = None;
    while let Some(part) = form.next().await? {
        match part {
            Part::File(file) if file.field == "manifest" => manifest = Some(file.bytes),
            Part::File(file) => new.references = Some(file.bytes),
            Part::Text { name, value } => {
                let value = value.trim().to_string();
                if value.is_empty() {
                    continue;
                }
                match name.as_str() {
                    "name" => new.name = value,
                    "board_id" => {
                        new.board = Some(
                            value
                                .parse::<BoardId>()
                                .map_err(|_| AppError::bad_parameter("board_id", format!("{value:?} is not a board id.")))?,
                        );
                    }
                    "budget" => {
                        new.budget = Some(
                            value
                                .parse()
                                .map_err(|_| AppError::bad_parameter("budget", "The budget is a whole number of credits, 0 or more."))?,
                        );
                    }
                    _ => {
                        new.parallel = Some(
                            value.parse().map_err(|_| AppError::bad_parameter("parallel", "parallel is a whole number from 1 to 8."))?,
                        );
                    }
                }
            }
        }
    }
    new.manifest = manifest.ok_or_else(|| AppError::bad_parameter("manifest", "Send the manifest in a file part named `manifest`."))?;
    Ok(new)
}

/// The caller's batches, newest first (without their rows).
#[utoipa::path(get, operation_id = "batches_list", path = "/api/v1/batches", tag = "batches", responses((status = 200, body = BatchList)))]
pub async fn list(req: HttpRequest, caller: ApiCaller) -> ApiResult {
    let state = state(&req)?;
    let batches = batches::list(&state, &caller.user).await?;
    Ok(HttpResponse::Ok().json(BatchList { batches: batches.iter().map(|b| BatchView::new(b, false)).collect() }))
}

/// Uploads a manifest (and a ZIP of references): the batch is stored as a `draft` with its dry
/// run, every row priced as a submit would price it, or with the reason it is invalid.
#[utoipa::path(post, operation_id = "batches_create", path = "/api/v1/batches", tag = "batches",
    request_body(content = BatchForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = BatchView),
        (status = 403, description = "The caller only views the board, or is frozen", body = ErrorBody),
        (status = 404, description = "Not a board of the caller's", body = ErrorBody),
        (status = 413, description = "A file is too large", body = ErrorBody),
        (status = 422, description = "A manifest or ZIP that cannot be read, too many rows or files, a bad name, budget or parallel (`invalid_input`)", body = ErrorBody),
    ))]
pub async fn create(req: HttpRequest, caller: ApiCaller, payload: Multipart) -> ApiResult {
    let state = state(&req)?;
    let new = read_form(payload).await?;
    let batch = batches::create(&state, &caller.ctx(), &caller.user, new).await?;
    Ok(HttpResponse::Created().json(BatchView::new(&batch, true)))
}

/// One of the caller's batches with every row.
#[utoipa::path(get, operation_id = "batches_show", path = "/api/v1/batches/{id}", tag = "batches",
    params(("id" = String, Path, description = "The batch's id")),
    responses((status = 200, body = BatchView), (status = 404, description = "Not a batch of the caller's", body = ErrorBody)))]
pub async fn show(req: HttpRequest, caller: ApiCaller, id: web::Path<BatchId>) -> ApiResult {
    let state = state(&req)?;
    let batch = batches::get(&state, &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(BatchView::new(&batch, true)))
}

/// Starts a draft. Rows are submitted in order, at most `parallel` in flight; when the next
/// row's price would take the submitted rows' total past the budget, the batch stops with
/// `budget` (raise it and resume).
#[utoipa::path(post, operation_id = "batches_start", path = "/api/v1/batches/{id}/start", tag = "batches", request_body = LimitsBody,
    params(("id" = String, Path, description = "The batch's id")),
    responses(
        (status = 200, body = BatchView),
        (status = 404, description = "Not a batch of the caller's", body = ErrorBody),
        (status = 409, description = "Already started, or no valid row", body = ErrorBody),
        (status = 422, description = "parallel out of 1..=8", body = ErrorBody),
    ))]
pub async fn start(req: HttpRequest, caller: ApiCaller, id: web::Path<BatchId>, body: web::Json<LimitsBody>) -> ApiResult {
    let state = state(&req)?;
    let batch = batches::start(&state, &caller.ctx(), &caller.user, id.into_inner(), body.into_inner().into()).await?;
    Ok(HttpResponse::Ok().json(BatchView::new(&batch, true)))
}

/// Stops a running batch: nothing new is submitted; rows in flight finish.
#[utoipa::path(post, operation_id = "batches_stop", path = "/api/v1/batches/{id}/stop", tag = "batches",
    params(("id" = String, Path, description = "The batch's id")),
    responses(
        (status = 200, body = BatchView),
        (status = 404, description = "Not a batch of the caller's", body = ErrorBody),
        (status = 409, description = "Not running", body = ErrorBody),
    ))]
pub async fn stop(req: HttpRequest, caller: ApiCaller, id: web::Path<BatchId>) -> ApiResult {
    let state = state(&req)?;
    let batch = batches::stop(&state, &caller.ctx(), &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(BatchView::new(&batch, true)))
}

/// Resumes a stopped batch, optionally with a new budget or parallelism.
#[utoipa::path(post, operation_id = "batches_resume", path = "/api/v1/batches/{id}/resume", tag = "batches", request_body = LimitsBody,
    params(("id" = String, Path, description = "The batch's id")),
    responses(
        (status = 200, body = BatchView),
        (status = 404, description = "Not a batch of the caller's", body = ErrorBody),
        (status = 409, description = "Not stopped", body = ErrorBody),
        (status = 422, description = "parallel out of 1..=8", body = ErrorBody),
    ))]
pub async fn resume(req: HttpRequest, caller: ApiCaller, id: web::Path<BatchId>, body: web::Json<LimitsBody>) -> ApiResult {
    let state = state(&req)?;
    let batch = batches::resume(&state, &caller.ctx(), &caller.user, id.into_inner(), body.into_inner().into()).await?;
    Ok(HttpResponse::Ok().json(BatchView::new(&batch, true)))
}

/// Deletes a draft, a finished batch, or a stopped one with no row in flight; its
/// generations and its board stay.
#[utoipa::path(delete, operation_id = "batches_delete", path = "/api/v1/batches/{id}", tag = "batches",
    params(("id" = String, Path, description = "The batch's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Not a batch of the caller's", body = ErrorBody),
        (status = 409, description = "Running, or rows still in flight", body = ErrorBody),
    ))]
pub async fn delete(req: HttpRequest, caller: ApiCaller, id: web::Path<BatchId>) -> ApiResult {
    let state = state(&req)?;
    batches::delete(&state, &caller.user, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
