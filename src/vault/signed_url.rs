//! Signed, time-limited media URLs: an HMAC-SHA256 over (key id, asset, user, expiry),
//! carried as `exp=…&kid=…&sig=…`, with several keys accepted so keys can be rotated.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::master_key::MasterKey;

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: a signature for anything else can never be a media URL signature.
const CONTEXT: &[u8] = b"reelvault/media-url/v1\0";

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Genuine, but past its expiry time.
    #[error("the link has expired")]
    Expired,
    /// Missing, malformed, unknown key id, or not signed by us for this asset and user.
    #[error("the link is not valid")]
    Invalid,
}

/// The signature fields of a media URL's query string.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SignedQuery {
    pub exp: i64,
    pub kid: u8,
    pub sig: String,
}

impl SignedQuery {
    /// Parses `exp=…&kid=…&sig=…` (in any order; other parameters are ignored).
    pub fn parse(query: &str) -> Result<SignedQuery, SignatureError> {
        let (mut exp, mut kid, mut sig) = (None, None, None);
        for pair in query.trim_start_matches('?').split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot_taken = match name {
                "exp" => exp.replace(value.parse().map_err(|_| SignatureError::Invalid)?),
                "kid" => kid.replace(value.parse().map_err(|_| SignatureError::Invalid)?).map(i64::from),
                "sig" => sig.replace(value.to_owned()).map(|_| 0),
                _ => None,
            };
            if slot_taken.is_some() {
                // A repeated field is ambiguous: refuse rather than guess which one counts.
                return Err(SignatureError::Invalid);
            }
        }
        match (exp, kid, sig) {
            (Some(exp), Some(kid), Some(sig)) => Ok(SignedQuery { exp, kid, sig }),
            _ => Err(SignatureError::Invalid),
        }
    }
}

/// Signs with the current key; verifies with any of the listed keys.
#[derive(Clone)]
pub struct UrlSigner {
    /// The current key first, then older keys still accepted.
    keys: Vec<(u8, [u8; 32])>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("UrlSigner").field("key_ids", &ids).finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// `current` signs; `previous` keys are still accepted when verifying. A key id that
    /// repeats one already given is ignored.
    pub fn new(current: (u8, [u8; 32]), previous: impl IntoIterator<Item = (u8, [u8; 32])>) -> UrlSigner {
        let mut keys = vec![current];
        for (id, key) in previous {
            if keys.iter().all(|(known, _)| *known != id) {
                keys.push((id, key));
            }
        }
        UrlSigner { keys }
    }

    /// Keys derived from the master key, one per key id (`signed-url/<kid>`): rotating means
    /// moving `current` to a new id and listing the old one in `previous` for a while.
    pub fn from_master(master: &MasterKey, current: u8, previous: &[u8]) -> UrlSigner {
        let key = |id: u8| (id, master.derive(&format!("signed-url/{id}")));
        UrlSigner::new(key(current), previous.iter().map(|id| key(*id)))
    }

