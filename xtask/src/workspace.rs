//! Where the workspace is, found at run time, and where cargo builds it.

use std::path::PathBuf;

/// The workspace root, found at run time (`lesson::workspace::discover`):
/// from `CARGO_MANIFEST_DIR`, which `cargo xtask` (a `cargo run`) sets to
/// this crate's directory in the workspace it runs in, or from the directory
/// it runs in; never from where this binary was compiled. `main` makes sure
/// it is found before any command runs.
pub fn project_root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| lesson::workspace::discover().unwrap_or_else(|error| panic!("{error}")))
        .clone()
}

/// Where cargo puts what it builds: `target/`, unless the user moved it
/// with `CARGO_TARGET_DIR` (a relative path there is relative to where
/// cargo runs, which for us is always the workspace root).
pub fn target_dir() -> PathBuf {
    lesson::workspace::target_dir(&project_root())
}
