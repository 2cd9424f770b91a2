//! Webhooks per person, their deliveries (the log), and the queue of pending deliveries.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{WEBHOOK_DELIVERIES, WEBHOOK_DELIVERIES_BY_HOOK, WEBHOOK_QUEUE, WEBHOOKS, WEBHOOKS_BY_OWNER};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::ids::{DeliveryId, UserId, WebhookId};
use crate::domain::time::Timestamp;
use crate::domain::webhook::{Delivery, DeliveryState, LOG_KEEP, Webhook};

pub fn get(tx: &impl Tx, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
    decode_opt(tx.table(WEBHOOKS)?.get(id.to_key())?)
}

pub fn insert(tx: &WriteTransaction, hook: &Webhook) -> Result<(), StoreError> {
    tx.open_table(WEBHOOKS)?.insert(hook.id.to_key(), codec::encode(hook)?.as_slice())?;
    tx.open_table(WEBHOOKS_BY_OWNER)?.insert((hook.owner.to_key(), hook.id.to_key()), ())?;
    Ok(())
}

/// A person's webhooks, oldest first.
pub fn list_for_owner(tx: &impl Tx, owner: UserId) -> Result<Vec<Webhook>, StoreError> {
    let index = tx.table(WEBHOOKS_BY_OWNER)?;
    let hooks = tx.table(WEBHOOKS)?;
    let key = owner.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))? {
        let (k, _) = row?;
        if let Some(hook) = decode_opt::<Webhook>(hooks.get(k.value().1)?)? {
            out.push(hook);
        }
    }
    Ok(out)
}

/// Removes a webhook with its whole delivery log and whatever of it was still queued.
pub fn remove(tx: &WriteTransaction, hook: &Webhook) -> Result<(), StoreError> {
    let ids = delivery_ids(tx, hook.id)?;
    for id in ids {
        remove_delivery(tx, hook.id, id)?;
    }
    tx.open_table(WEBHOOKS)?.remove(hook.id.to_key())?;
    tx.open_table(WEBHOOKS_BY_OWNER)?.remove((hook.owner.to_key(), hook.id.to_key()))?;
    Ok(())
}

/// Removes every webhook of a person (account erasure); returns how many.
pub fn remove_all_for_user(tx: &WriteTransaction, owner: UserId) -> Result<usize, StoreError> {
    let hooks = list_for_owner(tx, owner)?;
    for hook in &hooks {
        remove(tx, hook)?;
    }
    Ok(hooks.len())
}

pub fn get_delivery(tx: &impl Tx, id: DeliveryId) -> Result<Option<Delivery>, StoreError> {
    decode_opt(tx.table(WEBHOOK_DELIVERIES)?.get(id.to_key())?)
}

/// Stores a new delivery and queues it; trims the webhook's log to [`LOG_KEEP`] entries
/// (the oldest finished ones go).
pub fn enqueue(tx: &WriteTransaction, delivery: &Delivery) -> Result<(), StoreError> {
    put_delivery(tx, delivery, None)?;
    tx.open_table(WEBHOOK_DELIVERIES_BY_HOOK)?.insert((delivery.webhook.to_key(), delivery.id.to_key()), ())?;
    let ids = delivery_ids(tx, delivery.webhook)?;
    let mut excess = ids.len().saturating_sub(LOG_KEEP);
    for id in ids {
        if excess == 0 {
            break;
        }
        if get_delivery(tx, id)?.is_some_and(|d| d.state != DeliveryState::Pending) {
            remove_delivery(tx, delivery.webhook, id)?;
            excess -= 1;
        }
    }
    Ok(())
}

/// Rewrites a delivery after an attempt, moving its queue entry from `previous_due` to its
/// next attempt (or out of the queue once it is delivered or given up).
pub fn put_delivery(tx: &WriteTransaction, delivery: &Delivery, previous_due: Option<Timestamp>) -> Result<(), StoreError> {
    tx.open_table(WEBHOOK_DELIVERIES)?.insert(delivery.id.to_key(), codec::encode(delivery)?.as_slice())?;
    let mut queue = tx.open_table(WEBHOOK_QUEUE)?;
    if let Some(due) = previous_due {
        queue.remove((due.millis(), delivery.id.to_key()))?;
    }
    if let Some(due) = delivery.next_attempt_at.filter(|_| delivery.state == DeliveryState::Pending) {
        queue.insert((due.millis(), delivery.id.to_key()), ())?;
    }
    Ok(())
}

fn remove_delivery(tx: &WriteTransaction, hook: WebhookId, id: DeliveryId) -> Result<(), StoreError> {
    if let Some(d) = get_delivery(tx, id)?
        && let Some(due) = d.next_attempt_at
    {
        tx.open_table(WEBHOOK_QUEUE)?.remove((due.millis(), id.to_key()))?;
    }
    tx.open_table(WEBHOOK_DELIVERIES)?.remove(id.to_key())?;
    tx.open_table(WEBHOOK_DELIVERIES_BY_HOOK)?.remove((hook.to_key(), id.to_key()))?;
    Ok(())
}

fn delivery_ids(tx: &impl Tx, hook: WebhookId) -> Result<Vec<DeliveryId>, StoreError> {
    let index = tx.table(WEBHOOK_DELIVERIES_BY_HOOK)?;
    let key = hook.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))? {
        out.push(DeliveryId::from_key(row?.0.value().1));
    }
    Ok(out)
}

/// A webhook's deliveries, newest first, at most `limit`.
pub fn deliveries(tx: &impl Tx, hook: WebhookId, limit: usize) -> Result<Vec<Delivery>, StoreError> {
    let index = tx.table(WEBHOOK_DELIVERIES_BY_HOOK)?;
    let table = tx.table(WEBHOOK_DELIVERIES)?;
    let key = hook.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))?.rev().take(limit) {
        if let Some(d) = decode_opt::<Delivery>(table.get(row?.0.value().1)?)? {
            out.push(d);
        }
    }
    Ok(out)
}

/// Up to `limit` deliveries due at `now`, earliest first, and when the next one after them
/// is due.
pub fn due(tx: &impl Tx, now: Timestamp, limit: usize) -> Result<(Vec<DeliveryId>, Option<Timestamp>), StoreError> {
    let (keys, next) = super::due_queue::due(tx, WEBHOOK_QUEUE, now, limit)?;
    Ok((keys.into_iter().map(DeliveryId::from_key).collect(), next))
}
