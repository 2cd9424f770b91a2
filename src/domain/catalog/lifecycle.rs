//! Where a model is in its life: preview, generally available, deprecated (still callable,
//! with a planned shutdown) or retired (calls fail), with the dates and the successor.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A model's status as the catalog declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Preview,
    #[default]
    Ga,
    Deprecated,
    Retired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Preview => "preview",
            Status::Ga => "ga",
            Status::Deprecated => "deprecated",
            Status::Retired => "retired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Preview => "Preview",
            Status::Ga => "Generally available",
            Status::Deprecated => "Deprecated",
            Status::Retired => "Retired",
        }
    }
}

/// A calendar day (UTC), written `YYYY-MM-DD` (in TOML quoted or as a bare date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CatalogDate(time::Date);

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!("[year]-[month]-[day]");

impl CatalogDate {
    /// Today, in UTC.
    pub fn today() -> CatalogDate {
        CatalogDate(time::OffsetDateTime::now_utc().date())
    }

    pub fn parse(text: &str) -> Result<CatalogDate, String> {
        time::Date::parse(text.trim(), FORMAT).map(CatalogDate).map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
    }

    /// The day `days` after this one.
    pub fn plus_days(self, days: i64) -> CatalogDate {
        CatalogDate(self.0.saturating_add(time::Duration::days(days)))
    }

    /// Seconds since the Unix epoch at the start of the day.
    pub fn unix_seconds(self) -> i64 {
        self.0.midnight().assume_utc().unix_timestamp()
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: CatalogDate) -> i64 {
        (later.0 - self.0).whole_days()
    }
}

impl fmt::Display for CatalogDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.format(FORMAT).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for CatalogDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CatalogDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A date as JSON gives it (text) or as TOML may (a bare date).
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Toml(toml::value::Datetime),
        }
        let text = match Written::deserialize(d)? {
            Written::Text(t) => t,
            Written::Toml(t) => t.to_string(),
        };
        CatalogDate::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A model's status and its dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lifecycle {
    pub status: Status,
    pub released_on: Option<CatalogDate>,
    pub deprecated_on: Option<CatalogDate>,
    pub shutdown_on: Option<CatalogDate>,
    /// The model to use instead, by catalog id.
    pub successor: Option<String>,
}

impl Lifecycle {
    /// The status on `day`: retired from `shutdown_on`, deprecated from `deprecated_on` or
    /// as soon as a shutdown is planned.
    pub fn status_on(&self, day: CatalogDate) -> Status {
        if self.status == Status::Retired || self.shutdown_on.is_some_and(|d| d <= day) {
            Status::Retired
        } else if self.status == Status::Deprecated || self.deprecated_on.is_some_and(|d| d <= day) || self.shutdown_on.is_some() {
            Status::Deprecated
        } else {
            self.status
        }
    }

    /// Why the model cannot be used any more on `day`, in words, naming the successor.
    pub fn retirement(&self, day: CatalogDate, successor_label: Option<&str>) -> Option<String> {
        if self.status_on(day) != Status::Retired {
            return None;
        }
        let when = self
            .shutdown_on
            .map_or_else(|| "The provider shut this model down".to_string(), |d| format!("The provider shut this model down on {d}"));
        Some(match (&self.successor, successor_label) {
            (Some(id), Some(label)) => format!("{when}; use {label} ({id}) instead."),
            (Some(id), None) => format!("{when}; use {id} instead."),
            (None, _) => format!("{when}."),
        })
    }

    /// A warning for people while the model is deprecated on `day`.
    pub fn warning(&self, day: CatalogDate) -> Option<String> {
        if self.status_on(day) != Status::Deprecated {
            return None;
        }
        let mut text = match self.shutdown_on {
            Some(d) => format!("Deprecated: the provider shuts this model down on {d}"),
            None => "Deprecated: the provider plans to shut this model down".to_string(),
        };
        if let Some(successor) = &self.successor {
            text.push_str(&format!("; its successor is {successor}"));
        }
        text.push('.');
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> CatalogDate {
        CatalogDate::parse(text).unwrap()
    }

    #[test]
    fn dates_move_a_model_through_its_life() {
        let life = Lifecycle {
            deprecated_on: Some(day("2026-06-02")),
            shutdown_on: Some(day("2026-12-01")),
            successor: Some("gpt-image-2".into()),
            ..Default::default()
        };
        assert_eq!(life.status_on(day("2026-05-01")), Status::Deprecated, "a planned shutdown is a deprecation");
        assert_eq!(life.status_on(day("2026-11-30")), Status::Deprecated);
        assert_eq!(life.status_on(day("2026-12-01")), Status::Retired);
        assert!(life.warning(day("2026-11-30")).unwrap().contains("2026-12-01"));
        let why = life.retirement(day("2026-12-02"), Some("GPT Image 2")).unwrap();
        assert!(why.contains("GPT Image 2 (gpt-image-2)"), "{why}");
        assert_eq!(Lifecycle::default().status_on(day("2030-01-01")), Status::Ga);
    }

    #[test]
    fn dates_read_and_write_as_calendar_days() {
        assert_eq!(day("2026-09-24").to_string(), "2026-09-24");
        assert!(CatalogDate::parse("2026-13-01").is_err());
        assert!(CatalogDate::parse("tomorrow").is_err());
        assert_eq!(day("2026-01-01").days_until(day("2026-01-31")), 30);
        assert_eq!(day("1970-01-02").unix_seconds(), 86_400);
    }
}
