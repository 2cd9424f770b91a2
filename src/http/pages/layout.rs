//! The base layout every page extends: navigation, flash message, CSRF token, asset URLs,
//! and the page's language with its translator.

use actix_web::{HttpMessage, HttpRequest};

use crate::domain::user::{Role, User};
use crate::http::assets;
use crate::http::auth::NavCredits;
use crate::http::csrf::CsrfToken;
use crate::http::lang;
use crate::http::responses::{Flash, take_flash};
use crate::i18n::{Arg, Lang, Tr};
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
    /// The language of the page.
    pub lang: Lang,
    /// Messages in [`Layout::lang`], dates in the reader's time zone.
    pub tr: Tr,
    /// The time zone the person picked, which the page script also writes local times in
    /// (otherwise it uses the browser's).
    pub chosen_zone: Option<&'static str>,
}

impl Layout {
    /// A layout with no person and no form token, in English (error pages before the
    /// request's language is known; `middleware::error_pages` renders them again).
    pub fn bare() -> Self {
        Self { user: None, csrf: String::new(), flash: None, urls: Urls::new(""), lang: Lang::En, tr: Tr::new(Lang::En), chosen_zone: None }
    }

    pub fn new(req: &HttpRequest, user: Option<&User>) -> Self {
        let csrf = req.extensions().get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let credits = req.extensions().get::<NavCredits>().map(|c| c.0);
        let user = user.map(|u| NavUser { label: u.label().to_string(), is_admin: u.role == Role::Admin, credits });
        let tr = lang::tr(req);
        let chosen_zone = lang::chosen_zone(req).map(crate::i18n::Zone::name);
        Self { user, csrf, flash: take_flash(req), urls: Urls::new(""), lang: tr.lang, tr, chosen_zone }
    }

    /// The message `key` in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// The message `key` with its variables, in the page's language.
    pub fn t_args(&self, key: &str, args: &[(&str, Arg)]) -> String {
        self.tr.t_args(key, args)
    }

    /// The top bar's credits ("1,234 credits").
    pub fn credits(&self, count: i64) -> String {
        self.t_args("top-credits", &[("count", count.into()), ("shown", self.tr.number(count).into())])
    }

    /// The top bar's credits with `{n}` where the number goes, for the script that updates
    /// them after a submit (`count` picks the plural form).
    pub fn credits_template(&self, count: i64) -> String {
        self.t_args("top-credits", &[("count", count.into()), ("shown", "{n}".into())])
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
