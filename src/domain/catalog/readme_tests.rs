//! Keeps README.md's model list in step with the catalog: the table between the
//! `models:begin` and `models:end` markers must be exactly what the catalog generates.
//! `REELVAULT_BLESS_README=1 cargo test --lib readme` rewrites it.

use super::Catalog;
use super::data_use::DataUseTable;

const BEGIN: &str = "<!-- models:begin (generated from the catalog by `cargo test --lib readme`; do not edit) -->\n";
const END: &str = "<!-- models:end -->";

/// The Markdown table of every catalog model.
fn models_table() -> String {
    let table = DataUseTable::builtin();
    let mut out = String::from("| id | model | kind | provider (connection kind) |\n|---|---|---|---|\n");
    for m in Catalog::shipped().models() {
        let provider = table.get(&m.provider).map_or(m.provider.as_str(), |d| d.provider.as_str());
        let note = if m.unavailable.is_some() { " (not available: see why on its page)" } else { "" };
        out.push_str(&format!("| `{}` | {}{note} | {} | {provider} (`{}`) |\n", m.id, m.label, m.kind.as_str(), m.provider));
    }
    out
}

#[test]
fn readme_lists_every_catalog_model() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme.find(BEGIN).map(|i| i + BEGIN.len()).expect("README.md has the models:begin marker");
    let end = readme[start..].find(END).map(|i| start + i).expect("README.md has the models:end marker");
    let expected = models_table();
    if readme[start..end] == expected {
        return;
    }
    if std::env::var_os("REELVAULT_BLESS_README").is_some() {
        std::fs::write(&path, format!("{}{expected}{}", &readme[..start], &readme[end..])).expect("write README.md");
        return;
    }
    panic!(
        "README.md's model list differs from the catalog; run `REELVAULT_BLESS_README=1 cargo test --lib readme` \
         or put this between the markers:\n{expected}"
    );
}
