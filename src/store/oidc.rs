//! OpenID Connect: which person an (issuer, subject) signs in, and the ID token of each
//! session started that way.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{OIDC_IDENTITIES, OIDC_SESSIONS};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::auth::OidcSession;
use crate::domain::ids::UserId;

/// The person linked to `subject` at `issuer`, if any.
pub fn linked_user(tx: &impl Tx, issuer: &str, subject: &str) -> Result<Option<UserId>, StoreError> {
    Ok(tx.table(OIDC_IDENTITIES)?.get((issuer, subject))?.map(|v| UserId::from_key(v.value())))
}

/// Links `subject` at `issuer` to `user` (replacing an earlier link).
pub fn link(tx: &WriteTransaction, issuer: &str, subject: &str, user: UserId) -> Result<(), StoreError> {
    tx.open_table(OIDC_IDENTITIES)?.insert((issuer, subject), user.to_key())?;
    Ok(())
}

/// The (issuer, subject) pairs linked to `user` (a full scan: exports and deletions are rare).
pub fn identities_of(tx: &impl Tx, user: UserId) -> Result<Vec<(String, String)>, StoreError> {
    let mut found = Vec::new();
    for row in tx.table(OIDC_IDENTITIES)?.iter()? {
        let (key, value) = row?;
        if value.value() == user.to_key() {
            let (issuer, subject) = key.value();
            found.push((issuer.to_string(), subject.to_string()));
        }
    }
    Ok(found)
}

/// Removes every identity linked to `user`.
pub fn unlink_user(tx: &WriteTransaction, user: UserId) -> Result<usize, StoreError> {
    let found = identities_of(tx, user)?;
    let mut table = tx.open_table(OIDC_IDENTITIES)?;
    for (issuer, subject) in &found {
        table.remove((issuer.as_str(), subject.as_str()))?;
    }
    Ok(found.len())
}

/// The OpenID Connect record of a session, if it was started that way.
pub fn session(tx: &impl Tx, hash: &[u8; 32]) -> Result<Option<OidcSession>, StoreError> {
    decode_opt(tx.table(OIDC_SESSIONS)?.get(hash)?)
}

pub fn put_session(tx: &WriteTransaction, hash: &[u8; 32], record: &OidcSession) -> Result<(), StoreError> {
    tx.open_table(OIDC_SESSIONS)?.insert(hash, codec::encode(record)?.as_slice())?;
    Ok(())
}

/// Forgets a session's record (with the session itself: see [`super::sessions::remove`]).
pub fn remove_session(tx: &WriteTransaction, hash: &[u8; 32]) -> Result<(), StoreError> {
    tx.open_table(OIDC_SESSIONS)?.remove(hash)?;
    Ok(())
}
