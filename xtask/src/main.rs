//! `cargo xtask`: the workshop's build tool, written in Rust like the rest.
//!
//! This follows the [cargo xtask] convention (and rust-analyzer's `xtask`):
//! the project's chores are a small Rust program in the workspace, run with
//! `cargo xtask <command>` through the alias in `.cargo/config.toml`. Nothing
//! else has to be installed — no make, no shell scripts, no npm, no
//! `wasm-bindgen` CLI — and it runs the same on Linux, macOS and Windows.
//!
//! One module per command:
//!
//! - [`build`]: `cargo xtask build [starter|solution]` — the wasm, its JS
//!   bindings and the static files, assembled into `target/site/<stage>/`.
//! - [`serve`]: `cargo xtask serve` — build, then run the stage's server,
//!   optionally rebuilding and reloading on every change (`--watch`).
//! - [`check`]: `cargo xtask check` — build a stage and run the lesson's
//!   checkpoints in a headless browser (the `harness` crate).
//! - [`hint`], [`reveal`], [`reset`]: `cargo xtask hint [checkpoint]`,
//!   `cargo xtask reveal <checkpoint>`, `cargo xtask reset [file]` — a
//!   checkpoint's hint again, the solution's code for one checkpoint only,
//!   a lesson file back as the starter had it (progress itself is kept by
//!   `check`, in [`progress`]).
//! - [`test`]: `cargo xtask test` — every check the project has, in order.
//! - `book`: `cargo xtask book [--serve] [--open]` — the lesson's mdBook,
//!   built by the `book` crate (its own crate, so that the mdBook libraries
//!   are never compiled on the way to `serve`).
//! - `screenshots`: `cargo xtask screenshots` — the book's pictures of the
//!   real app, taken by the harness in headless Chromium.
//! - `chaos`: `cargo xtask chaos [--seed N]` — articles added from two tabs
//!   while faults happen at random; nothing may be lost or duplicated (one
//!   step of `test`).
//! - [`bench`]: `cargo xtask bench [name] [--quick]` — the benchmarks
//!   and their baselines, reported in `target/bench/report.md`.
//! - [`room`]: `cargo xtask room` — the instructor's live view of every
//!   student's checkpoints (the `room` crate; students opt in with
//!   `cargo xtask check --room`).
//!
//! [cargo xtask]: https://github.com/matklad/cargo-xtask

mod bench;
mod build;
mod check;
mod copied;
mod hint;
mod progress;
mod reset;
mod reveal;
mod room;
mod serve;
mod test;
#[cfg(test)]
mod tidy;
mod trail;

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;
use clap::{Parser, Subcommand};

