//! Team spending rules: monthly allowances with a rollover cap, daily spend limits (per person
//! and per model) and the price above which a job waits for an approver, with their arithmetic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids::UserId;
use super::time::Timestamp;
use super::user::Role;

/// How long an unanswered approval request waits before it expires, unless an admin says.
pub const DEFAULT_APPROVAL_EXPIRY_HOURS: u32 = 72;

/// The longest an approval request may wait (90 days).
pub const MAX_APPROVAL_EXPIRY_HOURS: u32 = 90 * 24;

/// The largest amount any rule may name.
pub const MAX_AMOUNT: u64 = 1_000_000_000;

/// A value for each role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerRole<T> {
    pub admin: T,
    pub member: T,
}

impl<T> PerRole<T> {
    /// The value for `role`.
    pub fn of(&self, role: Role) -> &T {
        match role {
            Role::Admin => &self.admin,
            Role::Member => &self.member,
        }
    }
}

/// Credits granted each month, and how many unused credits may carry over into the next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub monthly: u64,
    pub rollover_cap: u64,
}

impl Allowance {
    /// What the renewal grants to a person with `available` credits: enough to bring them to
    /// `available + monthly`, but never above `monthly + rollover_cap` (unused credits carry
    /// over up to the cap), and never a removal (a person above that keeps what they have and
    /// is granted nothing). Held credits are not counted: they belong to running jobs.
    pub fn grant_for(self, available: i64) -> u64 {
        let ceiling = i128::from(self.monthly) + i128::from(self.rollover_cap);
        let target = (i128::from(available) + i128::from(self.monthly)).min(ceiling);
        u64::try_from((target - i128::from(available)).max(0)).unwrap_or(0)
    }
}

/// The spending rules of the instance, edited by admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendingSettings {
    /// The IANA zone whose months and days the rules count in ("UTC").
    pub zone: String,
    /// Monthly allowance by role (`None`: no allowance, credits only as admins grant them).
    pub allowance: PerRole<Option<Allowance>>,
    /// Per-person allowances, which replace their role's.
    pub person_allowance: BTreeMap<UserId, Allowance>,
    /// Credits a person may spend a day, by role (`None`: no limit).
    pub daily_limit: PerRole<Option<u64>>,
    /// Per-person daily limits, which replace their role's.
    pub person_daily_limit: BTreeMap<UserId, u64>,
    /// Credits a person may spend a day on one model.
    pub model_daily_limit: BTreeMap<String, u64>,
    /// A job costing more than this waits for an approver, by role (`None`: never).
    pub approval_above: PerRole<Option<u64>>,
    /// A job of this model costing more than this waits for an approver (the lower of the
    /// role's and the model's threshold applies).
    pub model_approval_above: BTreeMap<String, u64>,
    /// People who may answer approval requests besides the admins.
    pub approvers: Vec<UserId>,
    /// How long a request waits for an answer before it expires and its hold is released.
    pub approval_expiry_hours: u32,
}

impl Default for SpendingSettings {
    fn default() -> Self {
        SpendingSettings {
            zone: "UTC".to_string(),
            allowance: PerRole::default(),
            person_allowance: BTreeMap::new(),
            daily_limit: PerRole::default(),
            person_daily_limit: BTreeMap::new(),
            model_daily_limit: BTreeMap::new(),
            approval_above: PerRole::default(),
            model_approval_above: BTreeMap::new(),
            approvers: Vec::new(),
            approval_expiry_hours: DEFAULT_APPROVAL_EXPIRY_HOURS,
        }
    }
}

/// Why settings cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("there is no time zone called {0:?}")]
    UnknownZone(String),
    #[error("amounts must be between 0 and 1000000000")]
    OutOfRange,
    #[error("the approval expiry must be between 1 and 2160 hours")]
    Expiry,
}

impl SpendingSettings {
    /// Checks every rule; the first broken one is the error.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if jiff::tz::TimeZone::get(&self.zone).is_err() {
            return Err(SettingsError::UnknownZone(self.zone.clone()));
        }
        if !(1..=MAX_APPROVAL_EXPIRY_HOURS).contains(&self.approval_expiry_hours) {
            return Err(SettingsError::Expiry);
        }
        let allowances = [self.allowance.admin, self.allowance.member].into_iter().flatten().chain(self.person_allowance.values().copied());
        let mut amounts: Vec<u64> = allowances.flat_map(|a| [a.monthly, a.rollover_cap]).collect();
        amounts.extend(
            [self.daily_limit.admin, self.daily_limit.member, self.approval_above.admin, self.approval_above.member].into_iter().flatten(),
        );
        amounts.extend(self.person_daily_limit.values().chain(self.model_daily_limit.values()).chain(self.model_approval_above.values()));
        if amounts.iter().any(|&a| a > MAX_AMOUNT) {
            return Err(SettingsError::OutOfRange);
        }
        Ok(())
    }

    /// The allowance of a person with `role`: their own, else their role's.
    pub fn allowance_of(&self, user: UserId, role: Role) -> Option<Allowance> {
        self.person_allowance.get(&user).copied().or(*self.allowance.of(role)).filter(|a| a.monthly > 0)
    }

    /// The daily limit of a person: their own, else their role's.
    pub fn daily_limit_of(&self, user: UserId, role: Role) -> Option<u64> {
        self.person_daily_limit.get(&user).copied().or(*self.daily_limit.of(role))
    }

    /// The price above which a job of `model` by a person with `role` waits for an approver:
    /// the lower of the role's and the model's thresholds.
    pub fn approval_threshold(&self, role: Role, model: &str) -> Option<u64> {
        [*self.approval_above.of(role), self.model_approval_above.get(model).copied()].into_iter().flatten().min()
    }

    /// Whether `user` (with `role`) may answer approval requests.
    pub fn is_approver(&self, user: UserId, role: Role) -> bool {
        role == Role::Admin || self.approvers.contains(&user)
    }

    /// The zone the rules count in (UTC when the stored name is unknown).
    pub fn tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// The day that contains `at` in the rules' zone.
    pub fn day_of(&self, at: Timestamp) -> Window {
        window(&self.tz(), at, jiff::Unit::Day)
    }

    /// The month that contains `at` in the rules' zone.
    pub fn month_of(&self, at: Timestamp) -> Window {
        window(&self.tz(), at, jiff::Unit::Month)
    }
}

