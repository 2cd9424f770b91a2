//! Usage: where the credits went over a range of days (in the reader's time zone): spent
//! (succeeded, settled generations) by day, model, provider and person; failures by provider
//! and reason; the estimate against what providers reported. Admins see everyone (or one
//! person); members see only themselves. Read with one bounded scan of the generations
//! created in the range (their ids are time-ordered), never touching media.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::generation::{GenState, Generation};
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;
use crate::domain::user::{Role, User};
use crate::i18n::Zone;
use crate::services::privacy::audit_csv::{cell, line};
use crate::services::state::AppState;
use crate::services::team::reconciliation::{MAX_DAYS, SCAN_LIMIT, number};
use crate::services::{ServiceError, ServiceResult};
use crate::store;

/// The days a report covers when none are asked for.
pub const DEFAULT_DAYS: i64 = 30;

/// A range of whole days in a time zone, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: time::Date,
    pub to: time::Date,
    pub zone: &'static Zone,
}

impl DayRange {
    /// The last [`DEFAULT_DAYS`] days up to today in `zone`.
    pub fn recent(zone: &'static Zone, now: Timestamp) -> DayRange {
        let to = zone.date_of(now);
        DayRange { from: to - time::Duration::days(DEFAULT_DAYS - 1), to, zone }
    }

    /// `from`..=`to`; refuses a reversed range or one longer than 366 days.
    pub fn new(from: time::Date, to: time::Date, zone: &'static Zone) -> Result<DayRange, &'static str> {
        if to < from {
            return Err("to must not be before from.");
        }
        if (to - from).whole_days() >= i64::from(MAX_DAYS) {
            return Err("A range is at most 366 days.");
        }
        Ok(DayRange { from, to, zone })
    }

    /// Every day of the range, oldest first.
    pub fn days(&self) -> Vec<time::Date> {
        let mut out = Vec::new();
        let mut day = self.from;
        while day <= self.to {
            out.push(day);
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        out
    }

    /// UTC instants that surely hold the range whatever the zone's offset (±14 h); the scan
    /// then keeps the generations whose local day is in the range.
    fn scan_bounds(&self) -> (Timestamp, Timestamp) {
        let margin = Duration::from_secs(15 * 3600);
        let at = |d: time::Date| Timestamp(d.midnight().assume_utc().unix_timestamp() * 1000);
        (at(self.from).minus(margin), at(self.to).plus(Duration::from_secs(86_400)).plus(margin))
    }
}

/// Whose usage a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everyone,
    Person(UserId),
}

/// Credits and generations under one key (a model, a provider, a person).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spent {
    pub key: String,
    /// For people: their name (or address); for models: the label; else the key.
    pub label: String,
    pub generations: u64,
    pub credits: u64,
}

/// Failed generations of one provider for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failures {
    pub provider: String,
    pub reason: String,
    pub count: u64,
}

/// A model's estimate against what its provider reported, over the generations with a
/// reported cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    pub model: String,
    pub generations: u64,
    pub estimate_credits: u64,
    pub reported_cents: f64,
}

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub range: DayRange,
    pub scope: Scope,
    /// Credits spent on each day of the range (zeros included), oldest first.
    pub by_day: Vec<(time::Date, u64)>,
    pub by_model: Vec<Spent>,
    pub by_provider: Vec<Spent>,
    pub by_person: Vec<Spent>,
    pub failures: Vec<Failures>,
    pub estimates: Vec<Estimate>,
    pub total_credits: u64,
    pub total_generations: u64,
    /// More generations were created in the range than one report reads: the oldest count.
    pub partial: bool,
}

/// The scope `viewer` may see when asking for `person` (everyone when `None`): members only
/// themselves (asking for someone else is refused), admins anyone.
pub fn scope_for(viewer: &User, person: Option<UserId>) -> ServiceResult<Scope> {
    match (viewer.role, person) {
        (Role::Admin, None) => Ok(Scope::Everyone),
        (Role::Admin, Some(p)) => Ok(Scope::Person(p)),
        (_, Some(p)) if p != viewer.id => Err(ServiceError::AdminOnly),
        _ => Ok(Scope::Person(viewer.id)),
    }
}

