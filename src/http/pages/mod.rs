//! HTML pages, one module per concept, each template struct beside its handler.

pub mod account;
pub mod account_export;
pub mod admin_audit;
pub mod admin_connections;
pub mod admin_models;
pub mod admin_retention;
pub mod admin_users;
pub mod api_docs;
pub mod generate;
pub mod generation;
pub mod generation_actions;
pub mod home;
pub mod layout;
pub mod library;
pub mod models;
pub mod onboarding;
pub mod privacy;
pub mod sessions;
pub mod signin;
pub mod tokens;
pub mod webhooks;

use actix_web::web;

use super::resource;

/// Registers every page route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/").get(home::show));
    cfg.service(resource("/login").get(signin::show).post(signin::submit));
    cfg.service(resource("/privacy").get(privacy::show));
    cfg.service(resource("/logout").post(signin::sign_out));
    cfg.service(resource("/setup/{secret}").get(onboarding::setup_show).post(onboarding::setup_submit));
    cfg.service(resource("/invite/{secret}").get(onboarding::invite_show).post(onboarding::invite_submit));
    cfg.service(resource("/reset/{secret}").get(onboarding::reset_show).post(onboarding::reset_submit));
    cfg.service(resource("/account").get(account::show));
    cfg.service(resource("/account/profile").post(account::update_profile));
    cfg.service(resource("/account/password").post(account::change_password));
    cfg.service(resource("/account/picture").post(account::set_picture));
    cfg.service(resource("/account/picture/delete").post(account::remove_picture));
    cfg.service(resource("/account/data-use").post(account::set_data_use));
    cfg.service(resource("/account/erase-content").post(account::erase_content));
    cfg.service(resource("/account/delete").post(account::delete_account));
    cfg.service(resource("/account/export").get(account_export::panel).post(account_export::start));
    cfg.service(resource("/account/sessions").get(sessions::show));
    cfg.service(resource("/account/sessions/revoke-all").post(sessions::revoke_all));
    cfg.service(resource("/account/sessions/{id}/revoke").post(sessions::revoke));
    cfg.service(resource("/account/tokens").get(tokens::show).post(tokens::create));
    cfg.service(resource("/account/tokens/{id}/revoke").post(tokens::revoke));
    cfg.service(resource("/account/webhooks").get(webhooks::show).post(webhooks::create));
    cfg.service(resource("/account/webhooks/{id}").get(webhooks::show_one));
    cfg.service(resource("/account/webhooks/{id}/delete").post(webhooks::delete));
    cfg.service(resource("/admin/users").get(admin_users::show));
    cfg.service(resource("/admin/invitations").post(admin_users::invite));
    cfg.service(resource("/admin/users/{id}/role").post(admin_users::set_role));
    cfg.service(resource("/admin/users/{id}/status").post(admin_users::set_status));
    cfg.service(resource("/admin/users/{id}/reset").post(admin_users::issue_reset));
    cfg.service(resource("/admin/users/{id}/freeze").post(admin_users::set_frozen));
    cfg.service(resource("/admin/users/{id}/hold").post(admin_users::set_hold));
    cfg.service(resource("/admin/generations/hold").post(admin_users::hold_generation_by_field));
    cfg.service(resource("/admin/generations/{id}/hold").post(admin_users::set_generation_hold));
    cfg.service(resource("/admin/data-use").post(admin_models::set_data_use));
    cfg.service(resource("/admin/audit").get(admin_audit::show));
    cfg.service(resource("/admin/audit.csv").get(admin_audit::export_csv));
    cfg.service(resource("/admin/retention").get(admin_retention::show));
    cfg.service(resource("/admin/retention/run").post(admin_retention::run_now));
    cfg.service(resource("/admin/connections").get(admin_connections::show).post(admin_connections::add));
    cfg.service(resource("/admin/connections/{name}/delete").post(admin_connections::remove));
    cfg.service(resource("/admin/connections/{name}/test").post(admin_connections::test));
    cfg.service(resource("/admin/users/{id}/credits").post(admin_users::grant_credits));
    cfg.service(resource("/admin/models").get(admin_models::show));
    cfg.service(resource("/admin/models/{id}").post(admin_models::save));
    cfg.service(resource("/admin/models/{id}/overrides").post(admin_models::set_override));
    cfg.service(resource("/admin/models/{id}/overrides/{user}/delete").post(admin_models::remove_override));
    cfg.service(resource("/models").get(models::list));
    cfg.service(resource("/models/{id}").get(models::show));
    cfg.service(resource("/generate").get(generate::show).post(generate::submit));
    cfg.service(resource("/generate/price").get(generate::price_line));
    cfg.service(resource("/generations").get(generation::list));
    cfg.service(resource("/library").get(library::show));
    cfg.service(resource("/library/bulk").post(library::bulk));
    cfg.service(resource("/generations/{id}").get(generation::show));
    cfg.service(resource("/generations/{id}/cancel").post(generation::cancel));
    cfg.service(resource("/generations/{id}/events").get(generation::events));
    cfg.service(resource("/generations/{id}/delete").get(generation_actions::confirm_delete).post(generation_actions::delete));
    cfg.service(resource("/generations/{id}/{action:keep|unkeep|share|unshare}").post(generation_actions::set_flag));
}
