//! One-time links (invitations, password resets) keyed by the hash of their secret.

use redb::{ReadableTable, WriteTransaction};

use super::tables::LINKS;
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::auth::OneTimeLink;

pub fn get(tx: &impl Tx, hash: &[u8; 32]) -> Result<Option<OneTimeLink>, StoreError> {
    decode_opt(tx.table(LINKS)?.get(hash)?)
}

pub fn put(tx: &WriteTransaction, hash: &[u8; 32], link: &OneTimeLink) -> Result<(), StoreError> {
    tx.open_table(LINKS)?.insert(hash, codec::encode(link)?.as_slice())?;
    Ok(())
}

pub fn remove(tx: &WriteTransaction, hash: &[u8; 32]) -> Result<(), StoreError> {
    tx.open_table(LINKS)?.remove(hash)?;
    Ok(())
}

/// The hashes of invitation and reset links expired at `now` (a full scan: few are open).
pub fn expired(tx: &impl Tx, now: crate::domain::time::Timestamp) -> Result<Vec<[u8; 32]>, StoreError> {
    let mut out = Vec::new();
    for row in tx.table(LINKS)?.iter()? {
        let (key, value) = row?;
        let link: OneTimeLink = codec::decode(value.value())?;
        if !link.is_live(now) {
            out.push(*key.value());
        }
    }
    Ok(out)
}

/// Whether an invitation link is still open at `now` (a full scan: few are open).
pub fn any_open_invitation(tx: &impl Tx, now: crate::domain::time::Timestamp) -> Result<bool, StoreError> {
    for row in tx.table(LINKS)?.iter()? {
        let (_, value) = row?;
        let link: OneTimeLink = codec::decode(value.value())?;
        if link.is_live(now) && matches!(link.purpose, crate::domain::auth::LinkPurpose::Invitation { .. }) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The open invitation for `email`, with its hash, if any (a full scan: few are open).
pub fn invitation_for(
    tx: &impl Tx,
    email: &crate::domain::user::Email,
    now: crate::domain::time::Timestamp,
) -> Result<Option<([u8; 32], OneTimeLink)>, StoreError> {
    for row in tx.table(LINKS)?.iter()? {
        let (key, value) = row?;
        let link: OneTimeLink = codec::decode(value.value())?;
        let invited = matches!(&link.purpose, crate::domain::auth::LinkPurpose::Invitation { email: e, .. } if e == email);
        if invited && link.is_live(now) {
            return Ok(Some((*key.value(), link)));
        }
    }
    Ok(None)
}
