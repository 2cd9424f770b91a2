//! Boards: membership rules, what members see through a board, items and their order,
//! retention of kept boards, the ZIP, generating into a board; over the API and the services.

use std::time::Duration;

use reelvault::domain::board::BoardRole;
use reelvault::domain::ids::{BoardId, GenerationId};
use reelvault::domain::user::{Email, User};
use reelvault::services::studio::boards;

use crate::library::make_image;
use crate::support::{ADMIN_EMAIL, Browser, TestApp, app_with_credits};

const TESS: &str = "tess@example.com";

/// The account with this e-mail, as the services take it.
fn user(app: &TestApp, email: &str) -> User {
    let email = Email::parse(email).unwrap();
    app.running.state.store.read_now(|tx| reelvault::store::users::find_by_email(tx, &email)).unwrap().expect("the account")
}

/// A member's browser and API token.
async fn member_with_token(app: &TestApp, admin: &Browser, email: &str) -> (Browser, String) {
    let b = app.invite_member(admin, email, "member password 1").await;
    let token = b.post_form("/account/tokens", &[("name", "tests"), ("expires", "30")]).await.text_of("#new-token");
    (b, token)
}

#[tokio::test]
async fn boards_service_roles_items_and_creation() {
    let (app, admin, token) = app_with_credits(Duration::from_millis(10), 100).await;
    member_with_token(&app, &admin, TESS).await;
    let state = &app.running.state;
    let (ada, tess) = (user(&app, ADMIN_EMAIL), user(&app, TESS));
    let board = boards::create(state, &ada, "Campaign".into(), "spring shots".into()).await.unwrap();
    assert_eq!(boards::role(state, &ada, board.id).await.unwrap(), BoardRole::Editor);
    assert!(boards::role(state, &tess, board.id).await.is_err(), "not a member");
    assert!(boards::role(state, &ada, BoardId::generate()).await.is_err(), "no such board");
    assert!(boards::create(state, &ada, "  ".into(), String::new()).await.is_err(), "a name is needed");

    let first: GenerationId = make_image(&app, &token, "a red kite").await.parse().unwrap();
    let second: GenerationId = make_image(&app, &token, "a blue kite").await.parse().unwrap();
    boards::add_items(state, &ada, board.id, vec![first, second]).await.unwrap();
    boards::add_items(state, &ada, board.id, vec![second, first]).await.unwrap();
    let view = boards::get(state, &ada, board.id).await.unwrap();
    assert_eq!(view.items.iter().map(|i| i.generation.id).collect::<Vec<_>>(), vec![first, second], "added once each, in order");

    // a viewer sees the items, may not add; a stranger's generation cannot be added
    boards::add_member(state, &reelvault::services::privacy::audit::Context::cli(), &ada, board.id, TESS.into(), BoardRole::Viewer)
        .await
        .unwrap();
    assert_eq!(boards::role(state, &tess, board.id).await.unwrap(), BoardRole::Viewer);
    assert_eq!(boards::get(state, &tess, board.id).await.unwrap().items.len(), 2);
    assert!(boards::add_items(state, &tess, board.id, vec![first]).await.is_err());
    let own = boards::create(state, &tess, "Mine".into(), String::new()).await.unwrap();
    boards::add_items(state, &tess, own.id, vec![first]).await.expect("seen through the shared board");
    assert!(boards::add_items(state, &tess, own.id, vec![GenerationId::generate()]).await.is_err());
}
