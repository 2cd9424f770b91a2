//! The audit log as CSV (RFC 4180): one row per event, quoted where needed, with cells that a
//! spreadsheet would run as a formula defused; streamed page by page from the store, so a
//! large log is never held in memory.

use bytes::Bytes;
use futures_util::Stream;

use crate::domain::audit::AuditEvent;
use crate::domain::ids::AuditId;
use crate::services::ServiceError;
use crate::services::privacy::audit::{self, AuditFilter};

/// Events read from the store per chunk of output.
const PAGE: usize = 500;

/// The header row.
pub const HEADER: [&str; 7] = ["time", "actor", "action", "target", "client_address", "user_agent", "detail"];

/// One CSV cell: a leading `=`, `+`, `-`, `@`, tab or carriage return (which spreadsheets
/// read as the start of a formula) gets a `'` in front; cells with a comma, quote or line
/// break are quoted, with quotes doubled.
pub fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

/// One line (ending in CRLF) of cells.
pub fn line<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = cells.into_iter().map(cell).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

/// The row of one event.
pub fn row(e: &AuditEvent) -> String {
    let time = e.at.rfc3339();
    let actor = e.actor.label();
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let (target, address, agent, detail) = (opt(&e.target), opt(&e.client.address), opt(&e.client.user_agent), opt(&e.detail));
    line([time.as_str(), actor.as_str(), e.action.as_str(), target.as_str(), address.as_str(), agent.as_str(), detail.as_str()])
}

/// Where the stream is.
enum Cursor {
    Start,
    Before(Option<AuditId>),
    Done,
}

/// The header and every event `filter` matches, newest first (its `before` is where it
/// starts), in chunks of a page of events each. A store error ends the stream with an error,
/// which cuts the response short rather than ending it as if it were complete.
pub fn stream(state: &crate::services::state::AppState, filter: AuditFilter) -> impl Stream<Item = Result<Bytes, ServiceError>> + use<> {
    let store = state.store.clone();
    let start = filter.before;
    futures_util::stream::unfold((store, filter, Cursor::Start), move |(store, filter, cursor)| async move {
        match cursor {
            Cursor::Start => Some((Ok(Bytes::from(line(HEADER))), (store, filter, Cursor::Before(start)))),
            Cursor::Done => None,
            Cursor::Before(before) => {
                let mut before = before;
                // a page that matched nothing (the scan limit was reached) yields no chunk
                loop {
                    let page = AuditFilter { before, ..filter.clone() };
                    match audit::list_in(&store, page, PAGE).await {
                        Err(e) => {
                            tracing::error!(error = %e, "the audit export stopped early");
                            return Some((Err(e), (store, filter, Cursor::Done)));
                        }
                        Ok((events, next)) => {
                            let next = match next {
                                Some(id) => Cursor::Before(Some(id)),
                                None => Cursor::Done,
                            };
                            if events.is_empty() {
                                match next {
                                    Cursor::Before(b) => {
                                        before = b;
                                        continue;
                                    }
                                    _ => return None,
                                }
                            }
                            let chunk: String = events.iter().map(row).collect();
                            return Some((Ok(Bytes::from(chunk)), (store, filter, next)));
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(line(["x", "y,z"]), "x,\"y,z\"\r\n");
    }
}
