//! Where the workspace is, found at run time, and where things are in it.
//!
//! Never where a tool was compiled (`env!("CARGO_MANIFEST_DIR")`): a
//! workspace copied together with its `target/` — an instructor's prepared
//! copy — runs binaries built in the original, and must read and write its
//! own files, never the original's. So `cargo xtask` finds the workspace
//! from where cargo runs it, and tells every tool it starts (the harness,
//! the book, the room) with [`ROOT_VAR`] and `CARGO_TARGET_DIR`.

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The variable by which `cargo xtask` tells each tool it starts where the
/// workspace is.
pub const ROOT_VAR: &str = "OFFLINE_NEWS_WORKSPACE";

/// The lesson's checkpoints, from the workspace root.
pub const CHECKPOINTS: &str = "lessons/background-sync/checkpoints.toml";

/// The lesson's plan (which files the lesson changes, and the session's
/// minutes per section), from the workspace root.
pub const LESSON_PLAN: &str = "lessons/background-sync/lesson.toml";

/// The workspace root, as a tool finds it at run time: [`ROOT_VAR`] when
/// `cargo xtask` set it, else as [`discover`] finds it.
pub fn workspace_root() -> Result<PathBuf, NotFound> {
    find_root(
        env::var_os(ROOT_VAR),
        env::var_os("CARGO_MANIFEST_DIR"),
        env::current_dir().ok(),
    )
}

/// The workspace root, as `cargo xtask` finds it (it is the one that tells
/// the others, so it never reads [`ROOT_VAR`]): the nearest directory
/// holding the workshop at or above `CARGO_MANIFEST_DIR`, which `cargo run`
/// and `cargo test` set at run time to the directory of the package they
/// run; else at or above the current directory.
pub fn discover() -> Result<PathBuf, NotFound> {
    find_root(
        None,
        env::var_os("CARGO_MANIFEST_DIR"),
        env::current_dir().ok(),
    )
}

/// [`workspace_root`] from what the environment says.
fn find_root(
    given: Option<OsString>,
    manifest_dir: Option<OsString>,
    current: Option<PathBuf>,
) -> Result<PathBuf, NotFound> {
    if let Some(root) = given {
        let root = PathBuf::from(root);
        return if is_root(&root) {
            Ok(root)
        } else {
            Err(NotFound::NotTheWorkspace(root))
        };
    }
    for start in [manifest_dir.map(PathBuf::from), current.clone()]
        .into_iter()
        .flatten()
    {
        if let Some(root) = start.ancestors().find(|dir| is_root(dir)) {
            return Ok(root.to_owned());
        }
    }
    Err(NotFound::Nowhere(current))
}

/// Whether `dir` is the workshop's workspace: its manifest and its lesson.
fn is_root(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join(CHECKPOINTS).is_file()
}

/// Where cargo builds for the workspace at `root`: `CARGO_TARGET_DIR` when
/// it is set (relative to the root, where cargo runs for the workshop's
/// commands; `cargo xtask` sets it, absolute, for every tool it starts),
/// else `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The variables `cargo run` sets for the program it runs, found in this
/// process's environment: its package's manifest, name and version
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...), and `OUT_DIR`.
///
/// Remove them from any cargo a tool starts. A cargo inherits them, and a
/// build script that asks to run again when one of them changes (`ring`'s
/// asks for `CARGO_MANIFEST_DIR` and `CARGO_PKG_NAME`: rustls and so the
/// server depend on it) would then see other values than under a `cargo
/// build` typed in a shell, or started by another tool: each switch
/// between the two rebuilds it and all that depends on it, the whole
/// server's TLS stack (~12 s here after a save that touched only the
/// worker's wasm). Without them every cargo sees what the shell's sees.
pub fn cargo_run_vars() -> Vec<OsString> {
    env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.to_str().is_some_and(is_set_by_cargo_run))
        .collect()
}

