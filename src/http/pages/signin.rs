//! Sign in and sign out.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::user::MAX_EMAIL_LEN;
use crate::error::AppError;
use crate::http::auth::{SignedIn, session_cookie, session_cookie_name, session_secret, state};
use crate::http::client::client_info;
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, error_text, expired, ok, redirect, redirect_with, render_refusal, safe_next};
use crate::services::{ServiceError, identity::accounts, identity::secrets, identity::sessions};

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    setup_pending: bool,
    /// One button per single sign-on provider: where it starts, and its label.
    providers: Vec<(String, String)>,
    /// Password sign-in is off (the form stays, folded away, for break-glass admins).
    sso_only: bool,
    /// A reset link can be asked for by e-mail (`[smtp]` is set up).
    forgot_available: bool,
}

/// The sign-in buttons of the configured providers, each returning to `next`.
fn provider_buttons(state: &crate::services::state::AppState, next: &str) -> Vec<(String, String)> {
    let query = if next == "/" {
        String::new()
    } else {
        format!("?next={}", percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC))
    };
    state.oidc.providers().map(|p| (format!("{}{query}", state.urls().oidc_start(&p.config.name)), p.config.label.clone())).collect()
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn setup_pending(req: &HttpRequest) -> Result<bool, AppError> {
    let state = state(req)?;
    Ok(accounts::setup_pending(&state).await?)
}

pub async fn show(req: HttpRequest, query: web::Query<NextQuery>) -> PageResult {
    let state = state(&req)?;
    let next = safe_next(query.next.as_deref());
    if let Some(secret) = session_secret(&req, &state)
        && sessions::authenticate(&state, &secret).await?.is_some()
    {
        return Ok(redirect(&next));
    }
    let page = LoginPage {
        layout: Layout::new(&req, None),
        email: String::new(),
        providers: provider_buttons(&state, &next),
        sso_only: state.config.auth.sso_only,
        forgot_available: crate::services::notify::email_enabled(&state),
        next,
        error: None,
        setup_pending: setup_pending(&req).await?,
    };
    ok(&req, &page)
}

pub async fn submit(req: HttpRequest, form: web::Form<LoginForm>) -> PageResult {
    let state = state(&req)?;
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let client = client_info(&req, &state.config.trusted_proxies);
    let previous = session_secret(&req, &state).filter(|s| secrets::looks_valid(s)).map(|s| secrets::hash(&s));
    match sessions::sign_in(&state, &client, &form.email, &form.password, previous).await {
        Ok(new) => {
            Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, next)).cookie(session_cookie(&state, &new.secret)).finish())
        }
        Err(
            e @ (ServiceError::BadCredentials
            | ServiceError::Throttled { .. }
            | ServiceError::PasswordChecksBusy { .. }
            | ServiceError::AccountDisabled
            | ServiceError::PasswordSignInOff),
        ) => {
            let error = AppError::from(e);
            let page = LoginPage {
                layout: Layout::new(&req, None),
                email: form.email.trim().chars().take(MAX_EMAIL_LEN).collect(),
                providers: provider_buttons(&state, &next),
                sso_only: state.config.auth.sso_only,
                forgot_available: crate::services::notify::email_enabled(&state),
                next,
                error: Some(error_text(&lang::tr(&req), &error)),
                setup_pending: false,
            };
            render_refusal(&req, &error, &page)
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn sign_out(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let at_provider = super::oidc::after_sign_out(&state, who.hash).await;
    sessions::sign_out(&state, &who.ctx(), who.hash).await?;
    let signed_out = || redirect_with(state.urls().login(), FlashKind::Success, &lang::tr(&req).t("flash-signed-out"));
    let mut response = at_provider.unwrap_or_else(signed_out);
    response.add_cookie(&expired(session_cookie_name(&state))).map_err(|_| AppError::internal())?;
    Ok(response)
}
