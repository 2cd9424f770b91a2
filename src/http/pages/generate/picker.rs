//! The model picker's entries: each model with its price, what it takes and its warnings.

use crate::domain::catalog::{CatalogDate, ModelSpec, Sound};
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
    pub sound: &'static str,
    /// The lifecycle warning (deprecated, shutting down), when there is one today.
    pub warning: Option<String>,
}

impl Choice {
    /// `offer` as the picker shows it on `day`.
    pub fn of(offer: &Offer, day: CatalogDate) -> Choice {
        let spec: &ModelSpec = &offer.spec;
        let label = if spec.demo { format!("{} (demo)", spec.label) } else { spec.label.to_string() };
        let takes: Vec<String> = spec
            .inputs
            .iter()
            .map(|i| {
                let name = i.role.label().to_lowercase();
                if i.required { format!("{name} (required)") } else { name }
            })
            .collect();
        let sound = match spec.sound {
            Sound::None => "",
            Sound::Always => "sound",
            Sound::Optional => "sound optional",
        };
        Choice {
            id: spec.id.clone(),
            label,
            price: offer.price.to_string(),
            takes: takes.join(", "),
            sound,
            warning: spec.lifecycle.warning(day),
        }
    }

    /// The whole entry on one line, for a `<option>`.
    pub fn line(&self) -> String {
        let mut parts = vec![self.label.clone(), self.price.clone()];
        if !self.takes.is_empty() {
            parts.push(format!("takes {}", self.takes));
        }
        if !self.sound.is_empty() {
            parts.push(self.sound.to_string());
        }
        if self.warning.is_some() {
            parts.push("⚠ deprecated".to_string());
        }
        parts.join(" · ")
    }
}
