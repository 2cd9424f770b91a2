//! Single sign-on with OpenID Connect: starting a sign-in at a provider (discovery, PKCE,
//! state and nonce), finishing it at the callback (code exchange, ID-token checks, userinfo)
//! and the provider's sign-out. Accounts are found or made in [`link`]; nothing here renders.

mod discovery;
mod exchange;
mod keys;
pub mod link;
pub mod pending;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub use discovery::Metadata;
use pending::{PendingSignIn, PendingSignIns};

use crate::config::OidcConfig;
use crate::domain::audit::{AuditAction, ClientInfo};
use crate::providers::http::{OutboundClient, OutboundPolicy};
use crate::services::ServiceError;
use crate::services::identity::{secrets, sessions::NewSession};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::store;

/// Why a single sign-on could not go on.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// No `[[oidc]]` provider has this name.
    #[error("there is no single sign-on provider with this name")]
    UnknownProvider,
    /// The provider could not be reached or answered nonsense (discovery, keys, userinfo).
    #[error("the identity provider could not be reached: {0}")]
    Unavailable(String),
    /// The sign-in was refused (and audited).
    #[error("{}", .0.detail)]
    Refused(Refusal),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl OidcError {
    fn internal() -> OidcError {
        OidcError::Service(ServiceError::Internal("a single sign-on lock was poisoned".into()))
    }
}

/// What kind of refusal, for the page that explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The callback's state is missing, unknown, used already, expired, or from another browser.
    State,
    /// The provider said no (`error=access_denied` and the like).
    Denied,
    /// The code could not be exchanged for tokens.
    Exchange,
    /// The ID token failed a check.
    Token,
    /// The provider has not verified the e-mail address.
    Unverified,
    /// Nobody invited this person and their domain gets no account by itself.
    NotInvited,
    /// The account is disabled.
    Disabled,
}

/// A refused sign-in: its kind and what exactly was wrong (English, for the audit log).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub detail: String,
    /// The e-mail the provider named, when known.
    pub email: Option<String>,
}

impl Refusal {
    pub fn new(kind: RefusalKind, detail: impl Into<String>) -> Refusal {
        Refusal { kind, detail: detail.into(), email: None }
    }

    fn token(detail: String) -> Refusal {
        Refusal::new(RefusalKind::Token, detail)
    }
}

impl From<Refusal> for OidcError {
    fn from(r: Refusal) -> OidcError {
        OidcError::Refused(r)
    }
}

/// One configured provider with its outbound client and caches.
pub struct Provider {
    pub config: OidcConfig,
    client: OutboundClient,
    discovery: Mutex<discovery::Cached>,
    keys: Mutex<keys::KeyCache>,
}

/// The providers of this instance and the sign-ins under way.
#[derive(Default)]
pub struct Oidc {
    providers: BTreeMap<String, Arc<Provider>>,
    pending: PendingSignIns,
    /// Refused callbacks without a sign-in of their own (forged or replayed states) audited in
    /// the current minute: anyone can send them, so at most [`STATE_REFUSALS_AUDITED`] a minute
    /// reach the audit log.
    state_refusals: Mutex<(Option<std::time::Instant>, u32)>,
}

/// How many refused callbacks without a sign-in of their own are audited per minute.
const STATE_REFUSALS_AUDITED: u32 = 30;

impl Oidc {
    /// Whether one more refused callback of kind `State` may be audited this minute.
    fn audit_state_refusal(&self) -> bool {
        let Ok(mut window) = self.state_refusals.lock() else { return false };
        let now = std::time::Instant::now();
        if window.0.is_none_or(|start| now.duration_since(start) >= Duration::from_secs(60)) {
            *window = (Some(now), 0);
        }
        window.1 += 1;
        window.1 <= STATE_REFUSALS_AUDITED
    }
}

/// A sign-in just started: where to send the browser, and the secret for its cookie.
pub struct Started {
    pub location: String,
    pub browser_secret: String,
}

/// What the callback brought back.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    /// The issuer, when the provider names it in its answer (RFC 9207, against mix-ups).
    pub iss: Option<String>,
}

/// A finished sign-in: the new session and where to go.
pub struct Finished {
    pub session: NewSession,
    pub next: String,
}

impl Oidc {
    /// The providers of `configs`, each with a client under its own network policy.
    pub fn new(configs: &[OidcConfig]) -> Result<Oidc, crate::providers::http::OutboundError> {
        let mut providers = BTreeMap::new();
        for config in configs {
            let policy = OutboundPolicy {
                allow_private_network: config.allow_private_network,
                timeout: Duration::from_secs(20),
                connect_timeout: Duration::from_secs(5),
            };
            let provider = Provider {
                config: config.clone(),
                client: OutboundClient::new(policy)?,
                discovery: Mutex::default(),
                keys: Mutex::default(),
            };
            providers.insert(config.name.clone(), Arc::new(provider));
        }
        Ok(Oidc { providers, ..Oidc::default() })
    }

    /// The providers, by name.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.providers.values()
    }

    pub fn provider(&self, name: &str) -> Result<Arc<Provider>, OidcError> {
        self.providers.get(name).cloned().ok_or(OidcError::UnknownProvider)
    }
}

