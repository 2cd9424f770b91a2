//! Reconciliation: per model, what succeeded generations were estimated to cost (their held
//! and charged credits; 1 credit = 1 US cent) against what the provider reported it charged
//! or used, over a period; with CSV exports per model and per generation. This is how a team
//! learns that a price rule is wrong before the provider's invoice arrives.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::generation::{GenState, Generation};
use crate::domain::time::Timestamp;
use crate::services::ServiceResult;
use crate::services::privacy::audit_csv::{cell, line};
use crate::services::state::AppState;
use crate::store;

/// The period a report covers when none is asked for.
pub const DEFAULT_DAYS: u32 = 30;
/// The longest period a report covers.
pub const MAX_DAYS: u32 = 366;
/// The most generations one report reads; past it the report says it is partial.
pub const SCAN_LIMIT: usize = 200_000;
/// The drift, in percent either way, from which a model's price rule deserves a look.
pub const NOTABLE_DRIFT_PERCENT: f64 = 10.0;

const DAY: Duration = Duration::from_secs(86_400);

/// The generations a report covers: those created from `from` to `to`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Period {
    /// The last `days` days up to `now`.
    pub fn last_days(days: u32, now: Timestamp) -> Period {
        Period { from: now.minus(DAY * days), to: now }
    }
}

/// One model's figures over the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelReconciliation {
    /// The catalog id.
    pub model: String,
    /// The model's label and provider kind as the newest generation's snapshot says (empty
    /// for generations made before snapshots were kept).
    pub label: String,
    pub provider_kind: String,
    /// Succeeded generations.
    pub generations: u64,
    /// Those with any report from the provider.
    pub reported: u64,
    /// Those whose report states a cost.
    pub with_cost: u64,
    /// The estimate of every succeeded generation, in credits.
    pub estimate_credits: u64,
    /// The estimate of the generations whose report states a cost, in credits (= cents):
    /// what [`Self::reported_cents`] is compared with.
    pub estimate_with_cost_credits: u64,
    /// What the provider reported it charged, in US cents.
    pub reported_cents: f64,
    /// Reported units per unit ("seconds" → 312.5).
    pub units: BTreeMap<String, f64>,
}

impl ModelReconciliation {
    /// (estimate − reported) / reported in percent, over the generations with a reported
    /// cost: positive when the estimate charged more than the provider, negative when less.
    /// `None` without a reported cost (or one of zero).
    pub fn drift_percent(&self) -> Option<f64> {
        (self.with_cost > 0 && self.reported_cents > 0.0)
            .then(|| (self.estimate_with_cost_credits as f64 - self.reported_cents) / self.reported_cents * 100.0)
    }

    /// Whether the drift is large enough to look at the price rule.
    pub fn drift_is_notable(&self) -> bool {
        self.drift_percent().is_some_and(|d| d.abs() > NOTABLE_DRIFT_PERCENT)
    }

    /// The reported units in words ("312.5 seconds; 8400 tokens").
    pub fn units_text(&self) -> String {
        self.units.iter().map(|(unit, n)| format!("{} {unit}", number(*n))).collect::<Vec<_>>().join("; ")
    }

    fn add(&mut self, g: &Generation) {
        if let Some(made_with) = &g.made_with {
            self.label = made_with.label.clone();
            self.provider_kind = made_with.provider_kind.clone();
        }
        self.generations += 1;
        self.estimate_credits += g.cost;
        let Some(report) = &g.reported else { return };
        self.reported += 1;
        if let Some(cents) = report.cost_cents {
            self.with_cost += 1;
            self.estimate_with_cost_credits += g.cost;
            self.reported_cents += cents;
        }
        if let Some(units) = report.units {
            *self.units.entry(report.unit.clone()).or_default() += units;
        }
    }
}

/// One succeeded generation's estimate and report.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationReconciliation {
    pub id: String,
    pub model: String,
    pub created_at: Timestamp,
    pub estimate_credits: u64,
    pub reported_cents: Option<f64>,
    pub units: Option<f64>,
    pub unit: String,
}

