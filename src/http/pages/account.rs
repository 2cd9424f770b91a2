//! The account page: profile name, password change, and the data export panel.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::account_export::ExportPanel;
use super::layout::Layout;
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageError, PageResult, ok, redirect_with, render};
use crate::services::{ServiceError, accounts};

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    layout: Layout,
    user: User,
    error: Option<String>,
    export: ExportPanel,
}

impl AccountPage {
    async fn new(req: &HttpRequest, user: User, error: Option<String>) -> Result<AccountPage, PageError> {
        let layout = Layout::new(req, Some(&user));
        let export = ExportPanel::load(&state(req)?, user.id, layout.csrf.clone()).await?;
        Ok(AccountPage { layout, user, error, export })
    }
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let page = AccountPage::new(&req, who.user, None).await?;
    ok(&req, &page)
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
}

pub async fn update_profile(req: HttpRequest, who: SignedIn, form: web::Form<ProfileForm>) -> PageResult {
    let state = state(&req)?;
    match accounts::rename(&state, who.user.id, &form.name).await {
        Ok(_) => Ok(redirect_with(state.urls().account(), FlashKind::Success, "Your profile is saved.")),
        Err(e) => refuse(&req, who.user, e).await,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(req: HttpRequest, who: SignedIn, form: web::Form<PasswordForm>) -> PageResult {
    let state = state(&req)?;
    if form.password != form.confirm {
        return refuse(&req, who.user, crate::domain::user::InvalidInput("the two new passwords differ").into()).await;
    }
    match accounts::change_password(&state, &who.ctx(), &who.user, &form.current, &form.password, Some(who.hash)).await {
        Ok(()) => {
            Ok(redirect_with(state.urls().account(), FlashKind::Success, "Your password is changed. Your other sessions were signed out."))
        }
        Err(ServiceError::BadCredentials) => {
            refuse(&req, who.user, crate::domain::user::InvalidInput("the current password is not correct").into()).await
        }
        Err(e) => refuse(&req, who.user, e).await,
    }
}

async fn refuse(req: &HttpRequest, user: User, e: ServiceError) -> PageResult {
    match e {
        ServiceError::Invalid(_) => {
            let error = AppError::from(e);
            let page = AccountPage::new(req, user, Some(error.message)).await?;
            render(req, error.status, &page)
        }
        other => Err(other.into()),
    }
}
