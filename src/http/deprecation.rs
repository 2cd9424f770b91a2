//! `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) headers on API answers that use a model
//! its provider has deprecated or retired, so clients learn of a shutdown before it breaks them.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::HttpResponse;
use actix_web::http::header::{HeaderName, HeaderValue, HttpDate};

use crate::domain::catalog::{CatalogDate, ModelSpec, Status};
use crate::services::state::AppState;
use crate::services::studio::models;

/// The headers for an answer that uses `model` on `day` (none while it is not deprecated).
pub fn headers(model: &ModelSpec, day: CatalogDate) -> Vec<(HeaderName, HeaderValue)> {
    let life = &model.lifecycle;
    if !matches!(life.status_on(day), Status::Deprecated | Status::Retired) {
        return Vec::new();
    }
    let since = life.deprecated_on.filter(|d| *d <= day).unwrap_or(day);
    let mut out = Vec::new();
    if let Ok(value) = HeaderValue::from_str(&format!("@{}", since.unix_seconds())) {
        out.push((HeaderName::from_static("deprecation"), value));
    }
    if let Some(shutdown) = life.shutdown_on {
        let at = UNIX_EPOCH + Duration::from_secs(shutdown.unix_seconds().max(0) as u64);
        if let Ok(value) = HeaderValue::from_str(&HttpDate::from(at).to_string()) {
            out.push((HeaderName::from_static("sunset"), value));
        }
    }
    out
}

/// `response` with the headers for `model` when the catalog in force deprecates it.
pub fn mark(state: &AppState, model: &str, mut response: HttpResponse) -> HttpResponse {
    if let Some(spec) = models::spec(state, model) {
        for (name, value) in headers(&spec, CatalogDate::today()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::{Catalog, Layer};

    #[test]
    fn a_deprecated_model_carries_its_deprecation_and_sunset_dates() {
        let text = "[[model]]\nid = \"demo-video\"\ndeprecated_on = 2026-06-02\nshutdown_on = 2026-12-01\n";
        let catalog = Catalog::shipped().build_from(Layer::Edited, Catalog::parse("t", text).unwrap()).unwrap();
        let model = catalog.model("demo-video").unwrap();
        let day = CatalogDate::parse("2026-07-01").unwrap();
        let found = headers(model, day);
        let get = |n: &str| found.iter().find(|(k, _)| k == n).map(|(_, v)| v.to_str().unwrap().to_string());
        assert_eq!(get("deprecation").as_deref(), Some("@1780358400"), "2026-06-02T00:00:00Z");
        assert_eq!(get("sunset").as_deref(), Some("Tue, 01 Dec 2026 00:00:00 GMT"));
        assert!(headers(Catalog::shipped().model("demo-image").unwrap(), day).is_empty());
    }
}
