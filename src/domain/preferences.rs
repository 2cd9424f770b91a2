//! A person's settings for how the studio speaks to them: the language of the pages and the
//! time zone of their dates. Pure types; the store keeps one record per person.

use serde::{Deserialize, Serialize};

/// A language the studio's pages are written in. Stored by variant order: append only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    En,
    Ja,
    ZhCn,
}

impl Lang {
    /// Every language, in the order a chooser lists them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ja, Lang::ZhCn];

    /// The BCP 47 code of this language ("en", "ja", "zh-CN"), as forms and catalogues name it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The value of `<html lang>` for pages in this language (browsers pick fonts by it).
    pub fn html_lang(self) -> &'static str {
        self.code()
    }

    /// The language's name in itself, as a chooser shows it.
    pub fn label(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "日本語",
            Lang::ZhCn => "简体中文",
        }
    }

    /// The language of a code exactly as [`Lang::code`] writes it; `None` for anything else.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// A person's preferences. Every field is optional: `None` follows the defaults (the
/// browser's language).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// The language the person picked; `None` follows the browser's `Accept-Language`.
    pub language: Option<Lang>,
    /// The time zone dates are shown in, by its IANA name ("Asia/Tokyo"); `None` follows the
    /// browser's.
    pub time_zone: Option<String>,
}
