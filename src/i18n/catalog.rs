//! The message catalogues: every `locales/<code>/*.ftl` file, embedded in the binary and
//! parsed once into one Fluent bundle per language, and [`Tr`], which looks messages up.

use std::borrow::Cow;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use rust_embed::RustEmbed;

use super::Lang;
use super::zone::Zone;
use crate::domain::time::Timestamp;

/// The catalogue files, `<language code>/<area>.ftl`.
#[derive(RustEmbed)]
#[folder = "locales/"]
pub(super) struct Locales;

/// The text of every catalogue file of `lang`, with its path, in path order.
pub(super) fn sources(lang: Lang) -> Vec<(String, String)> {
    let prefix = format!("{}/", lang.code());
    let mut files: Vec<(String, String)> = Locales::iter()
        .filter(|path| path.starts_with(&prefix) && path.ends_with(".ftl"))
        .filter_map(|path| {
            let file = Locales::get(&path)?;
            Some((path.to_string(), String::from_utf8_lossy(&file.data).into_owned()))
        })
        .collect();
    files.sort();
    files
}

/// A language's bundle: what parses is kept (the tests insist that everything parses).
fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // pages are HTML: no Unicode isolation marks around variables
    bundle.set_use_isolating(false);
    for (path, text) in sources(lang) {
        let resource = FluentResource::try_new(text).unwrap_or_else(|(partial, errors)| {
            tracing::error!(file = %path, errors = errors.len(), "a message catalogue has syntax errors");
            partial
        });
        bundle.add_resource_overriding(resource);
    }
    bundle
}

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 3]> = LazyLock::new(|| Lang::ALL.map(bundle));

fn bundle_of(lang: Lang) -> &'static FluentBundle<FluentResource> {
    &BUNDLES[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)]
}

/// A point in time through any number of references (templates hand values over by reference).
pub trait TimeLike {
    fn timestamp(&self) -> Timestamp;
}

impl TimeLike for Timestamp {
    fn timestamp(&self) -> Timestamp {
        *self
    }
}

impl<T: TimeLike + ?Sized> TimeLike for &T {
    fn timestamp(&self) -> Timestamp {
        (**self).timestamp()
    }
}

/// A whole number through any number of references.
pub trait Countable {
    fn count(&self) -> i64;
}

macro_rules! countable {
    ($($t:ty),*) => {$(
        impl Countable for $t {
            fn count(&self) -> i64 {
                i64::try_from(*self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
countable!(i64, i32, u32, u64, usize);

impl<T: Countable + ?Sized> Countable for &T {
    fn count(&self) -> i64 {
        (**self).count()
    }
}

/// A value given to a message: a number (which also picks the plural form) or text.
#[derive(Debug, Clone)]
pub enum Arg {
    Number(i64),
    Text(String),
}

macro_rules! number_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
number_arg!(i64, i32, u32, u64, usize, u8);

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<&&str> for Arg {
    fn from(s: &&str) -> Self {
        Arg::Text((*s).to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}

/// The translator of one request: its language and the lookups pages and handlers use.
/// A key is a message id (`nav-home`) or a message's attribute (`search-box.placeholder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Lang,
    /// The time zone dates are shown in.
    pub zone: &'static Zone,
}

impl Tr {
    /// A translator for `lang` that shows dates in UTC.
    pub fn new(lang: Lang) -> Self {
        Self { lang, zone: Zone::utc() }
    }

    /// This translator, showing dates in `zone`.
    pub fn in_zone(self, zone: &'static Zone) -> Self {
        Self { zone, ..self }
    }

    /// The message `key` in this language (the key itself when the catalogue lacks it,
    /// which the catalogue tests prevent).
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with its variables (`$count`, `$name` …).
    pub fn t_args(&self, key: &str, args: &[(&str, Arg)]) -> String {
        let mut fluent = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            match value {
                Arg::Number(n) => fluent.set(*name, FluentValue::from(*n)),
                Arg::Text(s) => fluent.set(*name, FluentValue::from(s.as_str())),
            }
        }
        self.format(key, Some(&fluent))
    }

    /// Whether the catalogue holds `key` (for code that picks keys from tables).
    pub fn has(&self, key: &str) -> bool {
        let bundle = bundle_of(self.lang);
        match key.split_once('.') {
            Some((id, attribute)) => bundle.get_message(id).is_some_and(|m| m.get_attribute(attribute).is_some()),
            None => bundle.get_message(key).is_some_and(|m| m.value().is_some()),
        }
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let bundle = bundle_of(self.lang);
        let (id, attribute) = match key.split_once('.') {
            Some((id, attribute)) => (id, Some(attribute)),
            None => (key, None),
        };
        let message = bundle.get_message(id);
        let pattern = match attribute {
            Some(a) => message.and_then(|m| m.get_attribute(a)).map(|a| a.value()),
            None => message.and_then(|m| m.value()),
        };
        let Some(pattern) = pattern else {
            tracing::warn!(key, lang = self.lang.code(), "a message is missing from the catalogue");
            return key.to_string();
        };
        let mut errors = Vec::new();
        let text: Cow<str> = bundle.format_pattern(pattern, args, &mut errors);
        text.into_owned()
    }

    /// A generation's state as a badge shows it ("succeeded", "完了").
    pub fn state(&self, state: &crate::domain::generation::GenState) -> String {
        self.state_name(state.as_str())
    }

    /// A generation's state named as stored (`succeeded`) as a badge shows it.
    pub fn state_name(&self, name: &str) -> String {
        let key = match name {
            "queued" => "state-queued",
            "submitting" => "state-submitting",
            "running" => "state-running",
            "fetching" => "state-fetching",
            "succeeded" => "state-succeeded",
            "failed" => "state-failed",
            "cancelled" => "state-cancelled",
            "awaiting_approval" => "state-awaiting-approval",
            other => return other.to_string(),
        };
        self.t(key)
    }

    /// A person's role named as stored (`admin`, `member`) in this language.
    pub fn role_name(&self, name: &str) -> String {
        match name {
            "admin" => self.t("role-admin"),
            "member" => self.t("role-member"),
            other => other.to_string(),
        }
    }

    /// A count with digit grouping ("1,234").
    pub fn number(&self, n: impl Countable) -> String {
        super::format::number(n.count())
    }

    /// A date and time in the reader's time zone, written the way this language writes dates.
    pub fn datetime(&self, at: impl TimeLike) -> String {
        super::format::datetime(self.lang, self.zone, at.timestamp())
    }

    /// A date in the reader's time zone, written the way this language writes dates.
    pub fn date(&self, at: impl TimeLike) -> String {
        super::format::date(self.lang, self.zone, at.timestamp())
    }

    /// The calendar day of `at` in the reader's time zone.
    pub fn day_of(&self, at: impl TimeLike) -> time::Date {
        self.zone.date_of(at.timestamp())
    }

    /// A calendar day written in full, with its weekday ("Tuesday, 1 December 2026",
    /// "2026年12月1日(火)", "2026年12月1日 星期二").
    pub fn long_date(&self, day: time::Date) -> String {
        super::format::long_date(self.lang, day)
    }

    /// A length of time ("3 min 20 s", "3分20秒").
    pub fn duration(&self, d: std::time::Duration) -> String {
        super::format::duration(self.lang, d)
    }

    /// A length of time given in milliseconds (what records keep).
    pub fn duration_ms(&self, ms: impl Countable) -> String {
        self.duration(std::time::Duration::from_millis(u64::try_from(ms.count()).unwrap_or(0)))
    }
}
