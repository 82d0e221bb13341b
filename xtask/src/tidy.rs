//! Checks on the repository itself, run as ordinary tests (as
//! rust-analyzer's `tidy` does): promises the project makes in prose or in
//! CI configuration that would otherwise drift out of date unnoticed.

use std::fs;

use crate::project_root;

fn read(relative: &str) -> String {
    let path = project_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// CI must run the very suite a developer runs, so that "passes here" and
/// "passes in CI" mean the same thing.
#[test]
fn ci_runs_the_whole_test_suite() {
    let script = read(".ci/run");
    assert!(
        script.lines().any(|line| line.trim() == "cargo xtask test"),
        ".ci/run should run `cargo xtask test`, on a line of its own:\n{script}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(project_root().join(".ci/run"))
            .unwrap()
            .permissions()
            .mode();
        assert!(
            mode & 0o111 != 0,
            ".ci/run should be executable: chmod +x .ci/run"
        );
    }
}

/// The README promises a newcomer two commands; they must be the real ones.
#[test]
fn the_readme_gives_the_two_commands() {
    let readme = read("README.md");
    for command in ["cargo xtask serve", "cargo xtask test"] {
        assert!(
            readme.contains(command),
            "README.md should mention `{command}`"
        );
    }
}

/// `cargo xtask` works because of the alias in `.cargo/config.toml`.
#[test]
fn the_xtask_alias_is_there() {
    let config = read(".cargo/config.toml");
    assert!(
        config.contains(r#"xtask = "run --package xtask --""#),
        ".cargo/config.toml should define the `cargo xtask` alias"
    );
}