/// A report over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciliation {
    pub period: Period,
    /// Per model, by model id.
    pub models: Vec<ModelReconciliation>,
    /// Per succeeded generation, oldest first.
    pub generations: Vec<GenerationReconciliation>,
    /// More than [`SCAN_LIMIT`] generations were created in the period: the oldest are counted.
    pub partial: bool,
}

/// Reads the report of `period` (succeeded generations only: failed and cancelled ones were
/// not charged). Reads the generations created in the period by their time-ordered ids, at
/// most [`SCAN_LIMIT`] of them.
pub async fn report(state: &AppState, period: Period) -> ServiceResult<Reconciliation> {
    let (found, partial) = state
        .store
        .read(move |tx| {
            let mut found = Vec::new();
            let partial = store::generations::each_created_between(tx, period.from, period.to, SCAN_LIMIT, |g| {
                if g.state == GenState::Succeeded {
                    found.push(g);
                }
            })?;
            Ok::<_, store::StoreError>((found, partial))
        })
        .await?;
    Ok(summarise(period, &found, partial))
}

/// The report of `generations` (succeeded ones, oldest first).
fn summarise(period: Period, generations: &[Generation], partial: bool) -> Reconciliation {
    let mut models: BTreeMap<&str, ModelReconciliation> = BTreeMap::new();
    let mut rows = Vec::with_capacity(generations.len());
    for g in generations {
        models.entry(&g.model).or_insert_with(|| ModelReconciliation { model: g.model.clone(), ..Default::default() }).add(g);
        rows.push(GenerationReconciliation {
            id: g.id.to_string(),
            model: g.model.clone(),
            created_at: g.created_at,
            estimate_credits: g.cost,
            reported_cents: g.reported.as_ref().and_then(|r| r.cost_cents),
            units: g.reported.as_ref().and_then(|r| r.units),
            unit: g.reported.as_ref().map(|r| r.unit.clone()).unwrap_or_default(),
        });
    }
    Reconciliation { period, models: models.into_values().collect(), generations: rows, partial }
}

/// A number for people and CSV: whole numbers without a fraction, others to 4 places at most.
pub fn number(n: f64) -> String {
    let text = format!("{n:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.to_string() }
}

/// One CSV line: `text` cells (formula-safe), then `figures` as written by [`number`] (a
/// negative number stays a number, not text), then more `text`.
fn row(text: &[&str], figures: &[String], after: &[&str]) -> String {
    let mut cells: Vec<String> = text.iter().map(|t| cell(t)).collect();
    cells.extend(figures.iter().map(|f| if f.parse::<f64>().is_ok() { f.clone() } else { cell(f) }));
    cells.extend(after.iter().map(|t| cell(t)));
    let mut out = cells.join(",");
    out.push_str("\r\n");
    out
}

/// The per-model CSV: one row per model (RFC 4180, formula-safe cells).
pub fn models_csv(report: &Reconciliation) -> String {
    let mut out = line([
        "model",
        "label",
        "provider_kind",
        "generations",
        "reported",
        "with_cost",
        "estimate_credits",
        "estimate_credits_with_cost",
        "reported_cents",
        "drift_percent",
        "reported_units",
    ]);
    for m in &report.models {
        let figures = [
            m.generations.to_string(),
            m.reported.to_string(),
            m.with_cost.to_string(),
            m.estimate_credits.to_string(),
            m.estimate_with_cost_credits.to_string(),
            if m.with_cost > 0 { number(m.reported_cents) } else { String::new() },
            m.drift_percent().map(number).unwrap_or_default(),
            m.units_text(),
        ];
        out.push_str(&row(&[&m.model, &m.label, &m.provider_kind], &figures[..7], &[&figures[7]]));
    }
    out
}

/// The per-generation CSV: one row per succeeded generation.
pub fn generations_csv(report: &Reconciliation) -> String {
    let mut out = line(["id", "model", "created", "estimate_credits", "reported_cents", "units", "unit"]);
    for g in &report.generations {
        let figures =
            [g.estimate_credits.to_string(), g.reported_cents.map(number).unwrap_or_default(), g.units.map(number).unwrap_or_default()];
        out.push_str(&row(&[&g.id, &g.model, &g.created_at.rfc3339()], &figures, &[&g.unit]));
    }
    out
}

#[cfg(test)]
mod tests;
