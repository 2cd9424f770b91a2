//! The admin's "getting started" list on the home page: four steps of setting up a studio,
//! each ticked off by what the instance holds (not by a click), shown until all are done.

use crate::domain::credits::EntryKind;
use crate::domain::generation::GenState;
use crate::domain::time::Timestamp;
use crate::domain::user::User;
use crate::services::ServiceResult;
use crate::services::state::AppState;
use crate::store;

/// One step and whether it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// A stable name (the page's element ids, the tests).
    pub key: &'static str,
    pub done: bool,
}

/// The steps in the order they are best taken: try the demo (free, works offline), connect a
/// provider, invite the team, grant them credits. Once all were seen done, the instance
/// remembers it and answers no steps from then on (the list is not worked out again).
pub async fn steps(state: &AppState, admin: &User) -> ServiceResult<Vec<Step>> {
    if state.store.read_now(store::meta::studio_set_up)? {
        return Ok(Vec::new());
    }
    let registry = state.registry();
    // a connection serving a model that is not a demo
    let provider =
        registry.connections().any(|c| registry.models_of(&c.config.name).iter().any(|id| registry.model(id).is_some_and(|m| !m.demo)));
    let demo_models: Vec<String> = registry.models().iter().filter(|m| m.demo).map(|m| m.id.clone()).collect();
    let admin_id = admin.id;
    let (tried, invited, granted) = state
        .store
        .read(move |tx| {
            // the admin's latest jobs: a first demo is among them while this list matters
            let recent = store::generations::list_for_owner(tx, admin_id, None, 200)?;
            let tried = recent.iter().any(|g| g.state == GenState::Succeeded && demo_models.contains(&g.model));
            let users = store::users::list(tx)?;
            let invited = users.len() > 1 || store::links::any_open_invitation(tx, Timestamp::now())?;
            let mut granted = false;
            for user in users.iter().filter(|u| u.id != admin_id) {
                if store::credits::entries_for_user(tx, user.id)?.iter().any(|e| e.kind == EntryKind::Grant) {
                    granted = true;
                    break;
                }
            }
            Ok::<_, crate::services::ServiceError>((tried, invited, granted))
        })
        .await?;
    let steps = vec![
        Step { key: "demo", done: tried },
        Step { key: "provider", done: provider },
        Step { key: "team", done: invited },
        Step { key: "credits", done: granted },
    ];
    if steps.iter().all(|s| s.done) {
        state.store.write(store::meta::set_studio_set_up).await?;
        return Ok(Vec::new());
    }
    Ok(steps)
}