/// Reads the report of `range` for `scope`.
pub async fn report(state: &AppState, range: DayRange, scope: Scope) -> ServiceResult<Usage> {
    let (from, to) = range.scan_bounds();
    let (generations, names, partial) = state
        .store
        .read(move |tx| {
            let mut found = Vec::new();
            let partial = store::generations::each_created_between(tx, from, to, SCAN_LIMIT, |g| {
                let mine = match scope {
                    Scope::Everyone => true,
                    Scope::Person(p) => g.owner == p,
                };
                if mine && matches!(g.state, GenState::Succeeded | GenState::Failed) {
                    found.push(g);
                }
            })?;
            let names: BTreeMap<UserId, String> = store::users::list(tx)?
                .into_iter()
                .map(|u| (u.id, if u.name.trim().is_empty() { u.email.to_string() } else { format!("{} <{}>", u.name, u.email) }))
                .collect();
            Ok::<_, store::StoreError>((found, names, partial))
        })
        .await?;
    Ok(summarise(range, scope, &generations, &names, partial))
}

fn provider_of(g: &Generation) -> String {
    g.made_with.as_ref().map_or_else(|| g.connection.clone(), |m| m.provider.clone())
}

fn summarise(range: DayRange, scope: Scope, generations: &[Generation], names: &BTreeMap<UserId, String>, partial: bool) -> Usage {
    let mut by_day: BTreeMap<time::Date, u64> = range.days().into_iter().map(|d| (d, 0)).collect();
    let (mut by_model, mut by_provider, mut by_person) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut failures: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut estimates: BTreeMap<String, Estimate> = BTreeMap::new();
    let (mut total_credits, mut total_generations) = (0, 0);
    let add = |map: &mut BTreeMap<String, Spent>, key: String, label: String, credits: u64| {
        let entry = map.entry(key.clone()).or_insert_with(|| Spent { key, label, ..Spent::default() });
        entry.generations += 1;
        entry.credits += credits;
    };
    for g in generations {
        let day = range.zone.date_of(g.created_at);
        let Some(spent_that_day) = by_day.get_mut(&day) else { continue };
        if g.state == GenState::Failed {
            let reason = g.reason.as_ref().map_or_else(|| "unknown".to_string(), |r| r.code.clone());
            *failures.entry((provider_of(g), reason)).or_default() += 1;
            continue;
        }
        *spent_that_day += g.cost;
        total_credits += g.cost;
        total_generations += 1;
        let label = g.made_with.as_ref().map_or_else(|| g.model.clone(), |m| m.label.clone());
        add(&mut by_model, g.model.clone(), label, g.cost);
        let provider = provider_of(g);
        add(&mut by_provider, provider.clone(), provider, g.cost);
        let person = names.get(&g.owner).cloned().unwrap_or_else(|| g.owner.to_string());
        add(&mut by_person, g.owner.to_string(), person, g.cost);
        if let Some(cents) = g.reported.as_ref().and_then(|r| r.cost_cents) {
            let e = estimates.entry(g.model.clone()).or_insert_with(|| Estimate { model: g.model.clone(), ..Estimate::default() });
            e.generations += 1;
            e.estimate_credits += g.cost;
            e.reported_cents += cents;
        }
    }
    let ranked = |map: BTreeMap<String, Spent>| {
        let mut rows: Vec<Spent> = map.into_values().collect();
        rows.sort_by(|a, b| b.credits.cmp(&a.credits).then_with(|| a.key.cmp(&b.key)));
        rows
    };
    let mut failures: Vec<Failures> =
        failures.into_iter().map(|((provider, reason), count)| Failures { provider, reason, count }).collect();
    failures.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| (&a.provider, &a.reason).cmp(&(&b.provider, &b.reason))));
    Usage {
        range,
        scope,
        by_day: by_day.into_iter().collect(),
        by_model: ranked(by_model),
        by_provider: ranked(by_provider),
        by_person: ranked(by_person),
        failures,
        estimates: estimates.into_values().collect(),
        total_credits,
        total_generations,
        partial,
    }
}

