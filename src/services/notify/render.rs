//! The words of a notification, in the reader's language, looked up when it is sent: a
//! subject, plain-text lines and the one link the reader needs.

use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::notify::Message;
use crate::domain::time::Timestamp;
use crate::i18n::{Arg, Tr};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;
use crate::vault::sealed;

/// A notification put into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    /// Paragraphs of plain text.
    pub lines: Vec<String>,
    /// The link the reader follows, if any (absolute).
    pub link: Option<String>,
    /// The generation it is about, if any (chat bodies name it).
    pub generation: Option<GenerationId>,
}

impl Rendered {
    /// The whole text: paragraphs, then the link, then `footer` when given.
    pub fn text(&self, footer: Option<&str>) -> String {
        let mut out = self.lines.join("\n\n");
        if let Some(link) = &self.link {
            out.push_str("\n\n");
            out.push_str(link);
        }
        if let Some(footer) = footer {
            out.push_str("\n\n-- \n");
            out.push_str(footer);
        }
        out.push('\n');
        out
    }
}

/// The most characters of a prompt quoted in a notification.
const PROMPT_CHARS: usize = 200;

/// Puts `message` into words for a reader of language `tr`. `None`: what it is about is gone
/// (the generation was deleted), so there is nothing left to say.
pub async fn render(state: &AppState, tr: Tr, message: &Message) -> ServiceResult<Option<Rendered>> {
    let urls = state.urls();
    let site = urls.origin().to_string();
    let plain = |key: &str, lines: Vec<String>, link: Option<String>| Rendered { subject: tr.t(key), lines, link, generation: None };
    Ok(Some(match message {
        Message::Invitation { sealed_link, expires_at } => plain(
            "mail-invitation-subject",
            vec![tr.t_args("mail-invitation-body", &[("site", Arg::from(&site)), ("expires", Arg::from(tr.datetime(*expires_at)))])],
            Some(open_link(state, sealed_link)?),
        ),
        Message::PasswordReset { sealed_link, expires_at } => plain(
            "mail-reset-subject",
            vec![tr.t_args("mail-reset-body", &[("site", Arg::from(&site)), ("expires", Arg::from(tr.datetime(*expires_at)))])],
            Some(open_link(state, sealed_link)?),
        ),
        Message::AllowanceRenewed { granted } => plain(
            "mail-allowance-subject",
            vec![tr.t_args("mail-allowance-body", &[("granted", Arg::Number(*granted))])],
            Some(urls.absolute(urls.account())),
        ),
        Message::ApprovalAsked { generation, requester } => {
            let Some((g, who)) = generation_and_person(state, *generation, Some(*requester)).await? else { return Ok(None) };
            let args = job_args(&g, &who);
            about(&g, tr.t_args("mail-approval-asked-subject", &args), vec![tr.t_args("mail-approval-asked-body", &args), quote(&g)], state)
        }
        Message::ApprovalAnswered { generation, approved, note } => {
            let Some((g, who)) = generation_and_person(state, *generation, None).await? else { return Ok(None) };
            let args = job_args(&g, &who);
            let (subject, body) = if *approved {
                ("mail-approval-approved-subject", "mail-approval-approved-body")
            } else {
                ("mail-approval-declined-subject", "mail-approval-declined-body")
            };
            let mut lines = vec![tr.t_args(body, &args)];
            if let Some(note) = note.as_deref().filter(|n| !n.trim().is_empty()) {
                lines.push(tr.t_args("mail-approval-note", &[("note", Arg::from(note))]));
            }
            about(&g, tr.t_args(subject, &args), lines, state)
        }
        Message::JobFinished { generation } | Message::JobFailed { generation } => {
            let Some((g, who)) = generation_and_person(state, *generation, None).await? else { return Ok(None) };
            let mut args = job_args(&g, &who);
            let subject = match g.state {
                GenState::Succeeded => "mail-job-succeeded-subject",
                GenState::Cancelled => "mail-job-cancelled-subject",
                _ => "mail-job-failed-subject",
            };
            let took = std::time::Duration::from_millis(u64::try_from(ended(&g).millis() - g.created_at.millis()).unwrap_or(0));
            args.push(("duration", Arg::from(tr.duration(took))));
            let mut lines = vec![tr.t_args("mail-job-body", &args), quote(&g)];
            if let Some(reason) = &g.reason {
                lines.push(tr.t_args("mail-job-reason", &[("reason", Arg::from(&reason.message))]));
            }
            about(&g, tr.t_args(subject, &args), lines, state)
        }
    }))
}

/// The footer of every e-mail: who sent it and where to change what one receives.
pub fn footer(state: &AppState, tr: Tr) -> String {
    let urls = state.urls();
    tr.t_args("mail-footer", &[("site", Arg::from(urls.origin())), ("account", Arg::from(urls.absolute(urls.account())))])
}

fn about(g: &Generation, subject: String, lines: Vec<String>, state: &AppState) -> Rendered {
    let urls = state.urls();
    Rendered { subject, lines, link: Some(urls.absolute(&urls.generation(g.id))), generation: Some(g.id) }
}

fn ended(g: &Generation) -> Timestamp {
    g.finished_at.unwrap_or(g.updated_at)
}

/// The variables every message about a job takes: its model, cost and owner's name.
fn job_args(g: &Generation, owner: &str) -> Vec<(&'static str, Arg)> {
    let model = g.made_with.as_ref().map_or_else(|| g.model.clone(), |m| m.label.clone());
    vec![
        ("model", Arg::from(model)),
        ("cost", Arg::Number(i64::try_from(g.cost).unwrap_or(i64::MAX))),
        ("name", Arg::from(owner)),
        ("id", Arg::from(g.id.to_string())),
    ]
}

/// The prompt, quoted and cut to [`PROMPT_CHARS`].
fn quote(g: &Generation) -> String {
    let mut prompt: String = g.prompt.chars().take(PROMPT_CHARS).collect();
    if g.prompt.chars().count() > PROMPT_CHARS {
        prompt.push('…');
    }
    format!("> {}", prompt.replace('\n', "\n> "))
}

/// A generation (not deleted) and its owner's (or `person`'s) name.
async fn generation_and_person(state: &AppState, id: GenerationId, person: Option<UserId>) -> ServiceResult<Option<(Generation, String)>> {
    state
        .store
        .read(move |tx| {
            let Some(g) = store::generations::get(tx, id)?.filter(|g| g.deleted_at.is_none()) else { return Ok(None) };
            let who = store::users::get(tx, person.unwrap_or(g.owner))?.map_or_else(String::new, |u| display_name(&u));
            Ok::<_, ServiceError>(Some((g, who)))
        })
        .await
}

/// A person as notifications name them: their name, else their address.
pub fn display_name(user: &crate::domain::user::User) -> String {
    if user.name.trim().is_empty() { user.email.to_string() } else { user.name.clone() }
}

fn open_link(state: &AppState, sealed_link: &[u8]) -> ServiceResult<String> {
    Ok(sealed::open(state.keyring.master(), sealed_link).map_err(|e| ServiceError::Internal(e.to_string()))?.expose().to_string())
}
