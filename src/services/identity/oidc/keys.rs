//! ID tokens: the provider's signing keys (JWKS, cached; an unknown key id fetches them again
//! at most once a minute, so a rotated key is picked up) and the checks of a token: signature,
//! issuer, audience, authorised party, expiry, issue time and nonce.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::{OidcError, Provider, Refusal};

/// How far clocks may disagree when checking `exp` and `iat`.
const LEEWAY: u64 = 60;

/// The least time between two fetches of the keys caused by an unknown key id.
const REFETCH_EVERY: Duration = Duration::from_secs(60);

/// The signature algorithms accepted: asymmetric only (never `none`, never HS* with a public key).
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// How long a fetched key set is trusted before it is fetched again (keys a provider retired
/// stop working by then).
const KEYS_TTL: Duration = Duration::from_secs(3600);

/// The cached key set with when it was fetched, and when an unknown key id last made us fetch
/// it again.
#[derive(Default)]
pub(super) struct KeyCache {
    keys: Option<(JwkSet, Instant)>,
    last_refetch: Option<Instant>,
}

impl Provider {
    /// Checks an ID token and returns its claims.
    pub(super) async fn verify_id_token(&self, token: &str, jwks_uri: &url::Url, nonce: &str) -> Result<Map<String, Value>, OidcError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| Refusal::token(format!("malformed ID token: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Refusal::token(format!("the ID token is signed with {:?}, which is not accepted", header.alg)).into());
        }
        let jwk = self.signing_key(jwks_uri, header.kid.as_deref(), header.alg).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| Refusal::token(format!("the provider's key is unusable: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| Refusal::token(token_error(&e)))?;
        check_claims(&data.claims, &self.config.client_id, nonce)?;
        Ok(data.claims)
    }

    /// The key that signs a token with `kid` and `alg`: from the cached set, else from a fresh
    /// fetch (at most once a minute for unknown ids after the first fetch).
    async fn signing_key(&self, jwks_uri: &url::Url, kid: Option<&str>, alg: Algorithm) -> Result<Jwk, OidcError> {
        let (cached, may_refetch) = {
            let cache = self.keys.lock().map_err(|_| OidcError::internal())?;
            let may = cache.last_refetch.is_none_or(|at| at.elapsed() >= REFETCH_EVERY);
            let fresh = cache.keys.as_ref().filter(|(_, at)| at.elapsed() < KEYS_TTL).map(|(set, _)| set.clone());
            (fresh, may)
        };
        if let Some(set) = &cached
            && let Some(jwk) = pick(set, kid, alg)
        {
            return Ok(jwk);
        }
        if cached.is_some() && !may_refetch {
            return Err(Refusal::token("the ID token is signed with a key the provider does not publish".into()).into());
        }
        let set: JwkSet = self.get_json(jwks_uri, None).await?;
        {
            let mut cache = self.keys.lock().map_err(|_| OidcError::internal())?;
            if cache.keys.is_some() {
                cache.last_refetch = Some(Instant::now());
            }
            cache.keys = Some((set.clone(), Instant::now()));
        }
        pick(&set, kid, alg).ok_or_else(|| Refusal::token("the ID token is signed with a key the provider does not publish".into()).into())
    }
}

/// The key of `set` with `kid` (or the only one, when the token names none) that fits `alg`.
fn pick(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    let fits = |jwk: &&Jwk| {
        let declared = jwk.common.key_algorithm.and_then(|a| a.to_string().parse::<Algorithm>().ok());
        let for_encryption = matches!(jwk.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption));
        declared.is_none_or(|d| d == alg)
            && !for_encryption
            && !matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_))
    };
    match kid {
        Some(kid) => set.keys.iter().filter(fits).find(|k| k.common.key_id.as_deref() == Some(kid)).cloned(),
        None => {
            let mut candidates = set.keys.iter().filter(fits);
            let only = candidates.next()?;
            candidates.next().is_none().then(|| only.clone())
        }
    }
}

/// What the library's checks found, in words for the audit log and the page.
fn token_error(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => "the ID token's signature does not verify".into(),
        ErrorKind::ExpiredSignature => "the ID token has expired".into(),
        ErrorKind::InvalidAudience => "the ID token is meant for another client (audience)".into(),
        ErrorKind::InvalidIssuer => "the ID token comes from another issuer".into(),
        ErrorKind::ImmatureSignature => "the ID token is not valid yet".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the ID token lacks the {claim} claim"),
        other => format!("the ID token is not valid: {other:?}"),
    }
}

/// The checks the library leaves to us: the authorised party, a sane issue time, the nonce.
fn check_claims(claims: &Map<String, Value>, client_id: &str, nonce: &str) -> Result<(), Refusal> {
    let several_audiences = claims.get("aud").and_then(Value::as_array).is_some_and(|a| a.len() > 1);
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != client_id => return Err(Refusal::token("the ID token was issued to another client (azp)".into())),
        None if several_audiences => return Err(Refusal::token("the ID token has several audiences and no azp".into())),
        _ => {}
    }
    let now = crate::domain::time::Timestamp::now().0 / 1000;
    let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(i64::MAX);
    if iat > now + LEEWAY as i64 {
        return Err(Refusal::token("the ID token was issued in the future".into()));
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(Refusal::token("the ID token's nonce is not the one this sign-in sent".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: serde_json::Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn nonce_azp_and_issue_time_are_checked() {
        let now = crate::domain::time::Timestamp::now().0 / 1000;
        let good = claims(serde_json::json!({"aud": "rv", "iat": now, "nonce": "n1"}));
        assert!(check_claims(&good, "rv", "n1").is_ok());
        assert!(check_claims(&good, "rv", "other").is_err(), "another nonce");
        let azp = claims(serde_json::json!({"aud": ["rv", "x"], "azp": "x", "iat": now, "nonce": "n1"}));
        assert!(check_claims(&azp, "rv", "n1").is_err(), "issued to another party");
        let no_azp = claims(serde_json::json!({"aud": ["rv", "x"], "iat": now, "nonce": "n1"}));
        assert!(check_claims(&no_azp, "rv", "n1").is_err(), "several audiences need azp");
        let future = claims(serde_json::json!({"aud": "rv", "iat": now + 3600, "nonce": "n1"}));
        assert!(check_claims(&future, "rv", "n1").is_err(), "issued in the future");
    }
}
