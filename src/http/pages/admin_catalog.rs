//! The catalog on the admin pages: one model's edit form (label, description, upstream id,
//! price, hidden, lifecycle dates, successor), reverting an edit, adding a model like
//! another, and moving what names a retiring model to its successor.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::catalog::{CatalogDate, Layer, ModelEntry, ModelSpec, Status};
use crate::error::AppError;
use crate::http::auth::{Admin, state};
use crate::http::responses::{FlashKind, PageResult, redirect_with, render};
use crate::services::ServiceError;
use crate::services::team::catalog;

#[derive(Template)]
#[template(path = "admin/model_catalog.html")]
struct CatalogPage {
    layout: Layout,
    model: Arc<ModelSpec>,
    layer: &'static str,
    edited: bool,
    /// Ids of the other models, for the successor list.
    others: Vec<String>,
    error: Option<String>,
}

impl CatalogPage {
    fn date(&self, date: &Option<CatalogDate>) -> String {
        date.map(|d| d.to_string()).unwrap_or_default()
    }

    fn is_status(&self, status: &str) -> bool {
        self.model.lifecycle.status.as_str() == status
    }
}

async fn page(req: &HttpRequest, admin: &Admin, id: &str, status: StatusCode, error: Option<String>) -> PageResult {
    let state = state(req)?;
    let registry = state.registry();
    let model = registry.model(id).cloned().ok_or(ServiceError::NotFound("model"))?;
    let layer = registry.catalog().layer_of(id).unwrap_or(Layer::Shipped);
    let others = registry.models().iter().filter(|m| m.id != id).map(|m| m.id.clone()).collect();
    let edited = catalog::edit_of(&state, id).await?.is_some();
    let page = CatalogPage { layout: Layout::new(req, Some(&admin.0.user)), model, layer: layer.as_str(), edited, others, error };
    render(req, status, &page)
}

pub async fn show(req: HttpRequest, admin: Admin, id: web::Path<String>) -> PageResult {
    page(&req, &admin, &id, StatusCode::OK, None).await
}

/// A refused change re-renders the form with the reason and its status.
async fn refused(req: &HttpRequest, admin: &Admin, id: &str, e: ServiceError) -> PageResult {
    match e {
        e @ (ServiceError::Invalid(_) | ServiceError::InvalidMessage(_) | ServiceError::ModelRule(_)) => {
            let error = AppError::from(e);
            page(req, admin, id, error.status, Some(crate::http::responses::error_text(&crate::http::lang::tr(req), &error))).await
        }
        other => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    upstream: String,
    #[serde(default)]
    credits: String,
    #[serde(default)]
    hidden: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    deprecated_on: String,
    #[serde(default)]
    shutdown_on: String,
    #[serde(default)]
    successor: String,
}

/// The form as a catalog entry: what is filled in; a date or successor left empty stays as
/// the lower layers say.
fn entry_of(model: &ModelSpec, form: EditForm) -> Result<ModelEntry, ServiceError> {
    let text = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let date = |s: String, field: &str| -> Result<Option<CatalogDate>, ServiceError> {
        match text(s) {
            None => Ok(None),
            Some(t) => CatalogDate::parse(&t).map(Some).map_err(|e| ServiceError::InvalidMessage(format!("{field}, {e}"))),
        }
    };
    let price = match text(form.credits) {
        None => None,
        Some(t) => {
            let credits = t.parse::<u64>().ok().filter(|c| *c <= crate::domain::model_policy::MAX_CREDITS).ok_or_else(|| {
                ServiceError::InvalidMessage(format!(
                    "price: {t:?} is not a whole number of credits up to {}",
                    crate::domain::model_policy::MAX_CREDITS
                ))
            })?;
            Some(crate::domain::catalog::Price { credits, ..model.price.clone() })
        }
    };
    let status = match text(form.status) {
        None => None,
        Some(s) => Some(
            [Status::Preview, Status::Ga, Status::Deprecated, Status::Retired]
                .into_iter()
                .find(|x| x.as_str() == s)
                .ok_or_else(|| ServiceError::InvalidMessage("status is preview, ga, deprecated or retired".into()))?,
        ),
    };
    Ok(ModelEntry {
        id: model.id.clone(),
        label: text(form.label),
        description: text(form.description),
        upstream: text(form.upstream),
        price,
        hidden: Some(form.hidden.is_some()),
        status,
        deprecated_on: date(form.deprecated_on, "the deprecation date")?,
        shutdown_on: date(form.shutdown_on, "the shutdown date")?,
        successor: text(form.successor),
        ..ModelEntry::default()
    })
}

pub async fn save(req: HttpRequest, admin: Admin, id: web::Path<String>, form: web::Form<EditForm>) -> PageResult {
    let state = state(&req)?;
    let model = state.registry().model(&id).cloned().ok_or(ServiceError::NotFound("model"))?;
    let result = match entry_of(&model, form.into_inner()) {
        Ok(entry) => catalog::edit(&state, &admin.0.ctx(), entry).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(redirect_with(
            &state.urls().admin_model_catalog(&id),
            FlashKind::Success,
            &crate::http::lang::tr(&req).t_args("flash-catalog-saved", &[("model", id.to_string().into())]),
        )),
        Err(e) => refused(&req, &admin, &id, e).await,
    }
}

pub async fn revert(req: HttpRequest, admin: Admin, id: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    match catalog::revert(&state, &admin.0.ctx(), &id).await {
        Ok(()) if state.registry().model(&id).is_some() => Ok(redirect_with(
            &state.urls().admin_model_catalog(&id),
            FlashKind::Success,
            &crate::http::lang::tr(&req).t_args("flash-catalog-reverted", &[("model", id.to_string().into())]),
        )),
        Ok(()) => Ok(redirect_with(
            state.urls().admin_models(),
            FlashKind::Success,
            &crate::http::lang::tr(&req).t_args("flash-catalog-removed", &[("model", id.to_string().into())]),
        )),
        Err(e) => refused(&req, &admin, &id, e).await,
    }
}

pub async fn remap(req: HttpRequest, admin: Admin, id: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    match catalog::remap(&state, &admin.0.ctx(), &id).await {
        Ok(moved) => Ok(redirect_with(state.urls().home(), FlashKind::Success, &format!("{id}: moved {moved}."))),
        Err(e @ ServiceError::InvalidMessage(_)) => Ok(redirect_with(state.urls().home(), FlashKind::Error, &e.to_string())),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    like: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    upstream: String,
}

/// Adds a model like an existing one (same provider kind and wire format, its own upstream id).
pub async fn add(req: HttpRequest, admin: Admin, form: web::Form<AddForm>) -> PageResult {
    let state = state(&req)?;
    let form = form.into_inner();
    let id = form.id.trim().to_string();
    let back = |kind, message: &str| Ok(redirect_with(state.urls().admin_models(), kind, message));
    if state.registry().model(&id).is_some() {
        return back(FlashKind::Error, &format!("A model {id:?} exists already; open it to change it."));
    }
    let text = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let entry = ModelEntry {
        id: id.clone(),
        like: text(form.like),
        label: text(form.label),
        upstream: text(form.upstream),
        ..ModelEntry::default()
    };
    match catalog::edit(&state, &admin.0.ctx(), entry).await {
        Ok(_) => Ok(redirect_with(
            &state.urls().admin_model_catalog(&id),
            FlashKind::Success,
            &crate::http::lang::tr(&req).t_args("flash-catalog-added", &[("model", id.to_string().into())]),
        )),
        Err(e @ ServiceError::InvalidMessage(_)) => back(FlashKind::Error, &e.to_string()),
        Err(e) => Err(e.into()),
    }
}
