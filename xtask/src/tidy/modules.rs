//! The module tree of every crate in the workspace, as the compiler would
//! find it from each crate root's `mod` declarations, test code left out.

use std::fs;
use std::path::{Path, PathBuf};

use super::rust::{blank, mod_decls, spaces, without_tests};
use crate::workspace::project_root;

/// One crate: a library or a binary of a workspace member.
pub struct Crate {
    /// Its root file, from the workspace root (`xtask/harness/src/main.rs`).
    pub name: String,
    pub modules: Vec<Module>,
}

/// One module, by its path in the crate (`[]` for the root,
/// `["checkpoints", "context"]`).
pub struct Module {
    pub path: Vec<String>,
    /// The file its code is in (a module written inline is in its parent's).
    pub file: PathBuf,
    /// Whether it has a file of its own.
    pub own_file: bool,
    /// The file's code, blanked and without tests, with everything that is
    /// not this module's own code blanked too (its inline submodules'
    /// bodies, and for an inline module the rest of the file): byte offsets
    /// and lines are the file's.
    pub code: String,
    /// Its submodules' names.
    pub children: Vec<String>,
}

impl Module {
    /// `crate::a::b`, or `crate` for the root.
    pub fn name(&self) -> String {
        std::iter::once("crate")
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("::")
    }
}

/// Every crate of the workspace's members, the stages included.
pub fn workspace_crates() -> Vec<Crate> {
    let root = project_root();
    let manifest: toml::Value = toml::from_str(
        &fs::read_to_string(root.join("Cargo.toml")).expect("the workspace's Cargo.toml"),
    )
    .expect("the workspace's Cargo.toml is TOML");
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("the workspace lists its members");
    let mut crates = Vec::new();
    for member in members.iter().filter_map(|m| m.as_str()) {
        for root_file in crate_roots(&root.join(member)) {
            crates.push(read_crate(&root, &root_file));
        }
    }
    assert!(
        crates.len() >= 8,
        "expected the stages' libraries and servers and the xtask crates, found {}",
        crates.len()
    );
    crates
}

/// A member's crate roots: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`,
/// `src/bin/*/main.rs`.
fn crate_roots(member: &Path) -> Vec<PathBuf> {
    let src = member.join("src");
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|file| src.join(file))
        .filter(|file| file.is_file())
        .collect();
    if let Ok(entries) = fs::read_dir(src.join("bin")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs") {
                roots.push(path);
            } else if path.join("main.rs").is_file() {
                roots.push(path.join("main.rs"));
            }
        }
    }
    roots.sort();
    roots
}

fn read_crate(workspace: &Path, root_file: &Path) -> Crate {
    let mut modules = Vec::new();
    let code = read_code(root_file);
    let len = code.len();
    let dir = root_file.parent().expect("a file is in a directory");
    add_module(
        Vec::new(),
        root_file,
        &code,
        (0, len),
        dir,
        true,
        &mut modules,
    );
    Crate {
        name: root_file
            .strip_prefix(workspace)
            .unwrap_or(root_file)
            .to_string_lossy()
            .replace('\\', "/"),
        modules,
    }
}

/// A file's code, blanked, its tests left out.
fn read_code(file: &Path) -> String {
    let text =
        fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    without_tests(&blank(&text))
}

/// Adds the module at `path`, whose code is `file_code[range]`, and its
/// submodules (those in files of their own are looked for under
/// `child_dir`).
fn add_module(
    path: Vec<String>,
    file: &Path,
    file_code: &str,
    range: (usize, usize),
    child_dir: &Path,
    own_file: bool,
    modules: &mut Vec<Module>,
) {
    let mut own = String::with_capacity(file_code.len());
    own.push_str(&spaces(&file_code[..range.0]));
    own.push_str(&file_code[range.0..range.1]);
    own.push_str(&spaces(&file_code[range.1..]));
    let decls = mod_decls(&own);
    for decl in &decls {
        if let Some((start, end)) = decl.body {
            let blanked = spaces(&own[start..end]);
            own.replace_range(start..end, &blanked);
        }
    }
    modules.push(Module {
        path: path.clone(),
        file: file.to_owned(),
        own_file,
        code: own,
        children: decls.iter().map(|d| d.name.clone()).collect(),
    });
    for decl in decls {
        let mut child = path.clone();
        child.push(decl.name.clone());
        match decl.body {
            Some(body) => add_module(
                child,
                file,
                file_code,
                body,
                &child_dir.join(&decl.name),
                false,
                modules,
            ),
            None => {
                let flat = child_dir.join(format!("{}.rs", decl.name));
                let nested = child_dir.join(&decl.name).join("mod.rs");
                let child_file = if flat.is_file() { flat } else { nested };
                let code = read_code(&child_file);
                let len = code.len();
                // `a.rs` keeps its submodules in `a/`, as `a/mod.rs` does.
                let dir = child_dir.join(&decl.name);
                add_module(child, &child_file, &code, (0, len), &dir, true, modules);
            }
        }
    }
}
