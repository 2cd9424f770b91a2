//! CSRF protection for every state-changing request: the browser must say the request is
//! same-origin (`Sec-Fetch-Site`, else `Origin`), and it must carry a token bound to the
//! visitor's `rv_csrf` cookie (form field `csrf_token` or header `X-CSRF-Token`).
//! Calls to `/api/v1` and `/v1` that authenticate with `Authorization: Bearer` carry no
//! ambient credential and skip it (and are given no `rv_csrf` cookie), as do API requests
//! that carry no session cookie (they can only be refused as anonymous) and the
//! OpenAI-compatible `/v1`, which ignores cookies altogether. Page routes always check:
//! any `Authorization` header there (Basic, NTLM, Negotiate, which browsers add on their own
//! behind an authenticating proxy, or Bearer) changes nothing.
//!
//! It runs on each route (see `routing`), so a request no route takes is 404 or 405 first.

use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::api::PREFIX as API_PREFIX;
use super::auth::{bearer_token, session_cookie_name};
use super::responses::{error_for_path, is_api_path, is_openai_path};
use crate::error::AppError;
use crate::services::identity::secrets;
use crate::services::state::AppState;

/// The largest urlencoded form accepted (forms here are small).
pub const FORM_LIMIT: usize = 64 * 1024;

/// The token a page embeds in its forms; in request extensions for templates.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

fn cookie_name(state: &AppState) -> &'static str {
    if state.config.https() { "__Host-rv_csrf" } else { "rv_csrf" }
}

fn token_for(key: &[u8; 32], cookie_value: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(cookie_value.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn forbidden(code: &'static str, message: &str) -> AppError {
    AppError::forbidden(code, message)
}

/// Whether the browser's own signals say the request comes from this site.
fn same_origin(req: &ServiceRequest, state: &AppState) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // neither header: not a browser-initiated cross-site request
    };
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    origin == own || origin == state.urls().origin()
}

/// The middleware.
pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<actix_web::web::Data<AppState>>().map(|d| d.get_ref().clone()) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if is_bearer_api_call(&req) {
        // a script's API call: no ambient credential to guard, no form to fill, no cookie to set
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let name = cookie_name(&state);
    let existing = req.cookie(name).map(|c| c.value().to_string()).filter(|v| secrets::looks_valid(v));
    let cookie_value = existing.clone().unwrap_or_else(secrets::generate);
    let expected = token_for(&state.keys.csrf, &cookie_value);
    req.extensions_mut().insert(CsrfToken(expected.clone()));

    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    let ambient = !is_openai_path(req.path()) && (!is_api_path(req.path()) || req.cookie(session_cookie_name(&state)).is_some());
    let mut req = req;
    if unsafe_method {
        let path = req.path().to_string();
        let refuse = |req: ServiceRequest, e: AppError| Ok(req.into_response(error_for_path(&path, &e)).map_into_right_body());
        if !same_origin(&req, &state) {
            return refuse(req, forbidden("csrf.cross_site", "Cross-site requests are refused. Open the page on this site and try again."));
        }
        if !ambient {
            return Ok(next.call(req).await?.map_into_left_body());
        }
        let mut presented = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
        if presented.is_none() && is_form(&req) {
            match read_body(&mut req).await {
                Ok(body) => {
                    presented = form_field(&body, "csrf_token");
                    req.set_payload(actix_web::dev::Payload::from(body));
                }
                Err(e) => return refuse(req, e),
            }
        }
        if presented.is_none() && is_multipart(&req) {
            // multipart forms cannot carry the token in a field this middleware may read
            // without buffering files, so page forms put it in the action's query string
            presented = form_field(req.query_string().as_bytes(), "csrf_token");
        }
        let valid = existing.is_some() && presented.is_some_and(|p| p.as_bytes().ct_eq(expected.as_bytes()).into());
        if !valid {
            return refuse(
                req,
                forbidden("csrf.token", "This form has expired or did not come from this site. Reload the page and try again."),
            );
        }
    }

    let mut res = next.call(req).await?;
    if existing.is_none() {
        let cookie =
            Cookie::build(name, cookie_value).path("/").http_only(true).secure(state.config.https()).same_site(SameSite::Strict).finish();
        if let Ok(value) = header::HeaderValue::from_str(&cookie.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(res.map_into_left_body())
}

/// A call to the JSON API or the OpenAI-compatible API authenticated by a bearer token (which
/// the API then checks); nothing else is exempt.
fn is_bearer_api_call(req: &ServiceRequest) -> bool {
    let path = req.path();
    let api = path.strip_prefix(API_PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    (api || is_openai_path(path)) && bearer_token(req.headers()).is_some()
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

fn is_multipart(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, AppError> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::bad_request("The request body could not be read."))?;
        if body.len() + chunk.len() > FORM_LIMIT {
            return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "The form is larger than 64 KiB."));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
