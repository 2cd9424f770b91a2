//! The language of a request's pages: the signed-in person's choice when they made one,
//! otherwise what the browser asks for in `Accept-Language`; likewise the time zone of its
//! dates: the person's choice, else the one the browser reports (the `tz` cookie the page
//! script sets), else UTC.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};

use crate::i18n::{self, Lang, Tr, Zone};

/// The language a signed-in person picked, left in the request by the session check.
#[derive(Debug, Clone, Copy)]
pub struct ChosenLang(pub Lang);

/// The time zone a signed-in person picked, left in the request by the session check.
#[derive(Debug, Clone, Copy)]
pub struct ChosenZone(pub &'static Zone);

/// The cookie in which the page script reports the browser's time zone.
pub const ZONE_COOKIE: &str = "tz";

/// The time zone the browser reports, when it reports a known one.
pub fn browser_zone(req: &HttpRequest) -> Option<&'static Zone> {
    req.cookie(ZONE_COOKIE).and_then(|c| Zone::named(c.value()))
}

/// The time zone the signed-in person picked, if they picked one.
pub fn chosen_zone(req: &HttpRequest) -> Option<&'static Zone> {
    req.extensions().get::<ChosenZone>().map(|chosen| chosen.0)
}

/// The time zone of the dates this request answers with.
pub fn zone(req: &HttpRequest) -> &'static Zone {
    chosen_zone(req).or_else(|| browser_zone(req)).unwrap_or_else(Zone::utc)
}

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
    Tr::new(lang(req)).in_zone(zone(req))
}
