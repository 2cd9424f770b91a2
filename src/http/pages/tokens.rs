//! Personal API tokens: create (shown once), list, revoke.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::auth::{ApiToken, MAX_TOKEN_LIMIT, TokenLimits};
use crate::domain::ids::TokenId;
use crate::domain::time::Timestamp;
use crate::domain::user::{InvalidInput, Role};
use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{FlashKind, PageResult, redirect_with, render};
use crate::services::{ServiceError, identity::tokens};

#[derive(Template)]
#[template(path = "account/tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<ApiToken>,
    now: Timestamp,
    /// The secret of a token created by this request: shown this once.
    created: Option<String>,
    error: Option<String>,
    /// The instance's `[api]` limits, for tokens without their own.
    default_rpm: u32,
    default_jobs: u32,
    /// The highest limits this person may give a token: the defaults, or any for an admin.
    max_rpm: u32,
    max_jobs: u32,
}

impl TokensPage {
    /// "active", "expired" or "revoked".
    fn status(&self, token: &ApiToken) -> &'static str {
        if token.revoked_at.is_some() {
            "revoked"
        } else if token.is_usable(self.now) {
            "active"
        } else {
            "expired"
        }
    }
}

async fn page(req: &HttpRequest, who: &SignedIn, status: StatusCode, created: Option<String>, error: Option<String>) -> PageResult {
    let state = state(req)?;
    let mut list = tokens::list(&state, who.user.id).await?;
    list.reverse();
    let api = &state.config.api;
    let (default_rpm, default_jobs) = (api.requests_per_minute, api.concurrent_jobs);
    let (max_rpm, max_jobs) = if who.user.role == Role::Admin { (MAX_TOKEN_LIMIT, MAX_TOKEN_LIMIT) } else { (default_rpm, default_jobs) };
    let page = TokensPage {
        layout: Layout::new(req, Some(&who.user)),
        tokens: list,
        now: Timestamp::now(),
        created,
        error,
        default_rpm,
        default_jobs,
        max_rpm,
        max_jobs,
    };
    render(req, status, &page)
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    page(&req, &who, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    /// "never", or a number of days.
    #[serde(default)]
    expires: String,
    /// Empty for the instance's default.
    #[serde(default)]
    requests_per_minute: String,
    /// Empty for the instance's default.
    #[serde(default)]
    concurrent_jobs: String,
}

/// The expiry choices of the form, in days ("never" for none).
fn parse_expiry(text: &str) -> Result<Option<std::time::Duration>, InvalidInput> {
    match text.trim() {
        "" | "never" => Ok(None),
        days => days
            .parse::<u64>()
            .ok()
            .filter(|d| (1..=1825).contains(d))
            .map(|d| Some(std::time::Duration::from_secs(d * 86400)))
            .ok_or(InvalidInput("choose an expiry between 1 and 1825 days, or never")),
    }
}

pub async fn create(req: HttpRequest, who: SignedIn, form: web::Form<CreateForm>) -> PageResult {
    let state = state(&req)?;
    let parsed =
        parse_expiry(&form.expires).and_then(|expiry| Ok((expiry, TokenLimits::parse(&form.requests_per_minute, &form.concurrent_jobs)?)));
    let result = match parsed {
        Ok((expiry, limits)) => tokens::create(&state, &who.ctx(), who.user.id, &form.name, expiry, limits).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok((_, secret)) => page(&req, &who, StatusCode::OK, Some(secret), None).await,
        Err(e @ (ServiceError::Invalid(_) | ServiceError::InvalidMessage(_))) => {
            let error = AppError::from(e);
            page(&req, &who, error.status, None, Some(crate::http::responses::error_text(&crate::http::lang::tr(&req), &error))).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(req: HttpRequest, who: SignedIn, id: web::Path<TokenId>) -> PageResult {
    let state = state(&req)?;
    let id = id.into_inner();
    tokens::revoke(&state, &who.ctx(), who.user.id, id).await?;
    Ok(redirect_with(state.urls().tokens(), FlashKind::Success, &crate::http::lang::tr(&req).t("flash-token-revoked")))
}
