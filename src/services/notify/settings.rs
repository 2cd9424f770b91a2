//! A person's notification settings: read and changed on the Account page (audited), part
//! of their data export, gone with their account.

use crate::domain::audit::AuditAction;
use crate::domain::notify::{LONG_JOB_MAX_MINUTES, NotifySettings};
use crate::domain::user::{InvalidInput, User};
use crate::services::ServiceResult;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::store;

/// A person's notification settings (all off when they never set one).
pub async fn get(state: &AppState, person: &User) -> ServiceResult<NotifySettings> {
    let id = person.id;
    Ok(state.store.read(move |tx| store::notices::settings(tx, id)).await?)
}

/// Sets what a person is e-mailed about; refuses a long-job threshold over a day.
pub async fn set(state: &AppState, ctx: &Context, person: &User, settings: NotifySettings) -> ServiceResult<NotifySettings> {
    if settings.long_job_minutes.is_some_and(|m| m > LONG_JOB_MAX_MINUTES) {
        return Err(InvalidInput("the minutes of a long job must be between 0 and 1440").into());
    }
    let (ctx, id, email) = (ctx.clone(), person.id, person.email.to_string());
    state
        .store
        .write(move |tx| {
            if store::notices::settings(tx, id)? != settings {
                store::notices::put_settings(tx, id, &settings)?;
                let shown = format!(
                    "e-mail when a job longer than N minutes ends: {}",
                    settings.long_job_minutes.map_or_else(|| "off".to_string(), |m| format!("{m} minutes"))
                );
                audit::record(tx, &ctx, AuditAction::ProfileChanged, Some(email), Some(shown))?;
            }
            Ok(settings)
        })
        .await
}
