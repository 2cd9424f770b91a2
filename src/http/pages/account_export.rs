//! The "Export my data" panel of the account page: start an export, follow its state (htmx
//! polls the panel while it is being written), and download it through a signed link.

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::domain::export::ExportState;
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;
use crate::http::auth::{SignedIn, state};
use crate::http::csrf::CsrfToken;
use crate::http::responses::{FlashKind, PageResult, redirect, redirect_with};
use crate::i18n::Tr;
use crate::services::state::AppState;
use crate::services::{ServiceResult, privacy::export};

/// What the panel shows.
pub struct ExportPanel {
    /// Where the form posts and htmx polls.
    pub action: &'static str,
    /// The account page, reloaded to see whether the export is ready.
    pub reload: &'static str,
    pub csrf: String,
    /// The latest export's state, if one was asked for and has not expired.
    pub state: Option<ExportState>,
    pub requested_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    /// Its size, for people ("12.3 MiB").
    pub size: Option<String>,
    pub download: Option<String>,
    pub error: Option<String>,
    /// How many days a finished export is kept.
    pub keep_days: u64,
    /// The page's translator.
    pub tr: Tr,
}

impl ExportPanel {
    /// The panel of `user`'s latest export.
    pub async fn load(state: &AppState, user: UserId, csrf: String, tr: Tr) -> ServiceResult<ExportPanel> {
        let status = export::latest(state, user).await?;
        let export = status.as_ref().map(|s| &s.export);
        Ok(ExportPanel {
            action: state.urls().account_export(),
            reload: state.urls().account(),
            csrf,
            state: export.map(|e| e.state),
            requested_at: export.map(|e| e.requested_at),
            finished_at: export.and_then(|e| e.finished_at),
            expires_at: export.and_then(|e| e.expires_at()),
            size: export.and_then(|e| e.bytes).map(|b| bytesize::ByteSize::b(b).display().iec().to_string()),
            download: status.as_ref().and_then(|s| s.path.clone()),
            error: export.and_then(|e| e.error.clone()),
            keep_days: export::KEEP_FOR.as_secs() / 86_400,
            tr,
        })
    }

    /// Still being written: the panel polls for its end.
    pub fn busy(&self) -> bool {
        self.state.is_some_and(ExportState::is_unfinished)
    }

    pub fn state_label(&self) -> String {
        match self.state {
            None => String::new(),
            Some(ExportState::Queued) => self.tr.t("export-state-queued"),
            Some(ExportState::Running) => self.tr.t("export-state-running"),
            Some(ExportState::Ready) => self.tr.t("export-state-ready"),
            Some(ExportState::Failed) => self.tr.t("export-state-failed"),
        }
    }
}

#[derive(Template)]
#[template(path = "account/export.html")]
struct ExportPartial {
    export: ExportPanel,
}

/// `POST /account/export`: starts an export (or keeps the one being written).
pub async fn start(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let (_, started) = export::request(&state, &who.ctx(), &who.user).await?;
    let tr = crate::http::lang::tr(&req);
    let message = if started { tr.t("flash-export-started") } else { tr.t("flash-export-busy") };
    Ok(redirect_with(state.urls().account(), FlashKind::Success, &message))
}

/// `GET /account/export`: the panel alone, for htmx; people are sent to the account page.
pub async fn panel(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    if !req.headers().contains_key("hx-request") {
        return Ok(redirect(state.urls().account()));
    }
    let csrf = actix_web::HttpMessage::extensions(&req).get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
    let export = ExportPanel::load(&state, who.user.id, csrf, crate::http::lang::tr(&req)).await?;
    let body = ExportPartial { export }.render().map_err(|_| crate::error::AppError::internal())?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}
