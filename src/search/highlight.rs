//! Highlights: a snippet of a prompt, HTML-escaped, with `<mark>` around the words that
//! match the query (any inflection of an unquoted word or a phrase's words).

use std::collections::{BTreeSet, HashMap};

use tantivy::tokenizer::TextAnalyzer;

use super::schema::{exact_analyzer, stemmed_analyzer};

/// Prompts longer than this (in characters) are cut to a window around the first match.
pub const SNIPPET_CHARS: usize = 200;
/// How much text a window keeps before its first match, in characters.
const LEAD_CHARS: usize = 40;

/// Highlights prompts for one query; reuse it for every prompt of a page (it remembers which
/// words matched, so each distinct word is stemmed once).
pub struct Highlighter<'a> {
    stems: &'a BTreeSet<String>,
    words: TextAnalyzer,
    stemmer: TextAnalyzer,
    seen: HashMap<String, bool>,
}

impl<'a> Highlighter<'a> {
    /// For a query whose stems are `stems`.
    pub fn new(stems: &'a BTreeSet<String>) -> Self {
        Highlighter { stems, words: exact_analyzer(), stemmer: stemmed_analyzer(), seen: HashMap::new() }
    }

    /// The HTML snippet of `prompt`: escaped text, matches in `<mark>`, and `…` where the
    /// prompt was cut.
    pub fn highlight(&mut self, prompt: &str) -> String {
        let marks = self.matches(prompt);
        let (start, end) = window(prompt, marks.first().map(|m| m.0));
        let mut out = String::with_capacity(end - start + 32);
        if start > 0 {
            out.push('…');
        }
        let mut at = start;
        for &(from, to) in marks.iter().filter(|(from, to)| *from >= start && *to <= end) {
            escape_into(&mut out, &prompt[at..from]);
            out.push_str("<mark>");
            escape_into(&mut out, &prompt[from..to]);
            out.push_str("</mark>");
            at = to;
        }
        escape_into(&mut out, &prompt[at..end]);
        if end < prompt.len() {
            out.push('…');
        }
        out
    }

    /// Byte ranges of the words of `text` whose stem is one of the query's, in order.
    fn matches(&mut self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.stems.is_empty() {
            return out;
        }
        let (stems, stemmer, seen) = (self.stems, &mut self.stemmer, &mut self.seen);
        let mut stream = self.words.token_stream(text);
        while let Some(token) = stream.next() {
            let hit = match seen.get(&token.text) {
                Some(&hit) => hit,
                // stemming keeps a word's first two letters: most words need no stemming
                None if !stems.iter().any(|s| same_start(s, &token.text)) => false,
                None => {
                    let mut stemmed = stemmer.token_stream(&token.text);
                    let hit = stemmed.next().is_some_and(|t| stems.contains(&t.text));
                    seen.insert(token.text.clone(), hit);
                    hit
                }
            };
            if hit && text.is_char_boundary(token.offset_from) && text.is_char_boundary(token.offset_to) {
                out.push((token.offset_from, token.offset_to));
            }
        }
        out
    }
}

/// Whether two words start with the same two characters (or are both that one character).
fn same_start(a: &str, b: &str) -> bool {
    let start = |w: &str| w.char_indices().nth(2).map_or(w.len(), |(i, _)| i);
    a[..start(a)] == b[..start(b)]
}

/// [`Highlighter::highlight`] of one prompt.
pub fn highlight(prompt: &str, stems: &BTreeSet<String>) -> String {
    Highlighter::new(stems).highlight(prompt)
}

/// The byte range shown: the whole prompt when short, else [`SNIPPET_CHARS`] characters
/// starting a little before `first` (a match), cut at spaces where possible.
fn window(text: &str, first: Option<usize>) -> (usize, usize) {
    if text.chars().count() <= SNIPPET_CHARS {
        return (0, text.len());
    }
    let first = first.unwrap_or(0);
    let lead_start = text[..first].char_indices().rev().nth(LEAD_CHARS - 1).map_or(0, |(i, _)| i);
    let start = if lead_start == 0 { 0 } else { text[lead_start..first].find(' ').map_or(lead_start, |i| lead_start + i + 1) };
    let end = text[start..].char_indices().nth(SNIPPET_CHARS).map_or(text.len(), |(i, _)| start + i);
    let end = if end == text.len() { end } else { text[start..end].rfind(' ').filter(|&i| i > first - start).map_or(end, |i| start + i) };
    (start, end)
}

/// Appends `text` with `& < > " '` escaped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn matches_of_any_inflection_are_marked_and_the_rest_escaped() {
        let html = highlight("A <b>dog</b> runs & Running \"fast\"", &stems(&["run"]));
        assert_eq!(html, "A &lt;b&gt;dog&lt;/b&gt; <mark>runs</mark> &amp; <mark>Running</mark> &quot;fast&quot;");
        assert_eq!(highlight("no match here", &stems(&["cat"])), "no match here");
        assert_eq!(highlight("<script>", &BTreeSet::new()), "&lt;script&gt;");
    }

    #[test]
    fn long_prompts_are_cut_around_the_first_match_on_char_boundaries() {
        let prompt = format!("{} the golden cat sleeps {}", "émoji 🎬 ".repeat(40), "and dreams ".repeat(40));
        let html = highlight(&prompt, &stems(&["cat"]));
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
        assert!(html.contains("golden <mark>cat</mark> sleeps"), "{html}");
        assert!(html.chars().count() <= SNIPPET_CHARS + 2 + "<mark></mark>".len(), "{html}");
        let start = highlight(&prompt, &stems(&["zebra"]));
        assert!(start.starts_with("émoji") && start.ends_with('…'), "{start}");
    }
}
