//! The shared page behind a share link, for people without an account: only the outputs (and
//! the prompts if the sharer chose), behind a password when the link has one. Never indexed,
//! never cached, and the address (with its secret) is never sent on as a referrer.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::share::ShareTarget;
use crate::domain::time::Timestamp;
use crate::http::auth::state;
use crate::http::client::client_info;
use crate::http::lang;
use crate::http::responses::{PageResult, redirect, render};
use crate::services::studio::shares::view::{self, ShareRefusal, SharedItem};

/// The cookie that remembers a correct password, scoped to the one link's path.
const UNLOCK_COOKIE: &str = "rv_share";

#[derive(Template)]
#[template(path = "share/shared.html")]
struct SharedPageView {
    layout: Layout,
    title_key: &'static str,
    items: Vec<SharedItem>,
    /// The page's content was shown (the link opened).
    shown: bool,
    expires_at: Option<Timestamp>,
    refusal: Option<String>,
    needs_password: bool,
    /// Where the password form posts (this page).
    action: String,
}

/// The status and words of a refusal, in the reader's language.
fn refusal_of(refusal: &ShareRefusal) -> (StatusCode, &'static str) {
    match refusal {
        ShareRefusal::Unknown => (StatusCode::NOT_FOUND, "share-unknown"),
        ShareRefusal::Expired => (StatusCode::GONE, "share-expired"),
        ShareRefusal::Revoked => (StatusCode::GONE, "share-revoked-page"),
        ShareRefusal::Disabled => (StatusCode::FORBIDDEN, "share-disabled"),
        ShareRefusal::NeedsPassword => (StatusCode::UNAUTHORIZED, "share-needs-password"),
        ShareRefusal::WrongPassword => (StatusCode::UNAUTHORIZED, "share-wrong-password"),
        ShareRefusal::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "share-throttled"),
        ShareRefusal::Service(_) => (StatusCode::SERVICE_UNAVAILABLE, "share-unavailable"),
    }
}

/// Headers every shared page carries: not indexed, not cached, no referrer.
fn seal(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    headers.insert(header::HeaderName::from_static("x-robots-tag"), header::HeaderValue::from_static("noindex, nofollow"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

fn refused(req: &HttpRequest, action: String, refusal: &ShareRefusal) -> PageResult {
    if let ShareRefusal::Service(detail) = refusal {
        tracing::warn!(error = %detail, "a shared page could not be shown");
    }
    let (status, key) = refusal_of(refusal);
    let tr = lang::tr(req);
    let message = match refusal {
        ShareRefusal::Throttled(wait) => tr.t_args("share-throttled", &[("minutes", (wait.as_secs().div_ceil(60).max(1) as i64).into())]),
        _ => tr.t(key),
    };
    let needs_password = matches!(refusal, ShareRefusal::NeedsPassword | ShareRefusal::WrongPassword);
    let page = SharedPageView {
        layout: Layout::new(req, None),
        title_key: "share-title",
        items: Vec::new(),
        shown: false,
        expires_at: None,
        refusal: Some(message),
        needs_password,
        action,
    };
    let mut response = render(req, status, &page)?;
    if let ShareRefusal::Throttled(wait) = refusal
        && let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(seal(response))
}

/// `GET /s/{secret}`: the shared page (each opening is counted and audited).
pub async fn show(req: HttpRequest, secret: web::Path<String>) -> PageResult {
    let state = state(&req)?;
    let action = state.urls().shared(&secret);
    let client = client_info(&req, &state.config.trusted_proxies);
    let unlock = req.cookie(UNLOCK_COOKIE).map(|c| c.value().to_string());
    match view::open(&state, &client, &secret, unlock.as_deref()).await {
        Ok(page) => {
            let title_key = match page.link.target {
                ShareTarget::Generation(_) => "share-title-generation",
                ShareTarget::Board(_) => "share-title-board",
            };
            let view = SharedPageView {
                layout: Layout::new(&req, None),
                title_key,
                items: page.items,
                shown: true,
                expires_at: Some(page.link.expires_at),
                refusal: None,
                needs_password: false,
                action,
            };
            Ok(seal(render(&req, StatusCode::OK, &view)?))
        }
        Err(refusal) => refused(&req, action, &refusal),
    }
}

#[derive(Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    password: String,
}

/// `POST /s/{secret}`: checks the link's password; a correct one opens it in this browser.
pub async fn unlock(req: HttpRequest, secret: web::Path<String>, form: web::Form<UnlockForm>) -> PageResult {
    let state = state(&req)?;
    let action = state.urls().shared(&secret);
    let client = client_info(&req, &state.config.trusted_proxies);
    match view::unlock(&state, &client, &secret, &form.password).await {
        Ok((_, value)) => {
            let cookie = Cookie::build(UNLOCK_COOKIE, value)
                .path(action.clone())
                .http_only(true)
                .secure(state.config.https())
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::seconds(view::UNLOCK_TTL.as_secs() as i64))
                .finish();
            let mut response = redirect(&action);
            response.add_cookie(&cookie).map_err(|_| crate::error::AppError::internal())?;
            Ok(seal(response))
        }
        Err(refusal) => refused(&req, action, &refusal),
    }
}
