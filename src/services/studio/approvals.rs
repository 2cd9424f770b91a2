//! Approvals: a job priced above its requester's threshold is stored AwaitingApproval with
//! its credits held; approvers (admins, and the people an admin names) approve it, which
//! queues it for the engine, or decline it with a note, which releases the hold; a request
//! nobody answers expires on the scheduler's sweep and releases its hold too.

use crate::domain::approval::{Answer, Approval, MAX_NOTE_CHARS, Verdict};
use crate::domain::audit::AuditAction;
use crate::domain::generation::{GenState, Generation, Reason};
use crate::domain::ids::GenerationId;
use crate::domain::spending::SpendingSettings;
use crate::domain::time::Timestamp;
use crate::domain::user::{Role, User};
use crate::lifecycle::{Admission, Answering, Change};
use crate::services::notify::{self, Notice};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::team::spending;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// What a submit is checked against and written with: the person's daily limits, and, when
/// its price is above their threshold (the lower of their role's and the model's), its
/// approval request, in which case `g` is made to wait in AwaitingApproval.
pub fn admit(settings: &SpendingSettings, ctx: &Context, user: &User, g: &mut Generation) -> Admission {
    let now = g.created_at;
    let limits = spending::spend_check(settings, user, &g.model, now);
    let approval = settings.approval_threshold(user.role, &g.model).filter(|&threshold| g.cost > threshold).map(|threshold| {
        g.state = GenState::AwaitingApproval;
        let approval = Approval {
            generation: g.id,
            requester: user.id,
            asked_at: now,
            expires_at: now.plus(std::time::Duration::from_secs(u64::from(settings.approval_expiry_hours) * 3600)),
            threshold,
            answer: None,
        };
        let detail = format!("model {}, {} credits, above the threshold of {threshold}", g.model, g.cost);
        (approval, audit::event(ctx, AuditAction::ApprovalAsked, Some(g.id.to_string()), Some(detail)))
    });
    Admission { limits, approval }
}

/// Tells the approvers that `g` waits for them (after it is stored).
pub fn announce(state: &AppState, g: &Generation) {
    notify::send(state, Notice::ApprovalAsked { generation: g.id, requester: g.owner });
}

/// A request waiting for an answer, as the queue shows it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub generation: Generation,
    pub approval: Approval,
    pub requester: Option<User>,
}

/// Whether `user` may answer approval requests.
pub async fn is_approver(state: &AppState, user: &User) -> ServiceResult<bool> {
    if user.role == Role::Admin {
        return Ok(true);
    }
    Ok(spending::settings(state).await?.is_approver(user.id, user.role))
}

async fn ensure_approver(state: &AppState, user: &User) -> ServiceResult<()> {
    if is_approver(state, user).await? { Ok(()) } else { Err(ServiceError::NotApprover) }
}

/// The requests waiting for an answer, oldest first (approvers only).
pub async fn pending(state: &AppState, approver: &User) -> ServiceResult<Vec<Pending>> {
    ensure_approver(state, approver).await?;
    let mut waiting = state
        .store
        .read(|tx| {
            let mut out = Vec::new();
            for g in store::generations::active(tx)? {
                if g.state != GenState::AwaitingApproval || g.deleted_at.is_some() {
                    continue;
                }
                let Some(approval) = store::spending::approval(tx, g.id)? else { continue };
                let requester = store::users::get(tx, g.owner)?;
                out.push(Pending { generation: g, approval, requester });
            }
            Ok::<_, ServiceError>(out)
        })
        .await?;
    waiting.sort_by_key(|p| p.approval.asked_at);
    Ok(waiting)
}

/// One request waiting for an answer (approvers only).
pub async fn pending_one(state: &AppState, approver: &User, id: GenerationId) -> ServiceResult<Pending> {
    pending(state, approver).await?.into_iter().find(|p| p.generation.id == id).ok_or(ServiceError::NotFound("approval request"))
}

/// The approval request of a generation, asked or answered (`None` when it needed none).
pub async fn of_generation(state: &AppState, id: GenerationId) -> ServiceResult<Option<Approval>> {
    Ok(state.store.read(move |tx| store::spending::approval(tx, id)).await?)
}

