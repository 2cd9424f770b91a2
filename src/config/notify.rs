//! `[smtp]` (how e-mail leaves the instance) and `[[chat_webhook]]` (the team's chat rooms):
//! raw serde forms and their validation.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::human_duration;
use super::{ConfigError, Secret, duration, secret};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required, never skipped); port 587 by default.
    Starttls,
    /// TLS from the first byte (SMTPS); port 465 by default.
    Tls,
    /// No encryption at all: only to a server on this machine (loopback); port 25 by default.
    None,
}

/// The SMTP server e-mail goes through.
#[derive(Debug, Clone, Serialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Sign-in name; `None` sends without authentication.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender, as an address or `Name <address>`.
    pub from: String,
    /// A PEM file of certificates to trust besides the system's roots (a private CA, or a
    /// self-signed server certificate).
    pub ca_file: Option<PathBuf>,
    /// How long one attempt (connect, greet, send) may take.
    #[serde(serialize_with = "human_duration")]
    pub timeout: Duration,
    /// The wait before the first retry (later ones wait longer).
    #[serde(serialize_with = "human_duration")]
    pub retry_base: Duration,
    /// Attempts per message before it is given up.
    pub max_attempts: u32,
}

/// What a chat webhook's body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatFormat {
    /// `{"text": "..."}`: Slack, Mattermost, Rocket.Chat, Discord's `/slack` endpoint.
    Slack,
    /// `{"event": "...", "text": "...", "generation": ..., ...}` for a receiver of one's own.
    Json,
}

/// Events a chat webhook can be told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatEvent {
    ApprovalAsked,
    ApprovalAnswered,
    JobFailed,
}

impl ChatEvent {
    /// Every event, in the order the README lists them.
    pub const ALL: [ChatEvent; 3] = [ChatEvent::ApprovalAsked, ChatEvent::ApprovalAnswered, ChatEvent::JobFailed];

    /// The name config files and JSON bodies use.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatEvent::ApprovalAsked => "approval_asked",
            ChatEvent::ApprovalAnswered => "approval_answered",
            ChatEvent::JobFailed => "job_failed",
        }
    }
}

/// One of the team's chat webhooks.
#[derive(Debug, Clone, Serialize)]
pub struct ChatWebhookConfig {
    /// Its name in logs and on the admin pages.
    pub name: String,
    /// The incoming-webhook URL; it usually embeds a token, so it is redacted when shown.
    #[serde(skip)]
    pub url: url::Url,
    pub format: ChatFormat,
    pub events: Vec<ChatEvent>,
    /// Let the receiver be on loopback or a private network (as for connections).
    pub allow_private_network: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    host: Option<String>,
    port: Option<u16>,
    security: Option<SmtpSecurity>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    ca_file: Option<PathBuf>,
    timeout: Option<String>,
    retry_base: Option<String>,
    max_attempts: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChatWebhook {
    name: String,
    url: String,
    format: Option<ChatFormat>,
    events: Option<Vec<ChatEvent>>,
    allow_private_network: Option<bool>,
}

/// Whether `host` names this machine: `localhost` or a loopback address.
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || IpAddr::from_str(bare).is_ok_and(|ip| ip.is_loopback())
}

/// `[smtp]`: `None` when the section is absent (no e-mail is sent).
pub(super) fn validate_smtp(raw: Option<RawSmtp>) -> Result<Option<SmtpConfig>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let host =
        raw.host.map(|h| h.trim().to_string()).filter(|h| !h.is_empty()).ok_or_else(|| ConfigError("smtp.host must be set".into()))?;
    let security = raw.security.unwrap_or(SmtpSecurity::Starttls);
    if security == SmtpSecurity::None && !is_loopback_host(&host) {
        return Err(ConfigError(format!(
            "smtp.security = \"none\" sends passwords and messages unencrypted: it is allowed only to a server on this machine (localhost), not to {host:?}"
        )));
    }
    let port = raw.port.unwrap_or(match security {
        SmtpSecurity::Starttls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::None => 25,
    });
    let password = secret("smtp.password", raw.password, raw.password_file)?;
    let username = raw.username.filter(|u| !u.is_empty());
    match (&username, &password) {
        (Some(_), None) => return Err(ConfigError("smtp.username is set: set smtp.password or smtp.password_file too".into())),
        (None, Some(_)) => return Err(ConfigError("smtp.password is set without smtp.username".into())),
        _ => {}
    }
    let from = raw.from.map(|f| f.trim().to_string()).ok_or_else(|| ConfigError("smtp.from must be set (the sender's address)".into()))?;
    lettre::message::Mailbox::from_str(&from).map_err(|_| {
        ConfigError(format!("smtp.from = {from:?}: expected an address like \"studio@example.com\" or \"Studio <studio@example.com>\""))
    })?;
    if let Some(path) = &raw.ca_file {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("smtp.ca_file {}: {e}", path.display())))?;
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            return Err(ConfigError(format!("smtp.ca_file {}: no PEM certificate in it", path.display())));
        }
    }
    let smtp = SmtpConfig {
        host,
        port,
        security,
        username,
        password,
        from,
        ca_file: raw.ca_file,
        timeout: duration("smtp.timeout", raw.timeout, "30s")?,
        retry_base: duration("smtp.retry_base", raw.retry_base, "30s")?,
        max_attempts: raw.max_attempts.unwrap_or(6),
    };
    if smtp.timeout.is_zero() || smtp.retry_base.is_zero() {
        return Err(ConfigError("smtp.timeout and smtp.retry_base must be longer than 0".into()));
    }
    if !(1..=20).contains(&smtp.max_attempts) {
        return Err(ConfigError(format!("smtp.max_attempts = {}: must be between 1 and 20", smtp.max_attempts)));
    }
    Ok(Some(smtp))
}

