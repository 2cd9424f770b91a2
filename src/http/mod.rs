//! actix-web: routes, middleware order and extractor limits, shared by `app.rs` and tests.

pub mod api;
pub mod assets;
pub mod auth;
pub mod body_deadline;
pub mod client;
pub mod csrf;
pub mod deprecation;
pub mod health;
pub mod hooks;
pub mod lang;
pub mod media;
pub mod metrics;
pub mod middleware;
pub mod multipart;
pub mod openai;
pub mod pages;
pub mod references;
pub mod responses;
pub mod routing;
pub mod server_limits;
pub mod slow_heads;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, JsonPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, web};

use crate::error::AppError;
use crate::services::state::AppState;
use responses::error_for_path;

/// The largest JSON body the API accepts.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// A path to add methods to; every route is registered through it (it puts CSRF on the route
/// and answers other methods with 405 and `Allow`).
pub fn resource(path: &str) -> routing::Resource {
    routing::Resource::new(path)
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    error_for_path(req.path(), &AppError::not_found())
}

fn reject(
    err: impl Into<actix_web::Error> + std::fmt::Debug + std::fmt::Display + 'static,
    req: &HttpRequest,
    e: AppError,
) -> actix_web::Error {
    InternalError::from_response(err, error_for_path(req.path(), &e)).into()
}

fn form_error(err: UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    let e = match err {
        UrlencodedError::Overflow { .. } => AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "The form is too large."),
        UrlencodedError::ContentType => {
            AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "request.content_type", "Send the form as application/x-www-form-urlencoded.")
        }
        _ => AppError::bad_request("The form is malformed."),
    };
    reject(err, req, e)
}

fn json_error(err: JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "The JSON body is larger than 1 MiB.")
        }
        JsonPayloadError::ContentType => {
            AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "request.content_type", "Send JSON with Content-Type: application/json.")
        }
        other => AppError::bad_request(format!("The JSON body is malformed: {other}")),
    };
    reject(err, req, e)
}

fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    reject(err, req, AppError::not_found())
}

fn query_error(err: actix_web::error::QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    let e = AppError::bad_request(format!("The query string is malformed: {err}"));
    reject(err, req, e)
}

/// The whole application: state, limits, middleware (outermost first: the connection's busy
/// mark, request log, security headers, `HEAD` as `GET`, the request body's deadline), routes
/// and, on each route, CSRF.
pub fn application(
    state: AppState,
) -> App<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error, InitError = ()>,
> {
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::FormConfig::default().limit(csrf::FORM_LIMIT).error_handler(form_error))
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(json_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .wrap(from_fn(middleware::error_pages))
        .wrap(from_fn(body_deadline::enforce))
        .wrap(from_fn(middleware::head_as_get))
        .wrap(from_fn(middleware::security_headers))
        .wrap(from_fn(middleware::request_log))
        .wrap(from_fn(slow_heads::track))
        .service(resource("/healthz").get(health::healthz))
        .service(resource("/readyz").get(health::readyz))
        .service(resource("/metrics").get(metrics::serve))
        .service(resource("/assets/{path:.*}").get(assets::serve))
        .service(resource("/media/{id}").get(media::serve))
        .service(
            resource("/hooks/{connection}/{secret}").app_data(web::PayloadConfig::new(hooks::HOOK_BODY_LIMIT + 1)).post(hooks::receive),
        )
        .service(resource("/api/docs").get(pages::api_docs::show))
        .service(web::scope("/api/v1").configure(api::configure).default_service(web::to(not_found)))
        .service(web::scope("/v1").configure(openai::configure).default_service(web::to(not_found)))
        .configure(pages::configure)
        .default_service(web::to(not_found))
}
