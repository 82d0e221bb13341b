//! Running the commands xtask is made of: `cargo` from the workspace root
//! (telling every tool it starts where the workspace is), any command with
//! its output shown to the user, and each step's progress line and error.

use std::env;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::workspace::{project_root, target_dir};

/// A `cargo` command run from the workspace root.
///
/// `cargo xtask` runs us through cargo, which tells us in `CARGO` which cargo
/// binary that was: using it (rather than whatever `cargo` is first on the
/// `PATH`) keeps every build on the same toolchain.
///
/// Every tool it starts (the harness, the book, the room, with `cargo run`)
/// is told where the workspace and its target directory are, so that none
/// takes them from where it was compiled.
pub fn cargo() -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(project_root());
    tell_workspace(&mut command, &project_root(), &target_dir());
    command
}

/// Tells the tool `command` starts that the workspace is at `root` and its
/// target directory at `target` (see `lesson::workspace`).
pub fn tell_workspace(command: &mut Command, root: &Path, target: &Path) {
    command
        .env(lesson::workspace::ROOT_VAR, root)
        .env("CARGO_TARGET_DIR", target);
}

/// Runs a command with our stdin, stdout and stderr, so its output (a
/// compiler error, say) goes straight to the user; fails unless it exits
/// successfully.
pub fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = show(command);
    let status = command
        .status()
        .with_context(|| format!("cannot run `{shown}`"))?;
    anyhow::ensure!(
        status.success(),
        "`{shown}` failed ({status}); its output is above"
    );
    Ok(())
}

/// A command as a user would type it: `cargo build ...` rather than the
/// full path of the toolchain's cargo binary.
pub fn show(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = program.file_stem().unwrap_or(program.as_os_str());
    std::iter::once(program)
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `--features <package>/vendored-openssl` for each package, when this
/// machine has no OpenSSL to link, else nothing.
///
/// The server's Web Push encryption (the `ece` crate) links OpenSSL. Most
/// machines have it; where `pkg-config` cannot find it (and `OPENSSL_DIR`
/// does not point at one), the stages' `vendored-openssl` feature builds it
/// from source instead — slower the first time, but nothing to install.
pub fn openssl_features(packages: &[&str]) -> Vec<String> {
    static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        let found = env::var_os("OPENSSL_DIR").is_some()
            || Command::new("pkg-config")
                .args(["--exists", "openssl"])
                .status()
                .is_ok_and(|status| status.success());
        if !found {
            println!("==> no OpenSSL found by pkg-config: building it from source (feature `vendored-openssl`)");
        }
        found
    });
    if found {
        return Vec::new();
    }
    let features: Vec<String> = packages
        .iter()
        .map(|package| format!("{package}/vendored-openssl"))
        .collect();
    vec!["--features".to_owned(), features.join(",")]
}

/// One step of a command: prints its progress line, runs it, and if it
/// fails, says which step that was (above the reason why).
pub fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    println!("==> {what}");
    f().with_context(|| format!("failed: {what}"))
}

/// Prints an error and what caused it, one line each: the outermost line
/// says which step failed, the inner ones why and how to fix it.
pub fn report(error: &anyhow::Error) {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_shown_without_the_toolchain_path() {
        let mut command = Command::new("/home/me/.rustup/toolchains/stable/bin/cargo");
        command.args(["build", "-p", "xtask"]);
        assert_eq!(show(&command), "cargo build -p xtask");
    }
}
