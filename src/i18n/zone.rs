//! The time zone a person reads dates in: one they picked on their Account page, else the
//! one their browser reports, else UTC. Names are IANA's ("Asia/Tokyo"), looked up in the
//! system's time zone database, or the copy built into the binary where the system has none.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::domain::time::Timestamp;

/// A time zone by its IANA name. Zones are made once and kept for the life of the process
/// (there are a few hundred), so a translator holding one stays `Copy`.
#[derive(Debug)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

/// The longest zone name accepted (IANA's longest is about 30 characters).
const NAME_MAX: usize = 64;

static UTC: LazyLock<Zone> = LazyLock::new(|| Zone { name: "UTC".to_string(), tz: jiff::tz::TimeZone::UTC });

/// The zones made so far, by the name they were asked for.
static MADE: LazyLock<Mutex<HashMap<String, &'static Zone>>> = LazyLock::new(Mutex::default);

impl Zone {
    pub fn utc() -> &'static Zone {
        &UTC
    }

    /// The zone called `name`; `None` when no zone has that name.
    pub fn named(name: &str) -> Option<&'static Zone> {
        let name = name.trim();
        if name.is_empty() || name.len() > NAME_MAX {
            return None;
        }
        if name.eq_ignore_ascii_case("UTC") {
            return Some(Zone::utc());
        }
        let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(zone) = made.get(name) {
            return Some(zone);
        }
        // only names the database knows get here, so the zones kept stay few
        let tz = jiff::tz::db().get(name).ok()?;
        let zone: &'static Zone = Box::leak(Box::new(Zone { name: tz.iana_name().unwrap_or(name).to_string(), tz }));
        made.insert(name.to_string(), zone);
        Some(zone)
    }

    /// The IANA name ("Asia/Tokyo", "UTC").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every zone name the database knows, sorted (for a chooser); listed once.
    pub fn all_names() -> &'static [String] {
        static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
            let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
            names.sort();
            names.dedup();
            names
        });
        &NAMES
    }

    /// `at` as a date and time in this zone, with the zone's abbreviation then ("JST", "CET",
    /// or the offset where the zone has no abbreviation, "+0530").
    pub fn local(&self, at: Timestamp) -> Option<(time::PrimitiveDateTime, String)> {
        let instant = jiff::Timestamp::from_millisecond(at.millis()).ok()?;
        let info = self.tz.to_offset_info(instant);
        let offset = time::UtcOffset::from_whole_seconds(info.offset().seconds()).ok()?;
        let utc = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000).ok()?;
        let local = utc.to_offset(offset);
        Some((time::PrimitiveDateTime::new(local.date(), local.time()), info.abbreviation().to_string()))
    }

    /// The calendar date of `at` in this zone.
    pub fn date_of(&self, at: Timestamp) -> time::Date {
        self.local(at).map_or(time::Date::MIN, |(local, _)| local.date())
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_zone_gives_local_dates_and_times_with_their_abbreviation() {
        let tokyo = Zone::named("Asia/Tokyo").unwrap();
        // 2026-12-06 23:30 UTC is 08:30 the next day in Tokyo
        let at = Timestamp(1_796_599_800_000);
        let (local, abbreviation) = tokyo.local(at).unwrap();
        assert_eq!((local.date().to_string(), local.hour(), local.minute()), ("2026-12-07".to_string(), 8, 30));
        assert_eq!(abbreviation, "JST");
        assert_eq!(Zone::utc().date_of(at).to_string(), "2026-12-06");
        let paris = Zone::named("Europe/Paris").unwrap();
        assert_eq!(paris.local(at).unwrap().1, "CET");
        assert_eq!(Zone::named("utc").unwrap().name(), "UTC");
    }

    #[test]
    fn unknown_or_odd_names_are_no_zone() {
        for name in ["", "Mars/Olympus", "../../etc/passwd", &"A".repeat(200), "Asia/Tokyo\u{0}"] {
            assert!(Zone::named(name).is_none(), "{name:?}");
        }
        assert!(Zone::all_names().iter().any(|n| n == "Asia/Shanghai"));
    }
}
