//! The team's chat webhooks (`[[chat_webhook]]`): the body in the webhook's format, posted
//! through the same guarded client as provider traffic (public addresses only unless the
//! webhook allows private ones), no redirects, a bounded time.

use std::time::Duration;

use serde_json::json;

use super::render::Rendered;
use crate::config::{ChatFormat, ChatWebhookConfig};
use crate::providers::http::{OutboundClient, OutboundError, OutboundPolicy};

/// How long one post may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The body a chat webhook receives for `event`.
pub fn body(format: ChatFormat, event: &str, rendered: &Rendered) -> serde_json::Value {
    let mut text = rendered.subject.clone();
    if let Some(first) = rendered.lines.first() {
        text.push('\n');
        text.push_str(first);
    }
    if let Some(link) = &rendered.link {
        text.push('\n');
        text.push_str(link);
    }
    match format {
        ChatFormat::Slack => json!({ "text": text }),
        ChatFormat::Json => json!({
            "event": event,
            "generation": rendered.generation.map(|g| g.to_string()),
            "subject": rendered.subject,
            "text": text,
            "url": rendered.link,
        }),
    }
}

/// Posts `body` to the webhook; a 2xx answer is success, anything else is an error in words.
pub async fn post(hook: &ChatWebhookConfig, body: &serde_json::Value) -> Result<(), String> {
    let policy = OutboundPolicy { allow_private_network: hook.allow_private_network, timeout: TIMEOUT, connect_timeout: TIMEOUT };
    let client = OutboundClient::without_redirects(policy).map_err(|e| format!("cannot build the chat client: {e}"))?;
    let request = client.post(&hook.url).map_err(|e| refusal(hook, &e))?;
    let response = request.header("content-type", "application/json").body(body.to_string()).send().await.map_err(|e| refusal(hook, &e))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(format!("the chat webhook answered {}", status.as_u16())) }
}

/// Why a post could not be made, naming the chat webhook's own setting for private addresses.
fn refusal(hook: &ChatWebhookConfig, e: &OutboundError) -> String {
    match e {
        OutboundError::Forbidden { host } => format!(
            "refusing to post to {host}: it is not a public address (allow_private_network = true in [[chat_webhook]] {:?} allows it)",
            hook.name
        ),
        other => crate::services::team::webhooks::refusal_message(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> Rendered {
        Rendered {
            subject: "A job failed".into(),
            lines: vec!["It ran for 2 s.".into(), "> a prompt".into()],
            link: Some("https://studio.example.com/generations/01".into()),
            generation: None,
        }
    }

    #[test]
    fn slack_bodies_carry_only_text_and_json_bodies_name_the_event() {
        let slack = body(ChatFormat::Slack, "job_failed", &rendered());
        assert_eq!(slack, json!({"text": "A job failed\nIt ran for 2 s.\nhttps://studio.example.com/generations/01"}));
        let generic = body(ChatFormat::Json, "job_failed", &rendered());
        assert_eq!(generic["event"], "job_failed");
        assert_eq!(generic["url"], "https://studio.example.com/generations/01");
        assert_eq!(generic["text"], slack["text"]);
    }
}
