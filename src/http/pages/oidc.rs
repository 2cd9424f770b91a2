//! Single sign-on pages: `GET /auth/oidc/{name}` sends the browser to the provider, its
//! callback signs the person in; anything that goes wrong gets a page that says what happened
//! (never a 500), with a link back to sign in.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::error::AppError;
use crate::http::auth::{session_cookie, session_secret, state};
use crate::http::client::client_info;
use crate::http::responses::{PageResult, expired, redirect, render, safe_next};
use crate::services::identity::oidc::{self, Callback, OidcError, RefusalKind};
use crate::services::identity::secrets;

/// The cookie that binds a sign-in under way to the browser that started it.
const BROWSER_COOKIE: &str = "rv_oidc";

#[derive(Template)]
#[template(path = "auth/oidc_error.html")]
struct SsoErrorPage {
    layout: Layout,
    /// The catalogue message that says what happened.
    what: &'static str,
    /// The specifics, in English (the service's words).
    detail: String,
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// Sends the browser to provider `name`'s authorization endpoint.
pub async fn start(req: HttpRequest, name: web::Path<String>, query: web::Query<StartQuery>) -> PageResult {
    let state = state(&req)?;
    let next = safe_next(query.next.as_deref());
    match oidc::begin(&state, &name, &next).await {
        Ok(started) => {
            let cookie = Cookie::build(BROWSER_COOKIE, started.browser_secret)
                .path("/auth/oidc")
                .http_only(true)
                .secure(state.config.https())
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::seconds(oidc::pending::PENDING_TTL.as_secs() as i64))
                .finish();
            let mut response = redirect(&started.location);
            response.add_cookie(&cookie).map_err(|_| AppError::internal())?;
            Ok(response)
        }
        Err(e) => failure(&req, e),
    }
}

/// The provider's answer: signs the person in, or says why not.
pub async fn callback(req: HttpRequest, name: web::Path<String>, query: web::Query<Callback>) -> PageResult {
    let state = state(&req)?;
    let client = client_info(&req, &state.config.trusted_proxies);
    let browser = req.cookie(BROWSER_COOKIE).map(|c| c.value().to_string());
    let previous = session_secret(&req, &state).filter(|s| secrets::looks_valid(s)).map(|s| secrets::hash(&s));
    let result = oidc::complete(&state, &name, query.into_inner(), browser.as_deref(), &client, previous).await;
    let mut response = match result {
        Ok(finished) => {
            let mut response = redirect(&finished.next);
            response.add_cookie(&session_cookie(&state, &finished.session.secret)).map_err(|_| AppError::internal())?;
            response
        }
        Err(e) => failure(&req, e)?,
    };
    let mut gone = expired(BROWSER_COOKIE);
    gone.set_path("/auth/oidc");
    response.add_cookie(&gone).map_err(|_| AppError::internal())?;
    Ok(response)
}

/// The page for a sign-in that could not go on, with the status that fits.
fn failure(req: &HttpRequest, e: OidcError) -> PageResult {
    let (status, what, detail) = match e {
        OidcError::UnknownProvider => (StatusCode::NOT_FOUND, "sso-error-unknown", String::new()),
        OidcError::Unavailable(detail) => (StatusCode::BAD_GATEWAY, "sso-error-unavailable", detail),
        OidcError::Refused(refusal) => {
            let (status, what) = match refusal.kind {
                RefusalKind::State => (StatusCode::BAD_REQUEST, "sso-error-state"),
                RefusalKind::Denied => (StatusCode::FORBIDDEN, "sso-error-denied"),
                RefusalKind::Exchange => (StatusCode::BAD_GATEWAY, "sso-error-exchange"),
                RefusalKind::Token => (StatusCode::UNAUTHORIZED, "sso-error-token"),
                RefusalKind::Unverified => (StatusCode::FORBIDDEN, "sso-error-unverified"),
                RefusalKind::NotInvited => (StatusCode::FORBIDDEN, "sso-error-not-invited"),
                RefusalKind::Disabled => (StatusCode::FORBIDDEN, "sso-error-disabled"),
            };
            (status, what, refusal.detail)
        }
        OidcError::Service(e) => return Err(AppError::from(e).into()),
    };
    render(req, status, &SsoErrorPage { layout: Layout::new(req, None), what, detail })
}

/// The HTTP response for a sign-out: to the provider's end-session endpoint when the session
/// came from one that has it, else `fallback`.
pub async fn after_sign_out(state: &crate::services::state::AppState, hash: [u8; 32]) -> Option<HttpResponse> {
    oidc::end_session_url(state, hash).await.map(|url| redirect(&url))
}
