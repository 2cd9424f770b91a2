//! Every URL the application makes, in one place, so templates and handlers never spell
//! paths by hand.

use crate::domain::ids::GenerationId;

/// Builds paths and absolute links for this instance.
#[derive(Debug, Clone)]
pub struct Urls {
    /// Scheme, host and port, without a trailing slash ("https://studio.example.com").
    origin: String,
}

impl Urls {
    pub fn new(origin: &str) -> Self {
        Self { origin: origin.trim_end_matches('/').to_string() }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub fn home(&self) -> &'static str {
        "/"
    }
    pub fn login(&self) -> &'static str {
        "/login"
    }
    pub fn logout(&self) -> &'static str {
        "/logout"
    }
    pub fn setup(&self, secret: &str) -> String {
        format!("/setup/{secret}")
    }
    pub fn invite(&self, secret: &str) -> String {
        format!("/invite/{secret}")
    }
    pub fn reset(&self, secret: &str) -> String {
        format!("/reset/{secret}")
    }
    pub fn privacy(&self) -> &'static str {
        "/privacy"
    }
    pub fn account(&self) -> &'static str {
        "/account"
    }
    pub fn account_profile(&self) -> &'static str {
        "/account/profile"
    }
    pub fn account_picture(&self) -> &'static str {
        "/account/picture"
    }
    pub fn account_picture_remove(&self) -> &'static str {
        "/account/picture/delete"
    }
    pub fn account_data_use(&self) -> &'static str {
        "/account/data-use"
    }
    pub fn account_erase_content(&self) -> &'static str {
        "/account/erase-content"
    }
    pub fn account_delete(&self) -> &'static str {
        "/account/delete"
    }
    pub fn admin_data_use(&self) -> &'static str {
        "/admin/data-use"
    }
    /// The "Export my data" panel and its form.
    pub fn account_export(&self) -> &'static str {
        "/account/export"
    }
    pub fn account_password(&self) -> &'static str {
        "/account/password"
    }
    pub fn sessions(&self) -> &'static str {
        "/account/sessions"
    }
    pub fn tokens(&self) -> &'static str {
        "/account/tokens"
    }
    pub fn webhooks(&self) -> &'static str {
        "/account/webhooks"
    }
    /// One webhook's page: its delivery log.
    pub fn webhook(&self, id: &str) -> String {
        format!("/account/webhooks/{id}")
    }
    pub fn admin_users(&self) -> &'static str {
        "/admin/users"
    }
    pub fn admin_invitations(&self) -> &'static str {
        "/admin/invitations"
    }
    pub fn admin_connections(&self) -> &'static str {
        "/admin/connections"
    }
    pub fn admin_audit(&self) -> &'static str {
        "/admin/audit"
    }
    pub fn admin_audit_csv(&self) -> &'static str {
        "/admin/audit.csv"
    }
    pub fn admin_retention(&self) -> &'static str {
        "/admin/retention"
    }
    pub fn admin_retention_run(&self) -> &'static str {
        "/admin/retention/run"
    }
    pub fn admin_models(&self) -> &'static str {
        "/admin/models"
    }
    /// Where one model's policy row is saved.
    pub fn admin_model(&self, id: &str) -> String {
        format!("/admin/models/{id}")
    }
    pub fn admin_model_overrides(&self, id: &str) -> String {
        format!("/admin/models/{id}/overrides")
    }
    pub fn admin_model_override_delete(&self, id: &str, user: &str) -> String {
        format!("/admin/models/{id}/overrides/{user}/delete")
    }
    pub fn models(&self) -> &'static str {
        "/models"
    }
    pub fn model(&self, id: &str) -> String {
        format!("/models/{id}")
    }
    pub fn generate(&self) -> &'static str {
        "/generate"
    }
    pub fn library(&self) -> &'static str {
        "/library"
    }
    /// The bulk form of the library (keep, unkeep, delete or zip the selection).
    pub fn library_bulk(&self) -> &'static str {
        "/library/bulk"
    }
    /// One generation's page.
    pub fn generation(&self, id: GenerationId) -> String {
        format!("/generations/{id}")
    }
    /// The New generation form with `model` chosen.
    pub fn generate_with(&self, model: &str) -> String {
        format!("/generate?model={model}")
    }
}
