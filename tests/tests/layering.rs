//! The runtime's modules form layers: no top-level module of
//! `runtime/src` may reach, through `crate::` paths, a module that reaches
//! it back. Cycles tie modules into knots that can only be understood, and
//! moved, together (issue 20). A cycle fails this test unless it is listed
//! in `KNOWN`, and a listed one that is untied must leave the list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Cycles still to untie, each as the modules that reach each other. None
/// is left; a cycle someone must let in for a while goes here, with why.
const KNOWN: &[&[&str]] = &[];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("runtime/src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `pool/wire.rs` and `pool.rs`
/// are both `pool`; `lib.rs` is the crate root, left out.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_string())
}

/// The top-level modules a source names through `crate::`, comments and
/// doc comments left out (links in prose are not dependencies): a plain
/// `crate::name` and each name of a `crate::{a, b::c}` group.
fn references(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` and `multiproc_crate::` are not this crate's paths.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The first name of each item at the group's own depth.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        out.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.insert(name);
        }
    }
    out.retain(|name| !name.is_empty());
    out
}

/// The cycles of the graph: its strongly connected components of more
/// than one module, each sorted.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            if m == to {
                return true;
            }
            if seen.insert(m.clone()) {
                stack.extend(graph.get(&m).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut out = BTreeSet::new();
    for m in graph.keys() {
        let mut component: Vec<String> = graph
            .keys()
            .filter(|n| *n == m || (reaches(m, n) && reaches(n, m)))
            .cloned()
            .collect();
        component.sort();
        if component.len() > 1 {
            out.insert(component);
        }
    }
    out
}

#[test]
fn no_module_reaches_back_to_one_that_reaches_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let text = std::fs::read_to_string(file).expect("a readable source");
        let deps = graph.entry(module.clone()).or_default();
        for name in references(&text) {
            if name != module && modules.contains(&name) {
                deps.insert(name);
            }
        }
    }
    let found = cycles(&graph);
    let known: BTreeSet<Vec<String>> = KNOWN
        .iter()
        .map(|c| {
            let mut c: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            c.sort();
            c
        })
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let untied: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "modules that reach each other back: {new:?}; edges: {:?}",
        new.iter()
            .flat_map(|c| c.iter().map(|m| (m, &graph[m])))
            .collect::<Vec<_>>()
    );
    assert!(untied.is_empty(), "untied, remove from KNOWN: {untied:?}");
}

#[test]
fn references_are_read_from_code_only() {
    let text = "use crate::{codec, pool::wire::{a, b}};\n// crate::sync is prose\nlet x = crate::shared::Segment::new();\nmacro_rules! m { () => { $crate::queue } }";
    let found: Vec<String> = references(text).into_iter().collect();
    assert_eq!(found, ["codec", "pool", "shared"]);
}
