//! Routes: each path's methods, CSRF on the route that takes a request, 405 + `Allow` otherwise.
//!
//! Every route is registered through [`Resource`]: the route decides first whether anything
//! answers the request, so a method no route takes is 405 (a path nothing serves, 404)
//! before CSRF is considered, and CSRF still guards every real handler. `HEAD` is answered by
//! the `GET` route (see [`super::middleware::head_as_get`]), so `Allow` lists it beside `GET`.

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, Route, web};

use super::csrf;
use super::responses::error_for_path;
use crate::error::AppError;

/// One path and the methods it answers; any other method gets 405 with an `Allow` header.
pub struct Resource {
    inner: actix_web::Resource,
    methods: Vec<Method>,
}

impl Resource {
    /// A path with no methods yet.
    pub fn new(path: &str) -> Resource {
        Resource { inner: web::resource(path), methods: Vec::new() }
    }

    /// Answers `GET` (and so `HEAD`) with `handler`.
    pub fn get<F, Args>(self, handler: F) -> Resource
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.to(Method::GET, handler)
    }

    /// Answers `POST` with `handler`.
    pub fn post<F, Args>(self, handler: F) -> Resource
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.to(Method::POST, handler)
    }

    /// Answers `DELETE` with `handler`.
    pub fn delete<F, Args>(self, handler: F) -> Resource
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.to(Method::DELETE, handler)
    }

    /// Answers `method` with `handler`.
    pub fn to<F, Args>(self, method: Method, handler: F) -> Resource
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::method(method.clone()).to(handler);
        self.route(method, route)
    }

    /// Adds `route`, which must answer `method` and nothing else.
    pub fn route(mut self, method: Method, route: Route) -> Resource {
        self.inner = self.inner.route(route.wrap(from_fn(csrf::protect)));
        self.methods.push(method);
        self
    }

    /// Data for this path's handlers only (e.g. a larger body limit).
    pub fn app_data<U: 'static>(mut self, data: U) -> Resource {
        self.inner = self.inner.app_data(data);
        self
    }

    /// The `Allow` header's value: the methods in registration order, `HEAD` after `GET`.
    fn allow(&self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for method in &self.methods {
            names.push(method.as_str());
            if *method == Method::GET {
                names.push(Method::HEAD.as_str());
            }
        }
        names.join(", ")
    }
}

impl HttpServiceFactory for Resource {
    fn register(self, config: &mut AppService) {
        let allow = HeaderValue::from_str(&self.allow()).unwrap_or_else(|_| HeaderValue::from_static(""));
        let refuse = move |req: HttpRequest| {
            let allow = allow.clone();
            async move { method_not_allowed(&req, allow) }
        };
        self.inner.default_service(web::to(refuse)).register(config);
    }
}

/// 405 in the path's error shape, with the methods the path does answer in `Allow`.
fn method_not_allowed(req: &HttpRequest, allow: HeaderValue) -> HttpResponse {
    let e = AppError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{} is not allowed here.", req.method()));
    let mut res = error_for_path(req.path(), &e);
    res.headers_mut().insert(header::ALLOW, allow);
    res
}
