//! `/privacy`: the instance's privacy notice, public, generated from its settings in force
//! and dated by their last change.

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{PageResult, ok};
use crate::services::privacy::privacy_notice::{self, Notice};

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    layout: Layout,
    notice: Notice,
    /// People may sign in with single sign-on (the notice says what that keeps).
    sso: bool,
}

/// Anyone may read it; a signed-in person sees their navigation.
pub async fn show(req: HttpRequest, who: Option<SignedIn>) -> PageResult {
    let state = state(&req)?;
    let notice = privacy_notice::notice(&state).await?;
    let sso = state.oidc.providers().next().is_some();
    ok(&req, &PrivacyPage { layout: Layout::new(&req, who.as_ref().map(|w| &w.user)), notice, sso })
}
