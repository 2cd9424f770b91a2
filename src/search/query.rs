//! What a search asks for: the words of `q` (stemmed words and "exact phrases"), the filters,
//! the order, the cursor and the limit; and the tantivy query its words become.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

use super::SearchError;
use super::schema::{Fields, exact_analyzer, stemmed_analyzer, tokens};
use crate::domain::catalog::MediaKind;
use crate::domain::generation::GenState;
use crate::domain::ids::{GenerationId, UserId};
use crate::domain::time::Timestamp;

/// Items per page unless the caller asks for another number.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items one page may hold.
pub const MAX_LIMIT: usize = 100;
/// The longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// The most words and phrases one `q` may hold.
pub const MAX_TERMS: usize = 16;

/// Who is searching. Results only ever include their own generations and those others
/// shared with the team (DESIGN.md, security model); admins may also filter and facet by user.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub user: UserId,
    pub admin: bool,
}

impl Viewer {
    /// Whether this viewer may see a generation of `owner` with the shared flag `shared`.
    pub fn may_see(&self, owner: UserId, shared: bool) -> bool {
        owner == self.user || shared
    }
}

/// The result order: by creation time, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    NewestFirst,
    OldestFirst,
}

impl Order {
    pub fn parse(text: &str) -> Option<Order> {
        match text {
            "newest" | "date_desc" | "-created_at" => Some(Order::NewestFirst),
            "oldest" | "date_asc" | "created_at" => Some(Order::OldestFirst),
            _ => None,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Order::NewestFirst => b'n',
            Order::OldestFirst => b'o',
        }
    }
}

/// Filters; a list matches any of its values, an empty list matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub models: Vec<String>,
    pub providers: Vec<String>,
    pub kinds: Vec<MediaKind>,
    pub states: Vec<GenState>,
    /// Owners (admins only).
    pub users: Vec<UserId>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created at or before.
    pub to: Option<Timestamp>,
    pub kept: Option<bool>,
    /// Only generations with an output with sound (`true`) or without (`false`).
    pub sound: Option<bool>,
}

/// One search: `q`, filters, order, where the previous page ended, and the page size.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub text: TextQuery,
    pub filters: Filters,
    pub order: Order,
    pub cursor: Option<Cursor>,
    pub limit: usize,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            text: TextQuery::default(),
            filters: Filters::default(),
            order: Order::default(),
            cursor: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// Where a page ended: the last item's creation time and id, in the order it was listed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub order: Order,
    pub created_at: i64,
    pub id: GenerationId,
}

impl Cursor {
    /// The opaque text form given to clients.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(25);
        bytes.push(self.order.byte());
        bytes.extend_from_slice(&self.created_at.to_be_bytes());
        bytes.extend_from_slice(&self.id.to_key().to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Parses a cursor for a request listed in `order`.
    pub fn parse(text: &str, order: Order) -> Result<Cursor, SearchError> {
        let bad = |m: &str| SearchError::invalid("cursor", m);
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| bad("the cursor is malformed; pass next_cursor as it was given"))?;
        let [o, rest @ ..] = bytes.as_slice() else {
            return Err(bad("the cursor is malformed; pass next_cursor as it was given"));
        };
        let (Ok(t), Ok(id)) =
            (<[u8; 8]>::try_from(rest.get(..8).unwrap_or_default()), <[u8; 16]>::try_from(rest.get(8..).unwrap_or_default()))
        else {
            return Err(bad("the cursor is malformed; pass next_cursor as it was given"));
        };
        if *o != order.byte() {
            return Err(bad("the cursor belongs to the other sort order"));
        }
        Ok(Cursor { order, created_at: i64::from_be_bytes(t), id: GenerationId::from_key(u128::from_be_bytes(id)) })
    }
}

/// The words of `q`: each unquoted word matches any of its inflections (stemmed), each
/// "quoted phrase" matches those words as written, in that order. Every part must match,
/// in the prompt or the negative prompt.
#[derive(Debug, Clone, Default)]
pub struct TextQuery {
    /// Stems of the unquoted words.
    words: Vec<String>,
    /// Each phrase's words as written (lower-cased, accents folded).
    phrases: Vec<Vec<String>>,
    /// Stems of every word, for highlighting.
    highlight: BTreeSet<String>,
}

