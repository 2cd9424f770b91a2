//! The approvals queue for approvers (admins, and the people an admin named): each waiting
//! job with its prompt, references, model, cost, requester and age, answered with an
//! optional note.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::layout::Layout;
use crate::domain::approval::Verdict;
use crate::domain::ids::GenerationId;
use crate::domain::time::Timestamp;
use crate::http::auth::{SignedIn, state};
use crate::http::lang;
use crate::http::responses::{FlashKind, PageResult, ok, redirect_with};
use crate::services::studio::approvals;

/// A waiting job as the queue shows it.
struct Row {
    id: GenerationId,
    prompt: String,
    model: String,
    cost: u64,
    requester: String,
    asked_at: Timestamp,
    expires_at: Timestamp,
    /// How long it has waited, in words.
    waited: String,
    /// (role, signed link, shown as) of each reference.
    references: Vec<(String, String, &'static str)>,
    /// The approver's own request (only an admin may answer it).
    own: bool,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    layout: Layout,
    rows: Vec<Row>,
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let waiting = approvals::pending(&state, &who.user).await?;
    let tr = lang::tr(&req);
    let now = Timestamp::now();
    let mut rows = Vec::with_capacity(waiting.len());
    for p in waiting {
        let g = &p.generation;
        let references = super::generation::reference_cards(&state, &tr, g).await?;
        rows.push(Row {
            id: g.id,
            prompt: g.prompt.clone(),
            model: g.made_with.as_ref().map_or_else(|| g.model.clone(), |m| m.label.clone()),
            cost: g.cost,
            requester: p.requester.as_ref().map_or_else(|| g.owner.to_string(), |u| format!("{} <{}>", u.name, u.email)),
            asked_at: p.approval.asked_at,
            expires_at: p.approval.expires_at,
            waited: tr.duration_ms(now.millis() - p.approval.asked_at.millis()),
            references,
            own: g.owner == who.user.id && who.user.role != crate::domain::user::Role::Admin,
        });
    }
    ok(&req, &ApprovalsPage { layout: Layout::new(&req, Some(&who.user)), rows })
}

#[derive(Deserialize)]
pub struct AnswerForm {
    /// `approve` or `decline`.
    verdict: String,
    #[serde(default)]
    note: String,
}

pub async fn answer(req: HttpRequest, who: SignedIn, id: web::Path<GenerationId>, form: web::Form<AnswerForm>) -> PageResult {
    let state = state(&req)?;
    let form = form.into_inner();
    let note = Some(form.note).filter(|n| !n.trim().is_empty());
    let tr = lang::tr(&req);
    let (verdict, done) = match form.verdict.as_str() {
        "approve" => (Verdict::Approved, "flash-approval-approved"),
        "decline" => (Verdict::Declined, "flash-approval-declined"),
        _ => return Err(crate::error::AppError::bad_request("`verdict` must be approve or decline.").into()),
    };
    match approvals::answer(&state, &who.ctx(), &who.user, id.into_inner(), verdict, note).await {
        Ok(_) => Ok(redirect_with(state.urls().approvals(), FlashKind::Success, &tr.t(done))),
        Err(e) => {
            let e = crate::error::AppError::from(e);
            Ok(redirect_with(state.urls().approvals(), FlashKind::Error, &crate::http::responses::error_text(&tr, &e)))
        }
    }
}
