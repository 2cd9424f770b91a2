//! Presets: a model, its parameters, a prompt template with `{placeholders}` and references,
//! saved under a name; generating from one fills its placeholders with plain text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::board::Owner;
use super::catalog::{InputError, Params};
use super::generation::Reference;
use super::ids::{CastId, PresetId, UserId};
use super::time::Timestamp;

/// The longest preset name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest value one placeholder may be filled with, in characters.
pub const MAX_VALUE_CHARS: usize = 1_000;
/// The most placeholders one template may name.
pub const MAX_PLACEHOLDERS: usize = 20;
/// The longest placeholder name, in characters.
pub const MAX_PLACEHOLDER_CHARS: usize = 40;

/// A saved way of generating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preset {
    pub id: PresetId,
    pub owner: Owner,
    /// Who saved it first (for a board's preset: one of its editors).
    pub created_by: UserId,
    pub name: String,
    /// The catalog id.
    pub model: String,
    /// The parameters given when it was saved (defaults and a random seed are chosen at each
    /// generation for the ones left out).
    pub params: Params,
    pub prompt_template: String,
    pub negative_prompt: Option<String>,
    /// Reference uploads by role, as a submit takes them.
    pub references: Vec<Reference>,
    /// Cast members whose images (and voice) become references at each generation.
    pub cast: Vec<CastId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Placeholder(String),
}

/// A prompt template, parsed: literal text and `{name}` placeholders (`{{` and `}}` are
/// literal braces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; an unbalanced brace, an empty or badly named placeholder is a 422 on the
    /// `prompt_template` field saying where.
    pub fn parse(text: &str) -> Result<Template, InputError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        let fail = |at: usize, why: &str| InputError::on("prompt_template", format!("{why} (at character {})", at + 1));
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(fail(at, "a `}` closes no placeholder; write `}}` for a literal brace")),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, n)) if n.is_ascii_alphanumeric() || n == '_' => name.push(n),
                            Some((bad, _)) => {
                                return Err(fail(
                                    bad,
                                    "a placeholder name takes only letters, digits and `_`; write `{{` for a literal brace",
                                ));
                            }
                            None => return Err(fail(at, "a `{` is never closed; write `{{` for a literal brace")),
                        }
                    }
                    if name.is_empty() {
                        return Err(fail(at, "a placeholder `{}` has no name"));
                    }
                    if name.chars().count() > MAX_PLACEHOLDER_CHARS {
                        return Err(fail(at, &format!("a placeholder name is longer than {MAX_PLACEHOLDER_CHARS} characters")));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Placeholder(name));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        let template = Template { pieces };
        if template.placeholders().len() > MAX_PLACEHOLDERS {
            return Err(InputError::on("prompt_template", format!("a template may name at most {MAX_PLACEHOLDERS} placeholders")));
        }
        Ok(template)
    }

    /// The placeholder names, each once, in the order they first appear.
    pub fn placeholders(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Placeholder(name) = piece
                && !names.contains(name)
            {
                names.push(name.clone());
            }
        }
        names
    }

    /// The prompt with every placeholder replaced by its value (plain text, trimmed). A missing
    /// or empty value is a 422 naming the placeholder; so is a value longer than
    /// [`MAX_VALUE_CHARS`] and a value for a name the template does not have.
    pub fn fill(&self, values: &BTreeMap<String, String>) -> Result<String, InputError> {
        let names = self.placeholders();
        if let Some(extra) = values.keys().find(|k| !names.contains(k)) {
            return Err(InputError::on(format!("values.{extra}"), format!("this preset has no placeholder {{{extra}}}")));
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder(name) => {
                    let value = values.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
                    let value =
                        value.ok_or_else(|| InputError::on(format!("values.{name}"), format!("fill in the placeholder {{{name}}}")))?;
                    if value.chars().count() > MAX_VALUE_CHARS {
                        return Err(InputError::on(
                            format!("values.{name}"),
                            format!("the value of {{{name}}} is longer than {MAX_VALUE_CHARS} characters"),
                        ));
                    }
                    if value.chars().any(|c| c.is_control() && c != '\n') {
                        return Err(InputError::on(format!("values.{name}"), format!("the value of {{{name}}} holds control characters")));
                    }
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }
}

/// Checks a preset's name: not blank, at most [`MAX_NAME_CHARS`].
pub fn check_name(name: &str) -> Result<String, InputError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(InputError::on("name", "give the preset a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(InputError::on("name", format!("the name is longer than {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn placeholders_are_named_once_in_order_and_filled() {
        let t = Template::parse("A {animal} on a {place}, {animal} again").unwrap();
        assert_eq!(t.placeholders(), vec!["animal", "place"]);
        let prompt = t.fill(&values(&[("animal", " fox "), ("place", "hill")])).unwrap();
        assert_eq!(prompt, "A fox on a hill, fox again");
    }

    #[test]
    fn doubled_braces_are_literal() {
        let t = Template::parse("{{json}} {x_1}}}").unwrap();
        assert_eq!(t.placeholders(), vec!["x_1"]);
        assert_eq!(t.fill(&values(&[("x_1", "v")])).unwrap(), "{json} v}");
        assert!(Template::parse("no placeholders").unwrap().placeholders().is_empty());
    }

    #[test]
    fn unbalanced_or_bad_templates_say_where() {
        for (text, says) in [
            ("a {open", "never closed"),
            ("a } b", "closes no placeholder"),
            ("a {} b", "no name"),
            ("a {two words}", "letters, digits"),
            ("a {x{y}}", "letters, digits"),
        ] {
            let e = Template::parse(text).unwrap_err();
            assert_eq!(e.field, "prompt_template");
            assert!(e.message.contains(says), "{text}: {}", e.message);
            assert!(e.message.contains("at character"), "{}", e.message);
        }
    }

    #[test]
    fn a_missing_empty_unknown_or_oversized_value_is_refused_by_name() {
        let t = Template::parse("{who} meets {whom}").unwrap();
        let e = t.fill(&values(&[("who", "Ann")])).unwrap_err();
        assert_eq!(e.field, "values.whom");
        assert!(e.message.contains("{whom}"));
        assert_eq!(t.fill(&values(&[("who", "  "), ("whom", "b")])).unwrap_err().field, "values.who");
        assert_eq!(t.fill(&values(&[("who", "a"), ("whom", "b"), ("x", "c")])).unwrap_err().field, "values.x");
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        assert!(t.fill(&values(&[("who", &long), ("whom", "b")])).unwrap_err().message.contains("longer"));
        assert!(t.fill(&values(&[("who", "a\u{7}"), ("whom", "b")])).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Hero shot ").unwrap(), "Hero shot");
        assert!(check_name(" ").is_err());
        assert!(check_name(&"n".repeat(MAX_NAME_CHARS + 1)).is_err());
    }
}
