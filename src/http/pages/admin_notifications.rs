//! The "Notifications" page for admins: how e-mail goes out (`[smtp]`, without its password),
//! the team's chat webhooks (`[[chat_webhook]]`, by host), and what waits in the outbox.

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::config::{ChatFormat, SmtpSecurity};
use crate::http::auth::{Admin, state};
use crate::http::responses::{PageResult, ok};
use crate::services::notify::overview::{self, Overview};

#[derive(Template)]
#[template(path = "admin/notifications.html")]
struct NotificationsPage {
    layout: Layout,
    overview: Overview,
}

impl NotificationsPage {
    fn security(&self, s: &SmtpSecurity) -> &'static str {
        match s {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    fn format(&self, f: &ChatFormat) -> &'static str {
        match f {
            ChatFormat::Slack => "slack",
            ChatFormat::Json => "json",
        }
    }
}

pub async fn show(req: HttpRequest, admin: Admin) -> PageResult {
    let state = state(&req)?;
    let overview = overview::overview(&state).await?;
    ok(&req, &NotificationsPage { layout: Layout::new(&req, Some(&admin.0.user)), overview })
}
