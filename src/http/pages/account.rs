//! The account page: profile (name, email, bio, picture), password, data-use preference,
//! the data export panel, and deleting all content or the whole account.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::account_export::ExportPanel;
use super::account_language::{self, LanguageOption, ZoneField};
use super::layout::Layout;
use crate::domain::notify::NotifySettings;
use crate::domain::user::{InvalidInput, User};
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::lang;
use crate::http::multipart::{self, Expected, Fields};
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with, render};
use crate::services::state::AppState;
use crate::services::studio::approvals;
use crate::services::team::spending::{self, Standing};
use crate::services::{ServiceError, identity::accounts, identity::preferences, identity::profile, notify, privacy::erasure};

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    layout: Layout,
    user: User,
    /// A signed link to the profile picture.
    picture: Option<String>,
    /// An erasure of the person's content is still running.
    erasing: bool,
    error: Option<String>,
    export: ExportPanel,
    languages: Vec<LanguageOption>,
    zone: ZoneField,
    /// The person's notification settings, when e-mail is set up.
    notifications: Option<NotifySettings>,
    /// This month's allowance and today's spend against the daily limits.
    standing: Standing,
    /// The person may answer approval requests.
    approver: bool,
}

async fn page(req: &HttpRequest, state: &AppState, user: User, error: Option<AppError>) -> PageResult {
    let picture = profile::picture_path(state, &user).await?;
    let erasing = erasure::pending(state, user.id).await?.is_some();
    let status = error.as_ref().map(|e| e.status);
    let layout = Layout::new(req, Some(&user));
    let export = ExportPanel::load(state, user.id, layout.csrf.clone(), layout.tr).await?;
    let chosen = preferences::get(state, &user).await?;
    let languages = account_language::options(chosen.language, &layout.tr);
    let zone = ZoneField::new(req, chosen.time_zone);
    let notifications = match notify::email_enabled(state) {
        true => Some(notify::settings::get(state, &user).await?),
        false => None,
    };
    let error = error.map(|e| crate::http::responses::error_text(&layout.tr, &e));
    let standing = spending::standing(state, &user, crate::domain::time::Timestamp::now()).await?;
    let approver = approvals::is_approver(state, &user).await?;
    let page = AccountPage { layout, user, picture, erasing, error, export, languages, zone, notifications, standing, approver };
    match status {
        Some(status) => render(req, status, &page),
        None => ok(req, &page),
    }
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    page(&req, &state, who.user, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    email: Option<String>,
    bio: Option<String>,
    #[serde(default)]
    password: String,
}

pub async fn update_profile(req: HttpRequest, who: SignedIn, form: web::Form<ProfileForm>) -> PageResult {
    let state = state(&req)?;
    let form = form.into_inner();
    let change = profile::ProfileChange {
        name: Some(form.name),
        email: form.email,
        bio: form.bio,
        password: Some(form.password).filter(|p| !p.is_empty()),
    };
    match profile::update(&state, &who.ctx(), &who.user, change).await {
        Ok(_) => Ok(redirect_with(state.urls().account(), FlashKind::Success, &lang::tr(&req).t("flash-profile-saved"))),
        Err(e) => refuse(&req, &state, who.user, e).await,
    }
}

/// The picture form: one `picture` file (the CSRF token travels in the query; a copy as a field is let be).
const PICTURE_FORM: Expected = Expected { fields: Fields::Named(&["csrf_token"]), files: &["picture"], max_files: 1 };

pub async fn set_picture(req: HttpRequest, who: SignedIn, payload: Multipart) -> PageResult {
    let state = state(&req)?;
    let parts = multipart::read(payload, PICTURE_FORM, state.config.limits.upload_max).await?;
    let Some(file) = parts.files.into_iter().next() else {
        return refuse(&req, &state, who.user, InvalidInput("choose a picture (PNG, JPEG or WebP)").into()).await;
    };
    match profile::set_picture(&state, &who.ctx(), &who.user, file.bytes).await {
        Ok(_) => Ok(redirect_with(state.urls().account(), FlashKind::Success, &lang::tr(&req).t("flash-picture-saved"))),
        Err(e) => refuse(&req, &state, who.user, e).await,
    }
}

pub async fn remove_picture(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    profile::remove_picture(&state, &who.ctx(), &who.user).await?;
    Ok(redirect_with(state.urls().account(), FlashKind::Success, &lang::tr(&req).t("flash-picture-removed")))
}

#[derive(Deserialize)]
pub struct DataUseForm {
    #[serde(default)]
    forbid_training: String,
}

pub async fn set_data_use(req: HttpRequest, who: SignedIn, form: web::Form<DataUseForm>) -> PageResult {
    let state = state(&req)?;
    let forbid = match form.forbid_training.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::bad_request("`forbid_training` must be true or false.").into()),
    };
    profile::set_forbid_training(&state, &who.ctx(), who.user.id, forbid).await?;
    let message = if forbid { lang::tr(&req).t("flash-data-use-forbidden") } else { lang::tr(&req).t("flash-data-use-allowed") };
    Ok(redirect_with(state.urls().account(), FlashKind::Success, &message))
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
        return refuse(&req, &state, who.user, InvalidInput("the two new passwords differ").into()).await;
    }
    match accounts::change_password(&state, &who.ctx(), &who.user, &form.current, &form.password, Some(who.hash)).await {
        Ok(()) => Ok(redirect_with(state.urls().account(), FlashKind::Success, &lang::tr(&req).t("flash-password-changed"))),
        Err(ServiceError::BadCredentials) => {
            refuse(&req, &state, who.user, InvalidInput("the current password is not correct").into()).await
        }
        Err(e) => refuse(&req, &state, who.user, e).await,
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    password: String,
}

pub async fn erase_content(req: HttpRequest, who: SignedIn, form: web::Form<ConfirmForm>) -> PageResult {
    let state = state(&req)?;
    match erasure::erase_content(&state, &who.ctx(), &who.user, &form.password).await {
        Ok(()) => Ok(redirect_with(state.urls().account(), FlashKind::Success, &lang::tr(&req).t("flash-content-erasing"))),
        Err(e) => refuse(&req, &state, who.user, e).await,
    }
}

pub async fn delete_account(req: HttpRequest, who: SignedIn, form: web::Form<ConfirmForm>) -> PageResult {
    let state = state(&req)?;
    match erasure::delete_account(&state, &who.ctx(), &who.user, &form.password).await {
        Ok(()) => Ok(redirect_with(state.urls().login(), FlashKind::Success, &lang::tr(&req).t("flash-account-deleted"))),
        Err(e) => refuse(&req, &state, who.user, e).await,
    }
}

/// Shows refusals a person can fix on the same page; passes the rest on.
async fn refuse(req: &HttpRequest, state: &AppState, user: User, e: ServiceError) -> PageResult {
    match e {
        ServiceError::Invalid(_)
        | ServiceError::InvalidMessage(_)
        | ServiceError::EmailTaken
        | ServiceError::Conflict(_)
        | ServiceError::TooLarge(_) => page(req, state, user, Some(AppError::from(e))).await,
        other => Err(other.into()),
    }
}
