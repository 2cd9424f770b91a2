//! The account page: profile name and password change.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::user::User;
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with, render};
use crate::services::{ServiceError, accounts};

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    layout: Layout,
    user: User,
    error: Option<String>,
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let page = AccountPage { layout: Layout::new(&req, Some(&who.user)), user: who.user, error: None };
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
        Err(e) => refuse(&req, who.user, e),
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
        return refuse(&req, who.user, crate::domain::user::InvalidInput("the two new passwords differ").into());
    }
    match accounts::change_password(&state, &who.ctx(), &who.user, &form.current, &form.password, Some(who.hash)).await {
        Ok(()) => {
            Ok(redirect_with(state.urls().account(), FlashKind::Success, "Your password is changed. Your other sessions were signed out."))
        }
        Err(ServiceError::BadCredentials) => {
            refuse(&req, who.user, crate::domain::user::InvalidInput("the current password is not correct").into())
        }
        Err(e) => refuse(&req, who.user, e),
    }
}

fn refuse(req: &HttpRequest, user: User, e: ServiceError) -> PageResult {
    match e {
        ServiceError::Invalid(_) => {
            let error = AppError::from(e);
            let page = AccountPage { layout: Layout::new(req, Some(&user)), user, error: Some(error.message) };
            render(req, error.status, &page)
        }
        other => Err(other.into()),
    }
}
