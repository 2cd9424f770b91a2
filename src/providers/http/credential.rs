//! A provider's key as one request header, and the origins it may be sent to: the outbound
//! client attaches it on every hop to those origins and strips it everywhere else.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use url::{Origin, Url};

use super::OutboundError;

/// A secret request header (`Authorization: Bearer …`, `x-key`, `x-goog-api-key`, …) bound to
/// the API's origin (scheme, host and port), and optionally to HTTPS hosts under named domains.
#[derive(Clone)]
pub struct Credential {
    name: HeaderName,
    value: HeaderValue,
    home: Origin,
    domains: &'static [&'static str],
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential").field("name", &self.name).field("home", &self.home).finish_non_exhaustive()
    }
}

impl Credential {
    /// `name: value`, sent only to the origin of `home`; `name` is a lower-case literal.
    pub fn header(name: &'static str, value: &str, home: &Url) -> Result<Credential, OutboundError> {
        let name = HeaderName::from_static(name);
        let mut value = HeaderValue::from_str(value).map_err(|_| OutboundError::BadCredential)?;
        value.set_sensitive(true);
        Ok(Credential { name, value, home: home.origin(), domains: &[] })
    }

    /// `Authorization: Bearer <token>`, sent only to the origin of `home`.
    pub fn bearer(token: &str, home: &Url) -> Result<Credential, OutboundError> {
        Credential::with_scheme("Bearer", token, home)
    }

    /// `Authorization: <scheme> <secret>` (fal's `Key …`), sent only to the origin of `home`.
    pub fn with_scheme(scheme: &str, secret: &str, home: &Url) -> Result<Credential, OutboundError> {
        let mut credential = Credential::header("authorization", &format!("{scheme} {secret}"), home)?;
        credential.name = AUTHORIZATION;
        Ok(credential)
    }

    /// Also sends the key to HTTPS hosts that are `domain` or under it (a provider's regional
    /// API clusters).
    pub fn also_under(mut self, domains: &'static [&'static str]) -> Credential {
        self.domains = domains;
        self
    }

    /// Whether a request to `url` may carry the key.
    pub fn belongs_to(&self, url: &Url) -> bool {
        if url.origin() == self.home {
            return true;
        }
        let Some(host) = url.host_str() else { return false };
        url.scheme() == "https" && self.domains.iter().any(|d| host == *d || host.strip_suffix(d).is_some_and(|rest| rest.ends_with('.')))
    }

    /// Sets the header on `request` when the key belongs to its URL, removes it otherwise.
    pub(super) fn apply(&self, request: &mut reqwest::Request) {
        let belongs = self.belongs_to(request.url());
        set_or_strip(&self.name, belongs.then_some(&self.value), request.headers_mut());
    }
}

fn set_or_strip(name: &HeaderName, value: Option<&HeaderValue>, headers: &mut HeaderMap) {
    match value {
        Some(value) => {
            headers.insert(name.clone(), value.clone());
        }
        None => {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn a_key_belongs_to_its_origin_only() {
        let key = Credential::header("x-key", "k", &url("https://api.example.com/v1/")).expect("key");
        assert!(key.belongs_to(&url("https://api.example.com/v1/jobs/1")));
        assert!(key.belongs_to(&url("https://api.example.com:443/other")));
        for elsewhere in [
            "http://api.example.com/v1/",
            "https://api.example.com:8443/v1/",
            "https://cdn.example.com/out.png",
            "https://api.example.com.evil.test/",
            "https://example.com/",
        ] {
            assert!(!key.belongs_to(&url(elsewhere)), "{elsewhere}");
        }
        let loopback = Credential::bearer("t", &url("http://127.0.0.1:4000/")).expect("key");
        assert!(loopback.belongs_to(&url("http://127.0.0.1:4000/x")));
        assert!(!loopback.belongs_to(&url("http://127.0.0.1:4001/x")), "another port is another origin");
    }

    #[test]
    fn named_domains_take_the_key_over_https_only() {
        let key = Credential::header("x-key", "k", &url("https://api.bfl.ai/")).expect("key").also_under(&["bfl.ai"]);
        assert!(key.belongs_to(&url("https://api.us1.bfl.ai/v1/get_result")));
        assert!(key.belongs_to(&url("https://bfl.ai/")));
        assert!(!key.belongs_to(&url("http://api.us1.bfl.ai/")));
        assert!(!key.belongs_to(&url("https://notbfl.ai/")));
        assert!(!key.belongs_to(&url("https://bfl.ai.evil.test/")));
    }

    #[test]
    fn applying_sets_or_strips_the_header() {
        let key = Credential::with_scheme("Key", "secret", &url("https://queue.fal.run/")).expect("key");
        let mut request = reqwest::Request::new(reqwest::Method::GET, url("https://queue.fal.run/app/requests/1"));
        key.apply(&mut request);
        assert_eq!(request.headers().get(AUTHORIZATION).map(|v| v.to_str().unwrap_or_default()), Some("Key secret"));
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        *request.url_mut() = url("https://storage.example.com/file");
        key.apply(&mut request);
        assert!(request.headers().get(AUTHORIZATION).is_none());
        assert!(format!("{key:?}").contains("authorization") && !format!("{key:?}").contains("secret"));
    }

    #[test]
    fn keys_that_cannot_be_a_header_are_refused() {
        assert!(matches!(Credential::bearer("line\nbreak", &url("https://a.example/")), Err(OutboundError::BadCredential)));
    }
}
