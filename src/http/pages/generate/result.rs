//! What the form answers a script that submitted it (htmx or `fetch`): result cards that
//! follow their generation live, or the error to show next to the form.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use askama::Template;

use crate::domain::generation::Generation;
use crate::error::AppError;
use crate::http::csrf::CsrfToken;
use crate::http::pages::generation::{self, OutputCard};
use crate::services::state::AppState;
use crate::services::studio::models;
use crate::urls::Urls;

/// One generation on the New generation page: its model, its prompt and its live status
/// (the generation page's status card, kept current by the same server-sent events).
#[derive(Template)]
#[template(path = "generations/result_card.html")]
struct ResultCard<'a> {
    urls: Urls,
    tr: crate::i18n::Tr,
    g: &'a Generation,
    /// Empty: a card is made as the generation is queued; the events bring the outputs.
    outputs: Vec<OutputCard>,
    csrf: String,
    alt: String,
    model_label: String,
}

/// Whether the request came from the page's script rather than a plain form post.
pub fn from_script(req: &HttpRequest) -> bool {
    req.headers().get("HX-Request").is_some_and(|v| v.as_bytes() == b"true")
}

/// The result cards of `generations`, as one HTML fragment.
pub fn cards(req: &HttpRequest, state: &AppState, generations: &[Generation]) -> String {
    let csrf = req.extensions().get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
    let tr = crate::http::lang::tr(req);
    generations
        .iter()
        .map(|g| {
            let card = ResultCard {
                urls: state.urls().clone(),
                tr,
                g,
                outputs: Vec::new(),
                csrf: csrf.clone(),
                alt: generation::alt_text(g),
                model_label: models::spec(state, &g.model).map_or_else(|| g.model.clone(), |m| m.label.to_string()),
            };
            card.render().unwrap_or_default()
        })
        .collect()
}

/// A fragment answer with `status`.
pub fn fragment(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html)
}

/// [`fragment`] of result cards, telling the page's script the credits `user` has left once
/// theirs are held (`X-Credits-Available`: the top bar shows them).
pub async fn cards_answer(state: &AppState, user: &crate::domain::user::User, html: String) -> HttpResponse {
    let mut response = fragment(StatusCode::OK, html);
    if let Ok(balance) = crate::services::team::credits::balance(state, user.id).await {
        response.headers_mut().insert(CREDITS_HEADER, actix_web::http::header::HeaderValue::from(balance.available));
    }
    response
}

/// The header of [`cards_answer`].
const CREDITS_HEADER: actix_web::http::header::HeaderName = actix_web::http::header::HeaderName::from_static("x-credits-available");

/// An error as the form shows it.
#[derive(Template)]
#[template(source = "<p class=\"error\" role=\"alert\">{{ message }}</p>", ext = "html")]
struct ErrorLine<'a> {
    message: &'a str,
}

/// `e` as a line of HTML, in the language of `tr`.
pub fn error_line(e: &AppError, tr: &crate::i18n::Tr) -> String {
    ErrorLine { message: &crate::http::responses::error_text(tr, e) }.render().unwrap_or_default()
}

/// The error to show next to the form, with its status (422, 402, …).
pub fn error(e: &AppError, tr: &crate::i18n::Tr) -> HttpResponse {
    fragment(e.status, error_line(e, tr))
}
