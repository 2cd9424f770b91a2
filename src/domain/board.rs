//! Boards: who may do what on a team's shared collection, and who owns presets and cast members.

use serde::{Deserialize, Serialize};

use crate::domain::ids::{BoardId, GenerationId, UserId};
use crate::domain::time::Timestamp;

/// The longest board name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest board description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The longest note on an item, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// The most items a board holds.
pub const MAX_ITEMS: usize = 1000;
/// The most members a board has.
pub const MAX_MEMBERS: usize = 100;

/// A team's shared, ordered collection of generations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    pub id: BoardId,
    pub name: String,
    pub description: String,
    /// Who created it (or, after their erasure, the member it passed to).
    pub owner: UserId,
    /// Retention keeps every generation on the board while this is set (an editor's choice).
    pub kept: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A generation on a board, with where it stands and the members' note about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardItem {
    pub generation: GenerationId,
    /// Sort key: items show in ascending position.
    pub position: u64,
    /// Plain text, at most [`MAX_NOTE_CHARS`] characters; empty when none.
    pub note: String,
    pub added_by: UserId,
    pub added_at: Timestamp,
}

/// A board's rule broken by a request: the field and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BoardRuleBroken {
    pub field: &'static str,
    pub message: String,
}

impl BoardRuleBroken {
    /// The rule broken on `field`.
    pub fn on(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// A board's name, trimmed: not empty, at most [`MAX_NAME_CHARS`] characters.
pub fn parse_name(name: &str) -> Result<String, BoardRuleBroken> {
    let name = name.trim();
    if name.is_empty() {
        return Err(BoardRuleBroken::on("name", "give the board a name"));
    }
    bounded("name", name, MAX_NAME_CHARS)
}

/// A board's description, trimmed: at most [`MAX_DESCRIPTION_CHARS`] characters.
pub fn parse_description(description: &str) -> Result<String, BoardRuleBroken> {
    bounded("description", description.trim(), MAX_DESCRIPTION_CHARS)
}

/// A note on an item, trimmed: at most [`MAX_NOTE_CHARS`] characters.
pub fn parse_note(note: &str) -> Result<String, BoardRuleBroken> {
    bounded("note", note.trim(), MAX_NOTE_CHARS)
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<String, BoardRuleBroken> {
    if text.chars().count() > max {
        return Err(BoardRuleBroken::on(field, format!("at most {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(BoardRuleBroken::on(field, "remove the control characters"));
    }
    Ok(text.to_string())
}

/// Whether `order` names exactly the items of `current`, each once (a reorder may not add,
/// drop or repeat items).
pub fn is_permutation(current: &[GenerationId], order: &[GenerationId]) -> bool {
    let mut a = current.to_vec();
    let mut b = order.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a == b && b.windows(2).all(|w| w[0] != w[1])
}

/// A member's right on a board. `Editor` includes everything `Viewer` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardRole {
    /// Sees the board and its items, downloads them.
    Viewer,
    /// Also adds, removes, orders and annotates items, edits the board and its members.
    Editor,
}

impl BoardRole {
    /// Whether this role allows changing the board.
    pub fn can_edit(self) -> bool {
        self == BoardRole::Editor
    }

    /// The wire and form name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardRole::Viewer => "viewer",
            BoardRole::Editor => "editor",
        }
    }
}

/// Who owns a preset or a cast member: one person, or a board (then its editors change it and its
/// members use it).
/// Externally tagged (`{"person": "<id>"}`): the store's encoding (postcard) cannot read
/// adjacently or internally tagged enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// A person's own.
    Person(UserId),
    /// A board's, shared with its members.
    Board(BoardId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_editors_edit() {
        assert!(BoardRole::Editor.can_edit());
        assert!(!BoardRole::Viewer.can_edit());
        assert!(BoardRole::Viewer < BoardRole::Editor);
    }

    #[test]
    fn names_and_notes_are_bounded() {
        assert_eq!(parse_name("  Campaign  ").unwrap(), "Campaign");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(parse_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(parse_description(&"d".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
        assert_eq!(parse_note("line one\nline two").unwrap(), "line one\nline two");
        assert!(parse_note("bell\u{7}").is_err());
        assert!(parse_note(&"n".repeat(MAX_NOTE_CHARS + 1)).is_err());
    }

    #[test]
    fn a_reorder_names_every_item_once() {
        let (a, b, c) = (GenerationId::generate(), GenerationId::generate(), GenerationId::generate());
        assert!(is_permutation(&[a, b, c], &[c, a, b]));
        assert!(!is_permutation(&[a, b, c], &[c, a]));
        assert!(!is_permutation(&[a, b], &[a, a]));
        assert!(!is_permutation(&[a, b], &[a, b, c]));
        assert!(is_permutation(&[], &[]));
    }

    #[test]
    fn an_owner_reads_as_kind_and_id() {
        let board = BoardId::generate();
        let json = serde_json::to_value(Owner::Board(board)).unwrap();
        assert_eq!(json["board"], board.to_string());
    }
}
