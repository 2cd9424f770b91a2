//! The catalog files shipped inside the binary: `catalog/*.toml`, one per provider API, read
//! in file-name order (which is the catalog's order on pages).

use std::sync::OnceLock;

use rust_embed::RustEmbed;

use super::{Catalog, Layer, Located};

#[derive(RustEmbed)]
#[folder = "catalog/"]
struct Files;

/// Every shipped file, by name, in order.
pub fn files() -> Vec<(String, String)> {
    let mut names: Vec<String> = Files::iter().map(|n| n.into_owned()).filter(|n| n.ends_with(".toml")).collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let file = Files::get(&name)?;
            Some((format!("catalog/{name}"), String::from_utf8_lossy(&file.data).into_owned()))
        })
        .collect()
}

/// The shipped catalog, parsed once. A broken shipped file is a build defect, caught by the
/// tests; should one slip through, that file is left out with an error in the log.
pub fn catalog() -> Catalog {
    static SHIPPED: OnceLock<Catalog> = OnceLock::new();
    SHIPPED
        .get_or_init(|| {
            let mut entries: Vec<Located> = Vec::new();
            for (name, text) in files() {
                match Catalog::parse(&name, &text) {
                    Ok(found) => entries.extend(found),
                    Err(e) => tracing::error!("the shipped catalog file is invalid: {e}"),
                }
            }
            Catalog::build_from(&Catalog::default(), Layer::Shipped, entries).unwrap_or_else(|e| {
                tracing::error!("the shipped catalog is invalid: {e}");
                Catalog::default()
            })
        })
        .clone()
}
