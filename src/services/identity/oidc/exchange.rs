//! The token endpoint (the code and PKCE verifier for tokens; the client authenticates with
//! `client_secret_basic`, or `_post` when that is all the provider offers) and the userinfo
//! endpoint (for claims the ID token lacks).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::discovery::MAX_ANSWER;
use super::{Metadata, OidcError, Provider, Refusal, RefusalKind};
use crate::providers::http::{Credential, read_capped};

/// What the token endpoint answered.
#[derive(Deserialize)]
pub(super) struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

/// Claims that, when the ID token lacks them, are asked of the userinfo endpoint.
const WANTED: [&str; 2] = ["email", "email_verified"];

impl Provider {
    pub(super) async fn exchange(&self, metadata: &Metadata, code: &str, verifier: &str, redirect_uri: &str) -> Result<Tokens, OidcError> {
        let refused = |detail: String| OidcError::Refused(Refusal::new(RefusalKind::Exchange, detail));
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", verifier);
        let endpoint = &metadata.token_endpoint;
        let credential = if metadata.secret_in_form() {
            form.append_pair("client_id", &self.config.client_id).append_pair("client_secret", self.config.client_secret.expose());
            None
        } else {
            let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(&self.config.client_id), encode(self.config.client_secret.expose()));
            let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair);
            Some(Credential::with_scheme("Basic", &basic, endpoint).map_err(|e| refused(e.to_string()))?)
        };
        let request = self.client.post(endpoint).map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let response = request
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .credential(credential.as_ref())
            .body(form.finish())
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body = read_capped(response, MAX_ANSWER).await.map_err(|e| OidcError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            let error =
                serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string));
            let error: String = error.unwrap_or_default().chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
            return Err(refused(format!("the token endpoint answered {status} {error}")));
        }
        serde_json::from_slice(&body).map_err(|e| refused(format!("the token endpoint's answer has no usable ID token: {e}")))
    }

    /// Fills in the claims the ID token lacks from the userinfo endpoint (whose `sub` must match).
    pub(super) async fn add_userinfo(
        &self,
        metadata: &Metadata,
        access_token: Option<&str>,
        claims: &mut Map<String, Value>,
    ) -> Result<(), OidcError> {
        let missing =
            WANTED.iter().any(|c| !claims.contains_key(*c)) || self.config.role_claim.as_ref().is_some_and(|c| !claims.contains_key(c));
        let (Some(endpoint), Some(token), true) = (&metadata.userinfo_endpoint, access_token, missing) else {
            return Ok(());
        };
        let info: Map<String, Value> = self.get_json(endpoint, Some(token)).await?;
        if info.get("sub") != claims.get("sub") {
            return Err(Refusal::new(RefusalKind::Token, "the userinfo answer is about another subject").into());
        }
        for (key, value) in info {
            claims.entry(key).or_insert(value);
        }
        Ok(())
    }
}
