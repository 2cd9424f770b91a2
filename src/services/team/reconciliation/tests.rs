//! Tests of the reconciliation figures and their CSV.

use super::*;
use crate::domain::generation::ProviderUsage;
use crate::domain::ids::{GenerationId, UserId};

fn succeeded(model: &str, cost: u64, reported: Option<ProviderUsage>) -> Generation {
    let json = serde_json::json!({
        "id": GenerationId::generate(), "owner": UserId::generate(), "model": model, "kind": "image", "connection": "c",
        "prompt": "p", "negative_prompt": null, "params": {}, "references": [], "state": "succeeded",
        "reason": null, "progress": null, "cost": cost, "created_at": 1_800_000_000_000i64, "updated_at": 1, "submitted_at": null,
        "finished_at": null, "deadline_at": 2, "upstream": null, "pending_outputs": [], "outputs": [],
        "cancel_requested": false, "kept": false, "shared": false, "legal_hold": false,
        "upstream_deleted_at": null, "deleted_at": null, "made_with": null, "reported": reported
    });
    serde_json::from_value(json).unwrap()
}

fn cents(cents: f64) -> Option<ProviderUsage> {
    Some(ProviderUsage { cost_cents: Some(cents), units: None, unit: "megapixels".into() })
}

fn seconds(n: f64) -> Option<ProviderUsage> {
    Some(ProviderUsage { cost_cents: None, units: Some(n), unit: "seconds".into() })
}

fn period() -> Period {
    Period::last_days(30, Timestamp(1_800_000_000_000))
}

#[test]
fn drift_compares_the_estimate_with_what_was_reported_for_the_same_generations() {
    let generations = [
        succeeded("flux", 4, cents(5.0)),
        succeeded("flux", 4, cents(5.0)),
        succeeded("flux", 4, None),
        succeeded("video", 100, seconds(12.5)),
        succeeded("video", 100, seconds(7.5)),
    ];
    let report = summarise(period(), &generations, false);
    let [flux, video] = report.models.as_slice() else { panic!("{:?}", report.models) };
    assert_eq!((flux.generations, flux.reported, flux.with_cost, flux.estimate_credits), (3, 2, 2, 12));
    assert_eq!(flux.estimate_with_cost_credits, 8);
    assert_eq!(flux.reported_cents, 10.0);
    assert_eq!(flux.drift_percent(), Some(-20.0), "8 credits held against 10 cents billed: 20 % under");
    assert!(flux.drift_is_notable());
    assert_eq!(video.drift_percent(), None, "units without a cost give no drift");
    assert!(!video.drift_is_notable());
    assert_eq!(video.units_text(), "20 seconds");
    assert_eq!(report.generations.len(), 5);
}

#[test]
fn a_small_drift_is_not_notable() {
    let report = summarise(period(), &[succeeded("flux", 105, cents(100.0))], false);
    assert_eq!(report.models[0].drift_percent(), Some(5.0));
    assert!(!report.models[0].drift_is_notable());
}

#[test]
fn the_csvs_have_one_row_per_model_and_per_generation_and_defuse_formulas() {
    let generations = [succeeded("=HYPERLINK(\"x\")", 4, cents(5.0)), succeeded("=HYPERLINK(\"x\")", 4, seconds(1.25))];
    let report = summarise(period(), &generations, false);
    let models = models_csv(&report);
    let lines: Vec<&str> = models.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{models}");
    assert!(lines[0].starts_with("model,label,provider_kind,generations,"));
    assert!(lines[1].starts_with("\"'=HYPERLINK(\"\"x\"\")\",,,2,2,1,8,4,5,-20,1.25 seconds"), "{}", lines[1]);

    let rows = generations_csv(&report);
    let lines: Vec<&str> = rows.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], "id,model,created,estimate_credits,reported_cents,units,unit");
    assert!(lines[1].ends_with(",4,5,,megapixels"), "{}", lines[1]);
    assert!(lines[2].ends_with(",4,,1.25,seconds"), "{}", lines[2]);
}

#[test]
fn numbers_are_short() {
    assert_eq!(number(5.0), "5");
    assert_eq!(number(-20.0), "-20");
    assert_eq!(number(1.0 / 3.0), "0.3333");
    assert_eq!(number(0.0), "0");
}
