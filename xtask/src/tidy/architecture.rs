//! `ARCHITECTURE.md` is the map a newcomer trusts before reading any code:
//! it must name only files and folders that exist, and name every folder of
//! the crates it maps, so that a move or a new folder updates it.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::{files_under, read};
use crate::workspace::project_root;

/// The folders whose sub-folders the map must each name (as `name/`).
const MAPPED: &[&str] = &[
    "xtask/src",
    "xtask/harness/src",
    "xtask/book/src",
    "xtask/room/src",
    "xtask/lesson/src",
    "xtask/platform/src",
    "solution/src",
    "solution/src/bin/server",
];

/// What the map names in backticks that is a file or folder: a word of
/// path characters ending in a known extension or in `/`.
fn named_paths(map: &str) -> BTreeSet<String> {
    const EXTENSIONS: [&str; 7] = [".rs", ".toml", ".md", ".js", ".css", ".json", ".html"];
    map.split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
                && (word.ends_with('/') || EXTENSIONS.iter().any(|ext| word.ends_with(ext)))
        })
        .map(str::to_owned)
        .collect()
}

/// Every file and folder of the repository, relative to `root`, with `/`
/// between parts; not the build's output, git's or npm's.
fn repository_paths(root: &Path) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for entry in fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if ["target", ".git", "node_modules"].contains(&name.as_str()) {
            continue;
        }
        if path.is_dir() {
            for file in files_under(&path) {
                // The file, and each folder above it.
                let mut parts = format!("{name}/{file}");
                paths.insert(parts.clone());
                while let Some((parent, _)) = parts.rsplit_once('/') {
                    paths.insert(format!("{parent}/"));
                    parts = parent.to_owned();
                }
            }
        } else {
            paths.insert(name);
        }
    }
    paths
}

/// Whether `named` is a path of the repository, whole or as the end of one
/// (the map names a file inside the crate its paragraph is about).
fn exists(named: &str, paths: &BTreeSet<String>) -> bool {
    paths.contains(named)
        || paths
            .iter()
            .any(|path| path.ends_with(&format!("/{named}")))
}

#[test]
fn the_architecture_map_names_only_what_exists() {
    let paths = repository_paths(&project_root());
    let missing: Vec<String> = named_paths(&read("ARCHITECTURE.md"))
        .into_iter()
        // What a build writes is not in the repository.
        .filter(|named| !named.starts_with("target/") && !exists(named, &paths))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names files or folders that are not in the repository (moved or renamed? update the map): {missing:?}"
    );
}

#[test]
fn the_architecture_map_names_every_folder() {
    let named = named_paths(&read("ARCHITECTURE.md"));
    let mut unnamed = Vec::new();
    for parent in MAPPED {
        let dir = project_root().join(parent);
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_dir() {
                continue;
            }
            let folder = format!("{}/", path.file_name().unwrap().to_string_lossy());
            let whole = format!("{parent}/{folder}");
            // Named whole, or by its end, or as a folder on the way to
            // something named (`src/bin/server/` names `src/bin/`).
            let folders_named = named
                .iter()
                .flat_map(|n| n.match_indices('/').map(move |(end, _)| &n[..=end]));
            if !folders_named
                .into_iter()
                .any(|n| whole == n || whole.ends_with(&format!("/{n}")))
            {
                unnamed.push(whole);
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "ARCHITECTURE.md does not name these folders: say in a line each what they hold: {unnamed:?}"
    );
}

#[test]
fn a_path_is_found_whole_or_by_its_end() {
    let paths = BTreeSet::from(["xtask/".to_owned(), "xtask/src/main.rs".to_owned()]);
    assert!(exists("xtask/src/main.rs", &paths));
    assert!(exists("src/main.rs", &paths));
    assert!(exists("main.rs", &paths));
    assert!(!exists("ain.rs", &paths));
    assert!(!exists("lib.rs", &paths));
    let named = named_paths("`a.rs` and `b/`, not `cargo xtask` nor `env!(\"X\")` nor `c`");
    assert_eq!(named, BTreeSet::from(["a.rs".to_owned(), "b/".to_owned()]));
}
