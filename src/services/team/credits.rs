//! Credits: grants by admins, balances, and the ledger invariant check.

use crate::domain::audit::AuditAction;
use crate::domain::credits::{Balance, CreditError, EntryKind};
use crate::domain::ids::UserId;
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::services::{ServiceError, ServiceResult};
use crate::store::{self, Store};

/// The largest single grant.
pub const MAX_GRANT: i64 = 1_000_000_000;

/// Adds (or with a negative amount, removes) credits.
pub async fn grant(state: &AppState, ctx: &Context, user: UserId, amount: i64, note: Option<String>) -> ServiceResult<Balance> {
    if amount == 0 || !(-MAX_GRANT..=MAX_GRANT).contains(&amount) {
        return Err(ServiceError::Credits(CreditError::OutOfRange));
    }
    let ctx = ctx.clone();
    let lifecycle = state.lifecycle.clone();
    state
        .store
        .write(move |tx| {
            let owner = store::users::get(tx, user)?.ok_or(ServiceError::NotFound("user"))?;
            // credits that jobs in flight have reserved cannot be taken away
            let reserved = i64::try_from(lifecycle.reserved_by(user)).unwrap_or(i64::MAX);
            if amount < 0 && store::credits::balance(tx, user)?.available.saturating_add(amount) < reserved {
                return Err(ServiceError::Credits(CreditError::NegativeBalance));
            }
            let balance = store::credits::post(tx, user, EntryKind::Grant, None, amount, 0, note)?.map_err(ServiceError::Credits)?;
            audit::record(tx, &ctx, AuditAction::CreditsGranted, Some(owner.email.to_string()), Some(format!("{amount:+} credits")))?;
            Ok(balance)
        })
        .await
}

pub async fn balance(state: &AppState, user: UserId) -> ServiceResult<Balance> {
    Ok(state.store.read(move |tx| store::credits::balance(tx, user)).await?)
}

/// Checks that every stored balance equals the sum of its ledger and is not negative.
/// Returns the problems found, in words.
pub async fn verify_ledger(store: &Store) -> ServiceResult<Vec<String>> {
    store
        .read(|tx| {
            let mut problems = Vec::new();
            for (user, balance) in store::credits::all_balances(tx)? {
                let entries = store::credits::entries_for_user(tx, user)?;
                let available: i64 = entries.iter().map(|e| e.available_delta).sum();
                let held: i64 = entries.iter().map(|e| e.held_delta).sum();
                if (available, held) != (balance.available, balance.held) {
                    problems.push(format!(
                        "user {user}: balance is {}/{} (available/held) but the ledger sums to {available}/{held}",
                        balance.available, balance.held
                    ));
                }
                if balance.available < 0 || balance.held < 0 {
                    problems.push(format!("user {user}: negative balance {}/{}", balance.available, balance.held));
                }
            }
            Ok::<_, ServiceError>(problems)
        })
        .await
}

/// A page of `user`'s ledger, newest first, below the entry `before`; the id to continue from.
pub async fn ledger(
    state: &AppState,
    user: UserId,
    before: Option<crate::domain::ids::LedgerId>,
    limit: usize,
) -> ServiceResult<(Vec<crate::domain::credits::LedgerEntry>, Option<crate::domain::ids::LedgerId>)> {
    let (entries, more) = state.store.read(move |tx| store::credits::entries_page(tx, user, before.map(|b| b.to_key()), limit)).await?;
    let next = if more { entries.last().map(|e| e.id) } else { None };
    Ok((entries, next))
}
