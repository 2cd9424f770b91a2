//! The model picker's entries: each model with its price, what it takes and its warnings.

use crate::domain::catalog::{CatalogDate, ModelSpec};
use crate::i18n::Tr;
use crate::services::studio::models::Offer;

/// One model as the picker and the compare list show it.
pub struct Choice {
    pub id: String,
    /// Its name, marked when it is a demo model.
    pub label: String,
    /// Its effective price, in words ("6 credits per video").
    pub price: String,
    /// What it takes besides the prompt ("first frame, reference image"), empty for none.
    pub takes: String,
    /// Whether its outputs have sound ("sound", "sound optional"), empty when silent.
    pub sound: String,
    /// The lifecycle warning (deprecated, shutting down), when there is one today.
    pub warning: Option<String>,
    /// "⚠ deprecated" in the page's language, for the one-line form.
    deprecated: String,
    /// What it takes, in a sentence ("takes first frame"), for the one-line form.
    takes_line: String,
}

impl Choice {
    /// `offer` as the picker shows it on `day`, in the language of `tr`.
    pub fn of(offer: &Offer, day: CatalogDate, tr: &Tr) -> Choice {
        let spec: &ModelSpec = &offer.spec;
        let label = if spec.demo { tr.t_args("picker-demo", &[("label", spec.label.to_string().into())]) } else { spec.label.to_string() };
        let takes: Vec<String> = spec
            .inputs
            .iter()
            .map(|i| {
                let role = tr.reference_role(i.role);
                if i.required { tr.t_args("models-required-role", &[("role", role.into())]) } else { role }
            })
            .collect();
        let takes = takes.join(tr.t("list-separator").as_str());
        let takes_line = if takes.is_empty() { String::new() } else { tr.t_args("generate-takes", &[("inputs", takes.clone().into())]) };
        Choice {
            id: spec.id.clone(),
            label,
            price: tr.price(&offer.price),
            takes,
            takes_line,
            sound: tr.sound(spec.sound),
            warning: tr.lifecycle_warning(&spec.lifecycle, day),
            deprecated: tr.t("picker-deprecated"),
        }
    }

    /// The whole entry on one line, for a `<option>`.
    pub fn line(&self) -> String {
        let mut parts = vec![self.label.clone(), self.price.clone()];
        if !self.takes_line.is_empty() {
            parts.push(self.takes_line.clone());
        }
        if !self.sound.is_empty() {
            parts.push(self.sound.clone());
        }
        if self.warning.is_some() {
            parts.push(self.deprecated.clone());
        }
        parts.join(" · ")
    }
}