/// Answers a waiting job with `verdict` and an optional note for its requester: approved, it
/// is queued and the engine starts it; declined, it fails with the note and its hold is
/// released. An expiry is not an approver's answer (see [`expire`]).
pub async fn answer(
    state: &AppState,
    ctx: &Context,
    approver: &User,
    id: GenerationId,
    verdict: Verdict,
    note: Option<String>,
) -> ServiceResult<Generation> {
    ensure_approver(state, approver).await?;
    if verdict == Verdict::Expired {
        return Err(ServiceError::InvalidMessage("answer with approve or decline".into()));
    }
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ServiceError::InvalidMessage(format!("the note is longer than {MAX_NOTE_CHARS} characters")));
    }
    let (g, approval) = state
        .store
        .read(move |tx| {
            let g = store::generations::get(tx, id)?.filter(|g| g.deleted_at.is_none()).ok_or(ServiceError::NotFound("generation"))?;
            let approval = store::spending::approval(tx, id)?.ok_or(ServiceError::NotFound("approval request"))?;
            Ok::<_, ServiceError>((g, approval))
        })
        .await?;
    if g.state != GenState::AwaitingApproval {
        return Err(ServiceError::Conflict("this request was already answered, cancelled or expired"));
    }
    if g.owner == approver.id && approver.role != Role::Admin {
        return Err(ServiceError::OwnApproval);
    }
    let now = Timestamp::now();
    let by_email = approver.email.to_string();
    let answered = Approval {
        answer: Some(Answer { verdict, at: now, by: Some(approver.id), by_email: Some(by_email.clone()), note: note.clone() }),
        ..approval
    };
    let (action, change) = match verdict {
        Verdict::Approved => (AuditAction::ApprovalApproved, Change::Approved),
        _ => {
            let words = match &note {
                Some(n) => format!("Declined by {by_email}: {n}. The credits were released."),
                None => format!("Declined by {by_email}. The credits were released."),
            };
            (AuditAction::ApprovalDeclined, Change::Failed(Reason::new("approval.declined", words)))
        }
    };
    let detail = format!("{} credits{}", g.cost, note.as_ref().map_or_else(String::new, |n| format!("; note: {n}")));
    let audit = audit::event(ctx, action, Some(g.id.to_string()), Some(detail));
    let g = state.lifecycle.answer(id, change, Answering { approval: answered, audit }).await.map_err(already_answered)?;
    if verdict == Verdict::Approved {
        state.engine.start(g.id);
    }
    notify::send(state, Notice::ApprovalAnswered { generation: g.id, requester: g.owner, approved: verdict == Verdict::Approved, note });
    Ok(g)
}

/// A lifecycle refusal of an answer: another answer, a cancel or the expiry came first.
fn already_answered(e: crate::lifecycle::LifecycleError) -> ServiceError {
    match e {
        crate::lifecycle::LifecycleError::Transition { .. } | crate::lifecycle::LifecycleError::AlreadyFinished => {
            ServiceError::Conflict("this request was already answered, cancelled or expired")
        }
        other => other.into(),
    }
}

/// Ends every request unanswered at `now` past its expiry: its job fails (`approval.expired`)
/// and its hold is released, audited as the appliance's doing. Returns how many expired.
pub async fn expire(state: &AppState, now: Timestamp) -> ServiceResult<usize> {
    let due = state
        .store
        .read(move |tx| {
            let mut due = Vec::new();
            for g in store::generations::active(tx)?.into_iter().filter(|g| g.state == GenState::AwaitingApproval) {
                if let Some(approval) = store::spending::approval(tx, g.id)?.filter(|a| a.answer.is_none() && a.expires_at <= now) {
                    due.push((g, approval));
                }
            }
            Ok::<_, ServiceError>(due)
        })
        .await?;
    let mut expired = 0;
    for (g, approval) in due {
        let answered =
            Approval { answer: Some(Answer { verdict: Verdict::Expired, at: now, by: None, by_email: None, note: None }), ..approval };
        let reason = Reason::new("approval.expired", "Nobody answered the approval request in time; the credits were released.");
        let detail = format!("{} credits, asked {}", g.cost, answered.asked_at.human());
        let audit = audit::event(&Context::system(), AuditAction::ApprovalExpired, Some(g.id.to_string()), Some(detail));
        match state.lifecycle.answer(g.id, Change::Failed(reason), Answering { approval: answered, audit }).await {
            Ok(g) => {
                expired += 1;
                notify::send(state, Notice::ApprovalAnswered { generation: g.id, requester: g.owner, approved: false, note: None });
            }
            // answered or cancelled meanwhile
            Err(crate::lifecycle::LifecycleError::Transition { .. } | crate::lifecycle::LifecycleError::AlreadyFinished) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(expired)
}