use lesson::Stage;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Build, serve and test Offline News")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build a stage's site (wasm, JS bindings, static files) into
    /// `target/site/<stage>/`.
    Build {
        #[arg(value_enum, default_value_t)]
        stage: Stage,
    },
    /// Build a stage and run its server.
    Serve(serve::ServeArgs),
    /// Check a stage's progress through the lesson in a headless browser.
    Check(check::CheckArgs),
    /// Show a checkpoint's hint again [default: the next one to do].
    Hint(hint::HintArgs),
    /// Show the solution's code for one checkpoint (only that).
    Reveal(reveal::RevealArgs),
    /// Put a lesson file of starter/ back as the starter had it (asks
    /// first; your version is kept in target/xtask/backups/).
    Reset(reset::ResetArgs),
    /// Run every test and check, stopping at the first failure.
    Test,
    /// Check that the starter with the solution's lesson files passes every
    /// checkpoint (one step of `test`).
    #[command(hide = true)]
    Trail {
        /// Instead, from the starter as it is, put in each lesson
        /// checkpoint's `reveal` in turn and see exactly that checkpoint
        /// turn green (Chromium; another step of `test`).
        #[arg(long)]
        steps: bool,
    },
    /// Check that a copy of the workspace, with its target/, writes only
    /// into itself (one step of `test`).
    #[command(hide = true)]
    Copied,
    /// Build the lesson's book into `target/book/` (and check it).
    Book {
        /// Serve it on http://127.0.0.1:3001/, rebuilding on every change.
        #[arg(long)]
        serve: bool,
        /// Open it in the browser.
        #[arg(long)]
        open: bool,
    },
    /// Drive the solution in headless Chromium and write the book's
    /// screenshots to `book/src/screenshots/`.
    Screenshots,
    /// Add articles to the solution from two tabs while faults happen at
    /// random (server killed, 503s, worker stopped or offline, browser
    /// restarted); check that nothing is lost or duplicated.
    Chaos(check::ChaosArgs),
    /// Run the benchmarks, each beside its baseline, and write the report
    /// to `target/bench/report.md`.
    Bench(bench::BenchArgs),
    /// Start the instructor's room: prints its code and what students run,
    /// and serves a live page of every student's checkpoints (this machine
    /// only unless `--host`; arguments go to `room serve`).
    Room(room::RoomArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = lesson::workspace::discover() {
        report(&error.into());
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Cmd::Build { stage } => build::run(stage),
        Cmd::Serve(args) => serve::run(&args),
        Cmd::Check(args) => check::run(&args),
        Cmd::Test => test::run(),
        Cmd::Hint(args) => hint::run(&args),
        Cmd::Reveal(args) => reveal::run(&args),
        Cmd::Reset(args) => reset::run(&args),
        Cmd::Trail { steps: false } => trail::run(),
        Cmd::Trail { steps: true } => trail::steps(),
        Cmd::Copied => copied::run(),
        Cmd::Book { serve, open } => book(serve, open),
        Cmd::Screenshots => check::screenshots(),
        Cmd::Chaos(args) => check::chaos(&args),
        Cmd::Bench(args) => bench::run(&args),
        Cmd::Room(args) => room::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

/// Runs the `book` crate, which renders `book/` with the mdBook libraries.
fn book(serve: bool, open: bool) -> anyhow::Result<()> {
    let mut command = cargo();
    command.args(["run", "-q", "-p", "book", "--"]);
    command.arg(if serve { "serve" } else { "build" });
    if open {
        command.arg("--open");
    }
    step("building the book", || run(&mut command))
}

/// Prints an error and what caused it, one line each: the outermost line
/// says which step failed, the inner ones why and how to fix it.
fn report(error: &anyhow::Error) {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// The workspace root, found at run time (`lesson::workspace::discover`):
/// from `CARGO_MANIFEST_DIR`, which `cargo xtask` (a `cargo run`) sets to
/// this crate's directory in the workspace it runs in, or from the directory
/// it runs in; never from where this binary was compiled. `main` makes sure
/// it is found before any command runs.
fn project_root() -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| lesson::workspace::discover().unwrap_or_else(|error| panic!("{error}")))
        .clone()
}

/// Where cargo puts what it builds: `target/`, unless the user moved it
/// with `CARGO_TARGET_DIR` (a relative path there is relative to where
/// cargo runs, which for us is always the workspace root).
fn target_dir() -> PathBuf {
    lesson::workspace::target_dir(&project_root())
}

/// A `cargo` command run from the workspace root.
///
/// `cargo xtask` runs us through cargo, which tells us in `CARGO` which cargo
/// binary that was: using it (rather than whatever `cargo` is first on the
/// `PATH`) keeps every build on the same toolchain.
///
/// Every tool it starts (the harness, the book, the room, with `cargo run`)
/// is told where the workspace and its target directory are, so that none
/// takes them from where it was compiled.
fn cargo() -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(project_root());
    tell_workspace(&mut command, &project_root(), &target_dir());
    command
}

/// Tells the tool `command` starts that the workspace is at `root` and its
/// target directory at `target` (see `lesson::workspace`).
fn tell_workspace(command: &mut Command, root: &Path, target: &Path) {
    command
        .env(lesson::workspace::ROOT_VAR, root)
        .env("CARGO_TARGET_DIR", target);
}

