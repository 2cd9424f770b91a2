//! What the admins' Notifications page shows: how e-mail goes out (never the password), the
//! team's chat webhooks (their host only: the URL's path usually holds a token), and what
//! waits in the outbox with its last error.

use crate::config::{ChatFormat, SmtpSecurity};
use crate::domain::notify::Recipient;
use crate::domain::time::Timestamp;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// The most waiting notifications listed.
pub const WAITING_SHOWN: usize = 100;

/// `[smtp]` as admins may see it.
pub struct EmailSetting {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub from: String,
    pub signs_in: bool,
    pub extra_roots: bool,
}

/// One chat webhook as admins may see it.
pub struct ChatSetting {
    pub name: String,
    pub host: String,
    pub format: ChatFormat,
    pub events: Vec<&'static str>,
    pub allow_private_network: bool,
}

/// One notification waiting to go out.
pub struct Waiting {
    pub event: &'static str,
    /// An address, a person's address, or `chat: name`.
    pub to: String,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
}

/// The page's contents.
pub struct Overview {
    pub email: Option<EmailSetting>,
    pub chats: Vec<ChatSetting>,
    pub waiting: Vec<Waiting>,
}

/// Reads the settings and the outbox.
pub async fn overview(state: &AppState) -> ServiceResult<Overview> {
    let email = state.config.smtp.as_ref().map(|s| EmailSetting {
        host: s.host.clone(),
        port: s.port,
        security: s.security,
        from: s.from.clone(),
        signs_in: s.username.is_some(),
        extra_roots: s.ca_file.is_some(),
    });
    let chats = state
        .config
        .chat_webhook
        .iter()
        .map(|h| ChatSetting {
            name: h.name.clone(),
            host: h.url.host_str().unwrap_or("").to_string(),
            format: h.format,
            events: h.events.iter().map(|e| e.as_str()).collect(),
            allow_private_network: h.allow_private_network,
        })
        .collect();
    let waiting = state
        .store
        .read(|tx| {
            let mut out = Vec::new();
            for notice in store::notices::waiting(tx, WAITING_SHOWN)? {
                let to = match &notice.recipient {
                    Recipient::Address(address) => address.clone(),
                    Recipient::Person(id) => store::users::get(tx, *id)?.map_or_else(|| id.to_string(), |u| u.email.to_string()),
                    Recipient::Chat(name) => format!("chat: {name}"),
                };
                out.push(Waiting {
                    event: notice.message.event(),
                    to,
                    attempts: notice.attempts,
                    next_attempt_at: notice.next_attempt_at,
                    last_error: notice.last_error,
                });
            }
            Ok::<_, ServiceError>(out)
        })
        .await?;
    Ok(Overview { email, chats, waiting })
}