/// The redirect URI of provider `name` (what is registered at the provider).
pub fn redirect_uri(state: &AppState, name: &str) -> String {
    state.urls().absolute(&state.urls().oidc_callback(name))
}

/// Starts a sign-in with provider `name`; `next` is the local path to return to.
pub async fn begin(state: &AppState, name: &str, next: &str) -> Result<Started, OidcError> {
    let provider = state.oidc.provider(name)?;
    let metadata = provider.metadata().await?;
    let (state_param, verifier, nonce, browser_secret) =
        (secrets::generate(), secrets::generate(), secrets::generate(), secrets::generate());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut location = metadata.authorization_endpoint.clone();
    location
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.config.client_id)
        .append_pair("redirect_uri", &redirect_uri(state, name))
        .append_pair("scope", &provider.config.scopes.join(" "))
        .append_pair("state", &state_param)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let pending = PendingSignIn::new(name, verifier, nonce, next.to_string(), secrets::hash(&browser_secret));
    state.oidc.pending.insert(&state_param, pending);
    Ok(Started { location: location.to_string(), browser_secret })
}

/// Finishes a sign-in at the callback of provider `name`; every refusal is audited.
pub async fn complete(
    state: &AppState,
    name: &str,
    callback: Callback,
    browser_secret: Option<&str>,
    client: &ClientInfo,
    previous: Option<[u8; 32]>,
) -> Result<Finished, OidcError> {
    let provider = state.oidc.provider(name)?;
    match finish(state, &provider, callback, browser_secret, client, previous).await {
        Err(OidcError::Refused(refusal)) if refusal.kind == RefusalKind::State && !state.oidc.audit_state_refusal() => {
            tracing::warn!(provider = name, "a refused single sign-on callback was not audited: too many this minute");
            Err(OidcError::Refused(refusal))
        }
        Err(OidcError::Refused(refusal)) => {
            let ctx = Context::anonymous(refusal.email.clone(), client.clone());
            let detail = Some(format!("single sign-on with {name}: {}", refusal.detail));
            state.store.write(move |tx| audit::record(tx, &ctx, AuditAction::SignInFailed, None, detail)).await?;
            Err(OidcError::Refused(refusal))
        }
        other => other,
    }
}

async fn finish(
    state: &AppState,
    provider: &Provider,
    callback: Callback,
    browser_secret: Option<&str>,
    client: &ClientInfo,
    previous: Option<[u8; 32]>,
) -> Result<Finished, OidcError> {
    let name = provider.config.name.as_str();
    let state_param = callback.state.ok_or_else(|| Refusal::new(RefusalKind::State, "the callback has no state"))?;
    let pending = state
        .oidc
        .pending
        .take(&state_param)
        .filter(|p| p.provider == name)
        .ok_or_else(|| Refusal::new(RefusalKind::State, "the state is unknown, used already or expired"))?;
    if browser_secret.map(secrets::hash) != Some(pending.browser) {
        return Err(Refusal::new(RefusalKind::State, "the sign-in was started in another browser").into());
    }
    if callback.iss.as_ref().is_some_and(|iss| *iss != provider.config.issuer) {
        return Err(Refusal::new(RefusalKind::State, "the answer names another issuer").into());
    }
    if let Some(error) = callback.error {
        let error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return Err(Refusal::new(RefusalKind::Denied, format!("the provider answered {error}")).into());
    }
    let code = callback.code.ok_or_else(|| Refusal::new(RefusalKind::State, "the callback has no code"))?;
    let metadata = provider.metadata().await?;
    let tokens = provider.exchange(&metadata, &code, &pending.verifier, &redirect_uri(state, name)).await?;
    let mut claims = provider.verify_id_token(&tokens.id_token, &metadata.jwks_uri, &pending.nonce).await?;
    provider.add_userinfo(&metadata, tokens.access_token.as_deref(), &mut claims).await?;
    let session = link::sign_in(state, provider, &claims, tokens.id_token, client, previous).await?;
    Ok(Finished { session, next: pending.next })
}

/// Where the browser goes after signing out of the session `hash`: the provider's end-session
/// endpoint (with the ID token as a hint) when the session came from a provider that has one.
pub async fn end_session_url(state: &AppState, hash: [u8; 32]) -> Option<String> {
    let record = state.store.read(move |tx| store::oidc::session(tx, &hash)).await.ok()??;
    let provider = state.oidc.provider(&record.provider).ok()?;
    let mut url = provider.metadata().await.ok()?.end_session_endpoint?;
    url.query_pairs_mut()
        .append_pair("id_token_hint", &record.id_token)
        .append_pair("client_id", &provider.config.client_id)
        .append_pair("post_logout_redirect_uri", &state.urls().absolute(state.urls().login()));
    Some(url.to_string())
}

/// The storage key of a state (the state itself is never kept).
fn hash(secret: &str) -> [u8; 32] {
    secrets::hash(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_callbacks_without_a_sign_in_are_audited_at_a_bounded_rate() {
        let oidc = Oidc::default();
        assert!((0..STATE_REFUSALS_AUDITED).all(|_| oidc.audit_state_refusal()));
        assert!(!oidc.audit_state_refusal(), "a flood of forged callbacks does not fill the audit log");
    }
}
