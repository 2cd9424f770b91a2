//! The library's grouping by day: a heading ("Today", "Yesterday", then the date) above each
//! day's cards, in UTC (the instance keeps no time zone per person).

use time::{Date, Duration, OffsetDateTime};

use crate::domain::time::Timestamp;

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

/// What the heading of the day `key` says, seen on `today`.
pub fn heading(key: &str, today: Date) -> String {
    let Ok(day) = Date::parse(key, KEY) else { return key.to_string() };
    if day == today {
        "Today".into()
    } else if Some(day) == today.checked_sub(Duration::days(1)) {
        "Yesterday".into()
    } else {
        let long = time::macros::format_description!("[weekday], [day padding:none] [month repr:long] [year]");
        day.format(long).unwrap_or_else(|_| key.to_string())
    }
}

/// The cards in runs of one day each, in their order; a first run on `continued` (the day the
/// previous page ended with) has no heading.
pub fn group(cards: Vec<Card>, now: Timestamp, continued: Option<&str>) -> Vec<Day> {
    let today = date_of(now);
    let mut days: Vec<Day> = Vec::new();
    for card in cards {
        match days.last_mut() {
            Some(day) if day.key == card.day => day.cards.push(card),
            _ => {
                let first = days.is_empty();
                let heading = if first && continued == Some(card.day.as_str()) { None } else { Some(heading(&card.day, today)) };
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
        assert_eq!(heading("2026-12-06", today), "Today");
        assert_eq!(heading("2026-12-05", today), "Yesterday");
        assert_eq!(heading("2026-12-01", today), "Tuesday, 1 December 2026");
        assert_eq!(heading("nonsense", today), "nonsense");
    }
}
