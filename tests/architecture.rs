//! The module map in `src/lib.rs` holds: the model knows no I/O or UI crate, and the
//! explorer's modules import each other without a circle (panes never import the app
//! or the view that compose them).

use std::collections::{BTreeMap, BTreeSet};

/// `super::NAME` references of each module in `dir`, test code left out.
fn sibling_imports(dir: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut map = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("rs") {
            continue;
        }
        let name = p.file_stem().unwrap().to_str().unwrap().to_string();
        if name == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let re = regex::Regex::new(r"super::(\{[^}]*\}|[a-z_]+)").unwrap();
        let mut deps = BTreeSet::new();
        for c in re.captures_iter(code) {
            let m = c.get(1).unwrap().as_str();
            for part in m.trim_matches(|c| c == '{' || c == '}').split(',') {
                let part = part.trim().split("::").next().unwrap().trim();
                if !part.is_empty() && part != "self" && part != name {
                    deps.insert(part.to_string());
                }
            }
        }
        map.insert(name, deps);
    }
    map
}

fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if g.contains_key(d) {
                if let Some(c) = visit(d, g, stack, done) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn tui_modules_import_each_other_without_a_circle() {
    let g = sibling_imports("src/tui");
    assert!(g.len() > 10, "{g:?}");
    if let Some(c) = find_cycle(&g) {
        panic!("import circle in src/tui: {}", c.join(" → "));
    }
    // Panes draw from their own state: only the app and the view compose them.
    for (m, deps) in &g {
        if m != "view" {
            assert!(!deps.contains("view"), "{m} imports the view");
        }
        if m != "view" && m != "app" {
            assert!(!deps.contains("app"), "{m} imports the app");
        }
    }
}

#[test]
fn the_model_uses_no_io_or_ui_crate() {
    for e in std::fs::read_dir("src/model").unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        for bad in [
            "tokio",
            "ratatui",
            "crossterm",
            "bollard",
            "crate::source",
            "crate::tui",
        ] {
            assert!(!text.contains(bad), "{} uses {bad}", p.display());
        }
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert!(find_cycle(&g).is_some());
    g.insert("b".to_string(), BTreeSet::new());
    assert!(find_cycle(&g).is_none());
}
