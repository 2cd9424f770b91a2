//! Who is asking: extractors for signed-in pages, admin pages and API callers, and the
//! session cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::client::client_info;
use super::lang::ChosenLang;
use super::responses::{ApiError, PageError};
use crate::domain::audit::ClientInfo;
use crate::domain::auth::{ApiToken, Session};
use crate::domain::user::{Role, User};
use crate::error::AppError;
use crate::services::privacy::audit::Context;
use crate::services::state::AppState;
use crate::services::{ServiceError, identity::sessions, identity::tokens, limits::rate_limits};

/// The session cookie's name: `__Host-` prefixed when served over https.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config.https() { "__Host-rv_session" } else { "rv_session" }
}

/// The cookie that carries a new session secret.
pub fn session_cookie(state: &AppState, secret: &str) -> Cookie<'static> {
    Cookie::build(session_cookie_name(state), secret.to_string())
        .path("/")
        .http_only(true)
        .secure(state.config.https())
        .same_site(SameSite::Lax)
        .finish()
}

pub fn state(req: &HttpRequest) -> Result<AppState, AppError> {
    req.app_data::<web::Data<AppState>>().map(|d| d.get_ref().clone()).ok_or_else(AppError::internal)
}

/// The session secret the request carries, if any.
pub fn session_secret(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(session_cookie_name(state)).map(|c| c.value().to_string())
}

/// A signed-in person on a page; redirects to sign-in otherwise.
#[derive(Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub hash: [u8; 32],
    pub client: ClientInfo,
    /// Credits available as the session was checked.
    pub credits: i64,
}

/// The signed-in person's available credits, left in the request for the top bar.
#[derive(Debug, Clone, Copy)]
pub struct NavCredits(pub i64);

impl SignedIn {
    /// The audit context of this person's actions.
    pub fn ctx(&self) -> Context {
        Context::user(self.user.id, self.user.email.as_str(), self.client.clone())
    }
}

pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

async fn signed_in(req: HttpRequest) -> Result<SignedIn, PageError> {
    let state = state(&req)?;
    let next = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let Some(secret) = session_secret(&req, &state) else {
        return Err(PageError::SignInRequired { next });
    };
    match sessions::authenticate(&state, &secret).await? {
        Some(active) => Ok(SignedIn {
            credits: {
                remember_for_pages(&req, &active);
                active.credits
            },
            client: client_info(&req, &state.config.trusted_proxies),
            user: active.user,
            session: active.session,
            hash: active.hash,
        }),
        None => Err(PageError::SignInRequired { next }),
    }
}

/// The person a request's session cookie signs in, if any (for pages that do not require
/// one, such as error pages); leaves their credits for the top bar, as [`SignedIn`] does.
pub async fn signed_in_user(req: &HttpRequest) -> Option<User> {
    let state = state(req).ok()?;
    let secret = session_secret(req, &state)?;
    let active = sessions::authenticate(&state, &secret).await.ok()??;
    remember_for_pages(req, &active);
    Some(active.user)
}

/// Leaves what every page of a signed-in person shows in the request: their credits for
/// the top bar and the language they picked.
fn remember_for_pages(req: &HttpRequest, active: &sessions::ActiveSession) {
    let mut extensions = req.extensions_mut();
    extensions.insert(NavCredits(active.credits));
    if let Some(lang) = active.preferences.language {
        extensions.insert(ChosenLang(lang));
    }
    if let Some(zone) = active.preferences.time_zone.as_deref().and_then(crate::i18n::Zone::named) {
        extensions.insert(crate::http::lang::ChosenZone(zone));
    }
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = LocalFuture<Result<Self, PageError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(signed_in(req.clone()))
    }
}

/// A signed-in admin on a page; 403 for members.
pub struct Admin(pub SignedIn);

impl FromRequest for Admin {
    type Error = PageError;
    type Future = LocalFuture<Result<Self, PageError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let who = signed_in(req).await?;
            if who.user.role != Role::Admin {
                return Err(PageError::from(ServiceError::AdminOnly));
            }
            Ok(Admin(who))
        })
    }
}

/// How an API caller proved who they are.
#[derive(Clone)]
pub enum Credential {
    Session { hash: [u8; 32] },
    Token(ApiToken),
}

/// An authenticated API caller: a bearer token, or a browser session (CSRF-checked by the
/// middleware for unsafe methods).
#[derive(Clone)]
pub struct ApiCaller {
    pub user: User,
    pub credential: Credential,
    pub client: ClientInfo,
}

impl ApiCaller {
    pub fn ctx(&self) -> Context {
        Context::user(self.user.id, self.user.email.as_str(), self.client.clone())
    }

    /// For a token: a place among its unfinished generations (its own limit or
    /// `api.concurrent_jobs`), refused with 429 before anything is stored, held or sent.
    /// Sessions are not limited. Every handler that submits a generation takes one first,
    /// before reading uploads, and submits through it ([`rate_limits::JobSlot::submit`]).
    pub async fn job_slot(&self, state: &AppState) -> Result<rate_limits::JobSlot, ServiceError> {
        match &self.credential {
            Credential::Token(token) => rate_limits::reserve_job(state, token).await,
            Credential::Session { .. } => Ok(rate_limits::JobSlot::unlimited()),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header; `None` without one or with another scheme.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The caller a request's `Authorization: Bearer` API token proves; `None` when the request
/// has no Authorization header. A malformed header or an unknown token is 401.
pub async fn bearer_caller(req: &HttpRequest, state: &AppState) -> Result<Option<ApiCaller>, AppError> {
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(None);
    }
    let client = client_info(req, &state.config.trusted_proxies);
    let Some(bearer) = bearer_token(req.headers()) else {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "auth.malformed_authorization",
            "The Authorization header must be `Bearer <token>`.",
        ));
    };
    match tokens::authenticate(state, bearer).await? {
        Some((token, user)) => {
            state.rate_limits.check_request(&token)?;
            Ok(Some(ApiCaller { user, credential: Credential::Token(token), client }))
        }
        None => Err(AppError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "auth.invalid_token",
            "The API token is unknown, expired or revoked.",
        )),
    }
}

async fn api_caller(req: HttpRequest) -> Result<ApiCaller, ApiError> {
    let state = state(&req)?;
    if let Some(caller) = bearer_caller(&req, &state).await? {
        return Ok(caller);
    }
    let client = client_info(&req, &state.config.trusted_proxies);
    let secret = session_secret(&req, &state).ok_or_else(|| ApiError(AppError::unauthorized()))?;
    match sessions::authenticate(&state, &secret).await? {
        Some(active) => Ok(ApiCaller { user: active.user, credential: Credential::Session { hash: active.hash }, client }),
        None => Err(ApiError(AppError::unauthorized())),
    }
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = LocalFuture<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(api_caller(req.clone()))
    }
}

/// An API caller who is an admin; members get 403 `auth.admin_only`.
pub struct ApiAdmin(pub ApiCaller);

impl FromRequest for ApiAdmin {
    type Error = ApiError;
    type Future = LocalFuture<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = api_caller(req).await?;
            if caller.user.role != Role::Admin {
                return Err(ApiError::from(ServiceError::AdminOnly));
            }
            Ok(ApiAdmin(caller))
        })
    }
}
