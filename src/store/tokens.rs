//! Personal API tokens: by id, by secret hash, and per user.

use redb::{ReadableTable, WriteTransaction};

use super::tables::{API_TOKENS, API_TOKENS_BY_HASH, API_TOKENS_BY_USER};
use super::{StoreError, Tx, codec, decode_opt};
use crate::domain::auth::ApiToken;
use crate::domain::ids::{TokenId, UserId};

pub fn get(tx: &impl Tx, id: TokenId) -> Result<Option<ApiToken>, StoreError> {
    decode_opt(tx.table(API_TOKENS)?.get(id.to_key())?)
}

pub fn find_by_hash(tx: &impl Tx, hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
    match tx.table(API_TOKENS_BY_HASH)?.get(hash)?.map(|v| v.value()) {
        Some(id) => get(tx, TokenId::from_key(id)),
        None => Ok(None),
    }
}

pub fn insert(tx: &WriteTransaction, hash: &[u8; 32], token: &ApiToken) -> Result<(), StoreError> {
    update(tx, token)?;
    tx.open_table(API_TOKENS_BY_HASH)?.insert(hash, token.id.to_key())?;
    tx.open_table(API_TOKENS_BY_USER)?.insert((token.user.to_key(), token.id.to_key()), ())?;
    Ok(())
}

/// Rewrites a token's record (revocation, last use).
pub fn update(tx: &WriteTransaction, token: &ApiToken) -> Result<(), StoreError> {
    tx.open_table(API_TOKENS)?.insert(token.id.to_key(), codec::encode(token)?.as_slice())?;
    Ok(())
}

/// A user's tokens, oldest first.
pub fn list_for_user(tx: &impl Tx, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
    let index = tx.table(API_TOKENS_BY_USER)?;
    let tokens = tx.table(API_TOKENS)?;
    let key = user.to_key();
    let mut out = Vec::new();
    for row in index.range((key, 0)..=(key, u128::MAX))? {
        let (k, _) = row?;
        if let Some(token) = decode_opt::<ApiToken>(tokens.get(k.value().1)?)? {
            out.push(token);
        }
    }
    Ok(out)
}

/// Removes every token of a user (account erasure); returns how many.
pub fn remove_all_for_user(tx: &WriteTransaction, user: UserId) -> Result<usize, StoreError> {
    let ids: Vec<u128> = list_for_user(tx, user)?.iter().map(|t| t.id.to_key()).collect();
    let mut by_hash = tx.open_table(API_TOKENS_BY_HASH)?;
    let hashes: Vec<[u8; 32]> = by_hash
        .iter()?
        .filter_map(|r| r.map(|(h, id)| ids.contains(&id.value()).then(|| *h.value())).transpose())
        .collect::<Result<_, _>>()?;
    for hash in &hashes {
        by_hash.remove(hash)?;
    }
    let mut tokens = tx.open_table(API_TOKENS)?;
    let mut by_user = tx.open_table(API_TOKENS_BY_USER)?;
    for id in &ids {
        tokens.remove(*id)?;
        by_user.remove((user.to_key(), *id))?;
    }
    Ok(ids.len())
}
