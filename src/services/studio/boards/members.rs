//! A board's members: adding people of the instance by e-mail or name, changing roles,
//! removing and leaving. At least one editor always remains; every change is audited.

use crate::domain::audit::AuditAction;
use crate::domain::board::{BoardRole, BoardRuleBroken, MAX_MEMBERS};
use crate::domain::ids::{BoardId, UserId};
use crate::domain::user::{Email, User};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Tx};

use super::{editor_in, role_in, touch};

/// A member as the board shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: UserId,
    pub name: String,
    pub email: String,
    pub role: BoardRole,
}

/// The board's members with their names, editors first, then by name.
pub(super) fn members_in(tx: &impl Tx, board: BoardId) -> ServiceResult<Vec<Member>> {
    let mut out = Vec::new();
    for (id, role) in store::boards::members(tx, board)? {
        if let Some(u) = store::users::get(tx, id)? {
            out.push(Member { user: id, name: u.name, email: u.email.as_str().to_string(), role });
        }
    }
    out.sort_by(|a, b| b.role.cmp(&a.role).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
    Ok(out)
}

/// The members of a board `user` is a member of.
pub async fn members(state: &AppState, user: &User, board: BoardId) -> ServiceResult<Vec<Member>> {
    let who = user.id;
    state
        .store
        .read(move |tx| {
            role_in(tx, board, who)?;
            members_in(tx, board)
        })
        .await
}

/// The person of the instance `who` names: an e-mail address, or a name only one person has.
fn find_person(tx: &impl Tx, who: &str) -> ServiceResult<User> {
    let who = who.trim();
    if who.contains('@') {
        let email = Email::parse(who).map_err(|_| BoardRuleBroken::on("person", "enter an e-mail address or a name"))?;
        return store::users::find_by_email(tx, &email)?.filter(|u| !u.disabled).ok_or(ServiceError::NotFound("person"));
    }
    if who.is_empty() {
        return Err(BoardRuleBroken::on("person", "enter an e-mail address or a name").into());
    }
    let wanted = who.to_lowercase();
    let mut named: Vec<User> = store::users::list(tx)?.into_iter().filter(|u| !u.disabled && u.name.to_lowercase() == wanted).collect();
    match named.len() {
        0 => Err(ServiceError::NotFound("person")),
        1 => Ok(named.remove(0)),
        _ => Err(BoardRuleBroken::on("person", "several people have this name; enter their e-mail address").into()),
    }
}

/// Makes the person `who` names a member with `role` (editors); a member already keeps their
/// place and gets `role`.
pub async fn add_member(
    state: &AppState,
    ctx: &Context,
    user: &User,
    board: BoardId,
    who: String,
    role: BoardRole,
) -> ServiceResult<Member> {
    let (me, ctx) = (user.id, ctx.clone());
    state
        .store
        .write(move |tx| {
            editor_in(tx, board, me)?;
            let person = find_person(tx, &who)?;
            let current = store::boards::members(tx, board)?;
            let previous = current.iter().find(|(id, _)| *id == person.id).map(|(_, r)| *r);
            if previous.is_none() && current.len() >= MAX_MEMBERS {
                return Err(BoardRuleBroken::on("person", format!("a board has at most {MAX_MEMBERS} members")).into());
            }
            if previous == Some(BoardRole::Editor) && role == BoardRole::Viewer {
                ensure_another_editor(&current, person.id)?;
            }
            if previous != Some(role) {
                store::boards::set_member(tx, board, person.id, role)?;
                let action = if previous.is_some() { AuditAction::BoardMemberChanged } else { AuditAction::BoardMemberAdded };
                let detail = format!("{} as {}", person.email.as_str(), role.as_str());
                audit::record(tx, &ctx, action, Some(board.to_string()), Some(detail))?;
                touch(tx, board)?;
            }
            Ok(Member { user: person.id, name: person.name, email: person.email.as_str().to_string(), role })
        })
        .await
}

/// Refuses a change that would leave the board without an editor.
fn ensure_another_editor(members: &[(UserId, BoardRole)], leaving: UserId) -> ServiceResult<()> {
    if members.iter().any(|(id, r)| *id != leaving && r.can_edit()) {
        Ok(())
    } else {
        Err(BoardRuleBroken::on("role", "a board keeps at least one editor; make someone else an editor first, or delete the board").into())
    }
}

/// Changes a member's role (editors).
pub async fn set_role(state: &AppState, ctx: &Context, user: &User, board: BoardId, member: UserId, role: BoardRole) -> ServiceResult<()> {
    let (me, ctx) = (user.id, ctx.clone());
    state
        .store
        .write(move |tx| {
            editor_in(tx, board, me)?;
            let current = store::boards::members(tx, board)?;
            let previous = current.iter().find(|(id, _)| *id == member).map(|(_, r)| *r).ok_or(ServiceError::NotFound("member"))?;
            if previous == role {
                return Ok(());
            }
            if role == BoardRole::Viewer {
                ensure_another_editor(&current, member)?;
            }
            store::boards::set_member(tx, board, member, role)?;
            let detail = format!("{member} as {}", role.as_str());
            audit::record(tx, &ctx, AuditAction::BoardMemberChanged, Some(board.to_string()), Some(detail))?;
            touch(tx, board)?;
            Ok(())
        })
        .await
}

/// Ends a membership: any member may leave; editors may remove others. The last editor
/// cannot go (the board would have nobody to change it).
pub async fn leave_or_remove(state: &AppState, ctx: &Context, user: &User, board: BoardId, member: UserId) -> ServiceResult<()> {
    let (me, ctx) = (user.id, ctx.clone());
    state
        .store
        .write(move |tx| {
            if member == me {
                role_in(tx, board, me)?;
            } else {
                editor_in(tx, board, me)?;
            }
            let current = store::boards::members(tx, board)?;
            let role = current.iter().find(|(id, _)| *id == member).map(|(_, r)| *r).ok_or(ServiceError::NotFound("member"))?;
            if role.can_edit() {
                ensure_another_editor(&current, member)?;
            }
            store::boards::remove_member(tx, board, member)?;
            audit::record(tx, &ctx, AuditAction::BoardMemberRemoved, Some(board.to_string()), Some(member.to_string()))?;
            touch(tx, board)?;
            Ok(())
        })
        .await
}

/// Takes an erased person off every board (inside the erasure's transaction): their
/// memberships end (their generations left the boards when they were removed); a board left without an editor passes to its
/// remaining member with the oldest account (made editor and owner), and one left without members
/// is deleted.
pub fn forget_person(tx: &redb::WriteTransaction, person: UserId) -> ServiceResult<()> {
    for (board, _) in store::boards::boards_of(tx, person)? {
        store::boards::remove_member(tx, board, person)?;
        let left = store::boards::members(tx, board)?;
        if left.is_empty() {
            store::boards::remove(tx, board)?;
            continue;
        }
        let Some(mut b) = store::boards::get(tx, board)? else { continue };
        if !left.iter().any(|(_, r)| r.can_edit()) {
            // members are listed by id, and ids are time-ordered: the first is the oldest account
            let heir = left[0].0;
            store::boards::set_member(tx, board, heir, BoardRole::Editor)?;
            b.owner = heir;
        } else if b.owner == person {
            b.owner = left.iter().find(|(_, r)| r.can_edit()).map_or(left[0].0, |(id, _)| *id);
        }
        store::boards::put(tx, &b)?;
    }
    Ok(())
}
