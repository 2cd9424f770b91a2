//! The library's active filters as removable chips: each links to the same page without it.

use crate::i18n::Tr;
use crate::urls::Route;

/// One active filter and the link that removes it.
pub struct Chip {
    /// What the filter is, in words ("Kind: video").
    pub label: String,
    /// The library with every other filter but this one (and from the first page).
    pub remove: String,
}

/// The query parameters that narrow the results.
const FILTERS: [&str; 10] = ["q", "kind", "model", "provider", "state", "sound", "kept", "from", "to", "user"];

/// What a chip calls the filter `name`.
fn filter_label(name: &str, tr: &Tr) -> String {
    tr.t(match name {
        "q" => "filter-search",
        "kind" => "filter-kind",
        "model" => "field-model",
        "provider" => "generation-provider",
        "state" => "filter-state",
        "sound" => "filter-sound",
        "kept" => "filter-kept",
        "from" => "filter-from",
        "to" => "filter-to",
        _ => "filter-user",
    })
}

/// Parameters that only place a page in the list: a link elsewhere drops them.
const PAGING: [&str; 2] = ["cursor", super::CONTINUED_DAY];

/// The library's URL with `pairs` (empty values and paging left out).
pub fn library_url<'a>(pairs: impl Iterator<Item = &'a (String, String)>) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.filter(|(k, v)| !v.trim().is_empty() && !PAGING.contains(&k.as_str())) {
        out.append_pair(k, v);
    }
    let query = out.finish();
    if query.is_empty() { Route::Library.pattern().to_string() } else { format!("{}?{query}", Route::Library.pattern()) }
}

/// A filter's value in words.
fn shown(name: &str, value: &str, tr: &Tr) -> String {
    match (name, value) {
        ("q", q) => tr.t_args("filter-quoted", &[("text", q.into())]),
        ("sound", "true") => tr.t("status-with-sound"),
        ("sound", "false") => tr.t("filter-without-sound"),
        ("kept", "true") => tr.t("badge-kept"),
        ("kept", "false") => tr.t("filter-not-kept"),
        (_, other) => other.to_string(),
    }
}

/// A chip per filter given in the query's `pairs`, in their order.
pub fn chips(pairs: &[(String, String)], tr: &Tr) -> Vec<Chip> {
    pairs
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| !v.trim().is_empty())
        .filter_map(|(i, (k, v))| {
            let label = filter_label(FILTERS.iter().find(|name| *name == k)?, tr);
            let others = pairs.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| p);
            Some(Chip {
                label: tr.t_args("filter-chip", &[("label", label.into()), ("value", shown(k, v.trim(), tr).into())]),
                remove: library_url(others),
            })
        })
        .collect()
}

/// The library without any filter, keeping only how it is sorted.
pub fn clear_all(pairs: &[(String, String)]) -> String {
    library_url(pairs.iter().filter(|(k, _)| !FILTERS.iter().any(|name| name == k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn each_chip_removes_only_its_own_filter() {
        let given = pairs(&[("q", "red kite"), ("kind", "video"), ("kind", "image"), ("sort", "oldest"), ("cursor", "x"), ("sound", "")]);
        let chips = chips(&given, &Tr::new(crate::i18n::Lang::En));
        let labels: Vec<&str> = chips.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["Search: “red kite”", "Kind: video", "Kind: image"]);
        assert_eq!(chips[0].remove, "/library?kind=video&kind=image&sort=oldest");
        assert_eq!(chips[1].remove, "/library?q=red+kite&kind=image&sort=oldest");
        assert_eq!(clear_all(&given), "/library?sort=oldest");
        assert_eq!(clear_all(&pairs(&[("q", "x")])), "/library");
    }
}