    /// The query string (`exp=…&kid=…&sig=…`) that grants `user` access to `asset` until
    /// `expires_unix` (seconds since the epoch). Only URL-safe characters.
    pub fn sign(&self, asset: &str, user: &str, expires_unix: i64) -> String {
        let (kid, key) = &self.keys[0];
        let tag = mac(key, *kid, asset, user, expires_unix);
        format!("exp={expires_unix}&kid={kid}&sig={}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks the signature first (so a tampered expiry is `Invalid`), then the expiry: a
    /// link is expired from the second `exp` on.
    pub fn verify(&self, asset: &str, user: &str, query: &SignedQuery, now_unix: i64) -> Result<(), SignatureError> {
        let (kid, key) = self.keys.iter().find(|(id, _)| *id == query.kid).ok_or(SignatureError::Invalid)?;
        let given = URL_SAFE_NO_PAD.decode(query.sig.as_bytes()).map_err(|_| SignatureError::Invalid)?;
        let expected = mac(key, *kid, asset, user, query.exp);
        if given.len() != expected.len() || !bool::from(expected.as_slice().ct_eq(&given)) {
            return Err(SignatureError::Invalid);
        }
        if now_unix >= query.exp {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

/// HMAC over the context, the key id, then length-prefixed asset and user, then the expiry.
fn mac(key: &[u8; 32], kid: u8, asset: &str, user: &str, exp: i64) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(CONTEXT);
    mac.update(&[kid]);
    for field in [asset, user] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field.as_bytes());
    }
    mac.update(&exp.to_be_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_760_000_000;
    const ASSET: &str = "01JZ8Q3W6V2N5K7M9P0R4T6Y8A";
    const USER: &str = "01JZ8Q0000AAAABBBBCCCCDDDD";

    fn signer() -> UrlSigner {
        UrlSigner::new((1, [7; 32]), [])
    }

    fn check(s: &UrlSigner, asset: &str, user: &str, q: &str, now: i64) -> Result<(), SignatureError> {
        s.verify(asset, user, &SignedQuery::parse(q)?, now)
    }

    #[test]
    fn a_fresh_link_is_accepted_until_it_expires() {
        let s = signer();
        let q = s.sign(ASSET, USER, NOW + 300);
        assert!(q.starts_with(&format!("exp={}&kid=1&sig=", NOW + 300)));
        assert!(q.bytes().all(|b| b.is_ascii_alphanumeric() || b"=&-_".contains(&b)));
        assert_eq!(check(&s, ASSET, USER, &q, NOW), Ok(()));
        assert_eq!(check(&s, ASSET, USER, &q, NOW + 299), Ok(()));
        assert_eq!(check(&s, ASSET, USER, &q, NOW + 300), Err(SignatureError::Expired));
        let parsed = SignedQuery::parse(&format!("?foo=bar&{q}")).unwrap();
        assert_eq!(parsed.exp, NOW + 300);
        assert_eq!(parsed.kid, 1);
    }

    #[test]
    fn tampering_is_invalid() {
        let s = signer();
        let q = s.sign(ASSET, USER, NOW + 300);
        let later = q.replace(&format!("exp={}", NOW + 300), &format!("exp={}", NOW + 9999));
        assert_eq!(check(&s, ASSET, USER, &later, NOW), Err(SignatureError::Invalid));
        let mut sig_flipped = q.clone().into_bytes();
        let last = sig_flipped.len() - 1;
        sig_flipped[last] = if sig_flipped[last] == b'A' { b'B' } else { b'A' };
        let sig_flipped = String::from_utf8(sig_flipped).unwrap();
        assert_eq!(check(&s, ASSET, USER, &sig_flipped, NOW), Err(SignatureError::Invalid));
        for broken in ["", "exp=1&kid=1", "exp=x&kid=1&sig=AA", "exp=1&kid=300&sig=AA", "exp=1&kid=1&sig=!!"] {
            assert_eq!(check(&s, ASSET, USER, broken, NOW), Err(SignatureError::Invalid), "{broken}");
        }
        let short = q.split("&sig=").next().unwrap().to_owned() + "&sig=AAAA";
        assert_eq!(check(&s, ASSET, USER, &short, NOW), Err(SignatureError::Invalid));
        let doubled = format!("{q}&exp={}", NOW + 9999);
        assert_eq!(check(&s, ASSET, USER, &doubled, NOW), Err(SignatureError::Invalid));
    }

    #[test]
    fn a_link_is_bound_to_its_asset_and_user() {
        let s = signer();
        let q = s.sign(ASSET, USER, NOW + 300);
        let other_asset = "01JZ8Q3W6V2N5K7M9P0R4T6Y8B";
        assert_eq!(check(&s, other_asset, USER, &q, NOW), Err(SignatureError::Invalid));
        assert_eq!(check(&s, ASSET, "someone-else", &q, NOW), Err(SignatureError::Invalid));
        // Moving characters between the fields does not help: the fields are length-prefixed.
        let q2 = s.sign("ab", "c", NOW + 300);
        assert_eq!(check(&s, "a", "bc", &q2, NOW), Err(SignatureError::Invalid));
    }

    #[test]
    fn rotated_keys_still_verify_and_unknown_keys_do_not() {
        let old = UrlSigner::new((1, [7; 32]), []);
        let rotated = UrlSigner::new((2, [9; 32]), [(1, [7; 32])]);
        let old_link = old.sign(ASSET, USER, NOW + 300);
        assert_eq!(check(&rotated, ASSET, USER, &old_link, NOW), Ok(()));
        let new_link = rotated.sign(ASSET, USER, NOW + 300);
        assert!(new_link.contains("&kid=2&"));
        assert_eq!(check(&rotated, ASSET, USER, &new_link, NOW), Ok(()));
        // The old signer does not know key 2; a retired key 1 is no longer accepted.
        assert_eq!(check(&old, ASSET, USER, &new_link, NOW), Err(SignatureError::Invalid));
        let retired = UrlSigner::new((2, [9; 32]), []);
        assert_eq!(check(&retired, ASSET, USER, &old_link, NOW), Err(SignatureError::Invalid));
        // Claiming another key id with the same signature fails too.
        let relabelled = old_link.replace("&kid=1&", "&kid=2&");
        assert_eq!(check(&rotated, ASSET, USER, &relabelled, NOW), Err(SignatureError::Invalid));
    }

    #[test]
    fn keys_derived_from_the_master_differ_per_key_id() {
        let master = MasterKey::ephemeral();
        let a = UrlSigner::from_master(&master, 1, &[]);
        let b = UrlSigner::from_master(&master, 2, &[1]);
        let link = a.sign(ASSET, USER, NOW + 60);
        assert_eq!(check(&b, ASSET, USER, &link, NOW), Ok(()));
        let other = UrlSigner::from_master(&MasterKey::ephemeral(), 1, &[]);
        assert_eq!(check(&other, ASSET, USER, &link, NOW), Err(SignatureError::Invalid));
        assert_eq!(format!("{b:?}"), "UrlSigner { key_ids: [2, 1], .. }");
    }
}
