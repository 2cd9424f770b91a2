//! `/api/v1`: the JSON API shared by the UI and scripts. Errors are `{code, message, details}`.
//! Every route is in one table, [`endpoints`]: `configure` registers it, and a test checks that
//! the OpenAPI document ([`openapi`]) describes each one.

pub mod account;
pub mod admin_instance;
pub mod admin_users;
pub mod admin_workers;
pub mod batches;
pub mod boards;
pub mod cast;
pub mod catalog;
pub mod credits;
pub mod export;
pub mod generations;
pub mod me;
pub mod models;
pub mod openapi;
pub mod presets;
pub mod search;
pub mod shares;
pub mod spending;
pub mod usage;
pub mod views;
pub mod webhooks;

use actix_web::http::Method;
use actix_web::web;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// One operation: its method, its path under [`PREFIX`] and its handler.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: actix_web::Route,
}

fn op<F, Args>(method: Method, path: &'static str, handler: F) -> Endpoint
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    Endpoint { route: web::method(method.clone()).to(handler), method, path }
}

/// Every operation of the API.
pub fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    vec![
        op(M::GET, "/openapi.json", openapi::document),
        op(M::GET, "/me", me::show),
        op(M::GET, "/me/allowance", spending::standing),
        op(M::GET, "/account", account::show),
        op(M::PATCH, "/account", account::update),
        op(M::DELETE, "/account", account::delete),
        op(M::DELETE, "/account/content", account::erase_content),
        op(M::GET, "/account/export", export::show),
        op(M::POST, "/account/export", export::start),
        op(M::GET, "/credits", credits::balance),
        op(M::GET, "/credits/ledger", credits::ledger),
        op(M::GET, "/models", models::list),
        op(M::GET, "/catalog", catalog::show),
        op(M::POST, "/uploads", generations::upload),
        op(M::GET, "/generations", search::list),
        op(M::POST, "/generations", generations::create),
        op(M::GET, "/generations/{id}", generations::show),
        op(M::GET, "/generations/{id}/descendants", generations::descendants),
        op(M::DELETE, "/generations/{id}", generations::delete),
        op(M::POST, "/generations/{id}/cancel", generations::cancel),
        op(M::POST, "/generations/{id}/keep", generations::keep),
        op(M::POST, "/generations/{id}/unkeep", generations::unkeep),
        op(M::POST, "/generations/{id}/share", generations::share),
        op(M::POST, "/generations/{id}/unshare", generations::unshare),
        op(M::GET, "/boards", boards::list),
        op(M::POST, "/boards", boards::create),
        op(M::GET, "/boards/{id}", boards::show),
        op(M::PATCH, "/boards/{id}", boards::update),
        op(M::DELETE, "/boards/{id}", boards::delete),
        op(M::GET, "/boards/{id}/members", boards::members),
        op(M::POST, "/boards/{id}/members", boards::add_member),
        op(M::PATCH, "/boards/{id}/members/{user}", boards::set_role),
        op(M::DELETE, "/boards/{id}/members/{user}", boards::remove_member),
        op(M::POST, "/boards/{id}/items", boards::add_items),
        op(M::PATCH, "/boards/{id}/items/{generation}", boards::note),
        op(M::DELETE, "/boards/{id}/items/{generation}", boards::remove_item),
        op(M::PUT, "/boards/{id}/order", boards::order),
        op(M::GET, "/boards/{id}/zip", boards::zip),
        op(M::GET, "/presets", presets::list),
        op(M::POST, "/presets", presets::create),
        op(M::GET, "/presets/{id}", presets::show),
        op(M::PATCH, "/presets/{id}", presets::update),
        op(M::DELETE, "/presets/{id}", presets::delete),
        op(M::POST, "/presets/{id}/generate", presets::generate),
        op(M::POST, "/presets/{id}/use-successor", presets::use_successor),
        op(M::GET, "/cast", cast::list),
        op(M::POST, "/cast", cast::create),
        op(M::GET, "/cast/{id}", cast::show),
        op(M::PATCH, "/cast/{id}", cast::update),
        op(M::DELETE, "/cast/{id}", cast::delete),
        op(M::POST, "/cast/{id}/images", cast::add_image),
        op(M::GET, "/batches", batches::list),
        op(M::POST, "/batches", batches::create),
        op(M::GET, "/batches/{id}", batches::show),
        op(M::DELETE, "/batches/{id}", batches::delete),
        op(M::POST, "/batches/{id}/start", batches::start),
        op(M::POST, "/batches/{id}/stop", batches::stop),
        op(M::POST, "/batches/{id}/resume", batches::resume),
        op(M::GET, "/usage", usage::show),
        op(M::GET, "/approvals", spending::list),
        op(M::POST, "/approvals/{id}/approve", spending::approve),
        op(M::POST, "/approvals/{id}/decline", spending::decline),
        op(M::GET, "/share-links", shares::list),
        op(M::POST, "/share-links", shares::create),
        op(M::GET, "/share-links/{id}", shares::show),
        op(M::DELETE, "/share-links/{id}", shares::revoke),
        op(M::GET, "/webhooks", webhooks::list),
        op(M::POST, "/webhooks", webhooks::create),
        op(M::DELETE, "/webhooks/{id}", webhooks::delete),
        op(M::GET, "/webhooks/{id}/deliveries", webhooks::deliveries),
        op(M::GET, "/admin/users", admin_users::list),
        op(M::POST, "/admin/users", admin_users::invite),
        op(M::PATCH, "/admin/users/{id}", admin_users::update),
        op(M::POST, "/admin/users/{id}/reset-link", admin_users::reset_link),
        op(M::POST, "/admin/users/{id}/credits", admin_users::grant_credits),
        op(M::PUT, "/admin/generations/{id}/hold", admin_users::set_generation_hold),
        op(M::GET, "/admin/connections", admin_instance::connections),
        op(M::POST, "/admin/connections", admin_instance::add_connection),
        op(M::DELETE, "/admin/connections/{name}", admin_instance::remove_connection),
        op(M::POST, "/admin/connections/{name}/test", admin_instance::test_connection),
        op(M::GET, "/admin/models", admin_instance::model_policies),
        op(M::POST, "/admin/models", admin_instance::add_model),
        op(M::PUT, "/admin/models/{id}", admin_instance::save_model_policy),
        op(M::PUT, "/admin/models/{id}/catalog", admin_instance::edit_model),
        op(M::DELETE, "/admin/models/{id}/catalog", admin_instance::revert_model),
        op(M::POST, "/admin/models/{id}/remap", admin_instance::remap),
        op(M::POST, "/admin/catalog", admin_instance::import),
        op(M::POST, "/admin/catalog/discover", admin_instance::discover),
        op(M::GET, "/admin/catalog/due", admin_instance::due),
        op(M::PUT, "/admin/models/{id}/overrides", admin_instance::set_model_override),
        op(M::DELETE, "/admin/models/{id}/overrides/{user}", admin_instance::remove_model_override),
        op(M::GET, "/admin/data-use", admin_instance::data_use),
        op(M::PUT, "/admin/data-use", admin_instance::set_data_use),
        op(M::GET, "/admin/retention", admin_instance::retention),
        op(M::POST, "/admin/retention/run", admin_instance::run_retention),
        op(M::GET, "/admin/audit", admin_instance::audit),
        op(M::GET, "/admin/reconciliation", admin_instance::reconciliation),
        op(M::GET, "/admin/reconciliation.csv", admin_instance::reconciliation_csv),
        op(M::GET, "/admin/workers", admin_workers::list),
        op(M::GET, "/admin/media", admin_workers::media),
        op(M::GET, "/admin/spending", spending::settings),
        op(M::PUT, "/admin/spending", spending::save_settings),
        op(M::GET, "/admin/sharing", shares::sharing),
        op(M::PUT, "/admin/sharing", shares::set_sharing),
    ]
}

/// `(method, full path)` of every operation, in table order.
pub fn routes() -> Vec<(Method, String)> {
    endpoints().into_iter().map(|e| (e.method, format!("{PREFIX}{}", e.path))).collect()
}

/// Registers the API routes under the `/api/v1` scope: one resource per path (so other
/// methods get a JSON 405 with `Allow`), in table order.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut by_path: Vec<(&'static str, Vec<(Method, actix_web::Route)>)> = Vec::new();
    for e in endpoints() {
        match by_path.iter_mut().find(|(p, _)| *p == e.path) {
            Some((_, routes)) => routes.push((e.method, e.route)),
            None => by_path.push((e.path, vec![(e.method, e.route)])),
        }
    }
    for (path, routes) in by_path {
        cfg.service(routes.into_iter().fold(super::resource(path), |r, (method, route)| r.route(method, route)));
    }
}