/// Whether cargo sets `name` for the program `cargo run` (or `cargo
/// test`) runs, rather than for every command it starts (`CARGO`, which
/// names the toolchain's cargo, stays).
fn is_set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_BIN_EXE_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// A part's `.wasm` (`page` or `worker`) of the site `site`, as cargo built
/// it, under the target directory `target`: with its name section, which
/// wasm-bindgen then drops from what the browser gets. `cargo xtask build`
/// keeps it here, out of the site, so that the benchmark can say which
/// functions and crates a size is made of.
pub fn wasm_with_names(target: &Path, site: &str, part: &str) -> PathBuf {
    target
        .join("wasm")
        .join("with-names")
        .join(format!("{site}-{part}.wasm"))
}

/// Why the workspace was not found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    /// [`ROOT_VAR`] names a directory that is not the workspace.
    NotTheWorkspace(PathBuf),
    /// Neither `CARGO_MANIFEST_DIR` nor the current directory (shown) is
    /// inside it.
    Nowhere(Option<PathBuf>),
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotFound::NotTheWorkspace(dir) => write!(
                f,
                "{ROOT_VAR} is {}, which is not the workshop's workspace (it has no Cargo.toml and {CHECKPOINTS})",
                dir.display()
            ),
            NotFound::Nowhere(current) => write!(
                f,
                "cannot find the workshop's workspace from {}: run this inside it (the directory with Cargo.toml and {CHECKPOINTS}), with `cargo xtask`, or with {ROOT_VAR} set to it",
                current
                    .as_deref()
                    .map_or("here".into(), |dir| dir.display().to_string())
            ),
        }
    }
}

impl std::error::Error for NotFound {}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn a_cargo_started_by_a_tool_drops_what_cargo_run_set_for_the_tool() {
        for set in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_PRE",
            "CARGO_MANIFEST_LINKS",
            "CARGO_BIN_EXE_harness",
            "OUT_DIR",
        ] {
            assert!(is_set_by_cargo_run(set), "{set}");
        }
        // The toolchain's cargo, the target, the user's own settings stay.
        for kept in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTFLAGS",
            "PATH",
        ] {
            assert!(!is_set_by_cargo_run(kept), "{kept}");
        }
    }

    /// A directory under the system's temp dir, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = env::temp_dir().join(format!("lesson-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        /// A workspace at `at`: a manifest and the lesson's checkpoints.
        fn workspace(&self, at: &str) -> PathBuf {
            let root = self.0.join(at);
            fs::create_dir_all(root.join(CHECKPOINTS).parent().unwrap()).unwrap();
            fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
            fs::write(root.join(CHECKPOINTS), "").unwrap();
            fs::create_dir_all(root.join("xtask/book/src")).unwrap();
            root
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_variable_xtask_sets_comes_first() {
        let scratch = Scratch::new("given");
        let original = scratch.workspace("original");
        let copy = scratch.workspace("copy");
        let found = find_root(
            Some(copy.clone().into()),
            Some(original.join("xtask/book").into()),
            Some(original.clone()),
        );
        assert_eq!(found, Ok(copy));
        let error = find_root(Some(scratch.0.clone().into()), None, None).unwrap_err();
        assert!(error.to_string().contains(ROOT_VAR), "{error}");
    }

    #[test]
    fn else_the_package_cargo_runs_then_the_current_directory() {
        let scratch = Scratch::new("found");
        let copy = scratch.workspace("copy");
        let elsewhere = scratch.workspace("elsewhere");
        // `cargo run -p book` in the copy: its package is under the copy,
        // wherever the binary was compiled.
        assert_eq!(
            find_root(
                None,
                Some(copy.join("xtask/book").into()),
                Some(elsewhere.clone())
            ),
            Ok(copy.clone())
        );
        // The binary run by hand in the copy.
        assert_eq!(
            find_root(None, None, Some(copy.join("xtask/book/src"))),
            Ok(copy)
        );
        let error = find_root(None, None, Some(scratch.0.clone())).unwrap_err();
        assert!(error.to_string().contains("cannot find"), "{error}");
    }

    #[test]
    fn this_workspace_is_found() {
        let root = workspace_root().unwrap();
        assert!(root.join("xtask/lesson/Cargo.toml").is_file());
    }
}
