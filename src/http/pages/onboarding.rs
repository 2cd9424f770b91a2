//! Pages reached through one-time links: first-run setup, invitations, password resets.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::auth::LinkPurpose;
use crate::error::AppError;
use crate::http::auth::{session_cookie, state};
use crate::http::client::client_info;
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, error_text, ok, redirect_with, render};
use crate::services::{ServiceError, identity::links, identity::sessions};

/// What the account form is for.
#[derive(PartialEq, Eq)]
pub enum Purpose {
    Setup,
    Invitation,
    Reset,
}

#[derive(Template)]
#[template(path = "auth/onboarding.html")]
struct AccountForm {
    layout: Layout,
    purpose: Purpose,
    action: String,
    email: String,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn form(req: &HttpRequest, purpose: Purpose, action: String, email: String, name: String, error: Option<String>) -> AccountForm {
    AccountForm { layout: Layout::new(req, None), purpose, action, email, name, error }
}

/// Re-shows the form after a refusal, or passes other errors on.
fn refused(req: &HttpRequest, page: AccountForm, e: ServiceError) -> PageResult {
    match e {
        ServiceError::Invalid(_) | ServiceError::EmailTaken => {
            let error = AppError::from(e);
            render(req, error.status, &AccountForm { error: Some(error_text(&lang::tr(req), &error)), ..page })
        }
        other => Err(other.into()),
    }
}

fn mismatch(fields: &AccountFields) -> Option<ServiceError> {
    (fields.password != fields.confirm).then(|| crate::domain::user::InvalidInput("the two passwords differ").into())
}

fn signed_in_redirect(req: &HttpRequest, new: sessions::NewSession, message: &str) -> PageResult {
    let state = state(req)?;
    let mut response = redirect_with(state.urls().home(), FlashKind::Success, message);
    response.add_cookie(&session_cookie(&state, &new.secret)).map_err(|_| AppError::internal())?;
    Ok(response)
}

pub async fn setup_show(req: HttpRequest, secret: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    if !links::setup_secret_valid(&state, &secret).await? {
        return Err(ServiceError::LinkInvalid.into());
    }
    let action = state.urls().setup(&secret);
    ok(&req, &form(&req, Purpose::Setup, action, String::new(), String::new(), None))
}

pub async fn setup_submit(req: HttpRequest, secret: web::Path<String>, fields: web::Form<AccountFields>) -> PageResult {
    let state = state(&req)?;
    let action = state.urls().setup(&secret);
    let page = form(&req, Purpose::Setup, action, fields.email.clone(), fields.name.clone(), None);
    if let Some(e) = mismatch(&fields) {
        return refused(&req, page, e);
    }
    let client = client_info(&req, &state.config.trusted_proxies);
    match links::complete_setup(&state, &client, &secret, &fields.email, &fields.name, &fields.password).await {
        Ok(new) => signed_in_redirect(&req, new, &lang::tr(&req).t("flash-welcome-admin")),
        Err(e) => refused(&req, page, e),
    }
}

pub async fn invite_show(req: HttpRequest, secret: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    let link = links::find(&state, &secret).await?;
    let LinkPurpose::Invitation { email, .. } = link.purpose else {
        return Err(ServiceError::LinkInvalid.into());
    };
    let action = state.urls().invite(&secret);
    ok(&req, &form(&req, Purpose::Invitation, action, email.to_string(), String::new(), None))
}

pub async fn invite_submit(req: HttpRequest, secret: web::Path<String>, fields: web::Form<AccountFields>) -> PageResult {
    let state = state(&req)?;
    let link = links::find(&state, &secret).await?;
    let LinkPurpose::Invitation { email, .. } = link.purpose else {
        return Err(ServiceError::LinkInvalid.into());
    };
    let action = state.urls().invite(&secret);
    let page = form(&req, Purpose::Invitation, action, email.to_string(), fields.name.clone(), None);
    if let Some(e) = mismatch(&fields) {
        return refused(&req, page, e);
    }
    let client = client_info(&req, &state.config.trusted_proxies);
    match links::accept_invitation(&state, &client, &secret, &fields.name, &fields.password).await {
        Ok(new) => signed_in_redirect(&req, new, &lang::tr(&req).t("flash-welcome")),
        Err(e) => refused(&req, page, e),
    }
}

pub async fn reset_show(req: HttpRequest, secret: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    let link = links::find(&state, &secret).await?;
    if !matches!(link.purpose, LinkPurpose::PasswordReset { .. }) {
        return Err(ServiceError::LinkInvalid.into());
    }
    let action = state.urls().reset(&secret);
    ok(&req, &form(&req, Purpose::Reset, action, String::new(), String::new(), None))
}

pub async fn reset_submit(req: HttpRequest, secret: web::Path<String>, fields: web::Form<AccountFields>) -> PageResult {
    let state = state(&req)?;
    let action = state.urls().reset(&secret);
    let page = form(&req, Purpose::Reset, action, String::new(), String::new(), None);
    if let Some(e) = mismatch(&fields) {
        return refused(&req, page, e);
    }
    let client = client_info(&req, &state.config.trusted_proxies);
    match links::reset_password(&state, &client, &secret, &fields.password).await {
        Ok(_) => Ok(redirect_with("/login", FlashKind::Success, &lang::tr(&req).t("flash-password-reset"))),
        Err(e) => refused(&req, page, e),
    }
}
