//! `room`: the instructor's room view of a workshop.
//!
//! - `room serve` (what `cargo xtask room` runs): a small axum server with
//!   a page of one row per student and one column per checkpoint, updated
//!   live as reports arrive.
//! - `room send` (what `cargo xtask check --room URL` runs, opt-in): one
//!   student's latest check results, posted to the room; `room send
//!   --doctor` (what `cargo xtask doctor --room URL` runs): the lines of
//!   their last `cargo xtask doctor` instead.
//!
//! Its own crate, outside the workspace's default members, so that nobody
//! compiles it on the way to `cargo xtask serve`.

mod app;
mod checkpoints;
mod rate;
mod report;
mod send;
mod serve;
mod store;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "room",
    about = "The instructor's room view: every student's checkpoints, live"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the room: print its code and address, serve the live page.
    Serve {
        /// The address to listen on. The default is this machine only; to
        /// let students on the LAN report, pass `--host 0.0.0.0`.
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        #[arg(long, default_value_t = 3030)]
        port: u16,
        /// The room's database [default: target/room/room.sqlite].
        #[arg(long, env = "ROOM_DB")]
        db: Option<PathBuf>,
        /// The lesson's checkpoints [default: lessons/background-sync/checkpoints.toml].
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The lesson's plan, whose minutes say when a student is stuck
        /// [default: lessons/background-sync/lesson.toml].
        #[arg(long)]
        lesson: Option<PathBuf>,
    },
    /// Send a check run's results (never code) to a room, or with
    /// `--doctor` the lines of `cargo xtask doctor`.
    Send {
        /// The room's address, as the instructor gave it: http://HOST:PORT
        #[arg(long)]
        url: String,
        /// The room's code, as the instructor gave it.
        #[arg(long)]
        code: String,
        /// Your name, as the instructor will see it.
        #[arg(long)]
        name: String,
        /// The progress file `cargo xtask check` wrote [default:
        /// target/xtask/progress.json]. The machine's id is kept beside it
        /// (`machine-id`, made on first use), and so is `doctor.json`.
        #[arg(long)]
        progress: Option<PathBuf>,
        /// The stage whose last check to send.
        #[arg(long, required_unless_present = "doctor")]
        stage: Option<String>,
        #[arg(long, default_value = "chromium")]
        browser: String,
        /// Send the lines of the last `cargo xtask doctor` (`doctor.json`
        /// beside the progress file) instead of a check's results.
        #[arg(long, conflicts_with = "stage")]
        doctor: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            host,
            port,
            db,
            checkpoints,
            lesson,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "room=info".into()),
                )
                .init();
            match workspace().and_then(|root| {
                let target = lesson::workspace::target_dir(&root);
                serve::run(serve::Options {
                    host,
                    port,
                    db: db.unwrap_or_else(|| target.join("room/room.sqlite")),
                    checkpoints: checkpoints
                        .unwrap_or_else(|| root.join(lesson::workspace::CHECKPOINTS)),
                    lesson: lesson.unwrap_or_else(|| root.join(::lesson::workspace::LESSON_PLAN)),
                })
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("room: error: {error}");
                    for cause in error.chain().skip(1) {
                        eprintln!("  caused by: {cause}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Command::Send {
            url,
            code,
            name,
            progress,
            stage,
            browser,
            doctor,
        } => {
            // `cargo xtask check` keeps it in the workspace's target directory.
            let progress = progress.map_or_else(
                || {
                    workspace().map(|root| {
                        ::lesson::workspace::target_dir(&root).join("xtask/progress.json")
                    })
                },
                Ok,
            );
            let progress = match progress {
                Ok(progress) => progress,
                Err(error) => {
                    eprintln!("room: not reported: {error:#}");
                    return ExitCode::FAILURE;
                }
            };
            // clap lets through `--stage` or `--doctor`, never both.
            let what = match stage {
                Some(stage) if !doctor => send::What::Check { stage, browser },
                _ => send::What::Doctor,
            };
            send_and_say(&url, &code, &name, &progress, &what)
        }
    }
}

/// `room send`: one line on success, one line on failure (it is printed
/// under the student's check report).
fn send_and_say(url: &str, code: &str, name: &str, progress: &Path, what: &send::What) -> ExitCode {
    match send::send(url, code, name, progress, what) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("room: not reported: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, found at run time (as `cargo xtask` says, or where
/// cargo runs the room), never where this binary was compiled: a workspace
/// copied with its `target/` keeps its room in its own `target/`.
fn workspace() -> anyhow::Result<PathBuf> {
    let path = lesson::workspace::workspace_root()?;
    // Shown to the instructor (where the room is kept): without a `..`.
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

#[cfg(test)]
mod cli_tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[test]
    fn send_takes_a_stage_or_doctor_never_both() {
        Cli::command().debug_assert();
        let send = |extra: &[&str]| {
            let mut args = vec![
                "room", "send", "--url", "http://r", "--code", "C", "--name", "N",
            ];
            args.extend(extra);
            Cli::try_parse_from(args).map(|cli| cli.command)
        };
        assert!(matches!(
            send(&["--doctor"]),
            Ok(Command::Send {
                doctor: true,
                stage: None,
                progress: None,
                ..
            })
        ));
        assert!(matches!(
            send(&["--stage", "starter"]),
            Ok(Command::Send {
                doctor: false,
                stage: Some(_),
                ..
            })
        ));
        assert!(send(&[]).is_err());
        assert!(send(&["--doctor", "--stage", "starter"]).is_err());
    }
}
