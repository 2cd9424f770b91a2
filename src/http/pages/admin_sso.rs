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

/// How long the page waits for a provider's discovery document before saying it did not answer
/// (the providers are asked at once, so the page never takes longer than this).
const DISCOVERY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let checks = state.oidc.providers().map(|provider| async move {
        match tokio::time::timeout(DISCOVERY_WAIT, provider.metadata()).await {
            Ok(found) => found.err().map(|e| e.to_string()),
            Err(_) => Some(format!("no answer within {} s", DISCOVERY_WAIT.as_secs())),
        }
    });
    let errors = futures_util::future::join_all(checks).await;
    let providers = state
        .oidc
        .providers()
        .zip(errors)
        .map(|(provider, discovery_error)| {
            let config = &provider.config;
            ProviderRow {
                name: config.name.clone(),
                label: config.label.clone(),
                issuer: config.issuer.clone(),
                redirect_uri: oidc::redirect_uri(&state, &config.name),
                allowed_domains: config.allowed_domains.join(", "),
                role_claim: config.role_claim.clone().unwrap_or_default(),
                discovery_error,
            }
        })
        .collect();
    let auth = &state.config.auth;
    let page = SsoPage {
        layout: Layout::new(&req, Some(&admin.0.user)),
        providers,
        sso_only: auth.sso_only,
        password_admins: auth.password_admins.join(", "),
    };
    ok(&req, &page)
}