/// Runs a command with our stdin, stdout and stderr, so its output (a
/// compiler error, say) goes straight to the user; fails unless it exits
/// successfully.
fn run(command: &mut Command) -> anyhow::Result<()> {
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
fn show(command: &Command) -> String {
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
fn openssl_features(packages: &[&str]) -> Vec<String> {
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
fn step<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    println!("==> {what}");
    f().with_context(|| format!("failed: {what}"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_stage_defaults_to_the_starter() {
        let cli = Cli::try_parse_from(["xtask", "build"]).unwrap();
        assert!(matches!(
            cli.command,
            Cmd::Build {
                stage: Stage::Starter
            }
        ));
        let cli = Cli::try_parse_from(["xtask", "build", "solution"]).unwrap();
        assert!(matches!(
            cli.command,
            Cmd::Build {
                stage: Stage::Solution
            }
        ));
        assert!(Cli::try_parse_from(["xtask", "build", "middle"]).is_err());
    }

    #[test]
    fn serve_takes_its_flags() {
        let cli = Cli::try_parse_from([
            "xtask", "serve", "solution", "--port", "8080", "--host", "::1", "--db", "x.db",
            "--watch",
        ])
        .unwrap();
        let Cmd::Serve(args) = cli.command else {
            panic!("not serve: {cli:?}");
        };
        assert_eq!(args.stage, Stage::Solution);
        assert_eq!(args.port, 8080);
        assert_eq!(args.host.to_string(), "::1");
        assert_eq!(args.db.as_deref(), Some(Path::new("x.db")));
        assert!(args.watch);

        let cli = Cli::try_parse_from(["xtask", "serve"]).unwrap();
        let Cmd::Serve(args) = cli.command else {
            panic!("not serve: {cli:?}");
        };
        assert_eq!(args.stage, Stage::Starter);
        assert_eq!(args.port, 3000);
        assert_eq!(args.host.to_string(), "127.0.0.1");
        assert_eq!(args.db, None);
        assert!(!args.watch);
    }

    #[test]
    fn the_workshop_tools_take_their_arguments() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.command);
        assert!(matches!(
            parse(&["xtask", "hint"]),
            Ok(Cmd::Hint(hint::HintArgs {
                checkpoint: None,
                ..
            }))
        ));
        assert!(matches!(
            parse(&["xtask", "hint", "sync", "--browser", "firefox"]),
            Ok(Cmd::Hint(hint::HintArgs { checkpoint: Some(id), .. })) if id == "sync"
        ));
        // Reveal needs to know which checkpoint: never the whole solution.
        assert!(parse(&["xtask", "reveal"]).is_err());
        assert!(matches!(
            parse(&["xtask", "reveal", "outbox"]),
            Ok(Cmd::Reveal(reveal::RevealArgs { checkpoint })) if checkpoint == "outbox"
        ));
        assert!(matches!(
            parse(&["xtask", "reset"]),
            Ok(Cmd::Reset(reset::ResetArgs {
                file: None,
                yes: false
            }))
        ));
        assert!(matches!(
            parse(&["xtask", "reset", "src/worker.rs", "--yes"]),
            Ok(Cmd::Reset(reset::ResetArgs {
                file: Some(_),
                yes: true
            }))
        ));
        assert!(matches!(
            parse(&["xtask", "trail", "--steps"]),
            Ok(Cmd::Trail { steps: true })
        ));
        assert!(matches!(
            parse(&["xtask", "trail"]),
            Ok(Cmd::Trail { steps: false })
        ));
    }

    #[test]
    fn commands_are_shown_without_the_toolchain_path() {
        let mut command = Command::new("/home/me/.rustup/toolchains/stable/bin/cargo");
        command.args(["build", "-p", "xtask"]);
        assert_eq!(show(&command), "cargo build -p xtask");
    }
}
