//! Admins' model policy: which roles may use each model, per-person allow or deny overrides,
//! and price overrides. Every change is stored and audited in one transaction.

use std::sync::Arc;

use crate::domain::audit::AuditAction;
use crate::domain::catalog::{ModelSpec, Price};
use crate::domain::ids::UserId;
use crate::domain::model_policy::{Access, ModelPolicy, parse_credits};
use crate::domain::time::Timestamp;
use crate::domain::user::Email;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult, studio::models};
use crate::store;

/// A person's override as the admin page lists it.
#[derive(Debug, Clone)]
pub struct PersonOverride {
    pub user: UserId,
    pub email: String,
    pub access: Access,
}

/// One model as the admin page lists it.
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub spec: Arc<ModelSpec>,
    pub connection: Option<String>,
    /// Why no connection can serve it, when none does.
    pub unserved: Option<String>,
    pub policy: ModelPolicy,
    pub people: Vec<PersonOverride>,
    pub price: Price,
}

/// Every catalog model with its policy (the default where none is stored), in catalog order.
pub async fn rows(state: &AppState) -> ServiceResult<Vec<PolicyRow>> {
    let policies = models::policies(state).await?;
    let users = state.store.read(store::users::list).await?;
    let email_of =
        |id: &UserId| users.iter().find(|u| u.id == *id).map_or_else(|| format!("(deleted account {id})"), |u| u.email.to_string());
    let registry = state.registry();
    Ok(registry
        .models()
        .iter()
        .map(|spec| {
            let served = registry.availability(spec);
            let policy = policies.get(&spec.id).cloned().unwrap_or_else(|| ModelPolicy::new(&spec.id));
            let mut people: Vec<PersonOverride> =
                policy.people.iter().map(|(id, access)| PersonOverride { user: *id, email: email_of(id), access: *access }).collect();
            people.sort_by(|a, b| a.email.cmp(&b.email));
            PolicyRow {
                connection: served.as_ref().ok().map(|c| c.to_string()),
                unserved: served.err(),
                price: policy.price(&spec.price),
                spec: spec.clone(),
                policy,
                people,
            }
        })
        .collect())
}

/// What the save button of one row sends.
#[derive(Debug, Clone, Default)]
pub struct RowChange {
    pub enabled_for_admins: bool,
    pub enabled_for_members: bool,
    /// The price field as typed: empty for the catalog price.
    pub credits: String,
}

/// The catalog model called `id`.
fn spec(state: &AppState, id: &str) -> ServiceResult<Arc<ModelSpec>> {
    state.registry().model(id).cloned().ok_or(ServiceError::NotFound("model"))
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Saves a row: roles and price, recording an audit event for each that changed.
pub async fn save(state: &AppState, ctx: &Context, id: &str, change: RowChange) -> ServiceResult<ModelPolicy> {
    let spec = spec(state, id)?;
    let credits = parse_credits(&change.credits)?;
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let before = store::model_policies::get(tx, &spec.id)?.unwrap_or_else(|| ModelPolicy::new(&spec.id));
            let mut after = before.clone();
            after.enabled_for_admins = change.enabled_for_admins;
            after.enabled_for_members = change.enabled_for_members;
            after.credits = credits;
            if after == before {
                return Ok(after);
            }
            after.updated_at = Timestamp::now();
            store::model_policies::put(tx, &after)?;
            let target = Some(spec.id.to_string());
            if (after.enabled_for_admins, after.enabled_for_members) != (before.enabled_for_admins, before.enabled_for_members) {
                let detail = format!("admins: {}, members: {}", on_off(after.enabled_for_admins), on_off(after.enabled_for_members));
                audit::record(tx, &ctx, AuditAction::ModelRolesChanged, target.clone(), Some(detail))?;
            }
            if after.credits != before.credits {
                let detail = match after.credits {
                    Some(_) => format!("{} (was {})", after.price(&spec.price), before.price(&spec.price)),
                    None => format!("the catalog price, {} (was {})", spec.price, before.price(&spec.price)),
                };
                audit::record(tx, &ctx, AuditAction::ModelPriceChanged, target, Some(detail))?;
            }
            Ok(after)
        })
        .await
}

/// Allows or denies the model to the account with `email`, whatever its role says.
pub async fn set_override(state: &AppState, ctx: &Context, id: &str, email: &str, access: Access) -> ServiceResult<()> {
    let spec = spec(state, id)?;
    let email = Email::parse(email)?;
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let user = store::users::find_by_email(tx, &email)?
                .ok_or_else(|| ServiceError::InvalidMessage(format!("there is no account with the email {email}")))?;
            let mut policy = store::model_policies::get(tx, &spec.id)?.unwrap_or_else(|| ModelPolicy::new(&spec.id));
            if policy.people.get(&user.id) == Some(&access) {
                return Ok(());
            }
            policy.people.insert(user.id, access);
            policy.updated_at = Timestamp::now();
            store::model_policies::put(tx, &policy)?;
            let detail = format!("{}: {}", user.email, access.as_str());
            audit::record(tx, &ctx, AuditAction::ModelOverrideSet, Some(spec.id.to_string()), Some(detail))?;
            Ok(())
        })
        .await
}

/// Removes a person's override: the role's setting applies to them again.
pub async fn remove_override(state: &AppState, ctx: &Context, id: &str, user: UserId) -> ServiceResult<()> {
    let spec = spec(state, id)?;
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let mut policy = store::model_policies::get(tx, &spec.id)?.ok_or(ServiceError::NotFound("override"))?;
            policy.people.remove(&user).ok_or(ServiceError::NotFound("override"))?;
            policy.updated_at = Timestamp::now();
            store::model_policies::put(tx, &policy)?;
            let who = store::users::get(tx, user)?.map_or_else(|| user.to_string(), |u| u.email.to_string());
            audit::record(tx, &ctx, AuditAction::ModelOverrideRemoved, Some(spec.id.to_string()), Some(who))?;
            Ok(())
        })
        .await
}
