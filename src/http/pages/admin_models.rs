//! The admin's model policy page: every model with its provider and connection, the roles it
//! is enabled for, per-person allow or deny overrides, and its price; one save per row.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::ids::UserId;
use crate::domain::model_policy::{Access, MAX_CREDITS};
use crate::error::AppError;
use crate::http::auth::{Admin, state};
use crate::http::responses::{FlashKind, PageResult, redirect_with, render};
use crate::services::team::model_policy::{self, PolicyRow, RowChange};
use crate::services::{ServiceError, identity::profile};

#[derive(Template)]
#[template(path = "admin/models.html")]
struct ModelsPage {
    layout: Layout,
    rows: Vec<PolicyRow>,
    error: Option<String>,
    max_credits: u64,
    /// The instance forbids sending content to providers that may train on it.
    forbid_training: bool,
}

impl ModelsPage {
    fn allows(access: &Access) -> bool {
        *access == Access::Allow
    }
}

async fn page(req: &HttpRequest, admin: &Admin, status: StatusCode, error: Option<String>) -> PageResult {
    let state = state(req)?;
    let rows = model_policy::rows(&state).await?;
    let forbid_training = profile::instance_forbids_training(&state).await?;
    let page = ModelsPage { layout: Layout::new(req, Some(&admin.0.user)), rows, error, max_credits: MAX_CREDITS, forbid_training };
    render(req, status, &page)
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    page(&req, &admin, StatusCode::OK, None).await
}

/// Input errors re-render the page with the reason and their status; others are errors.
async fn outcome(req: &HttpRequest, admin: &Admin, result: Result<(), ServiceError>, done: String) -> PageResult {
    let state = state(req)?;
    match result {
        Ok(()) => Ok(redirect_with(state.urls().admin_models(), FlashKind::Success, &done)),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::InvalidMessage(_))) => {
            let error = AppError::from(e);
            page(req, admin, error.status, Some(crate::http::responses::error_text(&crate::http::lang::tr(req), &error))).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    enabled_for_admins: Option<String>,
    #[serde(default)]
    enabled_for_members: Option<String>,
    #[serde(default)]
    credits: String,
}

pub async fn save(req: HttpRequest, admin: Admin, id: web::Path<String>, form: web::Form<SaveForm>) -> PageResult {
    let state = state(&req)?;
    let form = form.into_inner();
    let change = RowChange {
        enabled_for_admins: form.enabled_for_admins.is_some(),
        enabled_for_members: form.enabled_for_members.is_some(),
        credits: form.credits,
    };
    let result = model_policy::save(&state, &admin.0.ctx(), &id, change).await.map(|_| ());
    outcome(&req, &admin, result, format!("{id} saved.")).await
}

#[derive(Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    access: String,
}

pub async fn set_override(req: HttpRequest, admin: Admin, id: web::Path<String>, form: web::Form<OverrideForm>) -> PageResult {
    let state = state(&req)?;
    let result = match Access::parse(&form.access) {
        Ok(access) => model_policy::set_override(&state, &admin.0.ctx(), &id, &form.email, access).await,
        Err(e) => Err(e.into()),
    };
    let done = format!("{id}: {} for {}.", form.access.trim(), form.email.trim());
    outcome(&req, &admin, result, done).await
}

pub async fn remove_override(req: HttpRequest, admin: Admin, path: web::Path<(String, UserId)>) -> PageResult {
    let state = state(&req)?;
    let (id, user) = path.into_inner();
    let result = model_policy::remove_override(&state, &admin.0.ctx(), &id, user).await;
    outcome(&req, &admin, result, format!("{id}: override removed.")).await
}

#[derive(Deserialize)]
pub struct DataUseForm {
    #[serde(default)]
    forbid_training: String,
}

/// The instance-wide data-use setting.
pub async fn set_data_use(req: HttpRequest, admin: Admin, form: web::Form<DataUseForm>) -> PageResult {
    let state = state(&req)?;
    let forbid = match form.forbid_training.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::bad_request("`forbid_training` must be true or false.").into()),
    };
    profile::set_instance_forbid_training(&state, &admin.0.ctx(), forbid).await?;
    let message = if forbid {
        "No one's content goes to providers that may train on it any more; their models are hidden."
    } else {
        "Providers that may train on inputs are allowed again (people may still forbid them for themselves)."
    };
    Ok(redirect_with(state.urls().admin_models(), FlashKind::Success, message))
}