/// `[[chat_webhook]]`: unique names, http(s) URLs, known events (all of them by default).
pub(super) fn validate_chat_webhooks(list: Vec<RawChatWebhook>) -> Result<Vec<ChatWebhookConfig>, ConfigError> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for raw in list {
        let at = format!("chat_webhook {:?}", raw.name);
        if raw.name.trim().is_empty() {
            return Err(ConfigError("chat_webhook: name must not be empty".into()));
        }
        if !names.insert(raw.name.clone()) {
            return Err(ConfigError(format!("{at}: the name is used twice")));
        }
        let url = crate::domain::webhook::parse_url(&raw.url).map_err(|e| ConfigError(format!("{at}: url: {}", e.0)))?;
        let mut events = raw.events.unwrap_or_else(|| ChatEvent::ALL.to_vec());
        events.sort();
        events.dedup();
        out.push(ChatWebhookConfig {
            name: raw.name,
            url,
            format: raw.format.unwrap_or(ChatFormat::Slack),
            events,
            allow_private_network: raw.allow_private_network.unwrap_or(false),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(toml_text: &str) -> Result<Option<SmtpConfig>, ConfigError> {
        let raw: RawSmtp = toml::from_str(toml_text).map_err(|e| ConfigError(e.to_string()))?;
        validate_smtp(Some(raw))
    }

    #[test]
    fn starttls_is_the_default_with_port_587() {
        let config = smtp("host = \"smtp.example.com\"\nfrom = \"Studio <studio@example.com>\"").unwrap().unwrap();
        assert_eq!((config.security, config.port), (SmtpSecurity::Starttls, 587));
    }

    #[test]
    fn plain_smtp_is_refused_to_another_machine_and_allowed_to_loopback() {
        let err = smtp("host = \"mail.example.com\"\nsecurity = \"none\"\nfrom = \"a@example.com\"").unwrap_err();
        assert!(err.0.contains("only to a server on this machine"), "{err}");
        for host in ["localhost", "127.0.0.1", "::1"] {
            let config = smtp(&format!("host = \"{host}\"\nsecurity = \"none\"\nfrom = \"a@example.com\"")).unwrap().unwrap();
            assert_eq!(config.port, 25);
        }
    }

    #[test]
    fn a_username_needs_exactly_one_password_source() {
        let err = smtp("host = \"h\"\nfrom = \"a@example.com\"\nusername = \"u\"").unwrap_err();
        assert!(err.0.contains("smtp.password"), "{err}");
        let err = smtp("host = \"h\"\nfrom = \"a@example.com\"\nusername = \"u\"\npassword = \"p\"\npassword_file = \"/nonexistent\"")
            .unwrap_err();
        assert!(err.0.contains("not both"), "{err}");
        let err = smtp("host = \"h\"\nfrom = \"a@example.com\"\npassword = \"p\"").unwrap_err();
        assert!(err.0.contains("without smtp.username"), "{err}");
    }

    #[test]
    fn the_sender_must_be_an_address_and_keys_must_be_known() {
        let err = smtp("host = \"h\"\nfrom = \"studio at example\"").unwrap_err();
        assert!(err.0.contains("smtp.from"), "{err}");
        let err = smtp("host = \"h\"\nfrom = \"a@example.com\"\nsecurty = \"tls\"").unwrap_err();
        assert!(err.0.contains("securty"), "{err}");
    }

    #[test]
    fn chat_webhooks_take_every_event_by_default_and_refuse_a_bad_url() {
        let raw: Vec<RawChatWebhook> = vec![toml::from_str("name = \"team\"\nurl = \"https://hooks.example.com/x\"").unwrap()];
        let hooks = validate_chat_webhooks(raw).unwrap();
        assert_eq!(hooks[0].events, ChatEvent::ALL.to_vec());
        assert_eq!(hooks[0].format, ChatFormat::Slack);
        let raw: Vec<RawChatWebhook> = vec![toml::from_str("name = \"team\"\nurl = \"ftp://x\"").unwrap()];
        assert!(validate_chat_webhooks(raw).is_err());
    }
}
