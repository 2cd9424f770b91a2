//! The base layout every page extends: navigation, flash message, CSRF token, asset URLs.

use actix_web::{HttpMessage, HttpRequest};

use crate::domain::user::{Role, User};
use crate::http::assets;
use crate::http::auth::NavCredits;
use crate::http::csrf::CsrfToken;
use crate::http::responses::{Flash, take_flash};
use crate::urls::Urls;

/// The signed-in person as the navigation shows them.
pub struct NavUser {
    pub label: String,
    pub is_admin: bool,
    /// Credits available, when the request checked the session (every signed-in page does).
    pub credits: Option<i64>,
}

/// What the base layout needs.
pub struct Layout {
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub urls: Urls,
}

impl Layout {
    /// A layout with no person and no form token (error pages).
    pub fn bare() -> Self {
        Self { user: None, csrf: String::new(), flash: None, urls: Urls::new("") }
    }

    pub fn new(req: &HttpRequest, user: Option<&User>) -> Self {
        let csrf = req.extensions().get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let credits = req.extensions().get::<NavCredits>().map(|c| c.0);
        let user = user.map(|u| NavUser { label: u.label().to_string(), is_admin: u.role == Role::Admin, credits });
        Self { user, csrf, flash: take_flash(req), urls: Urls::new("") }
    }

    /// The versioned URL of an embedded asset.
    pub fn asset(&self, path: &str) -> String {
        assets::url(path)
    }

    /// The `hx-headers` value that makes htmx send the CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}
