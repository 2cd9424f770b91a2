//! Share links: by id, by the hash of their secret, by maker; and the instance's switch.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{SHARE_LINKS, SHARE_LINKS_BY_HASH, SHARE_LINKS_BY_MAKER, SHARING_SETTINGS};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::ids::{ShareId, UserId};
use crate::domain::share::{ShareLink, SharingSettings};

const SETTINGS_KEY: &str = "settings";

pub fn get(tx: &impl Tx, id: ShareId) -> Result<Option<ShareLink>, StoreError> {
    decode_opt(tx.table(SHARE_LINKS)?.get(id.to_key())?)
}

/// The link whose secret hashes to `hash`.
pub fn find_by_hash(tx: &impl Tx, hash: &[u8; 32]) -> Result<Option<ShareLink>, StoreError> {
    let Some(id) = tx.table(SHARE_LINKS_BY_HASH)?.get(hash)?.map(|v| v.value()) else { return Ok(None) };
    get(tx, ShareId::from_key(id))
}

/// Stores a new link under the hash of its secret.
pub fn insert(tx: &WriteTransaction, link: &ShareLink, hash: &[u8; 32]) -> Result<(), StoreError> {
    put(tx, link)?;
    tx.open_table(SHARE_LINKS_BY_HASH)?.insert(hash, link.id.to_key())?;
    tx.open_table(SHARE_LINKS_BY_MAKER)?.insert((link.created_by.to_key(), link.id.to_key()), ())?;
    Ok(())
}

/// Rewrites a link (revoked, viewed).
pub fn put(tx: &WriteTransaction, link: &ShareLink) -> Result<(), StoreError> {
    tx.open_table(SHARE_LINKS)?.insert(link.id.to_key(), codec::encode(link)?.as_slice())?;
    Ok(())
}

/// Everything `maker` made, newest first.
pub fn made_by(tx: &impl Tx, maker: UserId) -> Result<Vec<ShareLink>, StoreError> {
    let index = tx.table(SHARE_LINKS_BY_MAKER)?;
    let links = tx.table(SHARE_LINKS)?;
    let key = maker.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))?.rev() {
        if let Some(link) = decode_opt::<ShareLink>(links.get(row?.0.value().1)?)? {
            out.push(link);
        }
    }
    Ok(out)
}

/// Every link on the instance, newest first, at most `limit`.
pub fn all(tx: &impl Tx, limit: usize) -> Result<Vec<ShareLink>, StoreError> {
    let mut out = Vec::new();
    for row in tx.table(SHARE_LINKS)?.iter()?.rev().take(limit) {
        out.push(codec::decode(row?.1.value())?);
    }
    Ok(out)
}

/// Removes every link `maker` made, with its secret's index (account erasure); returns how many.
pub fn remove_made_by(tx: &WriteTransaction, maker: UserId) -> Result<usize, StoreError> {
    let ids: Vec<u128> = {
        let key = maker.to_key();
        let index = tx.open_table(SHARE_LINKS_BY_MAKER)?;
        index.range((key, 0)..=(key, u128::MAX))?.map(|r| r.map(|(k, _)| k.value().1)).collect::<Result<_, _>>()?
    };
    let ids: std::collections::HashSet<u128> = ids.into_iter().collect();
    let mut by_hash = tx.open_table(SHARE_LINKS_BY_HASH)?;
    let hashes: Vec<[u8; 32]> =
        by_hash.iter()?.filter_map(|r| r.ok()).filter(|(_, id)| ids.contains(&id.value())).map(|(hash, _)| *hash.value()).collect();
    for hash in &hashes {
        by_hash.remove(hash)?;
    }
    let mut links = tx.open_table(SHARE_LINKS)?;
    let mut index = tx.open_table(SHARE_LINKS_BY_MAKER)?;
    for id in &ids {
        links.remove(id)?;
        index.remove((maker.to_key(), *id))?;
    }
    Ok(ids.len())
}

/// The instance's switch (on until an admin turns it off).
pub fn settings(tx: &impl Tx) -> Result<SharingSettings, StoreError> {
    Ok(decode_opt(tx.table(SHARING_SETTINGS)?.get(SETTINGS_KEY)?)?.unwrap_or_default())
}

pub fn put_settings(tx: &WriteTransaction, settings: &SharingSettings) -> Result<(), StoreError> {
    tx.open_table(SHARING_SETTINGS)?.insert(SETTINGS_KEY, codec::encode(settings)?.as_slice())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{BoardId, GenerationId};
    use crate::domain::share::ShareTarget;
    use crate::domain::time::Timestamp;
    use crate::store::{Commit, Store};

    fn link(maker: UserId, target: ShareTarget) -> ShareLink {
        ShareLink {
            id: ShareId::generate(),
            target,
            created_by: maker,
            created_at: Timestamp(1),
            expires_at: Timestamp(2),
            revoked_at: None,
            revoked_by: None,
            password_hash: Some("$argon2id$…".into()),
            allow_download: true,
            show_prompt: false,
            views: 3,
            last_viewed_at: None,
        }
    }

    #[test]
    fn links_are_found_by_secret_and_maker_and_erased_with_their_maker() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (alice, bob) = (UserId::generate(), UserId::generate());
        let a1 = link(alice, ShareTarget::Generation(GenerationId::generate()));
        let a2 = link(alice, ShareTarget::Board(BoardId::generate()));
        let b1 = link(bob, ShareTarget::Generation(GenerationId::generate()));
        store
            .write_now(Commit::Durable, |tx| {
                insert(tx, &a1, &[1; 32])?;
                insert(tx, &a2, &[2; 32])?;
                insert(tx, &b1, &[3; 32])
            })
            .unwrap();
        let found = store.read_now(|tx| find_by_hash(tx, &[2; 32])).unwrap();
        assert_eq!(found, Some(a2.clone()), "a board target survives the store's encoding");
        let mine = store.read_now(|tx| made_by(tx, alice)).unwrap();
        let mut newest_first = vec![a1.id, a2.id];
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(mine.iter().map(|l| l.id).collect::<Vec<_>>(), newest_first);
        assert_eq!(store.write_now(Commit::Durable, |tx| remove_made_by(tx, alice)).unwrap(), 2);
        assert_eq!(store.read_now(|tx| find_by_hash(tx, &[1; 32])).unwrap(), None);
        assert_eq!(store.read_now(|tx| find_by_hash(tx, &[3; 32])).unwrap(), Some(b1));
        assert_eq!(store.read_now(|tx| all(tx, 10)).unwrap().len(), 1);
    }
}
