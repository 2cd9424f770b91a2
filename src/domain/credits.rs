//! Credits: an append-only ledger per user and the balance it sums to.
//! Invariant: available + held = the sum of the ledger, and neither is ever negative.

use serde::{Deserialize, Serialize};

use super::ids::{GenerationId, LedgerId, UserId};
use super::time::Timestamp;

/// What moved credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An admin added (or, negative, removed) credits.
    Grant,
    /// A job started: available -> held.
    Hold,
    /// A job's output is stored: held -> spent.
    Settle,
    /// A job failed, timed out or was cancelled: held -> available.
    Release,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Grant => "grant",
            EntryKind::Hold => "hold",
            EntryKind::Settle => "settle",
            EntryKind::Release => "release",
        }
    }
}

/// One ledger entry, with the change it made to each side of the balance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: LedgerId,
    pub user: UserId,
    pub at: Timestamp,
    pub kind: EntryKind,
    pub generation: Option<GenerationId>,
    pub available_delta: i64,
    pub held_delta: i64,
    pub note: Option<String>,
}

/// A user's credits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub available: i64,
    pub held: i64,
}

/// Why credits could not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditError {
    #[error("not enough credits: this costs {needed} and {available} are available")]
    Insufficient { needed: u64, available: i64 },
    #[error("a grant would make the balance negative")]
    NegativeBalance,
    #[error("credit amounts must be between -1000000000 and 1000000000")]
    OutOfRange,
}

impl Balance {
    /// Applies a ledger entry's deltas, refusing any result below zero.
    pub fn apply(self, available_delta: i64, held_delta: i64) -> Result<Balance, CreditError> {
        let available = self.available.checked_add(available_delta).ok_or(CreditError::OutOfRange)?;
        let held = self.held.checked_add(held_delta).ok_or(CreditError::OutOfRange)?;
        if available < 0 || held < 0 {
            return Err(CreditError::NegativeBalance);
        }
        Ok(Balance { available, held })
    }

    /// The deltas of holding `cost` for a job, or why it cannot be held.
    pub fn hold(self, cost: u64) -> Result<(i64, i64), CreditError> {
        let cost = i64::try_from(cost).map_err(|_| CreditError::OutOfRange)?;
        if self.available < cost {
            return Err(CreditError::Insufficient { needed: cost as u64, available: self.available });
        }
        Ok((-cost, cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balances_never_go_negative() {
        let b = Balance { available: 5, held: 0 };
        assert_eq!(b.hold(6), Err(CreditError::Insufficient { needed: 6, available: 5 }));
        let (a, h) = b.hold(5).unwrap();
        let held = b.apply(a, h).unwrap();
        assert_eq!(held, Balance { available: 0, held: 5 });
        assert_eq!(held.apply(0, -6), Err(CreditError::NegativeBalance));
        assert_eq!(held.apply(5, -5).unwrap(), Balance { available: 5, held: 0 });
    }
}
