//! The layers as drawn: each top-level module may name only the modules below it. Reads the
//! `crate::…` paths of every source file (outside comments) and checks them against
//! [`ALLOWED`]; a new dependency that points up or sideways fails here, with the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and the top-level modules it may use. `*` means any.
const ALLOWED: &[(&str, &[&str])] = &[
    ("cli", &["*"]),
    ("app", &["*"]),
    ("admin_socket", &["services", "config", "domain"]),
    ("http", &["services", "workers", "metrics", "urls", "error", "config", "domain", "search", "telemetry", "i18n"]),
    ("error", &["services", "store", "search", "config", "domain"]),
    ("scheduler", &["services", "workers", "config", "domain"]),
    (
        "services",
        &[
            "engine",
            "lifecycle",
            "store",
            "vault",
            "search",
            "providers",
            "workers",
            "metrics",
            "urls",
            "own_thread",
            "turns",
            "i18n",
            "config",
            "domain",
        ],
    ),
    ("engine", &["lifecycle", "providers", "vault", "store", "workers", "metrics", "turns", "config", "domain"]),
    ("lifecycle", &["store", "blocking", "config", "domain"]),
    ("search", &["store", "workers", "turns", "config", "domain"]),
    ("providers", &["config", "domain"]),
    ("vault", &["store", "worker_thread", "config", "domain"]),
    ("store", &["blocking", "config", "domain"]),
    ("config", &["domain"]),
    ("systemd", &["config", "domain"]),
    ("telemetry", &["config", "domain"]),
    ("workers", &["domain"]),
    ("metrics", &["domain"]),
    ("urls", &["domain"]),
    ("i18n", &["domain"]),
    ("turns", &[]),
    ("own_thread", &[]),
    ("blocking", &[]),
    ("worker_thread", &[]),
    ("memory", &[]),
    ("domain", &[]),
];

/// One use of a module the table does not allow.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The top-level module a source file belongs to (`src/a.rs`, `src/a/b.rs`,
/// `src/a/b/c.rs` → `a`).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let stem = first.strip_suffix(".rs").unwrap_or(first);
    match stem {
        "lib" | "main" | "architecture" => None,
        s => Some(s.to_string()),
    }
}

/// Every `crate::name` a source names outside comments, with its line number.
fn uses(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let preceded_by_ident = rest[..at].chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if !name.is_empty() && !preceded_by_ident {
                found.push((n + 1, name));
            }
            rest = after;
        }
    }
    found
}

/// The uses in `source` (a file of module `from`) that [`ALLOWED`] forbids.
fn check(file: &str, from: &str, source: &str) -> Vec<Violation> {
    let allowed = ALLOWED.iter().find(|(m, _)| *m == from).map(|(_, a)| *a);
    uses(source)
        .into_iter()
        .filter(|(_, to)| to != from)
        .filter(|(_, to)| allowed.is_none_or(|a| !a.contains(&"*") && !a.contains(&to.as_str())))
        .map(|(line, to)| Violation { file: file.to_string(), line, from: from.to_string(), to })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_top_level_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &files {
        let relative = path.strip_prefix(&src).unwrap();
        let Some(module) = module_of(relative) else { continue };
        assert!(ALLOWED.iter().any(|(m, _)| *m == module), "{module} (src/{}) is missing from the layer table", relative.display());
        let source = std::fs::read_to_string(path).unwrap();
        for (_, to) in uses(&source) {
            if to != module {
                graph.entry(module.clone()).or_default().insert(to);
            }
        }
        violations.extend(check(&format!("src/{}", relative.display()), &module, &source));
    }
    let listed: Vec<String> = violations.iter().map(|v| format!("{}:{}: {} uses {}", v.file, v.line, v.from, v.to)).collect();
    assert!(listed.is_empty(), "uses against the layering:\n{}", listed.join("\n"));
    assert_eq!(cycle(&graph), None, "the top-level modules depend on each other in a circle");
}

/// A circle in `graph`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn a_use_that_points_up_is_found_with_its_place() {
    let source = "//! The engine.\nuse crate::lifecycle::Change; // crate::services in a comment is no use\nfn f() { crate::services::studio::generations::events(); }\n";
    assert_eq!(
        check("src/engine/job.rs", "engine", source),
        vec![Violation { file: "src/engine/job.rs".into(), line: 3, from: "engine".into(), to: "services".into() }]
    );
    assert!(check("src/domain/ids.rs", "domain", "use crate::store::Store;\n").len() == 1, "the bottom layer uses nothing");
    assert!(check("src/app.rs", "app", "use crate::http;\nuse crate::engine;\n").is_empty(), "the top uses anything");
}

#[test]
fn a_circle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", "b"), ("b", "c"), ("c", "a")].iter().map(|(from, to)| (from.to_string(), BTreeSet::from([to.to_string()]))).collect();
    assert_eq!(cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into()]));
    let line: BTreeMap<String, BTreeSet<String>> = [("a".to_string(), BTreeSet::from(["b".to_string()]))].into_iter().collect();
    assert_eq!(cycle(&line), None);
}
