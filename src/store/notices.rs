//! The outbox of notifications (e-mails and chat posts) and people's notification settings.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{NOTICE_QUEUE, NOTICES, NOTIFY_SETTINGS};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::ids::{NoticeId, UserId};
use crate::domain::notify::{NotifySettings, Outgoing};
use crate::domain::time::Timestamp;

/// Stores a new notification and queues it for its first attempt.
pub fn enqueue(tx: &WriteTransaction, notice: &Outgoing) -> Result<(), StoreError> {
    put(tx, notice, None)
}

pub fn get(tx: &impl Tx, id: NoticeId) -> Result<Option<Outgoing>, StoreError> {
    decode_opt(tx.table(NOTICES)?.get(id.to_key())?)
}

/// Rewrites a notification after a failed attempt, moving its queue entry from
/// `previous_due` to its next attempt.
pub fn put(tx: &WriteTransaction, notice: &Outgoing, previous_due: Option<Timestamp>) -> Result<(), StoreError> {
    tx.open_table(NOTICES)?.insert(notice.id.to_key(), codec::encode(notice)?.as_slice())?;
    let mut queue = tx.open_table(NOTICE_QUEUE)?;
    if let Some(due) = previous_due {
        queue.remove((due.millis(), notice.id.to_key()))?;
    }
    queue.insert((notice.next_attempt_at.millis(), notice.id.to_key()), ())?;
    Ok(())
}

/// Removes a notification (sent, or given up) with its queue entry.
pub fn remove(tx: &WriteTransaction, notice: &Outgoing) -> Result<(), StoreError> {
    tx.open_table(NOTICE_QUEUE)?.remove((notice.next_attempt_at.millis(), notice.id.to_key()))?;
    tx.open_table(NOTICES)?.remove(notice.id.to_key())?;
    Ok(())
}

/// Up to `limit` notifications due at `now`, earliest first, and when the next one is due.
pub fn due(tx: &impl Tx, now: Timestamp, limit: usize) -> Result<(Vec<NoticeId>, Option<Timestamp>), StoreError> {
    let (keys, next) = super::due_queue::due(tx, NOTICE_QUEUE, now, limit)?;
    Ok((keys.into_iter().map(NoticeId::from_key).collect(), next))
}

/// How many notifications wait in the outbox.
pub fn pending(tx: &impl Tx) -> Result<u64, StoreError> {
    use redb::ReadableTableMetadata;
    Ok(tx.table(NOTICES)?.len()?)
}

/// A person's notification settings (all off when they never set one).
pub fn settings(tx: &impl Tx, person: UserId) -> Result<NotifySettings, StoreError> {
    Ok(decode_opt(tx.table(NOTIFY_SETTINGS)?.get(person.to_key())?)?.unwrap_or_default())
}

/// Writes a person's notification settings; all off removes the row.
pub fn put_settings(tx: &WriteTransaction, person: UserId, settings: &NotifySettings) -> Result<(), StoreError> {
    let mut table = tx.open_table(NOTIFY_SETTINGS)?;
    if *settings == NotifySettings::default() {
        table.remove(person.to_key())?;
    } else {
        table.insert(person.to_key(), codec::encode(settings)?.as_slice())?;
    }
    Ok(())
}

/// Removes what is kept for a person: their settings and the notifications still addressed
/// to them (their account is erased).
pub fn remove_all_for_user(tx: &WriteTransaction, person: UserId) -> Result<(), StoreError> {
    tx.open_table(NOTIFY_SETTINGS)?.remove(person.to_key())?;
    let mut theirs = Vec::new();
    for row in tx.open_table(NOTICES)?.iter()? {
        let notice: Outgoing = codec::decode(row?.1.value())?;
        if notice.recipient == crate::domain::notify::Recipient::Person(person) {
            theirs.push(notice);
        }
    }
    for notice in &theirs {
        remove(tx, notice)?;
    }
    Ok(())
}

/// Up to `limit` notifications waiting in the outbox, the next due first.
pub fn waiting(tx: &impl Tx, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
    let (ids, _) = due(tx, Timestamp(i64::MAX), limit)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(notice) = get(tx, id)? {
            out.push(notice);
        }
    }
    Ok(out)
}
