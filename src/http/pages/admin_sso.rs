//! The "Single sign-on" page for admins: each `[[oidc]]` provider, the redirect URI to
//! register with it, and whether its discovery document can be read now (read-only: providers
//! are configured in config.toml).

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::http::auth::{Admin, state};
use crate::http::responses::{PageResult, ok};
use crate::services::identity::oidc;

/// One provider as the page shows it.
struct ProviderRow {
    name: String,
    label: String,
    issuer: String,
    redirect_uri: String,
    allowed_domains: String,
    role_claim: String,
    /// `None` when discovery worked, else why not.
    discovery_error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/sso.html")]
struct SsoPage {
    layout: Layout,
    providers: Vec<ProviderRow>,
    sso_only: bool,
    password_admins: String,
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let mut providers = Vec::new();
    for provider in state.oidc.providers() {
        let config = &provider.config;
        providers.push(ProviderRow {
            name: config.name.clone(),
            label: config.label.clone(),
            issuer: config.issuer.clone(),
            redirect_uri: oidc::redirect_uri(&state, &config.name),
            allowed_domains: config.allowed_domains.join(", "),
            role_claim: config.role_claim.clone().unwrap_or_default(),
            discovery_error: provider.metadata().await.err().map(|e| e.to_string()),
        });
    }
    let auth = &state.config.auth;
    let page = SsoPage {
        layout: Layout::new(&req, Some(&admin.0.user)),
        providers,
        sso_only: auth.sso_only,
        password_admins: auth.password_admins.join(", "),
    };
    ok(&req, &page)
}
