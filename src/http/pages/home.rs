//! The start page of a signed-in person: credits, recent generations, shortcuts.

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::domain::credits::Balance;
use crate::domain::generation::Generation;
use crate::domain::user::{Role, User};
use crate::http::auth::{SignedIn, state};
use crate::http::responses::{PageResult, ok};
use crate::services::team::catalog::{self, Due};
use crate::services::{studio::generations, team::credits};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    user: User,
    is_admin: bool,
    balance: Balance,
    recent: Vec<Generation>,
    /// For admins: models that shut down soon and what still names them.
    due: Vec<Due>,
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let state = state(&req)?;
    let is_admin = who.user.role == Role::Admin;
    let balance = credits::balance(&state, who.user.id).await?;
    let recent = generations::list(&state, who.user.id, None, 6).await?;
    let due = if is_admin { catalog::due(&state).await? } else { Vec::new() };
    ok(&req, &HomePage { layout: Layout::new(&req, Some(&who.user)), user: who.user, is_admin, balance, recent, due })
}
