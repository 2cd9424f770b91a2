//! The language of a request's pages: the signed-in person's choice when they made one,
//! otherwise what the browser asks for in `Accept-Language`.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};

use crate::i18n::{self, Lang, Tr};

/// The language a signed-in person picked, left in the request by the session check.
#[derive(Debug, Clone, Copy)]
pub struct ChosenLang(pub Lang);

/// The language the browser asks for (English when it asks for none the studio speaks).
pub fn browser_lang(req: &HttpRequest) -> Lang {
    i18n::negotiate(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or(""))
}

/// The language of the pages and fragments this request answers with.
pub fn lang(req: &HttpRequest) -> Lang {
    match req.extensions().get::<ChosenLang>() {
        Some(chosen) => chosen.0,
        None => browser_lang(req),
    }
}

/// The translator of this request.
pub fn tr(req: &HttpRequest) -> Tr {
    Tr::new(lang(req))
}
