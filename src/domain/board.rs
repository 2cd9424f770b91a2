//! Boards: who may do what on a team's shared collection, and who owns presets and cast members.

use serde::{Deserialize, Serialize};

use crate::domain::ids::{BoardId, UserId};

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
    fn an_owner_reads_as_kind_and_id() {
        let board = BoardId::generate();
        let json = serde_json::to_value(Owner::Board(board)).unwrap();
        assert_eq!(json["board"], board.to_string());
    }
}
