//! What each provider API does with what it receives: its terms and privacy policy, the inputs
//! it gets, what it says about retention and training, and any no-store control. Built-in facts
//! (`facts.rs`, with their sources) merged with an admin's `[[data_use]]` entries.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ModelSpec;

mod facts;

/// Whether a provider may train its models on what it receives through its API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingUse {
    /// The provider says it does not train on API inputs.
    No,
    /// The provider's terms allow training on API inputs.
    Yes,
    /// The provider trains unless the account opts out (set `no` in `[[data_use]]` once you have).
    OptOut,
    /// The provider's position was not found; treat it as a possibility.
    Unknown,
}

impl TrainingUse {
    pub const ALL: [TrainingUse; 4] = [TrainingUse::No, TrainingUse::Yes, TrainingUse::OptOut, TrainingUse::Unknown];

    /// The stable name used in config and the API ("no", "yes", "opt_out", "unknown").
    pub fn as_str(self) -> &'static str {
        match self {
            TrainingUse::No => "no",
            TrainingUse::Yes => "yes",
            TrainingUse::OptOut => "opt_out",
            TrainingUse::Unknown => "unknown",
        }
    }

    /// In words for people.
    pub fn label(self) -> &'static str {
        match self {
            TrainingUse::No => "No",
            TrainingUse::Yes => "Yes",
            TrainingUse::OptOut => "Yes, unless the account has opted out",
            TrainingUse::Unknown => "Unknown",
        }
    }

    /// Whether the provider rules training on API inputs out: the only answer that lets a
    /// person who forbids training use its models.
    pub fn rules_out_training(self) -> bool {
        self == TrainingUse::No
    }
}

/// One kind of content a generation sends to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    Prompt,
    NegativePrompt,
    ReferenceImages,
}

impl Input {
    pub fn as_str(self) -> &'static str {
        match self {
            Input::Prompt => "prompt",
            Input::NegativePrompt => "negative_prompt",
            Input::ReferenceImages => "reference_images",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Input::Prompt => "the prompt and the chosen parameters",
            Input::NegativePrompt => "the negative prompt",
            Input::ReferenceImages => "the reference images you attach (re-encoded, with location and camera data removed)",
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The data-use facts of one provider API (one connection kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataUse {
    /// The connection kind ("openai_videos", "gemini", …).
    pub kind: String,
    /// Who runs it, for people ("OpenAI").
    pub provider: String,
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
    /// What a generation may send (a model sends only what it takes: see [`DataUse::receives_for`]).
    pub receives: Vec<Input>,
    /// Anything more about where the content goes ("Replicate passes it to the model's maker").
    pub receives_note: String,
    /// What the provider says about keeping API inputs and outputs, with its source.
    pub retention: String,
    pub training: TrainingUse,
    /// Where the training answer comes from, and its conditions.
    pub training_note: String,
    /// A zero-retention or no-store control the provider offers, if any.
    pub no_store: Option<String>,
    /// Whether an admin's `[[data_use]]` entry changed this entry.
    pub from_config: bool,
}

impl DataUse {
    /// What a generation with `model` sends: the inputs the provider receives that the model takes.
    pub fn receives_for(&self, model: &ModelSpec) -> Vec<Input> {
        self.receives
            .iter()
            .copied()
            .filter(|input| match input {
                Input::Prompt => true,
                Input::NegativePrompt => model.negative_prompt,
                Input::ReferenceImages => !model.inputs.is_empty(),
            })
            .collect()
    }
}

/// An admin's `[[data_use]]` entry: every field but `kind` replaces the built-in one when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataUseOverride {
    pub kind: String,
    pub provider: Option<String>,
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
    pub receives: Option<Vec<Input>>,
    pub receives_note: Option<String>,
    pub retention: Option<String>,
    pub trains_on_inputs: Option<TrainingUse>,
    pub training_note: Option<String>,
    pub no_store: Option<String>,
}

impl DataUseOverride {
    fn apply(&self, entry: &mut DataUse) {
        let text = |given: &Option<String>, field: &mut String| {
            if let Some(value) = given {
                *field = value.trim().to_string();
            }
        };
        text(&self.provider, &mut entry.provider);
        text(&self.receives_note, &mut entry.receives_note);
        text(&self.retention, &mut entry.retention);
        text(&self.training_note, &mut entry.training_note);
        let optional = |given: &Option<String>, field: &mut Option<String>| {
            if let Some(value) = given {
                *field = Some(value.trim().to_string()).filter(|v| !v.is_empty());
            }
        };
        optional(&self.terms_url, &mut entry.terms_url);
        optional(&self.privacy_url, &mut entry.privacy_url);
        optional(&self.no_store, &mut entry.no_store);
        if let Some(receives) = &self.receives {
            let mut receives = receives.clone();
            receives.sort();
            receives.dedup();
            entry.receives = receives;
        }
        if let Some(training) = self.trains_on_inputs {
            entry.training = training;
        }
        entry.from_config = true;
    }
}

/// The connection kinds the built-in table describes (what a `[[data_use]]` entry may name).
pub fn known_kinds() -> Vec<&'static str> {
    facts::all().into_iter().map(|f| f.kind).collect()
}

/// The data-use table in force: the built-in facts with the admin's entries applied.
#[derive(Debug, Clone)]
pub struct DataUseTable {
    entries: BTreeMap<String, DataUse>,
}

impl DataUseTable {
    /// Builds the table; `overrides` name known kinds (config validation checks that).
    pub fn new(overrides: &[DataUseOverride]) -> DataUseTable {
        let mut entries: BTreeMap<String, DataUse> = facts::all().into_iter().map(|f| (f.kind.to_string(), f.into_data_use())).collect();
        for o in overrides {
            if let Some(entry) = entries.get_mut(o.kind.as_str()) {
                o.apply(entry);
            }
        }
        DataUseTable { entries }
    }

