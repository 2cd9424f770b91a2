//! Providers' job callbacks: check the per-connection secret, let the adapter verify and read
//! the callback, and have the engine poll the job it names at once. The callback's body is
//! never trusted for results: polling stays the source of truth.

use std::collections::BTreeMap;

use bytes::Bytes;
use subtle::ConstantTimeEq;

use crate::providers::{Callback, ProviderError};
use crate::services::state::AppState;

/// What to answer a callback that was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// The body the provider expects back (e.g. a challenge echo).
    Answer(serde_json::Value),
    /// Read; `job_found` tells whether it named a job being waited for.
    Acknowledged { job_found: bool },
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// No such connection, or the path's secret is not its secret.
    #[error("no such hook")]
    UnknownHook,
    /// The body is over [`HOOK_BODY_LIMIT`].
    #[error("the callback body is too large")]
    TooLarge,
    /// The provider's own signature does not verify.
    #[error("the callback's signature does not verify: {0}")]
    Signature(String),
    /// The adapter could not read the callback.
    #[error("the callback could not be read: {0}")]
    Unreadable(String),
}

/// The largest callback body read.
pub const HOOK_BODY_LIMIT: usize = 1024 * 1024;

/// Receives one callback for connection `name` (headers with lower-case names): an unknown
/// hook is refused first, then a body over [`HOOK_BODY_LIMIT`].
pub fn receive(
    state: &AppState,
    name: &str,
    secret: &str,
    headers: BTreeMap<String, String>,
    body: Bytes,
) -> Result<Received, CallbackError> {
    let registry = state.registry();
    let expected = state.hook_secret(name);
    let known = registry.connection(name);
    let Some(connection) = known.filter(|_| bool::from(secret.as_bytes().ct_eq(expected.as_bytes()))) else {
        return Err(CallbackError::UnknownHook);
    };
    if body.len() > HOOK_BODY_LIMIT {
        return Err(CallbackError::TooLarge);
    }
    let callback = Callback { headers, body };
    if let Some(answer) = connection.provider.callback_answer(&callback) {
        return Ok(Received::Answer(answer));
    }
    match connection.provider.callback(&callback) {
        Ok(Some(upstream)) => {
            let woke = state.engine.nudge(name, &upstream);
            tracing::debug!(connection = %name, upstream = %upstream, woke, "provider callback");
            Ok(Received::Acknowledged { job_found: woke })
        }
        Ok(None) => Ok(Received::Acknowledged { job_found: false }),
        Err(ProviderError::Auth(message)) => {
            tracing::warn!(connection = %name, %message, "a provider callback failed its signature check");
            Err(CallbackError::Signature(message))
        }
        Err(e) => Err(CallbackError::Unreadable(e.to_string())),
    }
}
