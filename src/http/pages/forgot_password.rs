//! "Forgot password": a form that asks for a reset link by e-mail. It answers the same
//! whether or not the address has an account, and is rate limited.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::user::MAX_EMAIL_LEN;
use crate::error::AppError;
use crate::http::auth::state;
use crate::http::client::client_info;
use crate::http::lang;
use crate::http::responses::{PageResult, error_text, render, render_refusal};
use crate::services::{ServiceError, notify};

#[derive(Template)]
#[template(path = "auth/forgot_password.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    /// The request was taken (the same words whether or not the address has an account).
    sent: bool,
    /// E-mail is set up; without it the page says to ask an admin.
    available: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn show(req: HttpRequest) -> PageResult {
    let state = state(&req)?;
    let page = ForgotPage {
        layout: Layout::new(&req, None),
        email: String::new(),
        sent: false,
        available: notify::email_enabled(&state),
        error: None,
    };
    render(&req, StatusCode::OK, &page)
}

pub async fn submit(req: HttpRequest, form: web::Form<ForgotForm>) -> PageResult {
    let state = state(&req)?;
    let client = client_info(&req, &state.config.trusted_proxies);
    let email: String = form.email.trim().chars().take(MAX_EMAIL_LEN).collect();
    let available = notify::email_enabled(&state);
    match notify::forgot_password(&state, &client, &email) {
        Ok(()) => render(&req, StatusCode::OK, &ForgotPage { layout: Layout::new(&req, None), email, sent: true, available, error: None }),
        Err(e @ ServiceError::Throttled { .. }) => {
            let error = AppError::from(e);
            let page = ForgotPage {
                layout: Layout::new(&req, None),
                email,
                sent: false,
                available,
                error: Some(error_text(&lang::tr(&req), &error)),
            };
            render_refusal(&req, &error, &page)
        }
        Err(other) => Err(other.into()),
    }
}
