//! Allowances and spend limits: the admins' settings, the monthly renewal (idempotent per
//! person and month), the limits a submit is checked against, and where a person stands.

use crate::domain::approval::AllowanceGrant;
use crate::domain::audit::AuditAction;
use crate::domain::credits::EntryKind;
use crate::domain::ids::UserId;
use crate::domain::spending::{LimitBroken, SpendCheck, SpendingSettings};
use crate::domain::time::Timestamp;
use crate::domain::user::{Role, User};
use crate::services::notify::{self, Notice};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// The settings as stored (the defaults until an admin saves some): one small row, read on
/// the calling thread, since every submit asks and a trip to the blocking pool would cost
/// more than the read.
pub async fn settings(state: &AppState) -> ServiceResult<SpendingSettings> {
    Ok(state.store.read_now(store::spending::settings)?)
}

/// Replaces the settings (admins only), after checking every rule and that each person they
/// name has an account; audited with a summary of what changed.
pub async fn save_settings(state: &AppState, ctx: &Context, admin: &User, settings: SpendingSettings) -> ServiceResult<SpendingSettings> {
    if admin.role != Role::Admin {
        return Err(ServiceError::AdminOnly);
    }
    settings.validate().map_err(|e| ServiceError::InvalidMessage(e.to_string()))?;
    let ctx = ctx.clone();
    state
        .store
        .write(move |tx| {
            let named = settings.approvers.iter().chain(settings.person_allowance.keys()).chain(settings.person_daily_limit.keys());
            for user in named {
                if store::users::get(tx, *user)?.is_none() {
                    return Err(ServiceError::InvalidMessage(format!("there is no account with the id {user}")));
                }
            }
            let before = store::spending::settings(tx)?;
            if before == settings {
                return Ok(settings);
            }
            store::spending::put_settings(tx, &settings)?;
            audit::record(tx, &ctx, AuditAction::SpendingSettingsChanged, None, Some(summary(&settings)))?;
            Ok(settings)
        })
        .await
}

/// The settings in a line, for the audit trail.
fn summary(s: &SpendingSettings) -> String {
    let amount = |a: Option<u64>| a.map_or_else(|| "none".to_string(), |a| a.to_string());
    let allowance =
        |a: Option<crate::domain::spending::Allowance>| a.map_or_else(|| "none".into(), |a| format!("{}+{}", a.monthly, a.rollover_cap));
    format!(
        "zone {}; allowance admin {} member {} ({} personal); daily limit admin {} member {} ({} personal, {} models); approval above admin {} member {} ({} models); {} approvers; expiry {} h",
        s.zone,
        allowance(s.allowance.admin),
        allowance(s.allowance.member),
        s.person_allowance.len(),
        amount(s.daily_limit.admin),
        amount(s.daily_limit.member),
        s.person_daily_limit.len(),
        s.model_daily_limit.len(),
        amount(s.approval_above.admin),
        amount(s.approval_above.member),
        s.model_approval_above.len(),
        s.approvers.len(),
        s.approval_expiry_hours
    )
}

/// One person's allowance granted by a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    pub user: UserId,
    pub month: u32,
    pub granted: u64,
}

/// Grants every person with an allowance their allowance for the month that contains `now`
/// (in the settings' zone), unless that month was already granted to them: running it again,
/// after a restart or a missed 1st, grants nothing twice. Each grant is a ledger `Grant`
/// noted "monthly allowance yyyy-mm", recorded under (person, month) and audited in one
/// transaction. Disabled accounts are skipped. Returns what was granted.
pub async fn renew(state: &AppState, now: Timestamp) -> ServiceResult<Vec<Renewed>> {
    let renewed = state
        .store
        .write(move |tx| {
            let settings = store::spending::settings(tx)?;
            let month = settings.month_of(now);
            let mut renewed = Vec::new();
            for user in store::users::list(tx)? {
                let Some(allowance) = settings.allowance_of(user.id, user.role).filter(|_| !user.disabled) else { continue };
                if store::spending::grant(tx, user.id, month.key)?.is_some() {
                    continue;
                }
                let balance = store::credits::balance(tx, user.id)?;
                let granted = allowance.grant_for(balance.available);
                let label = format!("{}-{:02}", month.key / 100, month.key % 100);
                let available_after = if granted > 0 {
                    let amount = i64::try_from(granted).map_err(|_| ServiceError::Internal("allowance out of range".into()))?;
                    let note = Some(format!("monthly allowance {label}"));
                    store::credits::post(tx, user.id, EntryKind::Grant, None, amount, 0, note)?.map_err(ServiceError::Credits)?.available
                } else {
                    balance.available
                };
                let record = AllowanceGrant {
                    at: now,
                    month: month.key,
                    monthly: allowance.monthly,
                    rollover_cap: allowance.rollover_cap,
                    granted,
                    available_after,
                };
                store::spending::put_grant(tx, user.id, &record)?;
                let detail =
                    format!("{granted:+} credits, allowance {} for {label} (rollover cap {})", allowance.monthly, allowance.rollover_cap);
                audit::record(tx, &Context::system(), AuditAction::AllowanceGranted, Some(user.email.to_string()), Some(detail))?;
                renewed.push(Renewed { user: user.id, month: month.key, granted });
            }
            Ok::<_, ServiceError>(renewed)
        })
        .await?;
    for r in renewed.iter().filter(|r| r.granted > 0) {
        notify::send(state, Notice::AllowanceRenewed { user: r.user, granted: i64::try_from(r.granted).unwrap_or(i64::MAX) });
    }
    Ok(renewed)
}

