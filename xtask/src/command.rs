//! Running the commands xtask is made of: `cargo` from the workspace root
//! (telling every tool it starts where the workspace is), any command with
//! its output shown to the user, and each step's progress line and error.

use std::env;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use platform::openssl;

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
    // As a shell's cargo sees it: see `lesson::workspace::cargo_run_vars`.
    for name in lesson::workspace::cargo_run_vars() {
        command.env_remove(name);
    }
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

/// The cargo arguments that give the servers their OpenSSL (the `ece` crate
/// under `web-push` links it): none where one is installed; otherwise the
/// stages' `vendored-openssl` feature, which builds it from source; an
/// error that names the fix where it cannot be built. `platform::openssl`
/// says what each system has and needs.
pub fn openssl_features(packages: &[&str]) -> anyhow::Result<Vec<String>> {
    static SOURCE: std::sync::OnceLock<openssl::Source> = std::sync::OnceLock::new();
    let source = SOURCE.get_or_init(|| {
        let source = openssl::source(&platform::Machine::this());
        if let openssl::Source::FromSource { perl, .. } = &source {
            println!(
                "==> no OpenSSL installed: building it from source (feature `vendored-openssl`, with {})",
                perl.display()
            );
        }
        source
    });
    openssl_arguments(source, packages)
}

fn openssl_arguments(source: &openssl::Source, packages: &[&str]) -> anyhow::Result<Vec<String>> {
    match source {
        openssl::Source::Installed(_) => Ok(Vec::new()),
        openssl::Source::Missing { why, fix } => anyhow::bail!(
            "the server needs OpenSSL (for Web Push), and this machine has {why}; fix: {fix} (`cargo xtask doctor` checks everything the workshop needs)"
        ),
        openssl::Source::FromSource { perl, name_perl } => {
            let features: Vec<String> = packages
                .iter()
                .map(|package| format!("{package}/vendored-openssl"))
                .collect();
            let mut arguments = vec!["--features".to_owned(), features.join(",")];
            if *name_perl {
                // `openssl-src` runs the perl `OPENSSL_SRC_PERL` names;
                // cargo's `[env]` sets it for the build scripts alone.
                arguments.push("--config".to_owned());
                arguments.push(format!(
                    "env.OPENSSL_SRC_PERL={}",
                    toml_string(&perl.to_string_lossy())
                ));
            }
            Ok(arguments)
        }
    }
}

/// `text` as a TOML basic string, for a `--config` value.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
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

/// Runs git in `root` and returns what it printed; its error message when
/// it fails.
pub fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut command = Command::new("git");
    command.current_dir(root).args(args);
    let shown = show(&command);
    let output = command
        .output()
        .with_context(|| format!("cannot run `{shown}` (is git installed?)"))?;
    if !output.status.success() {
        anyhow::bail!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed what is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn openssl_is_built_from_source_only_where_none_is_installed() {
        let installed = openssl::Source::Installed("found by pkg-config".to_owned());
        assert!(
            openssl_arguments(&installed, &["a", "b"])
                .unwrap()
                .is_empty()
        );

        let unix = openssl::Source::FromSource {
            perl: PathBuf::from("/usr/bin/perl"),
            name_perl: false,
        };
        assert_eq!(
            openssl_arguments(&unix, &["a", "b"]).unwrap(),
            ["--features", "a/vendored-openssl,b/vendored-openssl"]
        );

        // Windows, in a shell whose first perl is MSYS's: Strawberry's is
        // named to openssl-src.
        let windows = openssl::Source::FromSource {
            perl: PathBuf::from(r"C:\Strawberry\perl\bin\perl.exe"),
            name_perl: true,
        };
        assert_eq!(
            openssl_arguments(&windows, &["a"]).unwrap(),
            [
                "--features",
                "a/vendored-openssl",
                "--config",
                r#"env.OPENSSL_SRC_PERL="C:\\Strawberry\\perl\\bin\\perl.exe""#
            ]
        );

        let missing = openssl::Source::Missing {
            why: "no perl".to_owned(),
            fix: "winget install StrawberryPerl".to_owned(),
        };
        let error = openssl_arguments(&missing, &["a"]).unwrap_err().to_string();
        assert!(
            error.contains("no perl; fix: winget install StrawberryPerl"),
            "{error}"
        );
    }

    #[test]
    fn commands_are_shown_without_the_toolchain_path() {
        let mut command = Command::new("/home/me/.rustup/toolchains/stable/bin/cargo");
        command.args(["build", "-p", "xtask"]);
        assert_eq!(show(&command), "cargo build -p xtask");
    }
}