impl TextQuery {
    /// Parses `q`. An unterminated quote runs to the end; punctuation is ignored.
    pub fn parse(q: &str) -> Result<TextQuery, SearchError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::invalid("q", &format!("the search text is longer than {MAX_QUERY_CHARS} characters")));
        }
        let (mut stem, mut exact) = (stemmed_analyzer(), exact_analyzer());
        let mut query = TextQuery::default();
        for (i, part) in q.split('"').enumerate() {
            query.highlight.extend(tokens(&mut stem, part));
            if i % 2 == 1 {
                match tokens(&mut exact, part) {
                    words if words.is_empty() => {}
                    words => query.phrases.push(words),
                }
            } else {
                for word in tokens(&mut stem, part) {
                    if !query.words.contains(&word) {
                        query.words.push(word);
                    }
                }
            }
        }
        if query.words.len() + query.phrases.len() > MAX_TERMS {
            return Err(SearchError::invalid("q", &format!("the search text has more than {MAX_TERMS} words and phrases")));
        }
        Ok(query)
    }

    /// No words: the search lists everything the filters let through.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }

    /// The stems to highlight in a prompt.
    pub fn highlight_terms(&self) -> &BTreeSet<String> {
        &self.highlight
    }

    /// The tantivy query of these words (every document when there are none).
    pub fn to_query(&self, fields: &Fields) -> Box<dyn Query> {
        if self.is_empty() {
            return Box::new(AllQuery);
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &self.words {
            clauses.push((Occur::Must, term(Term::from_field_text(fields.text, word))));
        }
        for phrase in &self.phrases {
            let terms: Vec<Term> = phrase.iter().map(|w| Term::from_field_text(fields.text_exact, w)).collect();
            let q: Box<dyn Query> = match terms.as_slice() {
                [one] => term(one.clone()),
                _ => Box::new(PhraseQuery::new(terms)),
            };
            clauses.push((Occur::Must, q));
        }
        if clauses.len() == 1 {
            return clauses.pop().map(|(_, q)| q).unwrap_or_else(|| Box::new(AllQuery));
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

fn term(t: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(t, IndexRecordOption::Basic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_stemmed_phrases_are_kept_and_duplicates_dropped() {
        let q = TextQuery::parse(r#"Running dogs "Red Cars" running, !!"#).unwrap();
        assert_eq!(q.words, ["run", "dog"]);
        assert_eq!(q.phrases, [vec!["red".to_string(), "cars".to_string()]]);
        assert!(q.highlight_terms().contains("car"));
        assert!(TextQuery::parse("  !! ").unwrap().is_empty());
        assert!(TextQuery::parse(r#"open "quote runs"#).unwrap().phrases == [vec!["quote".to_string(), "runs".to_string()]]);
    }

    #[test]
    fn long_or_wordy_queries_are_refused() {
        assert!(TextQuery::parse(&"a".repeat(MAX_QUERY_CHARS + 1)).is_err());
        let many: Vec<String> = (0..=MAX_TERMS).map(|i| format!("w{i}")).collect();
        assert!(TextQuery::parse(&many.join(" ")).is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage_and_the_other_order() {
        let c = Cursor { order: Order::NewestFirst, created_at: 1_700_000_000_123, id: GenerationId::generate() };
        assert_eq!(Cursor::parse(&c.encode(), Order::NewestFirst).unwrap(), c);
        assert!(Cursor::parse(&c.encode(), Order::OldestFirst).is_err());
        assert!(Cursor::parse("not a cursor", Order::NewestFirst).is_err());
        assert!(Cursor::parse("", Order::NewestFirst).is_err());
        assert!(Cursor::parse(&URL_SAFE_NO_PAD.encode([b'n'; 10]), Order::NewestFirst).is_err());
    }
}
