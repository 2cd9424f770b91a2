//! `[[oidc]]` (OpenID Connect identity providers people sign in with) and `[auth]` (whether
//! passwords still work): raw serde forms and their validation.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, secret};

/// The scopes asked for when a provider names none.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// One OpenID Connect provider, as the admin configured it.
#[derive(Debug, Clone, Serialize)]
pub struct OidcConfig {
    /// The name in the provider's URLs (`/auth/oidc/{name}`): letters, digits, `-` and `_`.
    pub name: String,
    /// The issuer, exactly as the provider's ID tokens name it; discovery is read from
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    /// The text of the sign-in button.
    pub label: String,
    /// E-mail domains whose people get an account at their first sign-in (no invitation).
    pub allowed_domains: Vec<String>,
    /// The claim that sets the role at each sign-in (a string or a list of strings).
    pub role_claim: Option<String>,
    /// Values of `role_claim` that make the person an admin; any other value makes them a member.
    pub admin_values: Vec<String>,
    /// Let the provider be on loopback or a private network (as for connections).
    pub allow_private_network: bool,
}

impl OidcConfig {
    /// Whether people with this e-mail get an account at their first sign-in.
    pub fn domain_allowed(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        self.allowed_domains.contains(&domain)
    }
}

/// Whether password sign-in is on, and for whom when it is not.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthConfig {
    /// Password sign-in is off: people sign in with an `[[oidc]]` provider.
    pub sso_only: bool,
    /// E-mails that may still sign in with a password when `sso_only` is on (break-glass admins).
    pub password_admins: Vec<String>,
}

impl AuthConfig {
    /// Whether `email` may sign in with a password.
    pub fn password_allowed(&self, email: &str) -> bool {
        !self.sso_only || self.password_admins.iter().any(|a| a.eq_ignore_ascii_case(email.trim()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOidc {
    name: String,
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    scopes: Option<Vec<String>>,
    label: Option<String>,
    allowed_domains: Option<Vec<String>>,
    role_claim: Option<String>,
    admin_values: Option<Vec<String>>,
    allow_private_network: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    sso_only: Option<bool>,
    password_admins: Option<Vec<String>>,
}

pub(super) fn validate_auth(raw: RawAuth, providers: &[OidcConfig]) -> Result<AuthConfig, ConfigError> {
    let auth = AuthConfig {
        sso_only: raw.sso_only.unwrap_or(false),
        password_admins: raw.password_admins.unwrap_or_default().into_iter().map(|e| e.trim().to_ascii_lowercase()).collect(),
    };
    if auth.sso_only && providers.is_empty() {
        return Err(ConfigError("auth.sso_only = true needs at least one [[oidc]] provider".into()));
    }
    if let Some(bad) = auth.password_admins.iter().find(|e| !e.contains('@')) {
        return Err(ConfigError(format!("auth.password_admins: {bad:?} is not an e-mail address")));
    }
    Ok(auth)
}

pub(super) fn validate_oidc(list: Vec<RawOidc>) -> Result<Vec<OidcConfig>, ConfigError> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for raw in list {
        let at = format!("oidc {:?}", raw.name);
        let name_ok = !raw.name.is_empty() && raw.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(ConfigError(format!("{at}: the name must be letters, digits, '-' or '_' (it is part of the redirect URI)")));
        }
        if !names.insert(raw.name.clone()) {
            return Err(ConfigError(format!("{at}: the name is used twice")));
        }
        parse_issuer(&raw.issuer).map_err(|e| ConfigError(format!("{at}: issuer: {e}")))?;
        let issuer = raw.issuer.trim().to_string();
        if raw.client_id.trim().is_empty() {
            return Err(ConfigError(format!("{at}: client_id must not be empty")));
        }
        let client_secret = secret(&format!("{at}: client_secret"), raw.client_secret, raw.client_secret_file)?
            .ok_or_else(|| ConfigError(format!("{at}: set client_secret or client_secret_file")))?;
        let scopes = raw.scopes.unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
        if !scopes.iter().any(|s| s == "openid") {
            return Err(ConfigError(format!("{at}: scopes must include \"openid\"")));
        }
        let allowed_domains: Vec<String> =
            raw.allowed_domains.unwrap_or_default().into_iter().map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase()).collect();
        if let Some(bad) = allowed_domains.iter().find(|d| d.is_empty() || d.contains('@') || d.contains('/')) {
            return Err(ConfigError(format!("{at}: allowed_domains: {bad:?} is not a domain like \"example.com\"")));
        }
        let role_claim = raw.role_claim.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        let admin_values = raw.admin_values.unwrap_or_default();
        if role_claim.is_none() && !admin_values.is_empty() {
            return Err(ConfigError(format!("{at}: admin_values needs role_claim (the claim they are looked for in)")));
        }
        out.push(OidcConfig {
            label: raw.label.map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).unwrap_or_else(|| raw.name.clone()),
            name: raw.name,
            issuer,
            client_id: raw.client_id.trim().to_string(),
            client_secret,
            scopes,
            allowed_domains,
            role_claim,
            admin_values,
            allow_private_network: raw.allow_private_network.unwrap_or(false),
        });
    }
    Ok(out)
}

/// An issuer: an http(s) URL with a host, no query or fragment (https unless on loopback or
/// a private network, which `allow_private_network` governs at run time).
fn parse_issuer(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!("{text:?} must not have a query, a fragment or credentials"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, issuer: &str) -> RawOidc {
        RawOidc {
            name: name.into(),
            issuer: issuer.into(),
            client_id: "reelvault".into(),
            client_secret: Some("s3cret".into()),
            client_secret_file: None,
            scopes: None,
            label: None,
            allowed_domains: None,
            role_claim: None,
            admin_values: None,
            allow_private_network: None,
        }
    }

    #[test]
    fn oidc_providers_are_validated_with_errors_that_name_them() {
        let ok = validate_oidc(vec![raw("corp", "https://id.example.com")]).unwrap();
        assert_eq!(ok[0].scopes, ["openid", "email", "profile"]);
        assert_eq!(ok[0].label, "corp");
        let e = validate_oidc(vec![raw("corp", "ftp://id.example.com")]).unwrap_err().0;
        assert!(e.contains("oidc \"corp\": issuer"), "{e}");
        let e = validate_oidc(vec![raw("a", "https://x.example"), raw("a", "https://y.example")]).unwrap_err().0;
        assert!(e.contains("used twice"), "{e}");
        let mut both = raw("b", "https://x.example");
        both.client_secret_file = Some("/nonexistent".into());
        assert!(validate_oidc(vec![both]).unwrap_err().0.contains("not both"));
        let mut neither = raw("c", "https://x.example");
        neither.client_secret = None;
        assert!(validate_oidc(vec![neither]).unwrap_err().0.contains("set client_secret or client_secret_file"));
        assert!(validate_oidc(vec![raw("a b", "https://x.example")]).unwrap_err().0.contains("letters, digits"));
    }

    #[test]
    fn sso_only_keeps_passwords_for_the_break_glass_admins() {
        let providers = validate_oidc(vec![raw("corp", "https://id.example.com")]).unwrap();
        let auth =
            validate_auth(RawAuth { sso_only: Some(true), password_admins: Some(vec!["Root@Example.com".into()]) }, &providers).unwrap();
        assert!(auth.password_allowed("root@example.com"));
        assert!(!auth.password_allowed("someone@example.com"));
        assert!(validate_auth(RawAuth { sso_only: Some(true), password_admins: None }, &[]).is_err());
        assert!(AuthConfig::default().password_allowed("anyone@example.com"));
    }
}
