//! The start page of a signed-in person.

use actix_web::HttpRequest;
use askama::Template;

use super::layout::Layout;
use crate::domain::user::{Role, User};
use crate::http::auth::SignedIn;
use crate::http::responses::{PageResult, ok};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    user: User,
    is_admin: bool,
}

pub async fn show(req: HttpRequest, who: SignedIn) -> PageResult {
    let is_admin = who.user.role == Role::Admin;
    ok(
        &req,
        &HomePage {
            layout: Layout::new(&req, Some(&who.user)),
            user: who.user,
            is_admin,
        },
    )
}
