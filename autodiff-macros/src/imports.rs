//! The modules of a crate import each other without a circle: each file's
//! `crate::NAME` paths are its imports, and their graph must be acyclic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module each source file under `src` belongs to, and the
/// top-level modules it names through `crate::`.
pub fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    fn visit(dir: &Path, src: &Path, out: &mut BTreeMap<String, BTreeSet<String>>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                visit(&path, src, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let first = relative.components().next().expect("a file");
            let module = first.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
            let text = std::fs::read_to_string(&path).expect("readable file");
            let names = out.entry(module.clone()).or_default();
            // Up to a `#[cfg(test)]` module: tests may reach anything.
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module && !name.starts_with(char::is_uppercase) {
                    names.insert(name);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(src, src, &mut out);
    out
}

/// A circle of imports, if there is one.
pub fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn search(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = search(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| search(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_import_no_cycle() {
    let graph = imports(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(
        graph.len() >= 15,
        "found only {} modules: is the scan broken?",
        graph.len()
    );
    assert!(graph["emit"].contains("plan"), "the scan misses imports");
    if let Some(circle) = cycle(&graph) {
        panic!("modules import each other in a circle: {}", circle.join(" → "));
    }
}
