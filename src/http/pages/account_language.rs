//! The language panel of the account page: the language of the pages (follow the browser, or
//! one of the studio's languages, each named in itself) and the time zone of their dates
//! (follow the browser, or a zone by its IANA name).

use actix_web::{HttpRequest, web};
use serde::Deserialize;

use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, redirect_with};
use crate::i18n::{Lang, Tr, Zone};
use crate::services::identity::preferences;

/// The form value that follows the browser.
pub const FOLLOW_BROWSER: &str = "browser";

/// One choice of the language select.
pub struct LanguageOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// The choices of the language select, the person's own choice selected.
pub fn options(chosen: Option<Lang>, tr: &Tr) -> Vec<LanguageOption> {
    let follow = LanguageOption { value: FOLLOW_BROWSER, label: tr.t("language-follow-browser"), selected: chosen.is_none() };
    let languages =
        Lang::ALL.into_iter().map(|l| LanguageOption { value: l.code(), label: l.label().to_string(), selected: chosen == Some(l) });
    std::iter::once(follow).chain(languages).collect()
}

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    language: String,
    /// A zone's name; empty follows the browser.
    #[serde(default)]
    time_zone: String,
}

/// What the time zone field of the panel shows: the person's zone, and the browser's.
pub struct ZoneField {
    /// The zone the person picked (empty when they follow the browser).
    pub chosen: String,
    /// The zone the browser reports, when it reports one.
    pub browser: Option<&'static str>,
    /// Every zone name, for the field's suggestions.
    pub names: &'static [String],
}

impl ZoneField {
    pub fn new(req: &HttpRequest, chosen: Option<String>) -> ZoneField {
        ZoneField { chosen: chosen.unwrap_or_default(), browser: lang::browser_zone(req).map(Zone::name), names: Zone::all_names() }
    }
}

fn invalid(message: &str) -> crate::http::responses::PageError {
    AppError::new(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message).into()
}

/// Saves the choice; an unknown language is 422.
pub async fn set(req: HttpRequest, who: SignedIn, form: web::Form<LanguageForm>) -> PageResult {
    let state = state(&req)?;
    let chosen = match form.language.as_str() {
        FOLLOW_BROWSER => None,
        code => match Lang::from_code(code) {
            Some(l) => Some(l),
            None => return Err(invalid("Pick one of the languages offered.")),
        },
    };
    let zone = match form.time_zone.trim() {
        "" => None,
        name => match Zone::named(name) {
            Some(zone) => Some(zone.name().to_string()),
            None => return Err(invalid("Pick a time zone from the list (for example Europe/Paris or Asia/Tokyo).")),
        },
    };
    preferences::set_language(&state, &who.ctx(), &who.user, chosen, zone).await?;
    let tr = Tr::new(chosen.unwrap_or_else(|| lang::browser_lang(&req)));
    Ok(redirect_with(state.urls().account(), FlashKind::Success, &tr.t("flash-language-saved")))
}
