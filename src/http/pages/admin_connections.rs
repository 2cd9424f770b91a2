//! The admin's connections page: the provider accounts in force, adding and removing them,
//! "Test connection", and "Discover models" (the models connections' APIs list). Keys are write-only: the page shows "••••" and the last four.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::config::CONNECTION_KINDS;
use crate::error::AppError;
use crate::http::auth::{Admin, state};
use crate::http::responses::{FlashKind, PageResult, redirect_with, render};
use crate::services::ServiceError;
use crate::services::team::connections::{self, ConnectionRow, NewConnection, Source};
use crate::services::team::discovery;

#[derive(Template)]
#[template(path = "admin/connections.html")]
struct ConnectionsPage {
    layout: Layout,
    rows: Vec<ConnectionRow>,
    kinds: Vec<&'static str>,
    /// Where each provider issues API keys.
    key_pages: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    /// What the add form held when it was refused (keys never echoed back).
    form: AddForm,
}

impl ConnectionsPage {
    fn from_config(row: &ConnectionRow) -> bool {
        row.source == Source::Config
    }
}

#[derive(Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    region: String,
    #[serde(default, skip_serializing)]
    api_key: String,
    #[serde(default)]
    access_key: String,
    #[serde(default, skip_serializing)]
    secret_key: String,
    #[serde(default)]
    max_concurrent: String,
    #[serde(default)]
    allow_private_network: Option<String>,
    #[serde(default)]
    models: String,
}

async fn page(req: &HttpRequest, admin: &Admin, status: StatusCode, error: Option<String>, form: AddForm) -> PageResult {
    let state = state(req)?;
    let rows = connections::list(&state).await?;
    let kinds: Vec<&'static str> = CONNECTION_KINDS.iter().copied().filter(|k| *k != "demo").collect();
    let key_pages = kinds.iter().filter_map(|k| Some((*k, crate::config::key_page(k)?))).collect();
    let page = ConnectionsPage { layout: Layout::new(req, Some(&admin.0.user)), rows, kinds, key_pages, error, form };
    render(req, status, &page)
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    page(&req, &admin, StatusCode::OK, None, AddForm::default()).await
}

pub async fn add(req: HttpRequest, admin: Admin, form: web::Form<AddForm>) -> PageResult {
    let state = state(&req)?;
    let mut form = form.into_inner();
    let max_concurrent = match form.max_concurrent.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let message = "Jobs at once must be a whole number.".to_string();
                return page(&req, &admin, StatusCode::UNPROCESSABLE_ENTITY, Some(message), blank_keys(form)).await;
            }
        },
    };
    let new = NewConnection {
        name: form.name.clone(),
        kind: form.kind.clone(),
        base_url: form.base_url.clone(),
        region: form.region.clone(),
        api_key: std::mem::take(&mut form.api_key),
        access_key: form.access_key.clone(),
        secret_key: std::mem::take(&mut form.secret_key),
        max_concurrent,
        allow_private_network: form.allow_private_network.is_some(),
        models: form.models.clone(),
    };
    match connections::add(&state, &admin.0.ctx(), new).await {
        Ok(()) => Ok(redirect_with(
            state.urls().admin_connections(),
            FlashKind::Success,
            &crate::http::lang::tr(&req).t_args("flash-connection-added", &[("name", form.name.trim().into())]),
        )),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::InvalidMessage(_) | ServiceError::Conflict(_))) => {
            let error = AppError::from(e);
            page(
                &req,
                &admin,
                error.status,
                Some(crate::http::responses::error_text(&crate::http::lang::tr(&req), &error)),
                blank_keys(form),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

fn blank_keys(mut form: AddForm) -> AddForm {
    form.api_key.clear();
    form.secret_key.clear();
    form
}

pub async fn remove(req: HttpRequest, admin: Admin, name: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    match connections::remove(&state, &admin.0.ctx(), &name).await {
        Ok(()) => Ok(redirect_with(
            state.urls().admin_connections(),
            FlashKind::Success,
            &crate::http::lang::tr(&req).t_args("flash-connection-removed", &[("name", name.to_string().into())]),
        )),
        Err(ServiceError::Conflict(message)) => Ok(redirect_with(state.urls().admin_connections(), FlashKind::Error, message)),
        Err(other) => Err(other.into()),
    }
}

pub async fn test(req: HttpRequest, admin: Admin, name: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    let (kind, message) = match connections::test(&state, &admin.0.ctx(), &name).await? {
        Ok(said) => (FlashKind::Success, format!("{name}: the provider accepted the key ({said}).")),
        Err(problem) => (FlashKind::Error, format!("{name}: {problem}")),
    };
    Ok(redirect_with(state.urls().admin_connections(), kind, &message))
}

pub async fn discover(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let found = discovery::refresh(&state, &admin.0.ctx()).await?;
    let (kind, message) = if found.failures.is_empty() {
        (FlashKind::Success, format!("The connections' APIs list {} models; the catalog now offers them.", found.models))
    } else {
        (FlashKind::Error, format!("The discovered models stay as they were: {}", found.failures.join("; ")))
    };
    Ok(redirect_with(state.urls().admin_connections(), kind, &message))
}
