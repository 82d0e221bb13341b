//! No import cycles between the modules of a crate: each dependency goes one
//! way, so that a module can be read (and changed) knowing only those below
//! it. A module depends on another when its code names it: in a `use`, or in
//! a path (`crate::store::Store`, `super::api::ApiError`, `push::send`).
//! Test code does not count.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::modules::{Crate, Module, workspace_crates};
use super::rust::{line_of, paths};
use crate::workspace::project_root;

/// One module naming another, and where.
struct Edge {
    to: usize,
    /// `file:line`, for the message.
    at: String,
}

/// The modules of `krate` each depends on, by index.
fn edges(krate: &Crate) -> Vec<Vec<Edge>> {
    let index: HashMap<&[String], usize> = krate
        .modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.as_slice(), i))
        .collect();
    let module_at = |path: &[String]| index.get(path).copied();
    krate
        .modules
        .iter()
        .enumerate()
        .map(|(i, module)| {
            let mut imported: HashMap<String, Vec<String>> = HashMap::new();
            let mut out: BTreeMap<usize, String> = BTreeMap::new();
            // Twice: a `use` of a module makes its name a way to it for the
            // paths that follow (`use crate::progress; progress::load()`).
            let refs = paths(&module.code);
            for _ in 0..2 {
                for path in &refs {
                    let Some(target) = resolve(module, &path.segments, &imported, &module_at)
                    else {
                        continue;
                    };
                    if let Some(last) = path.segments.last()
                        && krate.modules[target].path.last() == Some(last)
                    {
                        imported.insert(last.clone(), krate.modules[target].path.clone());
                    }
                    if target != i {
                        out.entry(target).or_insert_with(|| {
                            let file = module
                                .file
                                .strip_prefix(project_root())
                                .unwrap_or(&module.file);
                            format!("{}:{}", file.display(), line_of(&module.code, path.at))
                        });
                    }
                }
            }
            out.into_iter().map(|(to, at)| Edge { to, at }).collect()
        })
        .collect()
}

/// The module a path names (the deepest module along it), if it names one
/// of this crate's.
fn resolve(
    from: &Module,
    segments: &[String],
    imported: &HashMap<String, Vec<String>>,
    module_at: &dyn Fn(&[String]) -> Option<usize>,
) -> Option<usize> {
    let first = segments.first()?;
    let (mut current, rest): (Vec<String>, &[String]) = match first.as_str() {
        "crate" => (Vec::new(), &segments[1..]),
        "self" => (from.path.clone(), &segments[1..]),
        "super" => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            let keep = from.path.len().checked_sub(ups)?;
            (from.path[..keep].to_vec(), &segments[ups..])
        }
        name if from.children.iter().any(|c| c == name) => {
            let mut path = from.path.clone();
            path.push(name.to_owned());
            (path, &segments[1..])
        }
        name => (imported.get(name)?.clone(), &segments[1..]),
    };
    for segment in rest {
        let mut deeper = current.clone();
        deeper.push(segment.clone());
        if module_at(&deeper).is_none() {
            break;
        }
        current = deeper;
    }
    module_at(&current)
}

/// The import cycles of `krate`: each set of modules that reach one another
/// (a strongly connected component of more than one), as a line naming
/// them and, for each dependency inside the set, where it is.
fn cycles(krate: &Crate) -> Vec<String> {
    let edges = edges(krate);
    let components = strongly_connected(krate.modules.len(), &edges);
    components
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|component| {
            let names: Vec<String> = component.iter().map(|&m| krate.modules[m].name()).collect();
            let inside: BTreeSet<usize> = component.iter().copied().collect();
            let mut lines = vec![format!("{}: {}", krate.name, names.join(" ↔ "))];
            for &m in &component {
                for edge in edges[m].iter().filter(|e| inside.contains(&e.to)) {
                    lines.push(format!(
                        "    {} uses {} ({})",
                        krate.modules[m].name(),
                        krate.modules[edge.to].name(),
                        edge.at
                    ));
                }
            }
            lines.join("\n")
        })
        .collect()
}

/// Tarjan's algorithm: the strongly connected components of the graph.
fn strongly_connected(nodes: usize, edges: &[Vec<Edge>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [Vec<Edge>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        found: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for w in s.edges[v].iter().map(|e| e.to) {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(index) if s.on_stack[w] => s.low[v] = s.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort();
            s.found.push(component);
        }
    }
    let mut state = State {
        edges,
        index: vec![None; nodes],
        low: vec![0; nodes],
        on_stack: vec![false; nodes],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..nodes {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.found
}

/// The cycles of every crate whose root file is under `dirs`.
fn cycles_under(dirs: &[&str]) -> Vec<String> {
    workspace_crates()
        .iter()
        .filter(|krate| dirs.iter().any(|dir| krate.name.starts_with(dir)))
        .flat_map(cycles)
        .collect()
}

/// The xtask's crates: xtask, lesson, the harness, the book, the room (and
/// any crate added under `xtask/`).
#[test]
fn no_import_cycle_in_the_xtask_crates() {
    let found = cycles_under(&["xtask/"]);
    assert!(
        found.is_empty(),
        "import cycles between modules (make the dependency go one way: move what both need below both):\n{}",
        found.join("\n")
    );
}

/// The two stages, library and server. Red on the layout branch of issue 28
/// until its stages branch (which removes `api ↔ push ↔ store` in the
/// server and `plain ↔ push` in the library) is merged; green once both
/// are.
#[test]
fn no_import_cycle_in_the_stages() {
    let found = cycles_under(&["starter/", "solution/"]);
    assert!(
        found.is_empty(),
        "import cycles between modules of the stages (make the dependency go one way: move what both need below both):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_cycle_is_one_component_and_a_line_is_not() {
    let edge = |to| Edge {
        to,
        at: String::new(),
    };
    // 0 → 1 → 2 → 0, and 2 → 3.
    let edges = vec![vec![edge(1)], vec![edge(2)], vec![edge(0), edge(3)], vec![]];
    let mut components = strongly_connected(4, &edges);
    components.sort();
    assert_eq!(components, [vec![0, 1, 2], vec![3]]);
}
