//! E-mail over SMTP (`[smtp]`): the transport built once from the config, and one message
//! sent per call. TLS is rustls with ring; `ca_file` adds roots to the system's, and
//! verification is never turned off. Errors never carry the password.

use std::str::FromStr;

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpSecurity};

/// A ready SMTP transport and the sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Builds the transport from `[smtp]` (the config checked the values at start).
    pub fn new(config: &SmtpConfig) -> Result<Mailer, String> {
        let from = Mailbox::from_str(&config.from).map_err(|e| format!("smtp.from: {e}"))?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone()).port(config.port).timeout(Some(config.timeout));
        if config.security != SmtpSecurity::None {
            let mut tls = TlsParameters::builder(config.host.clone());
            if let Some(path) = &config.ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("smtp.ca_file {}: {e}", path.display()))?;
                tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| format!("smtp.ca_file {}: {e}", path.display()))?);
            }
            let tls = tls.build_rustls().map_err(|e| format!("smtp TLS settings: {e}"))?;
            builder = builder.tls(match config.security {
                SmtpSecurity::Tls => Tls::Wrapper(tls),
                _ => Tls::Required(tls),
            });
        }
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_string()));
        }
        Ok(Mailer { transport: builder.build(), from })
    }

    /// Sends one e-mail: plain text, with a simple HTML part beside it.
    pub async fn send(&self, to: &str, subject: &str, text: &str, lang: &str) -> Result<(), String> {
        let to = Mailbox::from_str(to).map_err(|e| format!("the recipient's address cannot be used: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text.to_string()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html(text, lang))),
            )
            .map_err(|e| format!("the message cannot be built: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| describe(&e))
    }
}

/// An SMTP error in words, without the credentials (lettre never prints them; the server's
/// answer is kept as the server wrote it).
fn describe(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The plain text as a minimal HTML document: escaped, paragraphs kept, links made links.
fn html(text: &str, lang: &str) -> String {
    let mut body = String::new();
    for paragraph in text.trim_end().split("\n\n") {
        let escaped: Vec<String> = paragraph
            .lines()
            .map(|line| {
                let escaped = escape(line);
                if line.starts_with("https://") || line.starts_with("http://") {
                    format!("<a href=\"{escaped}\">{escaped}</a>")
                } else {
                    escaped
                }
            })
            .collect();
        body.push_str(&format!("<p>{}</p>\n", escaped.join("<br>\n")));
    }
    format!("<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"></head><body>\n{body}</body></html>\n", escape(lang))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_escapes_text_and_links_urls() {
        let out = html("Hi <b>&\n\nhttps://studio.example.com/invite/x?a=1&b=2", "ja");
        assert!(out.contains("<p>Hi &lt;b&gt;&amp;</p>"), "{out}");
        assert!(out.contains("<a href=\"https://studio.example.com/invite/x?a=1&amp;b=2\">"), "{out}");
        assert!(out.contains("lang=\"ja\""), "{out}");
    }
}
