//! The e-mail panel of the account page: "e-mail me when a job that took longer than N
//! minutes ends" (off by default). Shown only when the instance sends e-mail.

use actix_web::{HttpRequest, web};
use serde::Deserialize;

use crate::http::auth::{SignedIn, state};
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, redirect_with};
use crate::services::notify;

#[derive(Deserialize)]
pub struct NotificationsForm {
    /// "on" when the box is ticked; absent otherwise.
    long_job: Option<String>,
    #[serde(default)]
    minutes: String,
}

/// Saves the settings; minutes that are not a whole number from 0 to 1440 are 422.
pub async fn set(req: HttpRequest, who: SignedIn, form: web::Form<NotificationsForm>) -> PageResult {
    let state = state(&req)?;
    let mut settings = notify::settings::get(&state, &who.user).await?;
    settings.long_job_minutes = match form.long_job.as_deref() {
        Some("on") => Some(form.minutes.trim().parse::<u32>().map_err(|_| {
            crate::services::ServiceError::from(crate::domain::user::InvalidInput(
                "the minutes of a long job must be a whole number from 0 to 1440",
            ))
        })?),
        _ => None,
    };
    notify::settings::set(&state, &who.ctx(), &who.user, settings).await?;
    Ok(redirect_with(state.urls().account(), FlashKind::Success, &lang::tr(&req).t("flash-notifications-saved")))
}
