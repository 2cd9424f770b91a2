//! The library's grouping by day: a heading ("Today", "Yesterday", then the date) above each
//! day's cards, days as the reader's time zone has them (see [`crate::http::lang::zone`]).

use time::{Date, Duration};

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

/// The day of `at` in the reader's time zone (that of `tr`) as a grouping key (`YYYY-MM-DD`).
pub fn key(at: Timestamp, tr: &Tr) -> String {
    tr.day_of(at).format(KEY).unwrap_or_default()
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
    let today = tr.day_of(now);
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

    #[test]
    fn days_are_the_readers_days() {
        // 23:30 UTC on 6 December is the morning of the 7th in Tokyo
        let late = Timestamp(1_796_599_800_000);
        let utc = Tr::new(crate::i18n::Lang::En);
        let tokyo = utc.in_zone(crate::i18n::Zone::named("Asia/Tokyo").unwrap());
        assert_eq!(key(late, &utc), "2026-12-06");
        assert_eq!(key(late, &tokyo), "2026-12-07");
        assert_eq!(heading(&key(late, &tokyo), tokyo.day_of(late), &tokyo), "Today");
    }
}
