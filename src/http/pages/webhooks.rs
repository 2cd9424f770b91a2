//! Webhooks on the account pages: register (the signing secret shown once), list, delete,
//! and each webhook's delivery log.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::ids::WebhookId;
use crate::domain::webhook::{Delivery, Webhook};
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, redirect_with, render};
use crate::services::{ServiceError, team::webhooks};

#[derive(Template)]
#[template(path = "account/webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    hooks: Vec<Webhook>,
    /// The secret of a webhook registered by this request: shown this once.
    created: Option<String>,
    error: Option<String>,
    /// What the form held when it was refused.
    url: String,
    description: String,
}

#[derive(Template)]
#[template(path = "account/webhook.html")]
struct WebhookPage {
    layout: Layout,
    hook: Webhook,
    deliveries: Vec<Delivery>,
}

struct Form<'a> {
    created: Option<String>,
    error: Option<String>,
    url: &'a str,
    description: &'a str,
}

async fn page(req: &HttpRequest, who: &SignedIn, status: StatusCode, form: Form<'_>) -> PageResult {
    let state = state(req)?;
    let hooks = webhooks::list(&state, who.user.id).await?;
    let page = WebhooksPage {
        layout: Layout::new(req, Some(&who.user)),
        hooks,
        created: form.created,
        error: form.error,
        url: form.url.to_string(),
        description: form.description.to_string(),
    };
    render(req, status, &page)
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    page(&req, &who, StatusCode::OK, Form { created: None, error: None, url: "", description: "" }).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
}

pub async fn create(req: HttpRequest, who: SignedIn, form: web::Form<CreateForm>) -> PageResult {
    let state = state(&req)?;
    match webhooks::create(&state, &who.ctx(), &who.user, &form.url, &form.description).await {
        Ok((_, secret)) => page(&req, &who, StatusCode::OK, Form { created: Some(secret), error: None, url: "", description: "" }).await,
        Err(e @ (ServiceError::Invalid(_) | ServiceError::InvalidMessage(_))) => {
            let error = AppError::from(e);
            let form = Form {
                created: None,
                error: Some(crate::http::responses::error_text(&crate::http::lang::tr(&req), &error)),
                url: &form.url,
                description: &form.description,
            };
            page(&req, &who, error.status, form).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn show_one(req: HttpRequest, who: SignedIn, id: web::Path<WebhookId>) -> PageResult {
    let state = state(&req)?;
    let (hook, deliveries) = webhooks::deliveries(&state, who.user.id, id.into_inner()).await?;
    render(&req, StatusCode::OK, &WebhookPage { layout: Layout::new(&req, Some(&who.user)), hook, deliveries })
}

pub async fn delete(req: HttpRequest, who: SignedIn, id: web::Path<WebhookId>) -> PageResult {
    let state = state(&req)?;
    webhooks::delete(&state, &who.ctx(), who.user.id, id.into_inner()).await?;
    Ok(redirect_with(state.urls().webhooks(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-webhook-deleted")))
}
