//! The catalogue tests: every file parses, every language has every message (the test that
//! names what is missing where), every key the code asks for exists; negotiation and formats.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use fluent_bundle::FluentResource;
use fluent_syntax::ast;

use super::catalog::sources;
use super::{Lang, Tr, negotiate};
use crate::domain::time::Timestamp;

/// Every message id and attribute (`id`, `id.attr`) of a language, with the file it is in.
fn keys(lang: Lang) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (path, text) in sources(lang) {
        let resource = FluentResource::try_new(text).unwrap_or_else(|(_, e)| panic!("{path} does not parse: {e:?}"));
        for entry in resource.entries() {
            if let ast::Entry::Message(m) = entry {
                let id = m.id.name.to_string();
                assert!(out.insert(id.clone(), path.clone()).is_none(), "{id} is defined twice in {}", lang.code());
                for a in &m.attributes {
                    out.insert(format!("{id}.{}", a.id.name), path.clone());
                }
            }
        }
    }
    out
}

#[test]
fn every_catalogue_file_parses_without_errors() {
    for lang in Lang::ALL {
        let files = sources(lang);
        assert!(!files.is_empty(), "no catalogue for {}", lang.code());
        for (path, text) in files {
            if let Err((_, errors)) = FluentResource::try_new(text) {
                panic!("{path}: {errors:?}");
            }
        }
    }
}

#[test]
fn every_language_has_every_message_and_attribute() {
    let all: Vec<(Lang, BTreeMap<String, String>)> = Lang::ALL.into_iter().map(|l| (l, keys(l))).collect();
    let union: BTreeSet<&String> = all.iter().flat_map(|(_, k)| k.keys()).collect();
    let mut missing = Vec::new();
    for (lang, keys) in &all {
        for key in &union {
            if !keys.contains_key(*key) {
                let elsewhere = all.iter().find_map(|(_, k)| k.get(*key)).cloned().unwrap_or_default();
                missing.push(format!("{} lacks {key} (see {elsewhere})", lang.code()));
            }
        }
    }
    assert!(missing.is_empty(), "messages missing from a catalogue:\n{}", missing.join("\n"));
}

/// The keys named in `source` as the first argument of `t(`, `t_args(` (string literals only).
fn keys_used(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for call in ["t(\"", "t_args(\""] {
        let mut rest = source;
        while let Some(at) = rest.find(call) {
            let before = rest[..at].chars().last();
            let after = &rest[at + call.len()..];
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let key: String = after.chars().take_while(|c| *c != '"').collect();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.') {
                found.push(key);
            }
        }
    }
    found
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push(path);
        }
    }
}

#[test]
fn every_key_the_code_uses_is_in_the_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let known = keys(Lang::En);
    let mut files = Vec::new();
    files_under(&root.join("templates"), &mut files);
    files_under(&root.join("src"), &mut files);
    let mut unknown = Vec::new();
    let mut used = 0;
    for path in files.into_iter().filter(|p| !p.ends_with("src/i18n/tests.rs")) {
        let source = std::fs::read_to_string(&path).unwrap();
        for key in keys_used(&source) {
            used += 1;
            if !known.contains_key(&key) {
                unknown.push(format!("{}: {key}", path.strip_prefix(root).unwrap().display()));
            }
        }
    }
    assert!(used > 20, "the scan found only {used} keys: has the way pages ask for messages changed?");
    assert!(unknown.is_empty(), "keys used but not in locales/en:\n{}", unknown.join("\n"));
}

#[test]
fn messages_fill_in_their_variables_and_plurals() {
    let en = Tr::new(Lang::En);
    let one = en.t_args("top-credits", &[("count", 1.into()), ("shown", "1".into())]);
    let many = en.t_args("top-credits", &[("count", 1234.into()), ("shown", en.number(1234).into())]);
    assert_eq!((one.as_str(), many.as_str()), ("1 credit", "1,234 credits"));
    let ja = Tr::new(Lang::Ja);
    assert_eq!(ja.t_args("top-credits", &[("count", 5.into()), ("shown", "5".into())]), "5 クレジット");
    assert_eq!(ja.t("nav-home"), "ホーム");
    assert_eq!(Tr::new(Lang::ZhCn).t("nav-home"), "首页");
    assert_eq!(en.t("top-search.placeholder"), "Search prompts…");
    assert_eq!(en.t("no-such-message"), "no-such-message", "a missing key shows itself, never panics");
}