/// What a CSV export lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Day,
    Model,
    Provider,
    Person,
    Failure,
}

impl Group {
    /// The group named in `?group=` (`day` when empty).
    pub fn parse(text: &str) -> Option<Group> {
        Some(match text.trim() {
            "" | "day" => Group::Day,
            "model" => Group::Model,
            "provider" => Group::Provider,
            "person" => Group::Person,
            "failure" => Group::Failure,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Group::Day => "day",
            Group::Model => "model",
            Group::Provider => "provider",
            Group::Person => "person",
            Group::Failure => "failure",
        }
    }
}

/// The rows of one group as CSV (RFC 4180, formula-safe cells).
pub fn csv(usage: &Usage, group: Group) -> String {
    let mut out = String::new();
    let figures = |cells: &[&str], numbers: &[u64]| {
        let mut row: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        row.extend(numbers.iter().map(u64::to_string));
        format!("{}\r\n", row.join(","))
    };
    let spent = |out: &mut String, rows: &[Spent], key: &str| {
        out.push_str(&line([key, "label", "generations", "credits"]));
        for r in rows {
            out.push_str(&figures(&[&r.key, &r.label], &[r.generations, r.credits]));
        }
    };
    match group {
        Group::Day => {
            out.push_str(&line(["day", "credits"]));
            for (day, credits) in &usage.by_day {
                out.push_str(&figures(&[&day.to_string()], &[*credits]));
            }
        }
        Group::Model => spent(&mut out, &usage.by_model, "model"),
        Group::Provider => spent(&mut out, &usage.by_provider, "provider"),
        Group::Person => spent(&mut out, &usage.by_person, "person"),
        Group::Failure => {
            out.push_str(&line(["provider", "reason", "failures"]));
            for f in &usage.failures {
                out.push_str(&figures(&[&f.provider, &f.reason], &[f.count]));
            }
        }
    }
    out
}

/// An estimate's reported cost in words (cents, up to 4 places).
pub fn cents(e: &Estimate) -> String {
    number(e.reported_cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_and_list_every_day() {
        let zone = Zone::utc();
        let day = |d: u8| time::Date::from_calendar_date(2026, time::Month::January, d).unwrap();
        let range = DayRange::new(day(30), day(31), zone).unwrap();
        assert_eq!(range.days(), vec![day(30), day(31)]);
        assert!(DayRange::new(day(2), day(1), zone).is_err());
        let long = time::Date::from_calendar_date(2027, time::Month::January, 31).unwrap();
        assert!(DayRange::new(day(1), long, zone).is_err());
        assert_eq!(Group::parse(""), Some(Group::Day));
        assert_eq!(Group::parse("person"), Some(Group::Person));
        assert_eq!(Group::parse("x"), None);
    }

    #[test]
    fn the_csv_defuses_formulas() {
        let usage = Usage {
            range: DayRange::recent(Zone::utc(), Timestamp(0)),
            scope: Scope::Everyone,
            by_day: Vec::new(),
            by_model: vec![Spent { key: "=cmd".into(), label: "a, \"b\"".into(), generations: 2, credits: 5 }],
            by_provider: Vec::new(),
            by_person: Vec::new(),
            failures: Vec::new(),
            estimates: Vec::new(),
            total_credits: 5,
            total_generations: 2,
            partial: false,
        };
        let text = csv(&usage, Group::Model);
        assert_eq!(text, "model,label,generations,credits\r\n'=cmd,\"a, \"\"b\"\"\",2,5\r\n");
    }
}
