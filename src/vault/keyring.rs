//! Per-user keys on demand: created (and stored wrapped to the master key) at a user's
//! first media file, unwrapped and cached for reading.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::master_key::MasterKey;
use super::user_keys;
use crate::domain::ids::UserId;
use crate::store::{self, Store, StoreError};

/// Why a user's key is not available.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the user's key cannot be read: {0}")]
    Key(String),
    #[error("the user has no key (their media was destroyed)")]
    Missing,
}

/// The master key and a cache of unwrapped user identities (and of their public halves: each
/// is a scalar multiplication to work out, which every stored file would otherwise repeat).
pub struct KeyRing {
    master: Arc<MasterKey>,
    cache: Mutex<HashMap<UserId, age::x25519::Identity>>,
    recipients: Mutex<HashMap<UserId, age::x25519::Recipient>>,
}

impl KeyRing {
    pub fn new(master: Arc<MasterKey>) -> Self {
        Self { master, cache: Mutex::new(HashMap::new()), recipients: Mutex::new(HashMap::new()) }
    }

    /// The public key files of the user are encrypted to, creating the user's key on first use.
    pub async fn recipient_or_create(&self, store: &Store, user: UserId) -> Result<age::x25519::Recipient, KeyringError> {
        if let Some(recipient) = self.recipients.lock().unwrap_or_else(|p| p.into_inner()).get(&user) {
            return Ok(recipient.clone());
        }
        let recipient = self.identity_or_create(store, user).await?.to_public();
        self.recipients.lock().unwrap_or_else(|p| p.into_inner()).insert(user, recipient.clone());
        Ok(recipient)
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    fn cached(&self, user: UserId) -> Option<age::x25519::Identity> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&user).cloned()
    }

    /// The user's identity, creating and storing it on first use.
    pub async fn identity_or_create(&self, store: &Store, user: UserId) -> Result<age::x25519::Identity, KeyringError> {
        if let Some(id) = self.cached(user) {
            return Ok(id);
        }
        let (fresh, wrapped) = user_keys::generate_wrapped(&self.master).map_err(|e| KeyringError::Key(e.to_string()))?;
        let stored = store
            .write(move |tx| {
                if let Some(existing) = store::user_keys::get(tx, user)? {
                    return Ok::<_, StoreError>(existing);
                }
                store::user_keys::put(tx, user, &wrapped)?;
                Ok(wrapped)
            })
            .await?;
        let identity = user_keys::unwrap(&self.master, &stored).map_err(|e| KeyringError::Key(e.to_string()))?;
        drop(fresh);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(user, identity.clone());
        Ok(identity)
    }

    /// The user's identity for reading; `Missing` when it was destroyed.
    pub async fn identity(&self, store: &Store, user: UserId) -> Result<age::x25519::Identity, KeyringError> {
        if let Some(id) = self.cached(user) {
            return Ok(id);
        }
        let wrapped = store.read(move |tx| store::user_keys::get(tx, user)).await?.ok_or(KeyringError::Missing)?;
        let identity = user_keys::unwrap(&self.master, &wrapped).map_err(|e| KeyringError::Key(e.to_string()))?;
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(user, identity.clone());
        Ok(identity)
    }

    /// Drops a cached identity (its key was destroyed).
    pub fn forget(&self, user: UserId) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(&user);
        self.recipients.lock().unwrap_or_else(|p| p.into_inner()).remove(&user);
    }
}
