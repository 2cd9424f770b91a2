//! The model catalog's own words in the page's language: reference roles, operations,
//! lifecycle states and warnings, prices, sound, data use, and the parameter labels and
//! choices the shipped catalog uses (a label an admin wrote in their own entry is shown as
//! written).

use super::Tr;
use crate::domain::catalog::data_use::{Input, TrainingUse};
use crate::domain::catalog::{CatalogDate, Lifecycle, Operation, Price, PriceUnit, ReferenceRole, Sound, Status};
use crate::domain::privacy::RetentionSetting;

/// The shipped catalog's parameter labels and their messages.
const PARAM_LABELS: &[(&str, &str)] = &[
    ("Aspect ratio", "param-aspect-ratio"),
    ("Aspect ratio (text-to-image)", "param-aspect-ratio-text"),
    ("Duration (seconds)", "param-duration"),
    ("Seed", "param-seed"),
    ("Resolution", "param-resolution"),
    ("Size", "param-size"),
    ("Images", "param-images"),
    ("Sound", "param-sound"),
    ("Format", "param-format"),
    ("Also keep the last frame (to start the next clip from)", "param-keep-last-frame"),
    ("Speed", "param-speed"),
    ("Quality", "param-quality"),
    ("Mode", "param-mode"),
    ("Style", "param-style"),
    ("Background", "param-background"),
    ("Width (pixels)", "param-width"),
    ("Height (pixels)", "param-height"),
    ("Draft (HD preview to enhance later)", "param-draft"),
    ("Change from the reference (%)", "param-strength"),
];

/// Choices whose words are translated (the value sent stays as it is).
const CHOICE_WORDS: &[&str] = &["on", "off", "auto", "true", "false", "low", "medium", "high", "standard", "pro", "transparent", "opaque"];

fn dashed(name: &str) -> String {
    name.replace('_', "-")
}

/// One of the catalog's names, given as it is or through any number of references (templates
/// hand values over by reference).
pub trait Word<T: Copy> {
    fn word(&self) -> T;
}

macro_rules! word {
    ($($t:ty),*) => {$(
        impl Word<$t> for $t {
            fn word(&self) -> $t {
                *self
            }
        }
    )*};
}
word!(ReferenceRole, Operation, TrainingUse, Input);

impl<T: Copy, W: Word<T> + ?Sized> Word<T> for &W {
    fn word(&self) -> T {
        (**self).word()
    }
}

impl Tr {
    /// A reference role's name ("First frame", "開始フレーム").
    pub fn reference_role(&self, role: impl Word<ReferenceRole>) -> String {
        self.t(&format!("ref-role-{}", dashed(role.word().as_str())))
    }

    /// An operation's button text ("Extend", "延長").
    pub fn operation(&self, operation: impl Word<Operation>) -> String {
        self.t(&format!("operation-{}", operation.word().as_str()))
    }

    /// A lifecycle status in words ("Generally available").
    pub fn lifecycle_status(&self, status: Status) -> String {
        self.t(&format!("lifecycle-status-{}", status.as_str()))
    }

    /// The warning people see while a model is deprecated on `day`.
    pub fn lifecycle_warning(&self, life: &Lifecycle, day: CatalogDate) -> Option<String> {
        if life.status_on(day) != Status::Deprecated {
            return None;
        }
        let successor = life.successor.clone().unwrap_or_default();
        Some(match life.shutdown_on {
            Some(date) => self.t_args(
                if successor.is_empty() { "lifecycle-warning-on" } else { "lifecycle-warning-on-successor" },
                &[("date", date.to_string().into()), ("successor", successor.into())],
            ),
            None => self.t_args(
                if successor.is_empty() { "lifecycle-warning" } else { "lifecycle-warning-successor" },
                &[("successor", successor.into())],
            ),
        })
    }

    /// What a price says: "6 credits per image", "画像1枚あたり 6 クレジット", a range by the
    /// parameters it depends on, and a minimum; "free" for nothing.
    pub fn price(&self, price: &Price) -> String {
        let (low, high) = price.range();
        let unit = match price.per {
            PriceUnit::Image => "image",
            PriceUnit::Second => "second",
            PriceUnit::Generation => "generation",
        };
        let mut text = if high == 0 {
            self.t("price-free")
        } else if low == high {
            self.t_args(&format!("price-{unit}"), &[("count", high.into()), ("shown", self.number(high).into())])
        } else {
            let params = price.depends_on().join(", ");
            self.t_args(
                &format!("price-range-{unit}"),
                &[("low", self.number(low).into()), ("high", self.number(high).into()), ("params", params.into())],
            )
        };
        if price.minimum > 0 {
            text.push_str(&self.t_args("price-minimum", &[("shown", self.number(price.minimum).into())]));
        }
        text
    }

    /// Whether a model's outputs have sound, in words ("sound", "sound optional"); empty for
    /// silent models.
    pub fn sound(&self, sound: Sound) -> String {
        match sound {
            Sound::None => String::new(),
            Sound::Always => self.t("sound-always"),
            Sound::Optional => self.t("sound-optional"),
        }
    }

    /// Whether a provider may train on API inputs, in words.
    pub fn training_use(&self, training: impl Word<TrainingUse>) -> String {
        self.t(&format!("training-{}", dashed(training.word().as_str())))
    }

    /// What of a generation goes to a provider, in words.
    pub fn data_input(&self, input: impl Word<Input>) -> String {
        self.t(&format!("data-input-{}", dashed(input.word().as_str())))
    }

    /// What a retention setting applies to ("Reference images you upload").
    pub fn retention_what(&self, setting: &RetentionSetting) -> String {
        self.t(&format!("retention-{}-what", dashed(setting.key)))
    }

