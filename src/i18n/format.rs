//! Numbers, dates and durations as each language writes them; dates in the reader's time
//! zone (see [`super::zone`]).

use std::time::Duration;

use super::Lang;
use super::zone::Zone;
use crate::domain::time::Timestamp;

/// An integer with thousands grouping (`1,234,567`; the three languages group alike).
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A calendar date: "2026-12-07", "2026年12月7日".
fn calendar_date(lang: Lang, day: time::Date) -> String {
    let (year, month, date) = (day.year(), u8::from(day.month()), day.day());
    match lang {
        Lang::En => format!("{year}-{month:02}-{date:02}"),
        Lang::Ja | Lang::ZhCn => format!("{year}年{month}月{date}日"),
    }
}

/// The date of `at` in `zone`: "2026-12-07", "2026年12月7日".
pub fn date(lang: Lang, zone: &Zone, at: Timestamp) -> String {
    zone.local(at).map(|(local, _)| calendar_date(lang, local.date())).unwrap_or_default()
}

/// A date and time in `zone`, with the zone's abbreviation: "2026-12-07 14:05 UTC",
/// "2026年12月7日 23:05 JST".
pub fn datetime(lang: Lang, zone: &Zone, at: Timestamp) -> String {
    let Some((local, abbreviation)) = zone.local(at) else { return String::new() };
    format!("{} {:02}:{:02} {abbreviation}", calendar_date(lang, local.date()), local.hour(), local.minute())
}

/// A length of time: under a minute with one decimal ("4.2 s", "4.2秒"), then whole
/// minutes and seconds ("3 min 20 s", "3分20秒"), then hours and minutes ("1 h 5 min",
/// "1時間5分", "1小时5分").
pub fn duration(lang: Lang, d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        let tenths = d.as_millis() / 100;
        let value = format!("{}.{}", tenths / 10, tenths % 10);
        return match lang {
            Lang::En => format!("{value} s"),
            Lang::Ja | Lang::ZhCn => format!("{value}秒"),
        };
    }
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let (h, m, s) = match lang {
        Lang::En => (" h", " min", " s"),
        Lang::Ja => ("時間", "分", "秒"),
        Lang::ZhCn => ("小时", "分", "秒"),
    };
    let join = if lang == Lang::En { " " } else { "" };
    let parts: Vec<String> = if hours > 0 {
        [(hours, h), (minutes, m)].iter().filter(|(n, _)| *n > 0).map(|(n, u)| format!("{n}{u}")).collect()
    } else {
        [(minutes, m), (seconds, s)].iter().filter(|(n, _)| *n > 0).map(|(n, u)| format!("{n}{u}")).collect()
    };
    parts.join(join)
}

/// A calendar day in full with its weekday: "Tuesday, 1 December 2026", "2026年12月1日(火)",
/// "2026年12月1日 星期二".
pub fn long_date(lang: Lang, day: time::Date) -> String {
    let weekday = usize::from(day.weekday().number_days_from_monday());
    let (year, month, date) = (day.year(), u8::from(day.month()), day.day());
    match lang {
        Lang::En => {
            let long = time::macros::format_description!("[weekday], [day padding:none] [month repr:long] [year]");
            day.format(long).unwrap_or_default()
        }
        Lang::Ja => format!("{year}年{month}月{date}日({})", ["月", "火", "水", "木", "金", "土", "日"][weekday]),
        Lang::ZhCn => {
            format!("{year}年{month}月{date}日 {}", ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"][weekday])
        }
    }
}
