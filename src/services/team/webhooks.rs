//! Webhooks: a person registers URLs ([`create`], the signing secret shown once and stored
//! sealed to the master key), lists and deletes them and reads their delivery logs. When one
//! of their generations ends, the lifecycle queues a delivery per webhook inside the
//! transaction that records the end; `webhook_delivery` sends them.

use crate::domain::audit::AuditAction;
use crate::domain::ids::{UserId, WebhookId};
use crate::domain::standard_webhooks;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::domain::webhook::{self, Delivery, MAX_PER_USER, Webhook};
use crate::providers::http::{GuardedResolver, OutboundError, check_destination};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self};
use crate::vault::sealed;

/// Deliveries shown per webhook.
pub const LOG_SHOWN: usize = 50;

/// Registers `url` for `user`'s completion events. Returns the webhook and its signing
/// secret (`whsec_…`), which is never shown again.
pub async fn create(state: &AppState, ctx: &Context, user: &User, url: &str, description: &str) -> ServiceResult<(Webhook, String)> {
    let url = webhook::parse_url(url)?;
    let description = webhook::parse_description(description)?;
    check_reachable(state, &url).await?;
    let secret = standard_webhooks::generate_secret();
    let sealed = sealed::seal(state.keyring.master(), &secret).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let hook = Webhook {
        id: WebhookId::generate(),
        owner: user.id,
        url: url.to_string(),
        description,
        sealed_secret: sealed,
        secret_hint: secret.chars().take(10).collect(),
        created_at: Timestamp::now(),
    };
    let (stored, ctx, email) = (hook.clone(), ctx.clone(), user.email.to_string());
    state
        .store
        .write(move |tx| {
            if store::webhooks::list_for_owner(tx, stored.owner)?.len() >= MAX_PER_USER {
                return Err(ServiceError::InvalidMessage(format!("you can register at most {MAX_PER_USER} webhooks")));
            }
            store::webhooks::insert(tx, &stored)?;
            audit::record(tx, &ctx, AuditAction::WebhookCreated, Some(email), Some(format!("webhook {}", stored.url)))?;
            Ok(())
        })
        .await?;
    Ok((hook, secret))
}

/// Refuses a URL whose host is (or resolves only to) an address deliveries may not reach.
/// A host that does not resolve yet is accepted: each delivery checks again.
async fn check_reachable(state: &AppState, url: &url::Url) -> ServiceResult<()> {
    let allow = state.config.webhooks.allow_private_network;
    let refused = match check_destination(url, allow) {
        Err(e) => Some(e),
        Ok(()) => match url.host() {
            Some(url::Host::Domain(name)) => match GuardedResolver::new(allow).resolve_allowed(name).await {
                Err(e @ (OutboundError::Forbidden { .. } | OutboundError::Blocked { .. })) => Some(e),
                _ => None,
            },
            _ => None,
        },
    };
    match refused {
        Some(e) => Err(ServiceError::InvalidMessage(refusal_message(&e))),
        None => Ok(()),
    }
}

/// An outbound refusal in words that name the webhook setting, not a connection's.
pub fn refusal_message(e: &OutboundError) -> String {
    match e {
        OutboundError::Forbidden { host } => format!(
            "refusing to send webhooks to {host}: it is not a public address (an admin may allow private addresses with webhooks.allow_private_network)"
        ),
        OutboundError::Blocked { host } => format!("refusing to send webhooks to {host}: this address is never allowed"),
        other => other.to_string(),
    }
}

/// `user`'s webhooks, newest first.
pub async fn list(state: &AppState, user: UserId) -> ServiceResult<Vec<Webhook>> {
    let mut hooks = state.store.read(move |tx| store::webhooks::list_for_owner(tx, user)).await?;
    hooks.reverse();
    Ok(hooks)
}

/// One of `user`'s webhooks (another person's is "not found").
pub async fn get(state: &AppState, user: UserId, id: WebhookId) -> ServiceResult<Webhook> {
    state.store.read(move |tx| store::webhooks::get(tx, id)).await?.filter(|h| h.owner == user).ok_or(ServiceError::NotFound("webhook"))
}

/// Deletes one of `user`'s webhooks with its log; pending deliveries are dropped.
pub async fn delete(state: &AppState, ctx: &Context, user: UserId, id: WebhookId) -> ServiceResult<()> {
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let hook = store::webhooks::get(tx, id)?.filter(|h| h.owner == user).ok_or(ServiceError::NotFound("webhook"))?;
            store::webhooks::remove(tx, &hook)?;
            audit::record(tx, &ctx, AuditAction::WebhookDeleted, None, Some(format!("webhook {}", hook.url)))?;
            Ok(())
        })
        .await
}

/// The latest deliveries of one of `user`'s webhooks, newest first.
pub async fn deliveries(state: &AppState, user: UserId, id: WebhookId) -> ServiceResult<(Webhook, Vec<Delivery>)> {
    let hook = get(state, user, id).await?;
    let log = state.store.read(move |tx| store::webhooks::deliveries(tx, id, LOG_SHOWN)).await?;
    Ok((hook, log))
}
