//! `room`: the instructor's room view of a workshop.
//!
//! - `room serve` (what `cargo xtask room` runs): a small axum server with
//!   a page of one row per student and one column per checkpoint, updated
//!   live as reports arrive.
//! - `room send` (what `cargo xtask check --room URL` runs, opt-in): one
//!   student's latest check results, posted to the room.
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
use std::path::PathBuf;
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
    },
    /// Send a check run's results (never code) to a room.
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
        /// The progress file `cargo xtask check` wrote.
        #[arg(long)]
        progress: PathBuf,
        #[arg(long)]
        stage: String,
        #[arg(long, default_value = "chromium")]
        browser: String,
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
        } => match send::send(&url, &code, &name, &progress, &stage, &browser) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                // One line: it is printed under the student's check report.
                eprintln!("room: not reported: {error:#}");
                ExitCode::FAILURE
            }
        },
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
