//! `/api/v1`: the JSON API shared by the UI and scripts. Errors are `{code, message, details}`.

pub mod account;
pub mod export;
pub mod generations;
pub mod me;
pub mod models;
pub mod search;
pub mod views;
pub mod webhooks;

use actix_web::web;

/// Registers the API routes under the `/api/v1` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/me").get(me::show));
    cfg.service(super::resource("/account").get(account::show).patch(account::update).delete(account::delete));
    cfg.service(super::resource("/account/content").delete(account::erase_content));
    cfg.service(super::resource("/account/export").get(export::show).post(export::start));
    cfg.service(super::resource("/credits").get(generations::balance));
    cfg.service(super::resource("/models").get(models::list));
    cfg.service(super::resource("/uploads").post(generations::upload));
    cfg.service(super::resource("/generations").get(search::list).post(generations::create));
    cfg.service(super::resource("/generations/{id}").get(generations::show).delete(generations::delete));
    cfg.service(super::resource("/generations/{id}/cancel").post(generations::cancel));
    cfg.service(super::resource("/generations/{id}/{action:keep|unkeep|share|unshare}").post(generations::set_flag));
    cfg.service(super::resource("/webhooks").get(webhooks::list).post(webhooks::create));
    cfg.service(super::resource("/webhooks/{id}").delete(webhooks::delete));
    cfg.service(super::resource("/webhooks/{id}/deliveries").get(webhooks::deliveries));
}
