//! Cross-cutting middleware: one log line per request with its id, security headers on
//! every response, and `HEAD` answered as `GET` without the body. (CSRF lives in `csrf.rs`.)

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use crate::http::auth::signed_in_user;
use crate::http::lang;
use crate::http::pages::layout::Layout;
use crate::http::responses::{ShownError, error_page};
use crate::i18n::Lang;
use crate::services::state::AppState;

/// The shared policy, with `$extra` directives after it.
macro_rules! policy {
    ($extra:literal) => {
        concat!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; ",
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            $extra
        )
    };
}

/// The Content-Security-Policy of every response: no inline script or style.
pub const CSP: &str = policy!("");

/// The policy of a stored file served from our origin: [`CSP`] and `sandbox`, so that a file
/// opened on its own (an SVG, say) runs no script and has no access to the origin.
pub const MEDIA_CSP: &str = policy!("; sandbox");

/// Logs method, route pattern (never the raw path: it may hold a secret link), status and
/// time, tagged with a request id that is also returned in `X-Request-Id`.
pub async fn request_log(req: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let mut id_bytes = [0u8; 8];
    rand::fill(&mut id_bytes);
    let id = hex::encode(id_bytes);
    let method = req.method().clone();
    let mut res = next.call(req).await?;
    let route = res.request().match_pattern().unwrap_or_else(|| "(unmatched)".into());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(state) = res.request().app_data::<actix_web::web::Data<AppState>>() {
        state.metrics.observe_request(&route, status, elapsed);
    }
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    tracing::info!(request_id = %id, %method, %route, status, elapsed_ms = format!("{elapsed_ms:.1}"), "request");
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// Adds the security headers (and HSTS when the instance is served over https).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req.app_data::<actix_web::web::Data<AppState>>().is_some_and(|s| s.config.https());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    // a handler may have set a stricter policy (media files add `sandbox`)
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    headers.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    Ok(res)
}

/// Answers `HEAD` with the `GET` route: the same status and headers (`Content-Length`
/// included), and no body. The body `GET` would send is dropped unread, so a `HEAD` of a
/// stream (a video, live events) ends at once. Must wrap the routes (so routing sees `GET`)
/// and come before anything that keeps a copy of the request (the method is changed in place).
pub async fn head_as_get<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let res = next.call(req).await?;
    Ok(res.map_body(|_, body| if head { EitherBody::right(SizeOnly(body.size())) } else { EitherBody::left(body) }))
}

/// What `HEAD` keeps of a response body: its size, for the headers.
struct SizeOnly(BodySize);

impl MessageBody for SizeOnly {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, Infallible>>> {
        Poll::Ready(None)
    }
}

/// Error pages keep the top bar for a signed-in person and speak the request's language: an
/// HTML error page is rendered bare (errors render without touching the store, in English),
/// so when the request carries a live session, or asks for another language, it is rendered
/// again with that person's navigation in that language. Wraps the routes, inside the other
/// middleware (their headers are added to the page it renders).
pub async fn error_pages<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let res = next.call(req).await?;
    let Some(shown) = res.response().extensions().get::<ShownError>().cloned() else {
        return Ok(res.map_into_left_body());
    };
    let request = res.request().clone();
    let user = signed_in_user(&request).await;
    if user.is_none() && lang::lang(&request) == Lang::En {
        return Ok(res.map_into_left_body());
    }
    let mut page = error_page(&shown.0, Layout::new(&request, user.as_ref()));
    // what the handler said besides the page (Allow, Retry-After, cookies …) stays
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(res.into_response(page).map_into_right_body())
}
