//! Who may use and who may change what a person or a board owns (presets, cast members):
//! a person their own; a board's members use its things and its editors change them.

use crate::domain::board::{BoardRole, Owner};
use crate::domain::ids::BoardId;
use crate::domain::user::User;
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};

/// What the caller may do with one owner's things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Generate with it (a board's viewer).
    Use,
    /// Also edit and delete it (its person, a board's editor).
    Change,
}

impl Access {
    pub fn can_change(self) -> bool {
        self == Access::Change
    }
}

/// The caller's access to things of `owner`; `NotFound(what)` when they have none (someone
/// else's, or a board they are not a member of), so ids of others reveal nothing.
pub async fn access(state: &AppState, user: &User, owner: Owner, what: &'static str) -> ServiceResult<Access> {
    match owner {
        Owner::Person(id) if id == user.id => Ok(Access::Change),
        Owner::Person(_) => Err(ServiceError::NotFound(what)),
        Owner::Board(board) => match board_role(state, user, board).await {
            Ok(role) if role.can_edit() => Ok(Access::Change),
            Ok(_) => Ok(Access::Use),
            Err(ServiceError::NotFound(_)) => Err(ServiceError::NotFound(what)),
            Err(e) => Err(e),
        },
    }
}

/// The caller's access to things of `owner`, which must allow changing them: a board's viewer
/// is refused with 403 naming what they may not change.
pub async fn ensure_can_change(state: &AppState, user: &User, owner: Owner, what: &'static str) -> ServiceResult<()> {
    if access(state, user, owner, what).await?.can_change() { Ok(()) } else { Err(ServiceError::NotEditor) }
}

/// The caller's role on `board` (`NotFound` when they are not a member).
async fn board_role(state: &AppState, user: &User, board: BoardId) -> ServiceResult<BoardRole> {
    crate::services::studio::boards::role(state, user, board).await
}