/// The daily limits a submit of `model` by `user` is checked against at `now` (`None`: none).
pub fn spend_check(settings: &SpendingSettings, user: &User, model: &str, now: Timestamp) -> Option<SpendCheck> {
    let daily = settings.daily_limit_of(user.id, user.role);
    let model_daily = settings.model_daily_limit.get(model).copied();
    if daily.is_none() && model_daily.is_none() {
        return None;
    }
    let day = settings.day_of(now);
    Some(SpendCheck { day_start: day.start, day_end: day.end, daily, model_daily })
}

/// A refusal in words: the limit, what was spent, and when it resets (in UTC, and how long
/// from `now`).
pub fn limit_message(broken: &LimitBroken, now: Timestamp) -> String {
    let which = broken.model.as_ref().map_or_else(String::new, |m| format!(" on {m}"));
    let minutes = (broken.resets_at.millis() - now.millis()).max(0).div_euclid(60_000);
    format!(
        "your daily limit of {} credits{which} is reached ({} spent today); it resets at {} (in {} h {} min)",
        broken.limit,
        broken.spent,
        broken.resets_at.human(),
        minutes / 60,
        minutes % 60
    )
}

/// Where a person stands this month and today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// This month's allowance, when they have one.
    pub allowance: Option<MonthStanding>,
    /// Their daily limit, when they have one.
    pub daily: Option<DayStanding>,
    /// Their spend today on each model with a daily limit.
    pub models: Vec<(String, DayStanding)>,
    /// The zone months and days are counted in.
    pub zone: String,
}

/// "This month: 420 of 1,000 left · renews on 1 January".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthStanding {
    pub monthly: u64,
    pub rollover_cap: u64,
    /// Credits available now.
    pub left: i64,
    /// Credits available right after this month's renewal (the allowance until it ran).
    pub of: i64,
    /// Whether this month's allowance was granted yet.
    pub granted: bool,
    pub renews_at: Timestamp,
}

/// Spend today against a daily limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStanding {
    pub limit: u64,
    pub spent: u64,
    pub resets_at: Timestamp,
}

/// Where `user` stands at `now`: this month's allowance and today's spend against each limit.
pub async fn standing(state: &AppState, user: &User, now: Timestamp) -> ServiceResult<Standing> {
    let (id, role) = (user.id, user.role);
    state
        .store
        .read(move |tx| {
            let settings = store::spending::settings(tx)?;
            let month = settings.month_of(now);
            let day = settings.day_of(now);
            let allowance = match settings.allowance_of(id, role) {
                Some(a) => {
                    let available = store::credits::balance(tx, id)?.available;
                    let grant = store::spending::grant(tx, id, month.key)?;
                    Some(MonthStanding {
                        monthly: a.monthly,
                        rollover_cap: a.rollover_cap,
                        left: available,
                        of: grant.as_ref().map_or(i64::try_from(a.monthly).unwrap_or(i64::MAX), |g| g.available_after),
                        granted: grant.is_some(),
                        renews_at: month.end,
                    })
                }
                None => None,
            };
            let committed = store::spending::committed_since(tx, id, day.start)?;
            let spent: u64 = committed.values().sum();
            let daily = settings.daily_limit_of(id, role).map(|limit| DayStanding { limit, spent, resets_at: day.end });
            let mut models = Vec::new();
            if !settings.model_daily_limit.is_empty() {
                let ids: Vec<_> = committed.keys().copied().collect();
                let found = store::generations::get_many(tx, &ids)?;
                for (model, &limit) in &settings.model_daily_limit {
                    let spent = found
                        .iter()
                        .zip(committed.values())
                        .filter(|(g, _)| g.as_ref().is_some_and(|g| &g.model == model))
                        .map(|(_, c)| c)
                        .sum();
                    models.push((model.clone(), DayStanding { limit, spent, resets_at: day.end }));
                }
            }
            Ok::<_, ServiceError>(Standing { allowance, daily, models, zone: settings.zone.clone() })
        })
        .await
}
