//! Recording and reading the audit trail.

use redb::WriteTransaction;

use crate::domain::audit::{Actor, AuditAction, AuditEvent, ClientInfo, erased_label};
use crate::domain::ids::{AuditId, UserId};
use crate::domain::time::Timestamp;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Store, StoreError};

/// The context of an action: who acts, from where. Built at the edge (HTTP or CLI).
#[derive(Debug, Clone)]
pub struct Context {
    pub actor: Actor,
    pub client: ClientInfo,
}

impl Context {
    pub fn cli() -> Self {
        Self { actor: Actor::Cli, client: ClientInfo::default() }
    }

    /// The appliance acting on its own (retention, recovery).
    pub fn system() -> Self {
        Self { actor: Actor::System, client: ClientInfo::default() }
    }

    pub fn user(id: UserId, email: &str, client: ClientInfo) -> Self {
        Self { actor: Actor::User { id, email: email.to_string() }, client }
    }

    pub fn anonymous(claimed_email: Option<String>, client: ClientInfo) -> Self {
        Self { actor: Actor::Anonymous { claimed_email }, client }
    }

    pub fn actor_id(&self) -> Option<UserId> {
        match &self.actor {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Appends an event inside the caller's transaction, so it commits with the change it records.
pub fn record(
    tx: &WriteTransaction,
    ctx: &Context,
    action: AuditAction,
    target: Option<String>,
    detail: Option<String>,
) -> Result<(), StoreError> {
    record_as(tx, AuditId::generate(), Timestamp::now(), ctx, action, target, detail)
}

/// Writes an event under a chosen id and time, replacing any event already under that id:
/// a running summary (refusals while throttled) stays one row whose detail is brought up to date.
pub fn record_as(
    tx: &WriteTransaction,
    id: AuditId,
    at: Timestamp,
    ctx: &Context,
    action: AuditAction,
    target: Option<String>,
    detail: Option<String>,
) -> Result<(), StoreError> {
    let event = AuditEvent { id, at, actor: ctx.actor.clone(), action, target, client: ctx.client.clone(), detail };
    store::audit::append(tx, &event)
}

/// The event `ctx` did `action`, now, for a write that records it itself (the lifecycle).
pub fn event(ctx: &Context, action: AuditAction, target: Option<String>, detail: Option<String>) -> AuditEvent {
    AuditEvent {
        id: AuditId::generate(),
        at: Timestamp::now(),
        actor: ctx.actor.clone(),
        action,
        target,
        client: ctx.client.clone(),
        detail,
    }
}

/// Filters for the admin audit page.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// Matches the actor's or the target's text, case-insensitively.
    pub who: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Continue below this event id (newest first).
    pub before: Option<AuditId>,
}

/// One page of events, newest first, and where the next page starts.
pub async fn list(
    state: &crate::services::state::AppState,
    filter: AuditFilter,
    limit: usize,
) -> ServiceResult<(Vec<AuditEvent>, Option<AuditId>)> {
    list_in(&state.store, filter, limit).await
}

/// [`list`] read from `store` (for streams that own their store handle).
pub(super) async fn list_in(store: &Store, filter: AuditFilter, limit: usize) -> ServiceResult<(Vec<AuditEvent>, Option<AuditId>)> {
    let needle = filter.who.as_ref().map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty());
    let (events, next) = store
        .read(move |tx| {
            store::audit::page(tx, filter.before.map(AuditId::to_key), limit, 20_000, |e| {
                filter.action.is_none_or(|a| a == e.action)
                    && filter.from.is_none_or(|f| e.at >= f)
                    && filter.to.is_none_or(|t| e.at <= t)
                    && needle.as_ref().is_none_or(|n| {
                        e.actor.label().to_lowercase().contains(n) || e.target.as_ref().is_some_and(|t| t.to_lowercase().contains(n))
                    })
            })
        })
        .await?;
    Ok((events, next.map(AuditId::from_key)))
}

/// Events rewritten per write transaction when an erased person is forgotten.
const FORGET_BATCH: usize = 1000;

/// Forgets an erased person in the whole log: every e-mail they had (`email` now, and any
/// they acted under before) and the client addresses and user agents of what they did
/// give way to their bare account id. Returns how many events changed. Safe to repeat.
pub async fn forget_person(store: &Store, person: UserId, email: String) -> ServiceResult<u64> {
    let emails = store
        .read(move |tx| {
            let mut emails = vec![email];
            store::audit::each(tx, |e| {
                if let Actor::User { id, email } = e.actor
                    && id == person
                    && !emails.contains(&email)
                    && email != erased_label(person)
                {
                    emails.push(email);
                }
            })?;
            Ok::<_, ServiceError>(emails)
        })
        .await?;
    let emails = std::sync::Arc::new(emails);
    let (mut from, mut changed) = (0, 0);
    loop {
        let emails = emails.clone();
        let (n, next) = store
            .write(move |tx| {
                store::audit::rewrite(tx, from, FORGET_BATCH, |e| e.forget_person(person, &emails)).map_err(ServiceError::from)
            })
            .await?;
        changed += n as u64;
        match next {
            Some(key) => from = key,
            None => return Ok(changed),
        }
    }
}
