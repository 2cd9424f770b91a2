//! The privacy-relevant settings of an instance (retention periods, enabled providers with
//! their data-use facts, contact): their canonical form, fingerprint and what changed between
//! two versions. Pure: services build it from the config and the registry.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalog::data_use::Input;
use super::time::Timestamp;

/// One retention setting as the notice lists it. What it applies to and what happens when its
/// period ends are said in each language's catalogue (`retention-<key>-what`, `-zero`, `-then`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSetting {
    /// The config key under `[retention]`.
    pub key: &'static str,
}

/// Every retention setting, in the order the notice lists them.
pub const RETENTION_SETTINGS: [RetentionSetting; 5] = [
    RetentionSetting { key: "uploads" },
    RetentionSetting { key: "outputs" },
    RetentionSetting { key: "failed" },
    RetentionSetting { key: "audit" },
    RetentionSetting { key: "client_addresses" },
];

/// A period in words ("30 days", "12 hours", "1 day"), or `None` for 0 (no time limit).
pub fn period_in_words(d: Duration) -> Option<String> {
    let units = [(86_400_000u128, "day"), (3_600_000, "hour"), (60_000, "minute"), (1_000, "second"), (1, "millisecond")];
    let millis = d.as_millis();
    if millis == 0 {
        return None;
    }
    let (size, unit) = units.iter().find(|(size, _)| millis.is_multiple_of(*size)).copied().unwrap_or((1, "millisecond"));
    let n = millis / size;
    Some(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
}

/// One enabled provider connection with what it may receive and its provider's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderFacts {
    /// The connection's name on this instance.
    pub connection: String,
    /// The connection kind ("openai_videos").
    pub kind: String,
    /// What generations through this connection may send.
    pub sends: Vec<Input>,
    /// The provider's data-use facts as shown (the data-use table's entry, serialised), or
    /// null when the table does not describe the kind.
    pub facts: serde_json::Value,
}

/// Everything the privacy notice states that an admin's settings decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacySettings {
    /// Config key under `[retention]` -> period in milliseconds (0: no time limit).
    pub retention: BTreeMap<String, u64>,
    /// Sorted by connection name.
    pub providers: Vec<ProviderFacts>,
    pub contact: Option<String>,
    /// The instance forbids sending content to providers that may train on it.
    #[serde(default)]
    pub forbid_training: bool,
}

/// The settings as last seen, and since when they have been in force.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SettingsSeen {
    /// Lower-case hex SHA-256 of the canonical form.
    pub fingerprint: String,
    /// When these settings were first seen: the notice's "last updated".
    pub since: Timestamp,
    /// The canonical JSON form, kept to say what the next change changed.
    pub canonical: String,
}

impl PrivacySettings {
    /// A stable text form: JSON with fields in declaration order and providers sorted.
    pub fn canonical(&self) -> String {
        let mut sorted = self.clone();
        sorted.providers.sort_by(|a, b| a.connection.cmp(&b.connection));
        serde_json::to_string(&sorted).unwrap_or_default()
    }

    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }

    /// The record of these settings, first seen at `now`.
    pub fn seen(&self, now: Timestamp) -> SettingsSeen {
        SettingsSeen { fingerprint: self.fingerprint(), since: now, canonical: self.canonical() }
    }

    /// What differs from `old` (the canonical form last recorded), in words, one item per change.
    pub fn changes_from(&self, old: Option<&str>) -> Vec<String> {
        let Some(old) = old else { return vec!["first record of the privacy settings".into()] };
        let Ok(old) = serde_json::from_str::<PrivacySettings>(old) else {
            return vec!["privacy settings changed (the earlier record is in an older form)".into()];
        };
        let mut changes = Vec::new();
        let words = |ms: Option<&u64>| match ms {
            Some(&ms) => period_in_words(Duration::from_millis(ms)).unwrap_or_else(|| "no limit".into()),
            None => "unset".into(),
        };
        for setting in RETENTION_SETTINGS {
            let (before, after) = (old.retention.get(setting.key), self.retention.get(setting.key));
            if before != after {
                changes.push(format!("retention.{}: {} → {}", setting.key, words(before), words(after)));
            }
        }
        for p in &self.providers {
            match old.providers.iter().find(|o| o.connection == p.connection) {
                None => changes.push(format!("provider added: {} ({})", p.connection, p.kind)),
                Some(o) if o != p => changes.push(format!("provider facts changed: {} ({})", p.connection, p.kind)),
                Some(_) => {}
            }
        }
        for o in old.providers.iter().filter(|o| !self.providers.iter().any(|p| p.connection == o.connection)) {
            changes.push(format!("provider removed: {} ({})", o.connection, o.kind));
        }
        if old.contact != self.contact {
            changes.push(match (&old.contact, &self.contact) {
                (None, Some(c)) => format!("contact set to {c}"),
                (Some(_), None) => "contact removed".into(),
                (_, c) => format!("contact changed to {}", c.as_deref().unwrap_or("")),
            });
        }
        if old.forbid_training != self.forbid_training {
            changes.push(if self.forbid_training {
                "providers that may train on inputs are no longer used".into()
            } else {
                "providers that may train on inputs may be used again".into()
            });
        }
        if changes.is_empty() {
            changes.push("privacy settings changed".into());
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(outputs_days: u64, providers: &[(&str, &str)]) -> PrivacySettings {
        let day = 86_400_000;
        let retention =
            RETENTION_SETTINGS.iter().map(|s| (s.key.to_string(), if s.key == "outputs" { outputs_days * day } else { 30 * day }));
        PrivacySettings {
            retention: retention.collect(),
            providers: providers
                .iter()
                .map(|(c, k)| ProviderFacts {
                    connection: c.to_string(),
                    kind: k.to_string(),
                    sends: vec![Input::Prompt],
                    facts: serde_json::Value::Null,
                })
                .collect(),
            contact: None,
            forbid_training: false,
        }
    }

    #[test]
    fn periods_read_as_words() {
        assert_eq!(period_in_words(Duration::ZERO), None);
        assert_eq!(period_in_words(Duration::from_secs(86_400)).as_deref(), Some("1 day"));
        assert_eq!(period_in_words(Duration::from_secs(30 * 86_400)).as_deref(), Some("30 days"));
        assert_eq!(period_in_words(Duration::from_secs(36 * 3_600)).as_deref(), Some("36 hours"));
        assert_eq!(period_in_words(Duration::from_millis(1_500)).as_deref(), Some("1500 milliseconds"));
    }

    #[test]
    fn the_fingerprint_ignores_provider_order_and_follows_every_setting() {
        let a = settings(180, &[("demo", "demo"), ("b", "bfl")]);
        let b = settings(180, &[("b", "bfl"), ("demo", "demo")]);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), settings(90, &[("demo", "demo"), ("b", "bfl")]).fingerprint());
        let mut c = a.clone();
        c.contact = Some("privacy@example.com".into());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn changes_are_named() {
        let old = settings(180, &[("demo", "demo"), ("gone", "bfl")]);
        let mut new = settings(90, &[("demo", "demo"), ("fresh", "fal")]);
        new.contact = Some("dpo@example.com".into());
        let changes = new.changes_from(Some(&old.canonical()));
        assert_eq!(
            changes,
            vec![
                "retention.outputs: 180 days → 90 days",
                "provider added: fresh (fal)",
                "provider removed: gone (bfl)",
                "contact set to dpo@example.com",
            ]
        );
        assert_eq!(new.changes_from(None), vec!["first record of the privacy settings"]);
        assert_eq!(new.changes_from(Some("not json")).len(), 1);
    }
}