    /// The built-in facts alone.
    pub fn builtin() -> DataUseTable {
        DataUseTable::new(&[])
    }

    pub fn get(&self, kind: &str) -> Option<&DataUse> {
        self.entries.get(kind)
    }

    /// Whether the provider behind connection kind `kind` may train on API inputs
    /// (`Unknown` for a kind the table does not describe).
    pub fn may_train_on_inputs(&self, kind: &str) -> TrainingUse {
        self.get(kind).map_or(TrainingUse::Unknown, |e| e.training)
    }

    /// Every entry, by kind.
    pub fn entries(&self) -> impl Iterator<Item = &DataUse> {
        self.entries.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::Catalog;

    #[test]
    fn every_model_provider_is_described_with_its_sources() {
        let table = DataUseTable::builtin();
        for model in Catalog::shipped().models() {
            let entry = table.get(&model.provider).unwrap_or_else(|| panic!("no data-use entry for {}", model.provider));
            assert!(!entry.provider.is_empty() && !entry.retention.is_empty(), "{}", entry.kind);
            assert!(!entry.training_note.is_empty(), "{}: say where the training answer comes from", entry.kind);
            for url in [&entry.terms_url, &entry.privacy_url].into_iter().flatten() {
                assert!(url.starts_with("https://"), "{url}");
            }
        }
        assert_eq!(table.may_train_on_inputs("openai_videos"), TrainingUse::No);
        assert_eq!(table.may_train_on_inputs("no-such-kind"), TrainingUse::Unknown);
    }

    #[test]
    fn an_override_replaces_only_the_fields_it_names() {
        let before = DataUseTable::builtin().get("gemini").cloned().unwrap();
        let o = DataUseOverride {
            kind: "gemini".into(),
            trains_on_inputs: Some(TrainingUse::No),
            training_note: Some("Our Gemini project is billed (Paid Services).".into()),
            receives: Some(vec![Input::Prompt, Input::Prompt]),
            no_store: Some("  ".into()),
            ..DataUseOverride::default()
        };
        let table = DataUseTable::new(&[o]);
        let after = table.get("gemini").unwrap();
        assert_eq!(table.may_train_on_inputs("gemini"), TrainingUse::No);
        assert_eq!(after.training_note, "Our Gemini project is billed (Paid Services).");
        assert_eq!(after.receives, vec![Input::Prompt]);
        assert_eq!(after.no_store, None, "a blank value clears an optional fact");
        assert_eq!((&after.terms_url, &after.retention), (&before.terms_url, &before.retention));
        assert!(after.from_config && !before.from_config);
    }

    #[test]
    fn a_model_sends_only_what_it_takes() {
        let table = DataUseTable::builtin();
        let models = Catalog::shipped();
        let models = models.models();
        let sora = models.iter().find(|m| m.id == "sora-2").unwrap();
        let entry = table.get("openai_videos").unwrap();
        assert_eq!(entry.receives_for(sora), vec![Input::Prompt, Input::ReferenceImages], "sora-2 takes no negative prompt");
        let demo = models.iter().find(|m| m.id == "demo-image").unwrap();
        assert!(table.get("demo").unwrap().receives_for(demo).is_empty(), "the demo provider receives nothing");
    }

    #[test]
    fn training_answers_parse_from_their_config_names() {
        for t in TrainingUse::ALL {
            let parsed: TrainingUse = serde_json::from_value(serde_json::Value::from(t.as_str())).unwrap();
            assert_eq!(parsed, t);
        }
        assert!(TrainingUse::No.rules_out_training());
        assert!(!TrainingUse::OptOut.rules_out_training() && !TrainingUse::Unknown.rules_out_training());
    }
}