/// A calendar day or month in a zone: from its start (inclusive) to its end (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
    /// The month as `yyyymm` (a month) or the day as `yyyymmdd` (a day): the key a renewal is
    /// recorded under.
    pub key: u32,
}

fn window(tz: &jiff::tz::TimeZone, at: Timestamp, unit: jiff::Unit) -> Window {
    let instant = jiff::Timestamp::from_millisecond(at.millis()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let zoned = instant.to_zoned(tz.clone());
    let date = zoned.date();
    let (first, next, key) = match unit {
        jiff::Unit::Month => {
            let first = date.first_of_month();
            let key = u32::try_from(i32::from(date.year()) * 100 + i32::from(date.month())).unwrap_or(0);
            (first, first.checked_add(jiff::Span::new().months(1)).unwrap_or(first), key)
        }
        _ => {
            let key = u32::try_from(i32::from(date.year()) * 10_000 + i32::from(date.month()) * 100 + i32::from(date.day())).unwrap_or(0);
            (date, date.tomorrow().unwrap_or(date), key)
        }
    };
    let start_of = |d: jiff::civil::Date| d.to_zoned(tz.clone()).map(|z| Timestamp(z.timestamp().as_millisecond())).unwrap_or(at);
    Window { start: start_of(first), end: start_of(next), key }
}

/// A limit a submit would break: the limit, what is already spent in its day, and when it
/// resets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitBroken {
    /// `None` for the person's daily limit, the model for a per-model one.
    pub model: Option<String>,
    pub limit: u64,
    pub spent: u64,
    pub resets_at: Timestamp,
}

/// The limits a submit is checked against, in the transaction that holds its credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendCheck {
    /// The start and end of the day being counted.
    pub day_start: Timestamp,
    pub day_end: Timestamp,
    /// The person's daily limit.
    pub daily: Option<u64>,
    /// The daily limit on the submitted model.
    pub model_daily: Option<u64>,
}

impl SpendCheck {
    /// Whether spending `cost` more, after `spent` today (`spent_on_model` of it on the
    /// model), stays within the limits; the first limit broken otherwise.
    pub fn check(&self, model: &str, cost: u64, spent: u64, spent_on_model: u64) -> Result<(), LimitBroken> {
        let broken = |limit: u64, spent: u64, model: Option<String>| LimitBroken { model, limit, spent, resets_at: self.day_end };
        if let Some(limit) = self.daily
            && spent.saturating_add(cost) > limit
        {
            return Err(broken(limit, spent, None));
        }
        if let Some(limit) = self.model_daily
            && spent_on_model.saturating_add(cost) > limit
        {
            return Err(broken(limit, spent_on_model, Some(model.to_string())));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn rollover_carries_unused_credits_up_to_the_cap_and_never_removes() {
        let a = Allowance { monthly: 1000, rollover_cap: 200 };
        assert_eq!(a.grant_for(0), 1000, "nothing left: the whole allowance");
        assert_eq!(a.grant_for(150), 1000, "150 carried over, within the cap");
        assert_eq!(a.grant_for(200), 1000, "exactly the cap");
        assert_eq!(a.grant_for(420), 780, "only 200 of the 420 carry over: 1,200 in all");
        assert_eq!(a.grant_for(5000), 0, "an admin's grant above the ceiling is kept, nothing added");
        assert_eq!(Allowance { monthly: 1000, rollover_cap: 0 }.grant_for(300), 700, "no rollover: back to the allowance");
    }

    #[test]
    fn months_and_days_are_counted_in_the_zone() {
        let mut s = SpendingSettings::default();
        let m = s.month_of(at("2026-12-31T23:30:00Z"));
        assert_eq!((m.start, m.end, m.key), (at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), 202612));
        s.zone = "Asia/Tokyo".into();
        let m = s.month_of(at("2026-12-31T23:30:00Z"));
        assert_eq!((m.start, m.key), (at("2026-12-31T15:00:00Z"), 202701), "already January in Tokyo");
        let d = s.day_of(at("2026-12-07T16:00:00Z"));
        assert_eq!((d.start, d.end), (at("2026-12-07T15:00:00Z"), at("2026-12-08T15:00:00Z")));
    }

    #[test]
    fn the_lower_threshold_applies_and_limits_name_what_broke() {
        let mut s = SpendingSettings::default();
        s.approval_above.member = Some(100);
        s.model_approval_above.insert("demo-video".into(), 20);
        assert_eq!(s.approval_threshold(Role::Member, "demo-video"), Some(20));
        assert_eq!(s.approval_threshold(Role::Member, "demo-image"), Some(100));
        assert_eq!(s.approval_threshold(Role::Admin, "demo-image"), None);
        let check = SpendCheck { day_start: Timestamp(0), day_end: Timestamp(10), daily: Some(10), model_daily: Some(4) };
        assert_eq!(check.check("m", 3, 7, 0), Ok(()));
        assert_eq!(check.check("m", 4, 7, 0).unwrap_err().limit, 10);
        assert_eq!(check.check("m", 2, 2, 3).unwrap_err().model.as_deref(), Some("m"));
    }
}
