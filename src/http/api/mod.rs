//! `/api/v1`: the JSON API shared by the UI and scripts. Errors are `{code, message, details}`.

pub mod me;

use actix_web::web;

/// Registers the API routes under the `/api/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/me").get(me::show));
}
