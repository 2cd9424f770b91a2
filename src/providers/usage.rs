//! What a provider reports a job cost or used, read tolerantly: an absent or odd value gives
//! `None`, never an error, since a report only feeds reconciliation and must not fail a job.
//!
//! Costs reported at submit (BFL's `cost`) are kept in the handle's `data` with [`stash`] and
//! read back at success with [`stashed`], so one mechanism (`UpstreamStatus::Succeeded::usage`)
//! carries every report to the engine.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::domain::generation::ProviderUsage;

/// The handle keys a stashed report is kept under.
const COST_KEY: &str = "reported_cost_cents";
const UNITS_KEY: &str = "reported_units";
const UNIT_KEY: &str = "reported_unit";

/// A non-negative, finite number, given as a JSON number or a numeric string.
pub fn number(value: Option<&Value>) -> Option<f64> {
    let n = match value? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// The number at `path` inside `value` (`["usage", "total_tokens"]`).
pub fn number_at(value: &Value, path: &[&str]) -> Option<f64> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    number(Some(at))
}

/// A report of `units` of `unit`, without a known cost (`None` without units).
pub fn units(units: Option<f64>, unit: &str) -> Option<ProviderUsage> {
    units.map(|units| ProviderUsage { cost_cents: None, units: Some(units), unit: unit.to_string() })
}

/// A report of a cost in US cents, with the units it was billed by where known (`None`
/// when neither is known).
pub fn cost(cost_cents: Option<f64>, units: Option<f64>, unit: &str) -> Option<ProviderUsage> {
    (cost_cents.is_some() || units.is_some()).then(|| ProviderUsage { cost_cents, units, unit: unit.to_string() })
}

/// Keeps `usage` in a handle's `data`, to be reported when the job succeeds.
pub fn stash(data: &mut BTreeMap<String, String>, usage: Option<&ProviderUsage>) {
    let Some(usage) = usage else { return };
    if let Some(cents) = usage.cost_cents {
        data.insert(COST_KEY.into(), cents.to_string());
    }
    if let Some(units) = usage.units {
        data.insert(UNITS_KEY.into(), units.to_string());
    }
    data.insert(UNIT_KEY.into(), usage.unit.clone());
}

/// The report [`stash`] kept in a handle's `data`, if any.
pub fn stashed(data: &BTreeMap<String, String>) -> Option<ProviderUsage> {
    let read = |key: &str| data.get(key).and_then(|v| v.parse::<f64>().ok()).filter(|n| n.is_finite() && *n >= 0.0);
    cost(read(COST_KEY), read(UNITS_KEY), data.get(UNIT_KEY).map(String::as_str).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_are_read_tolerantly() {
        assert_eq!(number(Some(&json!(2.5))), Some(2.5));
        assert_eq!(number(Some(&json!("7"))), Some(7.0));
        assert_eq!(number(Some(&json!(-1))), None);
        assert_eq!(number(Some(&json!("lots"))), None);
        assert_eq!(number(Some(&json!(null))), None);
        assert_eq!(number(Some(&json!({"a": 1}))), None);
        assert_eq!(number(None), None);
        assert_eq!(number_at(&json!({"usage": {"total_tokens": 12}}), &["usage", "total_tokens"]), Some(12.0));
        assert_eq!(number_at(&json!({"usage": null}), &["usage", "total_tokens"]), None);
    }

    #[test]
    fn a_stashed_report_comes_back_as_it_was() {
        let mut data = BTreeMap::new();
        assert_eq!(stashed(&data), None);
        let report = cost(Some(4.5), Some(1.2), "megapixels");
        stash(&mut data, report.as_ref());
        assert_eq!(stashed(&data), report);
        data.insert(COST_KEY.into(), "NaN".into());
        assert_eq!(stashed(&data).and_then(|u| u.cost_cents), None);
    }
}
