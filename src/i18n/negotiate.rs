//! The language a browser asks for: `Accept-Language` read with its q-values and matched
//! against the studio's languages. Anything unreadable falls back to English.

use unic_langid::LanguageIdentifier;

use super::Lang;

/// The longest header read; the rest is ignored.
const HEADER_MAX: usize = 4096;
/// The most language ranges weighed.
const RANGES_MAX: usize = 32;

/// The best of the studio's languages for an `Accept-Language` value (English when none fits).
pub fn negotiate(accept_language: &str) -> Lang {
    let mut ranges: Vec<(u16, usize, &str)> = Vec::new();
    let head = match accept_language.char_indices().nth(HEADER_MAX) {
        Some((cut, _)) => &accept_language[..cut],
        None => accept_language,
    };
    for (position, item) in head.split(',').take(RANGES_MAX).enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let quality = parts.find_map(|p| p.trim().strip_prefix("q=").map(parse_quality)).unwrap_or(Some(1000));
        match quality {
            Some(q) if q > 0 && !tag.is_empty() => ranges.push((q, position, tag)),
            _ => {}
        }
    }
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().find_map(|(_, _, tag)| lang_of(tag)).unwrap_or(Lang::En)
}

/// A q-value ("0.8", "1", "0.125") in thousandths; `None` when it is not one.
fn parse_quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0).contains(&value).then(|| (value * 1000.0).round() as u16)
}

/// The studio's language for one language tag: `zh` in Simplified script or a mainland
/// region is Simplified Chinese; Traditional Chinese is not offered, so it matches nothing.
fn lang_of(tag: &str) -> Option<Lang> {
    let id: LanguageIdentifier = tag.parse().ok()?;
    match id.language.as_str() {
        "en" => Some(Lang::En),
        "ja" => Some(Lang::Ja),
        "zh" => {
            let script = id.script.map(|s| s.as_str().to_ascii_lowercase());
            let region = id.region.map(|r| r.as_str().to_ascii_uppercase());
            match (script.as_deref(), region.as_deref()) {
                (Some("hans"), _) => Some(Lang::ZhCn),
                (Some(_), _) => None,
                (None, Some("TW" | "HK" | "MO")) => None,
                (None, _) => Some(Lang::ZhCn),
            }
        }
        _ => None,
    }
}
