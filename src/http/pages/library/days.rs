//! The library's grouping by day: a heading ("Today", "Yesterday", then the date) above each
//! day's cards, in UTC (the instance keeps no time zone per person).

use time::{Date, Duration, OffsetDateTime};

use crate::domain::time::Timestamp;
use crate::i18n::Tr;

use super::cards::Card;

/// One day's cards, under their heading.
pub struct Day {
    /// The heading; `None` when "Load more" continues the day the previous page ended with.
    pub heading: Option<String>,
    /// The day, `YYYY-MM-DD`.
    pub key: String,
    pub cards: Vec<Card>,
}

const KEY: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!("[year]-[month]-[day]");

fn date_of(at: Timestamp) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000).map_or(Date::MIN, OffsetDateTime::date)
}

/// The day of `at` as a grouping key (`YYYY-MM-DD`, UTC).
pub fn key(at: Timestamp) -> String {
    date_of(at).format(KEY).unwrap_or_default()
}

/// What the heading of the day `key` says, seen on `today`, in the language of `tr`.
pub fn heading(key: &str, today: Date, tr: &Tr) -> String {
    let Ok(day) = Date::parse(key, KEY) else { return key.to_string() };
    if day == today {
        tr.t("library-today")
    } else if Some(day) == today.checked_sub(Duration::days(1)) {
        tr.t("library-yesterday")
    } else {
        tr.long_date(day)
    }
}

/// The cards in runs of one day each, in their order; a first run on `continued` (the day the
/// previous page ended with) has no heading.
pub fn group(cards: Vec<Card>, now: Timestamp, continued: Option<&str>, tr: &Tr) -> Vec<Day> {
    let today = date_of(now);
    let mut days: Vec<Day> = Vec::new();
    for card in cards {
        match days.last_mut() {
            Some(day) if day.key == card.day => day.cards.push(card),
            _ => {
                let first = days.is_empty();
                let heading = if first && continued == Some(card.day.as_str()) { None } else { Some(heading(&card.day, today, tr)) };
                days.push(Day { heading, key: card.day.clone(), cards: vec![card] });
            }
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_name_today_and_yesterday_then_the_date() {
        let today = Date::from_calendar_date(2026, time::Month::December, 6).unwrap();
        let en = Tr::new(crate::i18n::Lang::En);
        assert_eq!(heading("2026-12-06", today, &en), "Today");
        assert_eq!(heading("2026-12-05", today, &en), "Yesterday");
        assert_eq!(heading("2026-12-01", today, &en), "Tuesday, 1 December 2026");
        assert_eq!(heading("nonsense", today, &en), "nonsense");
        let ja = Tr::new(crate::i18n::Lang::Ja);
        assert_eq!(heading("2026-12-05", today, &ja), "昨日");
        assert_eq!(heading("2026-12-01", today, &ja), "2026年12月1日(火)");
        assert_eq!(heading("2026-12-01", today, &Tr::new(crate::i18n::Lang::ZhCn)), "2026年12月1日 星期二");
    }
}
