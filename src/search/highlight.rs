//! Highlights: a snippet of a prompt, HTML-escaped, with `<mark>` around the words that
//! match the query (any inflection of an unquoted word or a phrase's words).

use std::collections::{BTreeSet, HashMap};

use tantivy::tokenizer::TextAnalyzer;

use super::schema::stemmed_analyzer;

/// Prompts longer than this (in characters) are cut to a window around the first match.
pub const SNIPPET_CHARS: usize = 200;
/// How much text a window keeps before its first match, in characters.
const LEAD_CHARS: usize = 40;

/// Highlights prompts for one query; reuse it for every prompt of a page (it remembers which
/// words matched, so each distinct word is stemmed once).
pub struct Highlighter<'a> {
    stems: &'a BTreeSet<String>,
    /// The first two characters of each stem: stemming keeps a word's first two letters, so a
    /// word that starts otherwise cannot match and needs no stemming.
    starts: Vec<&'a str>,
    stemmer: TextAnalyzer,
    seen: HashMap<String, bool>,
}

impl<'a> Highlighter<'a> {
    /// For a query whose stems are `stems`.
    pub fn new(stems: &'a BTreeSet<String>) -> Self {
        let mut starts: Vec<&str> = stems.iter().map(|s| &s[..start(s)]).collect();
        starts.dedup();
        Highlighter { stems, starts, stemmer: stemmed_analyzer(), seen: HashMap::new() }
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

    /// Byte ranges of the words of `text` whose stem is one of the query's, in order. Words
    /// are split as the index splits them (runs of letters and digits).
    fn matches(&mut self, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.stems.is_empty() {
            return out;
        }
        for (from, word, ascii) in words(text) {
            // an ASCII word folds to its lower case: most are ruled out by their first letters
            if ascii && !self.starts.iter().any(|s| starts_ascii_word(s, word)) {
                continue;
            }
            if self.stem_matches(word) {
                out.push((from, from + word.len()));
            }
        }
        out
    }

    /// Whether `word`, analysed as the index analyses prompts, has one of the query's stems.
    fn stem_matches(&mut self, word: &str) -> bool {
        if let Some(&hit) = self.seen.get(word) {
            return hit;
        }
        let mut stemmed = self.stemmer.token_stream(word);
        let hit = stemmed.next().is_some_and(|t| self.stems.contains(&t.text));
        self.seen.insert(word.to_string(), hit);
        hit
    }
}

/// The words of `text` with their byte offsets and whether they are ASCII: maximal runs of
/// alphanumeric characters, as tantivy's `SimpleTokenizer` splits.
fn words(text: &str) -> impl Iterator<Item = (usize, &str, bool)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let (mut is_word, mut len) = (false, 0);
        while at < text.len() {
            (is_word, len) = char_at(text, at);
            if is_word {
                break;
            }
            at += len;
        }
        if !is_word {
            return None;
        }
        let (from, mut ascii) = (at, true);
        while at < text.len() && is_word {
            ascii &= len == 1;
            at += len;
            (is_word, len) = if at < text.len() { char_at(text, at) } else { (false, 0) };
        }
        Some((from, &text[from..at], ascii))
    })
}

/// Whether the character at byte `at` (a boundary) of `text` is alphanumeric, and its length.
fn char_at(text: &str, at: usize) -> (bool, usize) {
    match text.as_bytes()[at] {
        b if b.is_ascii() => (b.is_ascii_alphanumeric(), 1),
        _ => text[at..].chars().next().map_or((false, 1), |c| (c.is_alphanumeric(), c.len_utf8())),
    }
}

/// The byte length of a word's first two characters (or of the word, when shorter).
fn start(word: &str) -> usize {
    word.char_indices().nth(2).map_or(word.len(), |(i, _)| i)
}

/// Whether the ASCII `word`, lower-cased, starts with `start` as [`start`] cuts words.
fn starts_ascii_word(start: &str, word: &str) -> bool {
    let n = word.len().min(2);
    start.len() == n && start.as_bytes().eq_ignore_ascii_case(&word.as_bytes()[..n])
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
    let mut at = 0;
    for (i, c) in text.match_indices(['&', '<', '>', '"', '\'']) {
        out.push_str(&text[at..i]);
        out.push_str(match c {
            "&" => "&amp;",
            "<" => "&lt;",
            ">" => "&gt;",
            "\"" => "&quot;",
            _ => "&#39;",
        });
        at = i + c.len();
    }
    out.push_str(&text[at..]);
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
    fn words_split_as_the_index_splits_and_fold_before_matching() {
        let html = highlight("Café-cafes, CAFÉ's 2cats cat_s Ünïcode!", &stems(&["cafe", "cat", "unicod"]));
        assert_eq!(html, "<mark>Café</mark>-<mark>cafes</mark>, <mark>CAFÉ</mark>&#39;s 2cats <mark>cat</mark>_s <mark>Ünïcode</mark>!");
        assert_eq!(highlight("a an as", &stems(&["a"])), "<mark>a</mark> an as");
        let long = "x".repeat(45);
        assert_eq!(
            highlight(&format!("{long} xx"), &stems(&["xx"])),
            format!("{long} <mark>xx</mark>"),
            "words of 40 bytes or more are not indexed"
        );
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