#[test]
fn the_browser_language_is_negotiated_with_q_values() {
    let cases = [
        ("", Lang::En),
        ("ja", Lang::Ja),
        ("ja-JP,ja;q=0.9,en;q=0.8", Lang::Ja),
        ("en-US,en;q=0.9,ja;q=0.8", Lang::En),
        ("zh", Lang::ZhCn),
        ("zh-CN", Lang::ZhCn),
        ("zh-Hans", Lang::ZhCn),
        ("zh-Hans-CN", Lang::ZhCn),
        ("zh-SG", Lang::ZhCn),
        ("zh-TW", Lang::En),
        ("zh-Hant", Lang::En),
        ("zh-TW,ja;q=0.5", Lang::Ja),
        ("zh-HK, zh-Hant-TW;q=0.9, en;q=0.1", Lang::En),
        ("en;q=0.2, ja;q=0.8", Lang::Ja),
        ("ja;q=0, zh-CN;q=0.3", Lang::ZhCn),
        ("fr-FR, de;q=0.9", Lang::En),
        ("*", Lang::En),
        (";;;,,,q=,ja", Lang::Ja),
        ("ja;q=abc, zh;q=0.5", Lang::ZhCn),
        ("ja;q=2", Lang::En),
        ("\u{0}\u{ffff}", Lang::En),
    ];
    for (header, expected) in cases {
        assert_eq!(negotiate(header), expected, "{header:?}");
    }
    let huge = "xx-YY;q=0.5,".repeat(100_000) + "ja";
    assert_eq!(negotiate(&huge), Lang::En, "a huge header is cut, not a panic");
}

#[test]
fn languages_have_codes_labels_and_read_back_from_codes() {
    for lang in Lang::ALL {
        assert_eq!(Lang::from_code(lang.code()), Some(lang));
    }
    assert_eq!(Lang::ALL.map(Lang::label), ["English", "日本語", "简体中文"]);
    assert_eq!(Lang::ZhCn.html_lang(), "zh-CN");
    assert_eq!(Lang::from_code("fr"), None);
}

#[test]
fn numbers_dates_and_durations_are_written_per_language() {
    let en = Tr::new(Lang::En);
    let ja = Tr::new(Lang::Ja);
    let zh = Tr::new(Lang::ZhCn);
    assert_eq!([en.number(0), en.number(999), en.number(1234), en.number(-1_234_567)], ["0", "999", "1,234", "-1,234,567"]);
    let at = Timestamp(1_796_611_200_000); // 2026-12-07 02:40 UTC
    assert_eq!(en.datetime(at), "2026-12-07 02:40 UTC");
    assert_eq!(ja.datetime(at), "2026年12月7日 02:40 UTC");
    assert_eq!(zh.date(at), "2026年12月7日");
    let d = Duration::from_secs(200);
    assert_eq!([en.duration(d), ja.duration(d), zh.duration(d)], ["3 min 20 s", "3分20秒", "3分20秒"]);
    assert_eq!(en.duration(Duration::from_millis(4_250)), "4.2 s");
    assert_eq!(ja.duration_ms(3_900_000), "1時間5分");
    assert_eq!(zh.duration(Duration::from_secs(3600)), "1小时");
    assert_eq!(en.duration(Duration::from_secs(120)), "2 min");
}

#[test]
fn states_and_roles_have_a_name_in_every_language() {
    use crate::domain::generation::GenState;
    for lang in Lang::ALL {
        let tr = Tr::new(lang);
        for state in GenState::ALL {
            assert!(!tr.state(&state).starts_with("state-"), "{} lacks the name of {}", lang.code(), state.as_str());
        }
        for role in ["admin", "member"] {
            assert!(!tr.role_name(role).starts_with("role-"), "{} lacks the role {role}", lang.code());
        }
    }
    assert_eq!(Tr::new(Lang::Ja).state(&GenState::Succeeded), "完了");
    assert_eq!(Tr::new(Lang::ZhCn).role_name("admin"), "管理员");
}
