//! A provider's discovery document (`/.well-known/openid-configuration`), fetched through the
//! outbound guard and kept for an hour.

use std::time::{Duration, Instant};

use serde::Deserialize;
use url::Url;

use super::{OidcError, Provider};

/// How long a discovery document is used before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// Cap on the size of discovery, JWKS, token and userinfo answers.
pub(super) const MAX_ANSWER: u64 = 1024 * 1024;

/// What reelvault uses of a provider's discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    pub userinfo_endpoint: Option<Url>,
    pub end_session_endpoint: Option<Url>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

impl Metadata {
    /// Whether the client secret goes in the form (`client_secret_post`) rather than in an
    /// `Authorization: Basic` header, which is the default when the provider lists none.
    pub fn secret_in_form(&self) -> bool {
        let methods = &self.token_endpoint_auth_methods_supported;
        !methods.is_empty() && !methods.iter().any(|m| m == "client_secret_basic") && methods.iter().any(|m| m == "client_secret_post")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(methods: &[&str]) -> Metadata {
        let doc = serde_json::json!({
            "issuer": "https://id.example.com",
            "authorization_endpoint": "https://id.example.com/auth",
            "token_endpoint": "https://id.example.com/token",
            "jwks_uri": "https://id.example.com/jwks",
            "token_endpoint_auth_methods_supported": methods,
        });
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn the_secret_goes_in_the_form_only_when_basic_is_not_offered() {
        assert!(!metadata(&[]).secret_in_form(), "basic is the default");
        assert!(!metadata(&["client_secret_basic", "client_secret_post"]).secret_in_form());
        assert!(metadata(&["client_secret_post"]).secret_in_form());
    }
}

/// The cached document and when it was fetched.
#[derive(Debug, Default)]
pub(super) struct Cached {
    pub(super) metadata: Option<(Metadata, Instant)>,
}

impl Provider {
    /// The discovery document: the cached one while fresh, else fetched now.
    pub async fn metadata(&self) -> Result<Metadata, OidcError> {
        if let Some((metadata, at)) = self.discovery.lock().map_err(|_| OidcError::internal())?.metadata.clone()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata);
        }
        let metadata = self.fetch_metadata().await?;
        self.discovery.lock().map_err(|_| OidcError::internal())?.metadata = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    async fn fetch_metadata(&self) -> Result<Metadata, OidcError> {
        let at = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
        let url = Url::parse(&at).map_err(|e| OidcError::Unavailable(format!("discovery URL: {e}")))?;
        let metadata: Metadata = self.get_json(&url, None).await?;
        if metadata.issuer != self.config.issuer {
            return Err(OidcError::Unavailable(format!(
                "the discovery document names the issuer {:?}, not {:?} as configured",
                metadata.issuer, self.config.issuer
            )));
        }
        if !metadata.code_challenge_methods_supported.is_empty() && !metadata.code_challenge_methods_supported.iter().any(|m| m == "S256") {
            return Err(OidcError::Unavailable("the provider does not offer PKCE with S256".into()));
        }
        Ok(metadata)
    }

    /// GETs `url` (with an optional bearer token) and reads its JSON answer.
    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &Url, bearer: Option<&str>) -> Result<T, OidcError> {
        let mut request = self.client.get(url).map_err(|e| OidcError::Unavailable(e.to_string()))?.header("accept", "application/json");
        let credential = match bearer {
            Some(token) => Some(crate::providers::http::Credential::bearer(token, url).map_err(|e| OidcError::Unavailable(e.to_string()))?),
            None => None,
        };
        request = request.credential(credential.as_ref());
        let response = request.send().await.map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body = crate::providers::http::read_capped(response, MAX_ANSWER).await.map_err(|e| OidcError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(OidcError::Unavailable(format!("{} answered {status}", url.host_str().unwrap_or("the provider"))));
        }
        serde_json::from_slice(&body).map_err(|e| OidcError::Unavailable(format!("{} answered with unexpected JSON: {e}", url.path())))
    }
}
