//! A person's preferences: read with every session check, changed on the Account page
//! (audited), part of their data export, gone with their account.

use crate::domain::audit::AuditAction;
use crate::domain::preferences::{Lang, Preferences};
use crate::domain::user::User;
use crate::services::ServiceResult;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::store;

/// A person's preferences (defaults when they never changed one).
pub async fn get(state: &AppState, person: &User) -> ServiceResult<Preferences> {
    let id = person.id;
    Ok(state.store.read(move |tx| store::preferences::get(tx, id)).await?)
}

/// Sets the language of a person's pages and the time zone of their dates (an IANA name the
/// caller has checked); `None` follows their browser again.
pub async fn set_language(
    state: &AppState,
    ctx: &Context,
    person: &User,
    language: Option<Lang>,
    time_zone: Option<String>,
) -> ServiceResult<Preferences> {
    let (ctx, id, email) = (ctx.clone(), person.id, person.email.to_string());
    state
        .store
        .write(move |tx| {
            let mut preferences = store::preferences::get(tx, id)?;
            if preferences.language != language || preferences.time_zone != time_zone {
                let shown = format!(
                    "language: {}, time zone: {}",
                    language.map_or("browser", Lang::code),
                    time_zone.as_deref().unwrap_or("browser")
                );
                preferences.language = language;
                preferences.time_zone = time_zone;
                store::preferences::put(tx, id, &preferences)?;
                audit::record(tx, &ctx, AuditAction::ProfileChanged, Some(email), Some(shown))?;
            }
            Ok(preferences)
        })
        .await
}
