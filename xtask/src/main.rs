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
//! - [`doctor`]: `cargo xtask doctor` — is this machine ready for the
//!   workshop? One line per thing it needs, ✓ or ✗ with the fix for this
//!   system (the checks are the `platform` crate's).
//! - [`hint`], [`reveal`], [`reset`]: `cargo xtask hint [--more]
//!   [checkpoint]`, `cargo xtask reveal <checkpoint>`, `cargo xtask reset
//!   [file]` — a checkpoint's hint again (or, with `--more`, the solution's
//!   steps), the solution's code for one checkpoint only, a lesson file back
//!   as the starter had it (progress itself is kept by `check`, in
//!   [`progress`]).
//! - [`test`]: `cargo xtask test` — every check the project has, in order.
//! - [`book`]: `cargo xtask book [--serve] [--open]` — the lesson's mdBook,
//!   built by the `book` crate (its own crate, so that the mdBook libraries
//!   are never compiled on the way to `serve`), and its browser test.
//! - `screenshots`: `cargo xtask screenshots` — the book's pictures of the
//!   real app, taken by the harness in headless Chromium.
//! - [`demo`]: `cargo xtask demo [--browser firefox]` — the instructor
//!   guide's demo script played and checked step by step; its pictures are
//!   the guide's (a step of `test`, in both browsers).
//! - `chaos`: `cargo xtask chaos [--clients N --rate R --duration D --runs
//!   K --seed S]` — clients in two Chromium profiles and one Firefox add
//!   articles while faults of twelve kinds happen; nothing may be lost,
//!   duplicated or reordered (one seed is a step of `test`, twenty are a
//!   benchmark).
//! - [`bench`]: `cargo xtask bench [name] [--quick]` — the benchmarks
//!   and their baselines, reported in `target/bench/report.md`.
//! - [`room`]: `cargo xtask room` — the instructor's live view of every
//!   student's checkpoints (the `room` crate; students opt in with
//!   `cargo xtask check --room`).
//!
//! [cargo xtask]: https://github.com/matklad/cargo-xtask

mod bench;
mod book;
mod build;
mod check;
mod clock;
mod command;
mod copied;
#[cfg(test)]
mod counts;
mod demo;
mod doctor;
mod hint;
#[cfg(test)]
mod no_code_in_hints;
mod progress;
mod reset;
mod reveal;
mod room;
mod serve;
mod test;
#[cfg(test)]
mod tidy;
mod trail;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lesson::Stage;

use crate::command::report;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Build, serve and test Offline News")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Check that this machine has everything the workshop needs (Rust,
    /// the wasm target, a C compiler, OpenSSL, a browser, port 3000): one
    /// line each, with the fix. Run it first.
    Doctor(doctor::DoctorArgs),
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
    /// Show a checkpoint's hint again [default: the next one to do];
    /// `--more` gives the solution's steps.
    Hint(hint::HintArgs),
    /// Show the solution's code for one checkpoint (only that): the last
    /// level of help, after `hint` and `hint --more`.
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
    /// Check that `check --watch` gives a verdict after each save from one
    /// browser kept warm (one step of `test`).
    #[command(hide = true)]
    WatchTest,
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
    /// Play the instructor guide's demo script in a headless browser,
    /// checking that each step shows what the guide says; the pictures
    /// (Chromium) are the guide's.
    Demo(demo::DemoArgs),
    /// Clients in two Chromium profiles and one Firefox add articles to the
    /// solution while faults happen at random (the server killed before or
    /// after it committed, 503s, its disk refusing writes; a worker stopped
    /// or offline; a browser closed or killed; one browser cut off; a clock
    /// jumping 8 days; articles the server must refuse); check the history:
    /// nothing lost, duplicated or reordered. One line per run, a total.
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
        Cmd::Doctor(args) => doctor::run(&args),
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
        Cmd::WatchTest => check::watch_test(),
        Cmd::Book { serve, open } => book::run(serve, open),
        Cmd::Screenshots => check::screenshots(),
        Cmd::Demo(args) => demo::run(&args),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

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
            Ok(Cmd::Hint(hint::HintArgs { checkpoint: Some(id), more: false, .. })) if id == "sync"
        ));
        assert!(matches!(
            parse(&["xtask", "hint", "--more"]),
            Ok(Cmd::Hint(hint::HintArgs {
                checkpoint: None,
                more: true,
                ..
            }))
        ));
        assert!(matches!(
            parse(&["xtask", "hint", "--more", "outbox"]),
            Ok(Cmd::Hint(hint::HintArgs { checkpoint: Some(id), more: true, .. })) if id == "outbox"
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
    fn doctor_sends_to_a_room_only_with_all_three() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.command);
        assert!(matches!(
            parse(&["xtask", "doctor"]),
            Ok(Cmd::Doctor(doctor::DoctorArgs { room: None, .. }))
        ));
        assert!(matches!(
            parse(&[
                "xtask",
                "doctor",
                "--room",
                "http://h:3030",
                "--name",
                "Ada",
                "--code",
                "K7"
            ]),
            Ok(Cmd::Doctor(doctor::DoctorArgs {
                room: Some(_),
                name: Some(_),
                code: Some(_)
            }))
        ));
        assert!(
            parse(&[
                "xtask",
                "doctor",
                "--room",
                "http://h:3030",
                "--name",
                "Ada"
            ])
            .is_err()
        );
        assert!(parse(&["xtask", "doctor", "--name", "Ada"]).is_err());
    }
}