    /// A retention period as the privacy notice states it ("30 days, then deleted", "kept
    /// until you delete them" for no time limit).
    pub fn retention_text(&self, setting: &RetentionSetting, length: &std::time::Duration) -> String {
        let key = dashed(setting.key);
        match self.period(*length) {
            None => self.t(&format!("retention-{key}-zero")),
            Some(period) => {
                self.t_args("retention-line", &[("period", period.into()), ("then", self.t(&format!("retention-{key}-then")).into())])
            }
        }
    }

    /// A period in whole days, hours, minutes or seconds ("30 days", "30日"); `None` for 0.
    pub fn period(&self, length: std::time::Duration) -> Option<String> {
        let units = [(86_400u64, "period-days"), (3_600, "period-hours"), (60, "period-minutes"), (1, "period-seconds")];
        let secs = length.as_secs();
        if length.is_zero() {
            return None;
        }
        let (size, key) = units.iter().find(|(size, _)| secs.is_multiple_of(*size) && secs > 0).copied().unwrap_or((1, "period-seconds"));
        let n = (secs / size).max(1);
        Some(self.t_args(key, &[("count", n.into()), ("shown", self.number(n).into())]))
    }

    /// A parameter's label: the shipped catalog's in this language, else as written.
    pub fn param_label(&self, label: &str) -> String {
        match PARAM_LABELS.iter().find(|(english, _)| *english == label) {
            Some((_, key)) => self.t(key),
            None => label.to_string(),
        }
    }

    /// A choice's words ("off" → "オフ"); other choices (sizes, ratios, names) as they are.
    pub fn choice(&self, value: &str) -> String {
        if CHOICE_WORDS.contains(&value) { self.t(&format!("choice-{value}")) } else { value.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    /// Every word this module can ask for, in `tr`'s language.
    fn every_word(tr: &Tr) -> Vec<(String, String)> {
        let mut keys: Vec<String> = Vec::new();
        keys.extend(ReferenceRole::ALL.map(|r| format!("ref-role-{}", dashed(r.as_str()))));
        keys.extend(Operation::ALL.map(|o| format!("operation-{}", o.as_str())));
        keys.extend([Status::Preview, Status::Ga, Status::Deprecated, Status::Retired].map(|s| format!("lifecycle-status-{}", s.as_str())));
        keys.extend(TrainingUse::ALL.map(|t| format!("training-{}", dashed(t.as_str()))));
        keys.extend([Input::Prompt, Input::NegativePrompt, Input::ReferenceImages].map(|i| format!("data-input-{}", dashed(i.as_str()))));
        keys.extend(PARAM_LABELS.iter().map(|(_, key)| key.to_string()));
        keys.extend(CHOICE_WORDS.iter().map(|c| format!("choice-{c}")));
        for setting in crate::domain::privacy::RETENTION_SETTINGS {
            keys.extend(["what", "zero", "then"].map(|part| format!("retention-{}-{part}", dashed(setting.key))));
        }
        keys.extend(["retention-line", "period-days", "period-hours", "period-minutes", "period-seconds"].map(str::to_string));
        for unit in ["image", "second", "generation"] {
            keys.push(format!("price-{unit}"));
            keys.push(format!("price-range-{unit}"));
        }
        keys.extend(
            [
                "price-free",
                "price-minimum",
                "sound-always",
                "sound-optional",
                "lifecycle-warning",
                "lifecycle-warning-on",
                "lifecycle-warning-successor",
                "lifecycle-warning-on-successor",
                "models-not-offered",
                "models-sound-no",
                "models-sound-yes",
                "models-sound-choice",
                "models-required-role",
                "models-no-references",
                "list-separator",
                "picker-demo",
                "picker-deprecated",
            ]
            .map(str::to_string),
        );
        keys.into_iter().map(|k| (tr.t(&k), k)).collect()
    }

    #[test]
    fn every_catalog_word_exists_in_every_language() {
        for lang in Lang::ALL {
            for (text, key) in every_word(&Tr::new(lang)) {
                assert_ne!(text, key, "{key} is missing in {}", lang.code());
            }
        }
    }

    #[test]
    fn prices_read_naturally_in_each_language() {
        let price = |credits, per| Price { per, credits, rules: Vec::new(), minimum: 0 };
        let en = Tr::new(Lang::En);
        assert_eq!(en.price(&price(6, PriceUnit::Image)), "6 credits per image");
        assert_eq!(en.price(&price(1, PriceUnit::Second)), "1 credit per second of video");
        assert_eq!(en.price(&price(0, PriceUnit::Image)), "free");
        let ja = Tr::new(Lang::Ja);
        assert!(ja.price(&price(1200, PriceUnit::Image)).contains("1,200"), "{}", ja.price(&price(1200, PriceUnit::Image)));
        assert_eq!(en.param_label("Aspect ratio"), "Aspect ratio");
        assert_ne!(ja.param_label("Aspect ratio"), "Aspect ratio");
        assert_eq!(ja.param_label("My own knob"), "My own knob", "an admin's own label stays as written");
        assert_eq!(ja.choice("16:9"), "16:9");
        assert_ne!(ja.choice("off"), "off");
        let uploads = &crate::domain::privacy::RETENTION_SETTINGS[0];
        let month = std::time::Duration::from_secs(30 * 86_400);
        assert_eq!(en.retention_text(uploads, &month), "30 days, then deleted");
        assert_eq!(en.retention_text(uploads, &std::time::Duration::ZERO), "kept until you delete them");
        assert!(ja.retention_text(uploads, &month).starts_with("30日"), "{}", ja.retention_text(uploads, &month));
        assert_eq!(en.period(std::time::Duration::from_secs(3_600)).as_deref(), Some("1 hour"));
    }
}
