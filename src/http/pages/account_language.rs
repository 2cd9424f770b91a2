//! The language panel of the account page: follow the browser, or one of the studio's
//! languages, each named in itself.

use actix_web::{HttpRequest, web};
use serde::Deserialize;

use crate::error::AppError;
use crate::http::auth::{SignedIn, state};
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, redirect_with};
use crate::i18n::{Lang, Tr};
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
}

/// Saves the choice; an unknown language is 422.
pub async fn set(req: HttpRequest, who: SignedIn, form: web::Form<LanguageForm>) -> PageResult {
    let state = state(&req)?;
    let chosen = match form.language.as_str() {
        FOLLOW_BROWSER => None,
        code => match Lang::from_code(code) {
            Some(l) => Some(l),
            None => {
                return Err(AppError::new(
                    actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    "Pick one of the languages offered.",
                )
                .into());
            }
        },
    };
    preferences::set_language(&state, &who.ctx(), &who.user, chosen).await?;
    let tr = Tr::new(chosen.unwrap_or_else(|| lang::browser_lang(&req)));
    Ok(redirect_with(state.urls().account(), FlashKind::Success, &tr.t("flash-language-saved")))
}
