//! Browser sessions keyed by the hash of their secret, with a per-user index.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{SESSIONS, SESSIONS_BY_USER};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::auth::Session;
use crate::domain::ids::{SessionId, UserId};

pub fn get(tx: &impl Tx, hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
    decode_opt(tx.table(SESSIONS)?.get(hash)?)
}

pub fn put(tx: &WriteTransaction, hash: &[u8; 32], session: &Session) -> Result<(), StoreError> {
    tx.open_table(SESSIONS)?.insert(hash, codec::encode(session)?.as_slice())?;
    tx.open_table(SESSIONS_BY_USER)?.insert((session.user.to_key(), session.id.to_key()), hash)?;
    Ok(())
}

pub fn remove(tx: &WriteTransaction, hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
    let removed: Option<Session> = decode_opt(tx.open_table(SESSIONS)?.remove(hash)?)?;
    if let Some(s) = &removed {
        tx.open_table(SESSIONS_BY_USER)?.remove((s.user.to_key(), s.id.to_key()))?;
        super::oidc::remove_session(tx, hash)?;
    }
    Ok(removed)
}

/// A user's sessions with their hashes, oldest first.
pub fn list_for_user(tx: &impl Tx, user: UserId) -> Result<Vec<([u8; 32], Session)>, StoreError> {
    let index = tx.table(SESSIONS_BY_USER)?;
    let sessions = tx.table(SESSIONS)?;
    let key = user.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))? {
        let (_, hash) = row?;
        let hash = *hash.value();
        if let Some(session) = decode_opt::<Session>(sessions.get(&hash)?)? {
            out.push((hash, session));
        }
    }
    Ok(out)
}

/// Removes one session of `user` by its public id; false when there is none.
pub fn remove_by_id(tx: &WriteTransaction, user: UserId, id: SessionId) -> Result<bool, StoreError> {
    let hash = tx.open_table(SESSIONS_BY_USER)?.get((user.to_key(), id.to_key()))?.map(|h| *h.value());
    match hash {
        Some(hash) => Ok(remove(tx, &hash)?.is_some()),
        None => Ok(false),
    }
}

/// Removes every session of `user`; returns how many there were.
pub fn remove_all_for_user(tx: &WriteTransaction, user: UserId) -> Result<usize, StoreError> {
    let all = list_for_user(tx, user)?;
    for (hash, _) in &all {
        remove(tx, hash)?;
    }
    Ok(all.len())
}

/// The hashes of sessions no longer live under `policy` at `now` (a full scan: the table
/// holds only current sign-ins).
pub fn expired(
    tx: &impl Tx,
    policy: crate::domain::auth::SessionPolicy,
    now: crate::domain::time::Timestamp,
) -> Result<Vec<[u8; 32]>, StoreError> {
    let mut out = Vec::new();
    for row in tx.table(SESSIONS)?.iter()? {
        let (key, value) = row?;
        let session: Session = codec::decode(value.value())?;
        if !session.is_live(policy, now) {
            out.push(*key.value());
        }
    }
    Ok(out)
}
